/**
 * Leader loss and leader handover under load, measured the same way for any replicated system:
 * clients write continuously to every live member (followers forward), and a write counts as
 * "new" only if it was sent after the event, so an acknowledgement of something committed before
 * the kill cannot shorten the figure.
 */
import { performance } from "node:perf_hooks";
import type { CallResult, RpcHttpClient } from "./load.js";

/** One system under test, as the trials drive it. */
export interface ClusterUnderTest {
  readonly size: number;
  /** Where a write goes on member `i`. */
  submitUrl(i: number): string;
  nextBody(): { body: string; txs: number } | undefined;
  tally(status: number, text: string, txs: number): CallResult;
  leaderIndex(timeoutMs?: number): Promise<number>;
  isRunning(i: number): boolean;
  /** SIGKILLs member `i`; resolves once it has exited. */
  kill(i: number): Promise<void>;
  restart(i: number): void;
  /** Resolves once every running member has caught up with the others. */
  settle(timeoutMs?: number): Promise<unknown>;
}

interface Answer {
  readonly sentMs: number;
  readonly doneMs: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** Continuous writes: `concurrency` closed-loop clients over the live members, plus optional open-loop probes. */
class WriteRecorder {
  readonly answers: Answer[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly probes = new Set<Promise<boolean>>();
  private live: number[];

  constructor(
    private readonly sut: ClusterUnderTest,
    private readonly client: RpcHttpClient,
    private readonly requestTimeoutMs: number,
  ) {
    this.live = Array.from({ length: sut.size }, (_, i) => i).filter((i) => sut.isRunning(i));
  }

  start(concurrency: number): void {
    for (let c = 0; c < concurrency; c++) this.loops.push(this.loop(c));
  }

  setLive(members: number[]): void {
    this.live = members;
  }

  /** One write to every live member each `everyMs`, not waiting for answers: a hung request cannot hide recovery. */
  startProbes(everyMs: number): void {
    this.probeTimer = setInterval(() => {
      for (const i of this.live) {
        const p = this.once(i);
        this.probes.add(p);
        void p.finally(() => this.probes.delete(p));
      }
    }, everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.probeTimer);
    await Promise.all([...this.loops, ...this.probes]);
  }

  private async loop(c: number): Promise<void> {
    let k = c;
    while (!this.stopped) {
      const i = this.live[k++ % this.live.length];
      if (i === undefined) return;
      if (!(await this.once(i))) await sleep(5); // a member refusing at once must not spin the loop
    }
  }

  private async once(i: number): Promise<boolean> {
    const next = this.sut.nextBody();
    if (next === undefined) throw new Error("the pre-signed load ran out during a failover trial");
    const sentMs = performance.now();
    let ok = false;
    let error: string | undefined;
    try {
      const { status, text } = await this.client.post(this.sut.submitUrl(i), next.body, this.requestTimeoutMs);
      const r = this.sut.tally(status, text, next.txs);
      ok = r.ok === next.txs;
      error = r.errors?.[0];
    } catch (e) {
      error = (e as Error).message.slice(0, 60);
    }
    this.answers.push({ sentMs, doneMs: performance.now(), ok, ...(ok ? {} : { error: error ?? "failed" }) });
    return ok;
  }

  /** The first successful write sent at or after `sinceMs`: its completion time, or undefined. */
  firstOkSentAfter(sinceMs: number): number | undefined {
    let first: number | undefined;
    for (const a of this.answers) if (a.ok && a.sentMs >= sinceMs && (first === undefined || a.doneMs < first)) first = a.doneMs;
    return first;
  }

  /** The 99th percentile latency of the successful writes answered inside [fromMs, toMs] (0 without any). */
  p99Within(fromMs: number, toMs: number): number {
    const ms = this.answers.filter((a) => a.ok && a.doneMs >= fromMs && a.doneMs <= toMs).map((a) => a.doneMs - a.sentMs).sort((a, b) => a - b);
    return ms.length === 0 ? 0 : ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]!;
  }

