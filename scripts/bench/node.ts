/**
 * End-to-end benchmark of the sequencer cluster beside etcd, in the same run: real processes on
 * 127.0.0.1 with durable storage, the same closed-loop load generator (C clients, each sending its
 * next request when the previous one is answered) and the same payload size (a ~200-byte signed
 * EIP-1559 transaction vs a 200-byte etcd value), alternating system per concurrency level.
 *
 *   npm run bench                 full suite: 3 and 5 nodes, forwarding, batches, 10 failover trials, 5-minute memory run
 *   npm run bench -- --quick      a few minutes: short windows, 3 failover trials, 20-second memory run
 *   npm run bench -- --systems sequencer --nodes 3 --phases throughput --concurrency 64 --profile /tmp/prof
 *
 * Phases: throughput (leader writes; for our side also follower forwarding and JSON-RPC batches
 * of 100 at the first cluster size), handover (graceful leader changes: our scheduled rotation or
 * etcd's move-leader, and a graceful shutdown of the leader, SIGTERM, for both), failover (leader
 * SIGKILL), busy (our cluster under load while CPU hogs keep every core busy: Raft terms begun),
 * memory (RSS after a sustained run at half the best rate, disk before and after compaction).
 * Writes scripts/bench/results/latest.json (profile runs: profile.json).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { formatProfileSummary, summarizeCpuProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { diskBytes, ensureEtcd, EtcdCluster, etcdPutBodies, ETCD_TIMEOUTS, tallyEtcdReply } from "./lib/etcd.js";
import { measureHandover, runFailoverTrials, type ClusterUnderTest, type FailoverTrial, type HandoverResult } from "./lib/failover.js";
import { RpcHttpClient, runClosedLoop, tallyReply, type LoadResult } from "./lib/load.js";
import { scrapeCounters, scrapeMemory, type NodeCounters, type NodeMemory } from "./lib/metrics.js";
import { LoadSigner, PresignedPool } from "./lib/presign.js";
import { sampleProcess, selfCpuSeconds, type ProcSample } from "./lib/procstat.js";
import { SequencerCluster, sequencerTimeouts } from "./lib/sequencer.js";
import { signalGroup, startCpuHogs } from "../lib/processes.js";
import { UsageError, numberOption } from "../lib/cli.js";

const ROLLUP_CHAIN_ID = 901;
const BATCH_SIZE = 100;
const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

type System = "sequencer" | "etcd";
type Target = "leader" | "follower" | "batch100";
type Phase = "throughput" | "handover" | "failover" | "busy" | "memory";
const SYSTEMS: readonly System[] = ["sequencer", "etcd"];
const TARGETS: readonly Target[] = ["leader", "follower", "batch100"];
const PHASES: readonly Phase[] = ["throughput", "handover", "failover", "busy", "memory"];

function parseSettings() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      duration: { type: "string" },
      warmup: { type: "string" },
      concurrency: { type: "string", default: "1,16,64,256" },
      "batch-concurrency": { type: "string", default: "1,2" },
      nodes: { type: "string", default: "3,5" },
      systems: { type: "string", default: SYSTEMS.join(",") },
      targets: { type: "string", default: TARGETS.join(",") },
      phases: { type: "string", default: PHASES.join(",") },
      "failover-trials": { type: "string" },
      sustain: { type: "string" },
      busy: { type: "string" },
      "sustain-rate": { type: "string" },
      method: { type: "string", default: "seq_sendRawTransaction" },
      senders: { type: "string", default: "1000" },
      "tx-bytes": { type: "string", default: "200" },
      profile: { type: "string" },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "npm run bench -- [--quick] [--duration S] [--warmup S] [--concurrency 1,16,64,256] [--batch-concurrency 1,2]\n" +
        "                 [--nodes 3,5] [--systems sequencer,etcd] [--targets leader,follower,batch100]\n" +
        "                 [--phases throughput,handover,failover,busy,memory] [--failover-trials N] [--busy S] [--sustain S] [--sustain-rate R]\n" +
        "                 [--method seq_sendRawTransaction|eth_sendRawTransaction] [--senders N] [--tx-bytes N]\n" +
        "                 [--profile DIR] [--out FILE] [--keep]\n" +
        "--quick: 3 s windows, 3 failover trials, a 20 s busy run, a 20 s memory run (defaults: 10 s, 10 trials, 300 s, 300 s)\n" +
        "--busy S: the busy run: our cluster under load while CPU hogs keep every core busy, counting the Raft terms begun\n" +
        "--sustain-rate R: the memory run's writes/s (default: half the best leader rate measured, 250 without a throughput phase)\n" +
        "--profile DIR: V8 CPU profiles of our nodes (throughput phase only), summarized per scenario\n" +
        "--keep leaves the temp dir (node and etcd logs and data) in place and prints its path",
    );
    process.exit(0);
  }
  const quick = values.quick!;
  const positive = (name: string, v: string | undefined): number => numberOption(v ?? "", `--${name}`, (n) => n > 0)!;
  const list = (name: string, v: string | undefined): number[] => (v ?? "").split(",").map((x) => Math.round(positive(name, x.trim())));
  const names = <T extends string>(name: string, v: string, known: readonly T[]): T[] => {
    const out = v.split(",").map((t) => t.trim()) as T[];
    for (const t of out) if (!known.includes(t)) throw new UsageError(`--${name}: unknown "${t}" (known: ${known.join(", ")})`);
    return out;
  };
  if (!["seq_sendRawTransaction", "eth_sendRawTransaction"].includes(values.method!)) {
    throw new UsageError(`--method must be seq_sendRawTransaction or eth_sendRawTransaction, got ${values.method}`);
  }
  const warmup = values.warmup ?? (quick ? "1" : "2");
  const profileDir = values.profile === undefined ? undefined : path.resolve(values.profile);
  const nodes = list("nodes", values.nodes);
  for (const n of nodes) if (n < 3 || n > 7) throw new UsageError(`--nodes: cluster sizes from 3 to 7, got ${n}`);
  return {
    quick,
    durationMs: positive("duration", values.duration ?? (quick ? "3" : "10")) * 1000,
    warmupMs: Number(warmup) >= 0 ? Number(warmup) * 1000 : positive("warmup", warmup),
    concurrency: list("concurrency", values.concurrency),
    batchConcurrency: list("batch-concurrency", values["batch-concurrency"]),
    nodes,
    systems: names("systems", values.systems!, SYSTEMS),
    targets: names("targets", values.targets!, TARGETS),
    phases: names("phases", values.phases!, PHASES),
    failoverTrials: Math.round(positive("failover-trials", values["failover-trials"] ?? (quick ? "3" : "10"))),
    sustainMs: positive("sustain", values.sustain ?? (quick ? "20" : "300")) * 1000,
    busyMs: positive("busy", values.busy ?? (quick ? "20" : "300")) * 1000,
    sustainRate: values["sustain-rate"] === undefined ? undefined : Math.round(positive("sustain-rate", values["sustain-rate"])),
    method: values.method!,
    senders: Math.round(positive("senders", values.senders)),
    txBytes: Math.round(positive("tx-bytes", values["tx-bytes"])),
    profileDir,
    keep: values.keep!,
    out: path.resolve(values.out ?? path.join(REPO_ROOT, "scripts/bench/results", profileDir ? "profile.json" : "latest.json")),
  };
}
type Settings = ReturnType<typeof parseSettings>;

/** /proc/stat totals: machine-wide busy and total jiffies (other tenants included). */
function machineJiffies(): { busy: number; total: number } {
  const line = execFileSync("head", ["-1", "/proc/stat"], { encoding: "utf8" });
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3]! + v[4]!;
  return { busy: total - idle, total };
}

