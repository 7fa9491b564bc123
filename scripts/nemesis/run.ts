/**
 * One nemesis run: bring the cluster up, let clients submit while the nemesis injects faults,
 * then stop the clients, heal everything, wait for the logs to converge and the batches to reach
 * L1, collect the final state and hand it with the history to the checker.
 */
import path from "node:path";
import type { Address } from "viem";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { registryVerificationAbi } from "../../node/commitments/index.js";
import { batchInboxAbi, sequencerRegistryAbi } from "../../node/l1/generated/abi.js";
import { NodeRpcError, fetchRange, nodeRpc } from "../../node/rpc/client.js";
import { NOT_FOUND } from "../../node/rpc/errors.js";
import { Prng } from "../../sim/prng.js";
import { makeTempDir } from "../lib/processes.js";
import { describeGap, rebuildFromL1 } from "../lib/rebuild.js";
import { checkHistory, type CheckReport, type LogTx, type Violation } from "./checker.js";
import { Clients } from "./clients.js";
import { NemesisCluster, sleep } from "./cluster.js";
import { Nemesis, type NemesisTiming } from "./faults.js";
import { History, formatEvent, historyExcerpt } from "./history.js";

export type NemesisOptions = {
  /** Length of the faulted phase, ms. */
  readonly durationMs: number;
  readonly seed: number;
  readonly nodes: number;
  /** Client submissions per second (open loop). */
  readonly tps: number;
  /** Sender accounts the clients sign with. */
  readonly senders: number;
  /** Spread of the nodes' timer periods around 50 ms (0.2: 40..60 ms): clock-rate skew. */
  readonly clockSkew: number;
  readonly timing: NemesisTiming;
  /** Working directory; default a fresh temp dir, removed if the run is killed. */
  readonly dir?: string;
  /** Keep the directory (node logs, history.jsonl): always, or only when the run fails. */
  readonly keep: "always" | "on-failure" | "never";
  /** How long after heal the logs may take to converge and the batches to reach L1, ms. */
  readonly settleMs: number;
};

export const NEMESIS_DEFAULTS = {
  nodes: 5,
  tps: 15,
  senders: 8,
  clockSkew: 0.2,
  timing: { holdMs: [2_000, 6_000], l1OutageMs: [3_000, 10_000], gapMs: [1_000, 3_000] },
  keep: "on-failure",
  settleMs: 120_000,
} as const satisfies Partial<NemesisOptions>;

export type NemesisResult = {
  readonly seed: number;
  readonly report: CheckReport;
  readonly ok: boolean;
  readonly dir: string;
  readonly keptDir: boolean;
  /** Every node process the run started (all gone once the run returns). */
  readonly pids: readonly number[];
  /** Wall time of each stage, ms. */
  readonly timings: { readonly setup: number; readonly faults: number; readonly settle: number; readonly check: number; readonly total: number };
};

export type Output = (line: string) => void;

const EPOCH_LENGTH = 10;
const BLOCK_INTERVAL_MS = 1_000;
const BASE_TICK_MS = 50;
const CLIENT_TIMEOUT_MS = 15_000;
const MAX_IN_FLIGHT = 256;

