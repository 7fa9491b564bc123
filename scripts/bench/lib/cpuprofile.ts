/**
 * Summarizes a V8 `.cpuprofile` (as written by `node --cpu-prof`) over a time window: CPU
 * share per pipeline stage and the hottest functions by self time.
 *
 * A sample is charged to the stage of the innermost frame that belongs to a known stage
 * (the node's own directories, then the libraries each stage uses), so keccak called from
 * the Merkle tree counts as "certificates", and from intake as "intake". Timestamps are V8
 * TimeTicks in microseconds (CLOCK_MONOTONIC on Linux), the clock `process.hrtime` reads, so
 * another process can name the window.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface StageShare {
  readonly stage: string;
  /** Share of the process's busy (non-idle) samples in the window. */
  readonly busyShare: number;
  readonly ms: number;
}

export interface HotFunction {
  readonly fn: string;
  readonly stage: string;
  readonly selfShare: number;
  readonly selfMs: number;
}

export interface ProfileSummary {
  readonly windowMs: number;
  /**
   * Non-idle time of the main thread in the window. V8 samples on a wall-clock timer, so on an
   * oversubscribed machine time spent preempted is charged to whatever was running (often a
   * socket write that woke the peer): this exceeds /proc CPU, and shares are of this total.
   */
  readonly busyMs: number;
  readonly stages: readonly StageShare[];
  readonly top: readonly HotFunction[];
}

/** Stage rules, innermost match wins; patterns are matched against the frame's URL. */
const STAGES: readonly { stage: string; test: (url: string, fn: string) => boolean }[] = [
  { stage: "intake (decode + sender recovery)", test: (u) => u.includes("/node/intake/") },
  { stage: "certificates (merkle + EIP-712 signing)", test: (u) => u.includes("/node/commitments/") || u.endsWith("/node/sequencer/commitments.ts") },
  { stage: "raft core", test: (u) => u.includes("/node/consensus/") },
  { stage: "storage (level, fsync, applyCommitted)", test: (u) => u.includes("/node/storage/") || /node_modules\/(classic-level|abstract-level|level-transcoder|module-error)\//.test(u) },
  {
    stage: "transport (libp2p, noise, yamux, codec)",
    test: (u) => u.includes("/node/transport/") || u.includes("/node/codec/") || /node_modules\/(@libp2p|libp2p|@chainsafe|it-[a-z-]+|uint8arraylist|@multiformats|multiformats|progress-events|race-signal|p-queue|main-event)\//.test(u),
  },
  { stage: "JSON-RPC (http server, parse, serialize)", test: (u) => u.includes("/node/rpc/") || /node:_http_|node:http$|node_modules\/ws\//.test(u) },
  { stage: "submissions + driver (sequencer glue)", test: (u) => u.includes("/node/sequencer/") },
  { stage: "logging + metrics", test: (u) => u.includes("/node/ops/") || /node_modules\/(pino|prom-client|sonic-boom|thread-stream)\//.test(u) },
];

function stageOfFrame(frame: CallFrame): string | undefined {
  for (const s of STAGES) if (s.test(frame.url, frame.functionName)) return s.stage;
  return undefined;
}

function special(frame: CallFrame): string | undefined {
  if (frame.url !== "") return undefined;
  if (frame.functionName === "(idle)") return "idle";
  if (frame.functionName === "(garbage collector)") return "garbage collection";
  if (frame.functionName === "(program)") return "V8/native (unattributed)";
  return undefined;
}

function shortName(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, "");
  const short = url.includes("/node_modules/") ? url.slice(url.lastIndexOf("/node_modules/") + 14) : url.replace(/^.*\/(node|scripts)\//, "$1/");
  return `${frame.functionName || "(anonymous)"} ${short || "(native)"}${short ? `:${frame.lineNumber + 1}` : ""}`;
}

/** Summarizes `file` over [fromUs, toUs] (V8/hrtime microseconds); the whole profile when omitted. */
export function summarizeCpuProfile(file: string, window: { fromUs?: number; toUs?: number } = {}, topN = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stageCache = new Map<number, string>();
  const stageOf = (id: number): string => {
    const cached = stageCache.get(id);
    if (cached !== undefined) return cached;
    let stage: string | undefined = special(byId.get(id)!.callFrame);
    for (let cur: number | undefined = id; stage === undefined && cur !== undefined; cur = parent.get(cur)) {
      stage = stageOfFrame(byId.get(cur)!.callFrame);
    }
    stage ??= "other (node internals, unattributed)";
    stageCache.set(id, stage);
    return stage;
  };

  const from = window.fromUs ?? -Infinity;
  const to = window.toUs ?? Infinity;
  const stageUs = new Map<string, number>();
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let busyUs = 0;
  let windowUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    // A sample stands for the interval until the next one.
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    if (t < from || t > to || dt <= 0) continue;
    windowUs += dt;
    const id = profile.samples[i]!;
    const stage = stageOf(id);
    if (stage === "idle") continue;
    busyUs += dt;
    stageUs.set(stage, (stageUs.get(stage) ?? 0) + dt);
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }

  // Self time per function (profile nodes are per call path: merge by frame).
  const byFn = new Map<string, { us: number; stage: string }>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const key = shortName(frame);
    const prev = byFn.get(key);
    byFn.set(key, { us: (prev?.us ?? 0) + us, stage: prev?.stage ?? stageOf(id) });
  }
  const stages = [...stageUs]
    .map(([stage, us]) => ({ stage, busyShare: busyUs > 0 ? us / busyUs : 0, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms);
  const top = [...byFn]
    .map(([fn, { us, stage }]) => ({ fn, stage, selfShare: busyUs > 0 ? us / busyUs : 0, selfMs: us / 1000 }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN);
  return { windowMs: windowUs / 1000, busyMs: busyUs / 1000, stages, top };
}

/**
 * A printable report of a summary; with `txs` (transactions committed in the window), also the
 * main-thread time per transaction of each stage.
 */
export function formatProfileSummary(title: string, s: ProfileSummary, txs?: number): string {
  const lines = [`${title}: main thread busy ${s.busyMs.toFixed(0)} ms of ${s.windowMs.toFixed(0)} ms (${((100 * s.busyMs) / Math.max(1, s.windowMs)).toFixed(0)}%)`];
  lines.push(`  stage                                          share of busy${txs ? "    µs/tx" : ""}`);
  for (const st of s.stages) {
    const perTx = txs ? ((st.ms * 1000) / txs).toFixed(0).padStart(9) : "";
    lines.push(`  ${st.stage.padEnd(46)} ${(100 * st.busyShare).toFixed(1).padStart(5)}%  ${st.ms.toFixed(0).padStart(6)} ms${perTx}`);
  }
  lines.push("  hottest functions (self time)");
  for (const f of s.top) lines.push(`  ${(100 * f.selfShare).toFixed(1).padStart(5)}%  ${f.fn}  [${f.stage}]`);
  return lines.join("\n");
}