interface WindowSnapshot {
  readonly hrUs: number;
  readonly wallMs: number;
  readonly procs: ProcSample[];
  readonly selfCpu: number;
  readonly machine: { busy: number; total: number };
  /** Our nodes' metrics, started at the snapshot and read after the run (a round trip cannot block the load loop). */
  readonly counters?: Promise<NodeCounters[]>;
}

/** Figures every scenario has, for both systems. */
interface ScenarioResult {
  system: System;
  nodes: number;
  concurrency: number;
  target: Target;
  txsPerRequest: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** CPU cores used by each member process over the window (1 = one core fully busy), by member index. */
  cpuPerNode: number[];
  rssMbPerNode: number[];
  leaderIndex: number;
  /** The leader at the end was another one: an election (or a scheduled rotation) happened under load. */
  leaderChanged: boolean;
  /** Our side: Raft terms begun during the scenario (elections and transfers; 0 = one leader throughout). */
  termsBegun?: number;
  /** Committed writes per CPU-second spent by all members together. */
  opsPerClusterCpuSecond: number;
  opsPerLeaderCpuSecond: number;
  /** CPU cores used by this process: load generator (and, for our side, the idle in-process L1 chain). */
  loadGenCpu: number;
  /** Share of the whole machine's CPU busy during the window (all tenants). */
  machineCpuBusy: number;
  /** CPU cores used by other tenants during the window (busy minus the members under test and this process). */
  otherTenantsCpu: number;
  windowSeconds: number;
  exhausted: boolean;
  /** Our side only: group commits and the leader's own proposal-to-commitment latency. */
  sequencer?: {
    method: string;
    fsyncsPerSecPerNode: number[];
    fsyncMeanMsPerNode: number[];
    txsPerLeaderFsync: number;
    leaderCommitMeanMs: number;
  };
  profileWindowUs?: [number, number];
}

/** One system's cluster as the scenarios drive it. */
interface Side extends ClusterUnderTest {
  readonly system: System;
  pids(): number[];
  /** Our side: the node's /metrics (fsyncs, commit latency). */
  counters?(): Promise<NodeCounters[]>;
  /** Our side: the highest Raft term any running node reports. */
  term?(): Promise<number>;
  /** Our side: each node's V8 heap and external memory, to say what its RSS is made of. */
  memory?(): Promise<NodeMemory[]>;
  dataDirs(): string[];
  stop(): Promise<void>;
}

function sequencerSide(cluster: SequencerCluster, pool: PresignedPool): Side {
  return {
    system: "sequencer",
    size: cluster.size,
    submitUrl: (i) => cluster.urls[i]!,
    nextBody: () => pool.body(1),
    tally: tallyReply,
    leaderIndex: (t) => cluster.leaderIndex(t),
    isRunning: (i) => cluster.isRunning(i),
    kill: (i) => cluster.stopNode(i, "SIGKILL"),
    restart: (i) => void cluster.startNode(i),
    settle: (t) => cluster.settle(t),
    pids: () => cluster.procs.map((p) => p.pid),
    counters: () => Promise.all(cluster.urls.map((u) => scrapeCounters(u))),
    memory: () => Promise.all(cluster.urls.map((u) => scrapeMemory(u))),
    term: async () => Math.max(...(await Promise.all(cluster.live().map((i) => cluster.status(i)))).map((s) => s.term)),
    dataDirs: () => cluster.net.operators.map((_, i) => cluster.dataDir(i)),
    stop: () => cluster.stop(),
  };
}

function etcdSide(cluster: EtcdCluster, valueBytes: number): Side {
  const bodies = etcdPutBodies(valueBytes);
  return {
    system: "etcd",
    size: cluster.members.length,
    submitUrl: (i) => `${cluster.urls[i]}/v3/kv/put`,
    nextBody: bodies,
    tally: tallyEtcdReply,
    leaderIndex: (t) => cluster.leaderIndex(t),
    isRunning: (i) => cluster.isRunning(i),
    kill: (i) => cluster.stopMember(i, "SIGKILL"),
    restart: (i) => cluster.startMember(i),
    settle: (t) => cluster.settle(t),
    pids: () => cluster.members.map((_, i) => cluster.pid(i) ?? -1),
    dataDirs: () => cluster.members.map((m) => m.dataDir),
    stop: () => cluster.stop(),
  };
}

interface ScenarioSpec {
  readonly target: Target;
  readonly concurrency: number;
  readonly txsPerRequest: number;
}