export async function runNemesis(o: NemesisOptions, out: Output): Promise<NemesisResult> {
  const t0 = performance.now();
  // A temp dir of ours goes with this process however it ends (a kill mid-run included) unless the
  // run decides to keep it (cluster.close); a --dir of the user's is never the reaper's.
  const dir = o.dir ?? makeTempDir("nemesis-");
  const history = new History(path.join(dir, "history.jsonl"));
  // Node logs carry wall-clock times; this ties the history's relative times to them.
  history.add({ kind: "info", text: `history time 0 is ${new Date(Date.now() - history.now()).toISOString()} (seed ${o.seed})` });
  const prng = new Prng(o.seed);
  const tickMs = Array.from({ length: o.nodes }, () => Math.round(BASE_TICK_MS * (1 + (prng.float() * 2 - 1) * o.clockSkew)));
  out(`nemesis seed ${o.seed}: ${o.nodes} nodes (tick ms ${tickMs.join(", ")}), ${o.tps} tx/s from ${o.senders} senders, ${Math.round(o.durationMs / 1000)} s of faults; directory ${dir}`);
  const cluster = await NemesisCluster.start({ dir, nodes: o.nodes, seed: o.seed, tickMs, epochLength: EPOCH_LENGTH, blockIntervalMs: BLOCK_INTERVAL_MS, history });
  const timings = { setup: 0, faults: 0, settle: 0, check: 0, total: 0 };
  let failed = true;
  const keepDir = () => o.keep === "always" || (o.keep === "on-failure" && failed);
  try {
    await Promise.all(Array.from({ length: o.nodes }, (_, i) => cluster.waitUp(i, 90_000)));
    await waitFor("a leader", async () => ((await cluster.leader()) !== undefined ? true : undefined), 60_000);
    timings.setup = performance.now() - t0;
    out(`cluster up in ${(timings.setup / 1000).toFixed(1)} s: chain ${cluster.chain.url} (nodes use the L1 proxy ${cluster.proxy.url}), registry ${cluster.registry}`);

    const clients = new Clients({
      urls: Array.from({ length: o.nodes }, (_, i) => cluster.url(i)),
      chainId: cluster.net.operators[0]!.config.rollupChainId,
      senders: o.senders,
      tps: o.tps,
      maxInFlight: MAX_IN_FLIGHT,
      timeoutMs: CLIENT_TIMEOUT_MS,
      seed: o.seed,
      history,
    });
    clients.start();
    const nemesis = new Nemesis(cluster, history, prng.fork(), o.timing);
    const tFaults = performance.now();
    await sleep(2_000);
    const windowFrom = history.now();
    while (performance.now() - tFaults < o.durationMs) {
      const before = history.events.length;
      await nemesis.runOne();
      for (const e of history.events.slice(before)) if (e.kind === "nemesis" || e.kind === "crash") out(`  ${formatEvent(e)}`);
      await nemesis.gap();
    }
    // A quiet stretch with everything healed: the cluster must be available again before clients stop.
    await cluster.healAll();
    await sleep(3_000);
    const windowTo = history.now();
    await clients.stop();
    if (clients.skipped > 0) out(`clients skipped ${clients.skipped} send slots: ${MAX_IN_FLIGHT} requests were already waiting`);
    timings.faults = performance.now() - tFaults;

    const tSettle = performance.now();
    // Again: a node may have crashed during the quiet stretch (recorded; the checker reports it).
    await cluster.healAll();
    const positions = await converge(cluster, o.settleMs);
    const l1Covered = await waitForL1(cluster, positions, o.settleMs);
    timings.settle = performance.now() - tSettle;
    out(`after heal: ${positions} positions on every node (${((performance.now() - tSettle) / 1000).toFixed(1)} s to converge and post); L1 batches cover ${l1Covered} of them`);

    const tCheck = performance.now();
    const nodes = await Promise.all(Array.from({ length: o.nodes }, async (_, i) => ({ name: `node-${i}`, log: await logOf(cluster.url(i), positions) })));
    const stream = await rebuildFromL1(cluster.l1, { inbox: cluster.net.deployment.contracts.batchInbox.address, deploymentBlock: cluster.net.deployment.contracts.batchInbox.block });
    const acked = new Set(history.events.flatMap((e) => (e.kind === "ok" ? [e.txHash.toLowerCase()] : [])));
    const unacked = nodes.reduce((a, b) => (b.log.length > a.log.length ? b : a)).log.filter((t) => !acked.has(t.txHash.toLowerCase()));
    const retrieved = await retrieveCommitments(cluster.url(0), unacked);
    const slashed = await cluster.l1.getContractEvents({ address: cluster.registry, abi: sequencerRegistryAbi, eventName: "Slashed", fromBlock: 0n });
    const report = await checkHistory({
      history: history.events,
      nodes,
      l1: stream.txs.map((t) => ({ position: Number(t.position), txHash: t.txHash })),
      retrieved,
      chainId: cluster.net.deployment.chainId,
      registry: cluster.registry,
      signersOfEpoch: (epoch) =>
        cluster.l1.readContract({ address: cluster.registry, abi: registryVerificationAbi, functionName: "activeSigners", args: [epoch] }) as Promise<readonly Address[]>,
      window: { from: windowFrom, to: windowTo },
      slashings: slashed.map((e) => `operator ${e.args.operator} slashed ${e.args.amount} (reporter ${e.args.reporter}) in L1 tx ${e.transactionHash}`),
    });
    timings.check = performance.now() - tCheck;
    // The inbox accepts no unreadable batch (S3): one here is a failure of its own.
    for (const g of stream.gaps) out(describeGap(g));
    failed = report.violations.length > 0 || stream.gaps.length > 0;
    printReport(report, history, out, o.seed);
    timings.total = performance.now() - t0;
    return { seed: o.seed, report, ok: !failed, dir, keptDir: keepDir(), pids: cluster.pids, timings };
  } finally {
    await cluster.close(keepDir());
    out(keepDir() ? `kept ${dir} (history.jsonl, node-*/node.log)` : `removed ${dir}`);
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Waits until every node has applied everything it committed and all hold the same number of
 * positions, twice in a row a second apart (a proposal left over from a client's last request
 * may still commit). Returns that number, or the largest any node holds when they never agree
 * (the checker reports the difference).
 */
async function converge(cluster: NemesisCluster, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let agreed: number | undefined;
  let largest = 0;
  while (performance.now() < deadline) {
    const statuses = await Promise.all(Array.from({ length: cluster.size }, (_, i) => cluster.status(i, 2_000)));
    const next = statuses.map((s) => s?.nextPosition ?? -1);
    largest = Math.max(largest, ...next);
    const same = statuses.every((s) => s !== undefined && s.appliedIndex === s.commitIndex && s.nextPosition === next[0]);
    if (same && agreed === next[0]) return agreed;
    agreed = same ? next[0] : undefined;
    await sleep(1_000);
  }
  return largest;
}

/** Waits until the batches accepted on L1 cover `positions` positions; returns how many they cover. */
async function waitForL1(cluster: NemesisCluster, positions: number, timeoutMs: number): Promise<number> {
  const inbox = cluster.net.deployment.contracts.batchInbox.address;
  const covered = async () => {
    const [count, last] = await cluster.l1.readContract({ address: inbox, abi: batchInboxAbi, functionName: "lastBatch" });
    return count === 0n ? 0 : Number(last.lastPosition) + 1;
  };
  const deadline = performance.now() + timeoutMs;
  let n = await covered();
  while (n < positions && performance.now() < deadline) {
    await sleep(1_000);
    n = await covered();
  }
  return n;
}

async function logOf(url: string, positions: number): Promise<LogTx[]> {
  const txs = await fetchRange<LogTx>(url, 0, positions, { timeoutMs: 10_000 });
  return txs.map((t) => ({ position: t.position, txHash: t.txHash }));
}

/** seq_getOrderCommitment for each transaction (a pending certificate is asked again for a while). */
async function retrieveCommitments(url: string, txs: readonly LogTx[]): Promise<Map<string, OrderCommitmentProofJson | null>> {
  const found = new Map<string, OrderCommitmentProofJson | null>();
  for (const tx of txs) {
    let c: OrderCommitmentProofJson | null = null;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        c = await nodeRpc<OrderCommitmentProofJson | null>(url, "seq_getOrderCommitment", [tx.txHash], { timeoutMs: 5_000 });
        break;
      } catch (error) {
        if (!(error instanceof NodeRpcError && error.code === NOT_FOUND && error.retryable)) break;
        await sleep(500);
      }
    }
    found.set(tx.txHash.toLowerCase(), c);
  }
  return found;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** The summary, and for each kind of violation its first instance with a history excerpt. */
export function printReport(report: CheckReport, history: History, out: Output, seed: number): void {
  const s = report.stats;
  out(`faults injected: ${s.faults} (${Object.entries(s.faultKinds).map(([k, n]) => `${k} ${n}`).join(", ")})`);
  out(`requests: ${s.requests} for ${s.submitted} transactions; ${s.acknowledged} acknowledged, ${s.failed} errors, ${s.timedOut} timeouts; ${s.committed} committed, ${s.onL1} on L1`);
  out(`commitment latency: p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms, max ${s.latencyMs.max} ms`);
  const a = report.availability;
  out(`availability: ${pct(a.share)} of the faulted time with commits (${(a.unavailableMs / 1000).toFixed(1)} s without any, in ${a.windows.length} windows > 1 s)`);
  for (const w of a.windows.slice(0, 5)) out(`  ${(w.ms / 1000).toFixed(1)} s without commits at ${(w.from / 1000).toFixed(1)}..${(w.to / 1000).toFixed(1)} s during ${w.faults.length === 0 ? "no fault (recovery)" : w.faults.join("; ")}`);
  for (const n of report.notes) out(`note: ${n}`);
  if (report.violations.length === 0) {
    out(`no violations (seed ${seed})`);
    return;
  }
  out(`${report.violations.length} VIOLATIONS (seed ${seed}):`);
  const firstOfKind = new Map<string, Violation>();
  for (const v of report.violations) if (!firstOfKind.has(v.kind)) firstOfKind.set(v.kind, v);
  for (const v of report.violations.slice(0, 20)) out(`  [${v.kind}] ${v.message}`);
  for (const v of firstOfKind.values()) {
    out(`history around the first ${v.kind}:`);
    const focus = { ...(v.t === undefined ? {} : { t: v.t }), ...(v.txHash === undefined ? {} : { txHash: v.txHash }), ...(v.position === undefined ? {} : { position: v.position }) };
    for (const e of historyExcerpt(history.events, focus)) out(`    ${formatEvent(e)}`);
  }
}