  /** The longest stretch without a successful acknowledgement inside [fromMs, toMs], and the errors answered there. */
  gapWithin(fromMs: number, toMs: number): { maxGapMs: number; errors: number; errorKinds: Record<string, number>; acks: number } {
    const oks = this.answers.filter((a) => a.ok && a.doneMs >= fromMs && a.doneMs <= toMs).map((a) => a.doneMs).sort((a, b) => a - b);
    let maxGapMs = 0;
    let prev = fromMs;
    for (const t of [...oks, toMs]) {
      maxGapMs = Math.max(maxGapMs, t - prev);
      prev = t;
    }
    const failed = this.answers.filter((a) => !a.ok && a.doneMs >= fromMs && a.doneMs <= toMs);
    const errorKinds: Record<string, number> = {};
    for (const a of failed) errorKinds[a.error!] = (errorKinds[a.error!] ?? 0) + 1;
    return { maxGapMs, errors: failed.length, errorKinds, acks: oks.length };
  }
}

export interface FailoverTrial {
  readonly trial: number;
  readonly killed: number;
  /** Kill to the first successful write sent after the kill, ms; null when none came within the timeout. */
  readonly failoverMs: number | null;
  readonly newLeader: number | null;
  /** Restart of the killed member until every member applied the same entries, ms. */
  readonly catchUpMs: number;
}

export interface FailoverOptions {
  readonly trials: number;
  /** Closed-loop writers keeping the cluster busy before and after the kill. */
  readonly concurrency: number;
  /** Load before the kill. */
  readonly steadyMs: number;
  /** Give up on a trial after this long without a new write. */
  readonly timeoutMs: number;
  readonly probeEveryMs: number;
  readonly onTrial?: (t: FailoverTrial) => void;
}

/** SIGKILLs the leader `trials` times under load, restarting the killed member and waiting for it to catch up in between. */
export async function runFailoverTrials(sut: ClusterUnderTest, client: RpcHttpClient, opts: FailoverOptions): Promise<FailoverTrial[]> {
  const out: FailoverTrial[] = [];
  for (let trial = 0; trial < opts.trials; trial++) {
    await sut.settle();
    const leader = await stableLeader(sut);
    const rec = new WriteRecorder(sut, client, Math.min(5_000, opts.timeoutMs));
    rec.start(opts.concurrency);
    await sleep(opts.steadyMs);
    const killedAt = performance.now();
    const exited = sut.kill(leader);
    const survivors = Array.from({ length: sut.size }, (_, i) => i).filter((i) => i !== leader && sut.isRunning(i));
    rec.setLive(survivors);
    rec.startProbes(opts.probeEveryMs);
    await exited;
    const deadline = killedAt + opts.timeoutMs;
    let firstOk: number | undefined;
    while ((firstOk = rec.firstOkSentAfter(killedAt)) === undefined && performance.now() < deadline) await sleep(10);
    // Keep the load on a little longer so the new leader is measured under load, not idle.
    await sleep(500);
    await rec.stop();
    const newLeader = await sut.leaderIndex(opts.timeoutMs).catch(() => null);
    const restartAt = performance.now();
    sut.restart(leader);
    await sut.settle(120_000);
    const t: FailoverTrial = {
      trial,
      killed: leader,
      failoverMs: firstOk === undefined ? null : round(firstOk - killedAt, 1),
      newLeader,
      catchUpMs: round(performance.now() - restartAt, 0),
    };
    opts.onTrial?.(t);
    out.push(t);
  }
  return out;
}

export interface HandoverResult {
  readonly from: number;
  readonly to: number | null;
  /** Longest stretch without a successful acknowledgement from the trigger until 2 s after the new leader was seen. */
  readonly maxGapMs: number;
  /** The same over the steady load just before the trigger, for comparison. */
  readonly baselineMaxGapMs: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  /** Acknowledgements inside the window. */
  readonly acks: number;
  /** Trigger to all members naming the new leader, ms (status polls: up to ~50 ms late). */
  readonly leaderChangeSeenMs: number | null;
  /** p99 latency of the steady load just before the trigger, and the longest gap over it (the target: at most 2). */
  readonly steadyP99Ms: number;
  readonly gapVsSteadyP99: number;
}

/**
 * A graceful leadership handover under load: `trigger` starts it (a scheduled rotation, a
 * move-leader call) and returns once the system was asked; the gap in acknowledgements around it
 * is what clients notice.
 */
export async function measureHandover(
  sut: ClusterUnderTest,
  client: RpcHttpClient,
  trigger: (leader: number) => Promise<void>,
  /** drain: the writers stop using the leader at the trigger (a load balancer draining a member being shut down). */
  opts: { concurrency: number; steadyMs: number; timeoutMs: number; drain?: boolean },
): Promise<HandoverResult> {
  await sut.settle();
  const from = await sut.leaderIndex();
  const rec = new WriteRecorder(sut, client, 5_000);
  rec.start(opts.concurrency);
  await sleep(opts.steadyMs);
  const t0 = performance.now();
  if (opts.drain) rec.setLive(Array.from({ length: sut.size }, (_, i) => i).filter((i) => i !== from && sut.isRunning(i)));
  await trigger(from);
  let to: number | null = null;
  let seenMs: number | null = null;
  while (performance.now() - t0 < opts.timeoutMs) {
    const l = await sut.leaderIndex(5_000).catch(() => from);
    if (l !== from) {
      to = l;
      seenMs = performance.now();
      break;
    }
    await sleep(20);
  }
  const end = (seenMs ?? performance.now()) + 2_000;
  await sleep(Math.max(0, end - performance.now()));
  await rec.stop();
  const gap = rec.gapWithin(t0, end);
  const baseline = rec.gapWithin(t0 - opts.steadyMs / 2, t0);
  const steadyP99Ms = rec.p99Within(t0 - opts.steadyMs / 2, t0);
  return {
    from,
    to,
    maxGapMs: round(gap.maxGapMs, 1),
    baselineMaxGapMs: round(baseline.maxGapMs, 1),
    errors: gap.errors,
    errorKinds: gap.errorKinds,
    acks: gap.acks,
    leaderChangeSeenMs: seenMs === null ? null : round(seenMs - t0, 0),
    steadyP99Ms: round(steadyP99Ms, 1),
    gapVsSteadyP99: steadyP99Ms > 0 ? round(gap.maxGapMs / steadyP99Ms, 2) : Number.POSITIVE_INFINITY,
  };
}

/** The leader once it has stayed the same for a second (a restarted member may take leadership back first). */
async function stableLeader(sut: ClusterUnderTest): Promise<number> {
  let leader = await sut.leaderIndex();
  for (let i = 0; i < 30; i++) {
    await sleep(1_000);
    const again = await sut.leaderIndex();
    if (again === leader) return leader;
    leader = again;
  }
  return leader;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