/** Runs one closed-loop scenario against `side` and gathers the figures. */
async function runScenario(side: Side, client: RpcHttpClient, settings: Settings, spec: ScenarioSpec, nextBody: () => { body: string; txs: number } | undefined): Promise<ScenarioResult> {
  await side.settle();
  const leader = await side.leaderIndex();
  const followers = Array.from({ length: side.size }, (_, i) => i).filter((i) => i !== leader);
  const pids = side.pids();
  const snap = (): WindowSnapshot => ({
    hrUs: Number(process.hrtime.bigint() / 1000n),
    wallMs: performance.now(),
    procs: pids.map((p) => sampleProcess(p)),
    selfCpu: selfCpuSeconds(),
    machine: machineJiffies(),
    ...(side.counters ? { counters: side.counters() } : {}),
  });
  let first: WindowSnapshot | undefined;
  let last: WindowSnapshot | undefined;
  const termBefore = await side.term?.();
  const load: LoadResult = await runClosedLoop(client, {
    concurrency: spec.concurrency,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
    urlFor: (i) => side.submitUrl(spec.target === "follower" ? followers[i % followers.length]! : leader),
    nextBody,
    tally: side.tally,
    window: { onWindowStart: () => (first = snap()), onWindowEnd: () => (last = snap()) },
  });
  if (first === undefined || last === undefined) throw new Error("the measurement window never opened");
  const leaderAfter = await side.leaderIndex();
  const termAfter = await side.term?.();
  const secs = (last.wallMs - first.wallMs) / 1000;
  const cpu = last.procs.map((n, i) => n.cpuSeconds - first!.procs[i]!.cpuSeconds);
  const clusterCpu = cpu.reduce((a, b) => a + b, 0);
  const machineBusy = (last.machine.busy - first.machine.busy) / (last.machine.total - first.machine.total);
  const loadGenCpu = (last.selfCpu - first.selfCpu) / secs;
  const r: ScenarioResult = {
    system: side.system,
    nodes: side.size,
    concurrency: spec.concurrency,
    target: spec.target,
    txsPerRequest: spec.txsPerRequest,
    opsPerSec: round(load.opsPerSec, 1),
    p50Ms: round(load.p50Ms, 2),
    p99Ms: round(load.p99Ms, 2),
    maxMs: round(load.maxMs, 2),
    meanMs: round(load.meanMs, 2),
    errors: load.errors,
    errorKinds: load.errorKinds,
    cpuPerNode: cpu.map((c) => round(c / secs, 3)),
    rssMbPerNode: last.procs.map((n) => round(n.rssBytes / 2 ** 20, 1)),
    leaderIndex: leader,
    leaderChanged: leaderAfter !== leader,
    ...(termBefore !== undefined && termAfter !== undefined ? { termsBegun: termAfter - termBefore } : {}),
    opsPerClusterCpuSecond: round(load.committed / clusterCpu, 1),
    opsPerLeaderCpuSecond: round(load.committed / cpu[leader]!, 1),
    loadGenCpu: round(loadGenCpu, 3),
    machineCpuBusy: round(machineBusy, 3),
    otherTenantsCpu: round(Math.max(0, machineBusy * cpus().length - clusterCpu / secs - loadGenCpu), 2),
    windowSeconds: round(load.windowMs / 1000, 2),
    exhausted: load.exhausted,
  };
  if (first.counters && last.counters) {
    const [c0, c1] = await Promise.all([first.counters, last.counters]);
    const fsyncs = c1.map((c, i) => c.fsyncCount - c0[i]!.fsyncCount);
    const fsyncSecs = c1.map((c, i) => c.fsyncSeconds - c0[i]!.fsyncSeconds);
    const commits = c1[leader]!.commitCount - c0[leader]!.commitCount;
    r.sequencer = {
      method: settings.method,
      fsyncsPerSecPerNode: fsyncs.map((n) => round(n / secs, 1)),
      fsyncMeanMsPerNode: fsyncs.map((n, i) => round(n > 0 ? (1000 * fsyncSecs[i]!) / n : Number.NaN, 2)),
      txsPerLeaderFsync: round(load.committed / Math.max(1, fsyncs[leader]!), 1),
      leaderCommitMeanMs: round(commits > 0 ? (1000 * (c1[leader]!.commitSeconds - c0[leader]!.commitSeconds)) / commits : Number.NaN, 2),
    };
  }
  if (settings.profileDir) r.profileWindowUs = [first.hrUs, last.hrUs];
  return r;
}

interface MemoryResult {
  system: System;
  nodes: number;
  /** Offered rate: half the best leader throughput this system reached in this run. */
  targetOpsPerSec: number;
  achievedOpsPerSec: number;
  p99Ms: number;
  errors: number;
  durationSeconds: number;
  rssMbPerNode: number[];
  peakRssMbPerNode: number[];
  /** Our side: V8 heap in use and external memory per node at the end of the run. */
  heapMbPerNode?: NodeMemory[];
  diskBytesBefore: number[];
  diskBytesAfterCompaction: number[];
  compaction: string;
}

/** A sustained run at `rate` writes/s (paced closed loop), sampling RSS every second. */
async function sustain(side: Side, client: RpcHttpClient, rate: number, durationMs: number, nextBody: () => { body: string; txs: number } | undefined) {
  await side.settle();
  const leader = await side.leaderIndex();
  const pids = side.pids();
  const peak = pids.map(() => 0);
  const sampler = setInterval(() => {
    for (const [i, pid] of pids.entries()) {
      try {
        peak[i] = Math.max(peak[i]!, sampleProcess(pid).rssBytes);
      } catch {
        // Exited: the run will say so through errors.
      }
    }
  }, 1_000);
  try {
    const load = await runClosedLoop(client, {
      concurrency: 64,
      warmupMs: 0,
      durationMs,
      urlFor: () => side.submitUrl(leader),
      nextBody,
      tally: side.tally,
      maxRequestsPerSec: rate,
    });
    const rss = pids.map((p) => sampleProcess(p).rssBytes);
    return {
      load,
      rssMbPerNode: rss.map((b) => round(b / 2 ** 20, 1)),
      peakRssMbPerNode: rss.map((b, i) => round(Math.max(b, peak[i]!) / 2 ** 20, 1)),
    };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  const settings = parseSettings();
  const log = (line: string) => console.log(line);
  const dir = await mkdtemp(path.join(tmpdir(), "seq-bench-"));
  const open = new Set<Side>();
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await Promise.all([...open].map((s) => s.stop().catch(() => undefined)));
      if (settings.keep) console.log(`kept ${dir} (logs: node-*/node.log, etcd-*/etcd.log)`);
      else await rm(dir, { recursive: true, force: true });
    })());
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping the clusters and removing ${dir}`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  // An error outside main's await chain must not orphan the member processes either.
  for (const event of ["uncaughtException", "unhandledRejection"] as const) {
    process.on(event, (error: unknown) => {
      // Once stopping, a load loop still sampling /proc of a stopped node is expected: not worth a trace.
      if (cleaning !== undefined) return;
      console.error(`bench: ${event}:`, error);
      void cleanup().finally(() => process.exit(1));
    });
  }

  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  console.log(`bench: ${cpus().length} CPUs (${cpus()[0]?.model}), Node ${process.version}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}`);

  let etcdVersion: string | null = null;
  let etcdSkipped: string | null = null;
  const systems = [...settings.systems];
  if (systems.includes("etcd")) {
    try {
      etcdVersion = ensureEtcd(log);
      console.log(`etcd: ${etcdVersion}`);
    } catch (error) {
      etcdSkipped = (error as Error).message;
      console.log(`etcd: ${etcdSkipped}\n      continuing without the etcd side`);
      systems.splice(systems.indexOf("etcd"), 1);
    }
  }

  const signer = new LoadSigner({ chainId: ROLLUP_CHAIN_ID, senders: settings.senders, txBytes: settings.txBytes });
  await signer.checkAgainstViem();
  const pool = new PresignedPool(signer, settings.method);
  const txBytes = (signer.sign(1)[0]!.length - 2) / 2;
  /** Signs ahead of a phase: `rate` writes/s over `seconds`, with a floor. */
  const topUp = (rate: number, seconds: number, extra = 0) => {
    const t0 = performance.now();
    const n = pool.ensure(Math.ceil(Math.max(2_000, rate) * seconds) + extra);
    if (n >= 10_000) console.log(`  (pre-signed ${n} transactions in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };

  const scenarios: ScenarioResult[] = [];
  const failover: (FailoverTrial & { system: System; nodes: number })[] = [];
  const handover: (HandoverResult & { system: System; nodes: number; how: string })[] = [];
  const memory: MemoryResult[] = [];
  /** Our cluster under load with every core kept busy by CPU hogs. */
  let busy: { nodes: number; hogs: number; durationSeconds: number; targetOpsPerSec: number; achievedOpsPerSec: number; p99Ms: number; errors: number; termsBegun: number } | undefined;
  const failures: { nodes: number; error: string }[] = [];
  const bestRate: Record<System, number> = { sequencer: 0, etcd: 0 };
  /**
   * The rate to sign ahead for: twice the best so far, and never under 5,000/s, since a higher
   * concurrency or a quieter machine can beat the best rate by far (a window that runs out of
   * load is cut short).
   */
  const headroom = () => Math.max(2 * bestRate.sequencer, 5_000);
  const client = new RpcHttpClient(Math.max(256, ...settings.concurrency));
  const seqEnv: NodeJS.ProcessEnv = {};
  if (settings.profileDir) {
    mkdirSync(settings.profileDir, { recursive: true });
    seqEnv.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${settings.profileDir}`.trim();
  }
  let profiled: { cluster: SequencerCluster; scenarios: ScenarioResult[] } | undefined;

  try {
    for (const [sizeIndex, n] of settings.nodes.entries()) {
      try {
        const sides: Side[] = [];
        let seqCluster: SequencerCluster | undefined;
        let etcdCluster: EtcdCluster | undefined;
        if (systems.includes("sequencer")) {
          seqCluster = await SequencerCluster.start(path.join(dir, `seq-${n}`), n, seqEnv);
          const side = sequencerSide(seqCluster, pool);
          open.add(side);
          sides.push(side);
          console.log(`\nsequencer: ${n} nodes up (pids ${side.pids().join(" ")}); ${txBytes}-byte EIP-1559 transactions from ${settings.senders} senders`);
        }
        if (systems.includes("etcd")) {
          etcdCluster = await EtcdCluster.start(path.join(dir, `etcd-${n}`), n);
          const side = etcdSide(etcdCluster, txBytes);
          open.add(side);
          sides.push(side);
          console.log(`etcd: ${n} members up (pids ${side.pids().join(" ")}); ${txBytes}-byte values through the v3 JSON gateway`);
        }
        const seq = sides.find((s) => s.system === "sequencer");
        const etcd = sides.find((s) => s.system === "etcd");
        const bodyFor = (side: Side, txs = 1) => (side.system === "sequencer" ? () => pool.body(txs) : side.nextBody);

        if (settings.phases.includes("throughput")) {
          // Alternating: both systems at one concurrency level, then the next level.
          for (const c of settings.concurrency) {
            for (const side of sides) {
              if (side.system === "sequencer") topUp(headroom(), (settings.warmupMs + settings.durationMs) / 1000, c);
              const r = await runScenario(side, client, settings, { target: "leader", concurrency: c, txsPerRequest: 1 }, bodyFor(side));
              scenarios.push(r);
              bestRate[side.system] = Math.max(bestRate[side.system], r.opsPerSec);
              printRow(r);
            }
            printRatio(scenarios, n, c);
          }
          // Our own paths at the first size: submissions to followers (forwarded), JSON-RPC batches.
          if (seq && sizeIndex === 0) {
            const extra: ScenarioSpec[] = [];
            if (settings.targets.includes("follower")) for (const c of settings.concurrency.filter((x) => x >= 16)) extra.push({ target: "follower", concurrency: c, txsPerRequest: 1 });
            if (settings.targets.includes("batch100")) for (const c of settings.batchConcurrency) extra.push({ target: "batch100", concurrency: c, txsPerRequest: BATCH_SIZE });
            for (const spec of extra) {
              topUp(headroom(), (settings.warmupMs + settings.durationMs) / 1000, spec.concurrency * spec.txsPerRequest);
              const r = await runScenario(seq, client, settings, spec, bodyFor(seq, spec.txsPerRequest));
              scenarios.push(r);
              printRow(r);
            }
          }
          if (seqCluster && settings.profileDir && sizeIndex === 0) profiled = { cluster: seqCluster, scenarios: scenarios.filter((s) => s.system === "sequencer" && s.nodes === n) };
        }

        if (sizeIndex === 0 && settings.phases.includes("handover")) {
          console.log("\ngraceful handover under load (16 writers over all members)");
          if (seq && seqCluster) {
            // Our nodes hand leadership to each epoch's scheduled primary: mine into the next epoch until that is another node.
            for (let attempt = 0; attempt < 6; attempt++) {
              topUp(headroom(), 15);
              let epoch = 0;
              const h = await measureHandover(seq, client, async () => void (epoch = await seqCluster.advanceEpoch()), { concurrency: 16, steadyMs: 2_000, timeoutMs: 10_000 });
              if (h.to === null) {
                console.log(`  sequencer: epoch ${epoch} kept node ${h.from} as leader (scheduled first): next epoch`);
                continue;
              }
              handover.push({ ...h, system: "sequencer", nodes: n, how: `scheduled rotation at L1 epoch ${epoch}` });
              printHandover(handover.at(-1)!);
              break;
            }
          }
          if (etcd && etcdCluster) {
            const h = await measureHandover(etcd, client, async (from) => etcdCluster.transferLeadership(from, (from + 1) % n), { concurrency: 16, steadyMs: 2_000, timeoutMs: 10_000 });
            handover.push({ ...h, system: "etcd", nodes: n, how: "move-leader (maintenance/transfer-leadership)" });
            printHandover(handover.at(-1)!);
          }
          // A graceful shutdown of the leader (SIGTERM; the writers drain it as a load balancer would), then it restarts.
          for (const side of sides) {
            if (side.system === "sequencer") topUp(headroom(), 15);
            let stopped = -1;
            const h = await measureHandover(side, client, async (from) => {
              stopped = from;
              if (side.system === "sequencer") void seqCluster!.stopNode(from, "SIGTERM");
              else void etcdCluster!.stopMember(from, "SIGTERM");
            }, { concurrency: 16, steadyMs: 2_000, timeoutMs: 10_000, drain: true });
            handover.push({ ...h, system: side.system, nodes: n, how: "graceful shutdown of the leader (SIGTERM)" });
            printHandover(handover.at(-1)!);
            while (side.isRunning(stopped)) await sleep(50);
            side.restart(stopped);
            await side.settle(120_000);
          }
        }

        if (sizeIndex === 0 && settings.phases.includes("failover")) {
          console.log(`\nfailover: leader SIGKILL under load (16 writers over all members), ${settings.failoverTrials} trials per system`);
          for (const side of sides) {
            if (side.system === "sequencer") topUp(headroom(), settings.failoverTrials * 8);
            const trials = await runFailoverTrials(side, client, {
              trials: settings.failoverTrials,
              concurrency: 16,
              steadyMs: 2_000,
              timeoutMs: 30_000,
              probeEveryMs: 20,
              onTrial: (t) =>
                console.log(`  ${side.system.padEnd(9)} trial ${t.trial}: killed ${t.killed}, new leader ${t.newLeader ?? "?"}, first new write after ${t.failoverMs ?? "none"} ms; caught up ${t.catchUpMs} ms after restart`),
            });
            failover.push(...trials.map((t) => ({ ...t, system: side.system, nodes: n })));
          }
          for (const s of summarizeFailover(failover)) console.log(`  ${s.system.padEnd(9)} median ${s.medianMs} ms, max ${s.maxMs} ms over ${s.trials} trials (${s.failed} without a new write)`);
        }

        if (sizeIndex === 0 && seq && settings.phases.includes("busy")) {
          const hogCount = Math.max(2, cpus().length);
          const rate = 200;
          console.log(`\nbusy: ${settings.busyMs / 1000} s at ${rate} writes/s while ${hogCount} CPU hogs keep every core busy: Raft terms begun`);
          topUp(rate * 1.05, settings.busyMs / 1000 + 5);
          await seq.settle();
          const termBefore = await seq.term!();
          const hogs = startCpuHogs(hogCount);
          try {
            const s = await sustain(seq, client, rate, settings.busyMs, bodyFor(seq));
            const termsBegun = (await seq.term!()) - termBefore;
            busy = { nodes: n, hogs: hogCount, durationSeconds: settings.busyMs / 1000, targetOpsPerSec: rate, achievedOpsPerSec: round(s.load.opsPerSec, 1), p99Ms: round(s.load.p99Ms, 2), errors: s.load.errors, termsBegun };
            console.log(`  sequencer ${busy.achievedOpsPerSec}/${rate} writes/s (p99 ${busy.p99Ms} ms, ${busy.errors} errors): ${termsBegun} terms begun`);
          } finally {
            for (const hog of hogs) signalGroup(hog, "SIGKILL");
          }
        }

        if (sizeIndex === 0 && settings.phases.includes("memory")) {
          console.log(`\nmemory: ${settings.sustainMs / 1000} s at ${settings.sustainRate ?? "half the best leader rate"} writes/s, then disk before and after compaction`);
          for (const side of sides) {
            const rate = settings.sustainRate ?? Math.max(1, Math.round((bestRate[side.system] || 500) / 2));
            if (side.system === "sequencer") topUp(rate * 1.05, settings.sustainMs / 1000 + 5);
            const s = await sustain(side, client, rate, settings.sustainMs, bodyFor(side));
            const heap = await side.memory?.();
            await side.settle();
            const before = side.dataDirs().map((d) => diskBytes(d));
            let compaction: string;
            if (side.system === "etcd") {
              await etcdCluster!.compactAndDefrag();
              compaction = "kv compaction at the latest revision (physical), then defragment on every member";
            } else {
              compaction = await compactSequencer(seqCluster!, side, client);
            }
            const after = side.dataDirs().map((d) => diskBytes(d));
            const m: MemoryResult = {
              system: side.system,
              nodes: n,
              targetOpsPerSec: rate,
              achievedOpsPerSec: round(s.load.opsPerSec, 1),
              p99Ms: round(s.load.p99Ms, 2),
              errors: s.load.errors,
              durationSeconds: settings.sustainMs / 1000,
              rssMbPerNode: s.rssMbPerNode,
              peakRssMbPerNode: s.peakRssMbPerNode,
              ...(heap ? { heapMbPerNode: heap } : {}),
              diskBytesBefore: before,
              diskBytesAfterCompaction: after,
              compaction,
            };
            memory.push(m);
            console.log(
              `  ${m.system.padEnd(9)} ${m.achievedOpsPerSec.toFixed(0)}/${rate} writes/s for ${m.durationSeconds} s (p99 ${m.p99Ms.toFixed(1)} ms, ${m.errors} errors): RSS MB ${m.rssMbPerNode.join(" ")} (peak ${m.peakRssMbPerNode.join(" ")})${heap ? `, V8 heap used ${heap.map((h) => h.heapUsedMb).join(" ")} of ${heap.map((h) => h.heapTotalMb).join(" ")}, external ${heap.map((h) => h.externalMb).join(" ")}` : ""}; disk MB ${before.map(mb).join(" ")} -> ${after.map(mb).join(" ")} after compaction`,
            );
          }
        }

        if (profiled?.cluster !== seqCluster) {
          for (const side of sides) {
            await side.stop();
            open.delete(side);
          }
        }
      } catch (error) {
        if (cleaning !== undefined) return; // stopped by a signal: its handler cleans up and exits
        // One cluster size failing (a node that would not start) must not lose the figures of the others.
        failures.push({ nodes: n, error: (error as Error).message.split("\n")[0]! });
        console.error(`\n${n}-node phase failed: ${(error as Error).stack ?? error}`);
        for (const side of [...open]) {
          if (profiled && side.system === "sequencer" && side.size === profiled.cluster.size) continue;
          await side.stop().catch(() => undefined);
          open.delete(side);
        }
      }
    }

    const summary = summarizeFailover(failover);
    const comparison = compare(scenarios);
    const handoverErrors = handover.map((h) => ({ system: h.system, how: h.how, errors: h.errors, maxGapMs: h.maxGapMs, steadyP99Ms: h.steadyP99Ms, gapVsSteadyP99: h.gapVsSteadyP99 }));
    const targets = judgeTargets(comparison, summary, memory, handover, scenarios, busy);
    printSummary(comparison, targets);

    const result = {
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? "unknown",
        node: process.version,
        loadAverage: { start: loadAtStart, end: loadavg() },
        shared: "2 cores shared with other engineers' test runs: see machineCpuBusy and otherTenantsCpu per scenario",
      },
      commit: gitHead(),
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: {
        quick: settings.quick,
        durationSeconds: settings.durationMs / 1000,
        warmupSeconds: settings.warmupMs / 1000,
        txBytes,
        senders: settings.senders,
        failoverTrials: settings.failoverTrials,
        sustainSeconds: settings.sustainMs / 1000,
        busySeconds: settings.busyMs / 1000,
        sequencer: { storage: "level, synced group commit (one fsync per Ready)", timeouts: sequencerTimeouts() },
        etcd: etcdVersion ? { version: etcdVersion, timeouts: ETCD_TIMEOUTS, fsync: "default (on)", api: "v3 JSON gateway /v3/kv/put" } : { skipped: etcdSkipped ?? "not selected" },
        profiled: settings.profileDir !== undefined,
      },
      scenarios,
      comparison,
      failover,
      failoverSummary: summary,
      handover,
      handoverErrors,
      busyTermsBegun: busy?.termsBegun ?? null,
      busy: busy ?? null,
      memory,
      targets,
      failures,
    };
    mkdirSync(path.dirname(settings.out), { recursive: true });
    writeFileSync(settings.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(process.cwd(), settings.out)}`);
    if (failures.length > 0) process.exitCode = 1;

    if (profiled && settings.profileDir) {
      // Graceful stop so V8 writes the profiles on exit.
      await profiled.cluster.stop("SIGTERM");
      const summaries = summarizeProfiles(settings.profileDir, profiled.cluster, profiled.scenarios);
      writeFileSync(settings.out.replace(/\.json$/, ".summary.json"), `${JSON.stringify(summaries, null, 2)}\n`);
    }
  } finally {
    client.close();
    await cleanup();
  }
}

/**
 * Our nodes compact on their own once `compactEvery` entries are applied (snapshot, then the log
 * entries are deleted). To measure disk before and after, restart every node with compactEvery 1
 * and commit a little more so each one snapshots and drops its log.
 */
async function compactSequencer(cluster: SequencerCluster, side: Side, client: RpcHttpClient): Promise<string> {
  for (let i = 0; i < cluster.size; i++) await cluster.stopNode(i, "SIGTERM");
  for (let i = 0; i < cluster.size; i++) cluster.startNode(i, { SEQ_COMPACT_EVERY: "1" });
  // A restarted leader may refuse submissions for a while (history still loading): retry, and say so.
  const wanted = 20;
  const deadline = Date.now() + 90_000;
  let sent = 0;
  let lastError = "";
  let leader: number | undefined;
  while (sent < wanted && Date.now() < deadline) {
    leader ??= await cluster.leaderIndex(Math.max(1, deadline - Date.now()));
    const b = side.nextBody();
    if (b === undefined) {
      lastError = "the pre-signed load ran out";
      break;
    }
    const reply = await client.post(side.submitUrl(leader), b.body, 15_000).catch((e: Error) => ({ status: 0, text: e.message }));
    const tally = tallyReply(reply.status, reply.text, 1);
    sent += tally.ok;
    if (tally.ok === 0) {
      lastError = tally.errors?.[0] ?? reply.text.slice(0, 80);
      leader = undefined;
      await sleep(250);
    }
  }
  await cluster.settle(60_000);
  const shortfall = sent < wanted ? ` (of ${wanted}; last error: ${lastError})` : "";
  return `restart with SEQ_COMPACT_EVERY=1 and ${sent} more commitments${shortfall}: each node snapshots and deletes its applied log entries (level reclaims the space as it compacts its files)`;
}

interface FailoverSummary {
  system: System;
  nodes: number;
  trials: number;
  failed: number;
  medianMs: number | null;
  maxMs: number | null;
  timeouts: { heartbeatMs: number; electionMs: number; electionJitterMs?: number; leaderTakeoverMs?: number };
}

function summarizeFailover(trials: readonly (FailoverTrial & { system: System; nodes: number })[]): FailoverSummary[] {
  const out: FailoverSummary[] = [];
  for (const system of SYSTEMS) {
    const mine = trials.filter((t) => t.system === system);
    if (mine.length === 0) continue;
    const ms = mine.map((t) => t.failoverMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
    out.push({
      system,
      nodes: mine[0]!.nodes,
      trials: mine.length,
      failed: mine.length - ms.length,
      medianMs: ms.length ? round(median(ms), 1) : null,
      maxMs: ms.length ? ms.at(-1)! : null,
      timeouts: system === "etcd" ? { ...ETCD_TIMEOUTS } : sequencerTimeouts(),
    });
  }
  return out;
}

interface Comparison {
  nodes: number;
  concurrency: number;
  sequencerOpsPerSec: number;
  etcdOpsPerSec: number;
  throughputRatio: number;
  sequencerP99Ms: number;
  etcdP99Ms: number;
  p99Ratio: number;
}

function compare(scenarios: readonly ScenarioResult[]): Comparison[] {
  const out: Comparison[] = [];
  for (const s of scenarios.filter((x) => x.system === "sequencer" && x.target === "leader")) {
    const e = scenarios.find((x) => x.system === "etcd" && x.nodes === s.nodes && x.concurrency === s.concurrency);
    if (!e) continue;
    out.push({
      nodes: s.nodes,
      concurrency: s.concurrency,
      sequencerOpsPerSec: s.opsPerSec,
      etcdOpsPerSec: e.opsPerSec,
      throughputRatio: round(s.opsPerSec / e.opsPerSec, 2),
      sequencerP99Ms: s.p99Ms,
      etcdP99Ms: e.p99Ms,
      p99Ratio: round(s.p99Ms / e.p99Ms, 2),
    });
  }
  return out;
}

interface TargetVerdict {
  target: string;
  met: boolean | null;
  measured: string;
}

function judgeTargets(
  comparison: readonly Comparison[],
  failover: readonly FailoverSummary[],
  memory: readonly MemoryResult[],
  handover: readonly (HandoverResult & { system: System; how: string })[],
  scenarios: readonly ScenarioResult[],
  busy: { termsBegun: number; durationSeconds: number; hogs: number } | undefined,
): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  for (const c of comparison.filter((x) => x.concurrency === 64 || x.concurrency === 256)) {
    out.push({ target: `throughput >= 1.0x etcd (goal 2x), ${c.nodes} nodes, concurrency ${c.concurrency}`, met: c.throughputRatio >= 1, measured: `${c.throughputRatio}x (${c.sequencerOpsPerSec} vs ${c.etcdOpsPerSec} writes/s)` });
    if (c.concurrency === 256) out.push({ target: `p99 <= etcd's, ${c.nodes} nodes, concurrency ${c.concurrency}`, met: c.p99Ratio <= 1, measured: `${c.sequencerP99Ms} vs ${c.etcdP99Ms} ms` });
  }
  for (const ours of scenarios.filter((x) => x.system === "sequencer" && x.target === "leader" && x.concurrency === 1)) {
    const theirs = scenarios.find((x) => x.system === "etcd" && x.nodes === ours.nodes && x.concurrency === 1);
    if (theirs) out.push({ target: `p50 at concurrency 1 <= 2x etcd's, ${ours.nodes} nodes`, met: ours.p50Ms <= 2 * theirs.p50Ms, measured: `${ours.p50Ms} vs ${theirs.p50Ms} ms` });
  }
  for (const fwd of scenarios.filter((x) => x.system === "sequencer" && x.target === "follower")) {
    const direct = scenarios.find((x) => x.system === "sequencer" && x.target === "leader" && x.nodes === fwd.nodes && x.concurrency === fwd.concurrency);
    if (direct) out.push({ target: `forwarded path >= 80 % of the leader path, ${fwd.nodes} nodes, concurrency ${fwd.concurrency}`, met: fwd.opsPerSec >= 0.8 * direct.opsPerSec, measured: `${fwd.opsPerSec} vs ${direct.opsPerSec} writes/s (${round((100 * fwd.opsPerSec) / direct.opsPerSec, 0)} %)` });
  }
  const f = failover.find((x) => x.system === "sequencer");
  if (f) {
    out.push({
      target: "leader SIGKILL -> first new commitment: median <= 200 ms, max <= 400 ms over >= 10 trials",
      met: f.medianMs !== null && f.maxMs !== null && f.failed === 0 && f.trials >= 10 && f.medianMs <= 200 && f.maxMs <= 400,
      measured: `median ${f.medianMs} ms, max ${f.maxMs} ms over ${f.trials} trials, ${f.failed} without a new write`,
    });
  }
  for (const h of handover.filter((x) => x.system === "sequencer")) {
    out.push({
      target: `${h.how} under load: 0 client-visible errors, gap <= 2x the steady p99`,
      met: h.to !== null && h.errors === 0 && h.gapVsSteadyP99 <= 2,
      measured: `${h.errors} errors, gap ${h.maxGapMs} ms vs steady p99 ${h.steadyP99Ms} ms (${h.gapVsSteadyP99}x)${h.to === null ? ", no leader change seen" : ""}`,
    });
  }
  const windows = scenarios.filter((x) => x.system === "sequencer" && x.termsBegun !== undefined);
  if (windows.length > 0) {
    const begun = windows.filter((x) => (x.termsBegun ?? 0) > 0);
    out.push({ target: "zero terms begun in every throughput window", met: begun.length === 0, measured: `${begun.length} of ${windows.length} windows began terms${begun.length ? ` (${begun.map((x) => `${x.nodes}n ${x.target} c=${x.concurrency}: ${x.termsBegun}`).join(", ")})` : ""}` });
  }
  if (busy) out.push({ target: "zero terms begun with every core kept busy by CPU hogs", met: busy.termsBegun === 0, measured: `${busy.termsBegun} terms begun over ${busy.durationSeconds} s with ${busy.hogs} hogs` });
  const m = memory.find((x) => x.system === "sequencer");
  if (m) out.push({ target: "RSS <= 300 MB per node", met: Math.max(...m.peakRssMbPerNode) <= 300, measured: `end ${m.rssMbPerNode.join("/")} MB, peak ${m.peakRssMbPerNode.join("/")} MB after ${m.durationSeconds} s at ${m.achievedOpsPerSec} writes/s` });
  return out;
}

function summarizeProfiles(dir: string, cluster: SequencerCluster, scenarios: readonly ScenarioResult[]) {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  const fileOf = (pid: number) => {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (1 is tsx's loader).
    const f = files.find((x) => x.includes(`.${pid}.0.`));
    if (f === undefined) throw new Error(`no CPU profile for pid ${pid} in ${dir} (did the node exit cleanly?)`);
    return path.join(dir, f);
  };
  const out: { target: Target; concurrency: number; leader: ProfileSummary; follower: ProfileSummary }[] = [];
  for (const s of scenarios) {
    const [fromUs, toUs] = s.profileWindowUs!;
    const follower = s.leaderIndex === 0 ? 1 : 0;
    const leader = summarizeCpuProfile(fileOf(cluster.procs[s.leaderIndex]!.pid), { fromUs, toUs });
    const fol = summarizeCpuProfile(fileOf(cluster.procs[follower]!.pid), { fromUs, toUs }, 10);
    const txs = s.opsPerSec * s.windowSeconds;
    console.log(`\n${formatProfileSummary(`leader, ${s.target} c=${s.concurrency} (${s.opsPerSec} ops/s, /proc CPU ${s.cpuPerNode[s.leaderIndex]})`, leader, txs)}`);
    console.log(`\n${formatProfileSummary(`a follower, same window (/proc CPU ${s.cpuPerNode[follower]})`, fol, txs)}`);
    out.push({ target: s.target, concurrency: s.concurrency, leader, follower: fol });
  }
  return out;
}

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function gitHead(): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

let headerPrinted = false;
function printRow(r: ScenarioResult): void {
  if (!headerPrinted) {
    console.log(
      `\n${"system".padEnd(9)} ${"n".padStart(2)} ${"target".padEnd(9)} ${"conc".padStart(4)} ${"ops/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"errors".padStart(6)}  ${"CPU per member (L=leader)".padEnd(30)} ${"RSS MB".padEnd(20)} ${"ops/leader-CPU-s".padStart(16)} ${"loadgen".padStart(7)} ${"machine".padStart(7)} ${"others".padStart(6)}`,
    );
    headerPrinted = true;
  }
  const cpu = r.cpuPerNode.map((c, i) => `${c.toFixed(2)}${i === r.leaderIndex ? "L" : ""}`).join(" ");
  const s = r.sequencer;
  console.log(
    `${r.system.padEnd(9)} ${String(r.nodes).padStart(2)} ${r.target.padEnd(9)} ${String(r.concurrency).padStart(4)} ${r.opsPerSec.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(1).padStart(8)} ${r.p99Ms.toFixed(1).padStart(8)} ${r.maxMs.toFixed(1).padStart(8)} ${String(r.errors).padStart(6)}  ${cpu.padEnd(30)} ${r.rssMbPerNode.map((m) => m.toFixed(0)).join(" ").padEnd(20)} ${r.opsPerLeaderCpuSecond.toFixed(0).padStart(16)} ${r.loadGenCpu.toFixed(2).padStart(7)} ${`${(100 * r.machineCpuBusy).toFixed(0)}%`.padStart(7)} ${r.otherTenantsCpu.toFixed(2).padStart(6)}` +
      (s ? `  tx/fsync ${s.txsPerLeaderFsync.toFixed(1)}, fsync ${s.fsyncMeanMsPerNode[r.leaderIndex]!.toFixed(2)} ms, commit ${s.leaderCommitMeanMs.toFixed(1)} ms` : "") +
      `${r.leaderChanged ? "  (leader changed)" : r.termsBegun ? `  (${r.termsBegun} new terms)` : ""}${r.exhausted ? "  (load ran out)" : ""}`,
  );
  const kinds = Object.entries(r.errorKinds);
  if (kinds.length > 0) console.log(`          errors: ${kinds.map(([k, n]) => `${n}x ${k}`).join("; ")}`);
}

function printRatio(scenarios: readonly ScenarioResult[], nodes: number, concurrency: number): void {
  const c = compare(scenarios).find((x) => x.nodes === nodes && x.concurrency === concurrency);
  if (c) console.log(`${"".padEnd(9)} ${String(nodes).padStart(2)} our/etcd  ${String(concurrency).padStart(4)} ${`${c.throughputRatio.toFixed(2)}x`.padStart(8)} ${"".padStart(8)} ${`${c.p99Ratio.toFixed(2)}x`.padStart(8)}`);
}

function printHandover(h: HandoverResult & { system: System; how: string }): void {
  console.log(
    `  ${h.system.padEnd(9)} ${h.how}: leader ${h.from} -> ${h.to ?? "?"} seen after ${h.leaderChangeSeenMs ?? "?"} ms; longest gap in acknowledgements ${h.maxGapMs} ms (steady load before: ${h.baselineMaxGapMs} ms), ${h.acks} acknowledged and ${h.errors} errors in the window` +
      (h.errors > 0 ? ` (${Object.entries(h.errorKinds).map(([k, n]) => `${n}x ${k}`).join("; ")})` : ""),
  );
}

function printSummary(comparison: readonly Comparison[], targets: readonly TargetVerdict[]): void {
  if (comparison.length > 0) {
    console.log(`\n${"nodes".padStart(5)} ${"conc".padStart(4)} ${"ours ops/s".padStart(10)} ${"etcd ops/s".padStart(10)} ${"ratio".padStart(6)} ${"ours p99".padStart(9)} ${"etcd p99".padStart(9)} ${"ratio".padStart(6)}`);
    for (const c of comparison) {
      console.log(
        `${String(c.nodes).padStart(5)} ${String(c.concurrency).padStart(4)} ${c.sequencerOpsPerSec.toFixed(0).padStart(10)} ${c.etcdOpsPerSec.toFixed(0).padStart(10)} ${`${c.throughputRatio.toFixed(2)}x`.padStart(6)} ${c.sequencerP99Ms.toFixed(1).padStart(9)} ${c.etcdP99Ms.toFixed(1).padStart(9)} ${`${c.p99Ratio.toFixed(2)}x`.padStart(6)}`,
      );
    }
  }
  if (targets.length > 0) {
    console.log("\ntargets:");
    for (const t of targets) console.log(`  ${t.met ? "met   " : "MISSED"} ${t.target}: ${t.measured}`);
  }
}

main().then(
  // Keep-alive sockets of the status polls would hold the process for a while: done is done.
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`bench: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
