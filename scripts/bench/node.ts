/**
 * End-to-end benchmark of a 3-node sequencer cluster: real processes, real libp2p, level with
 * synced group commit, a local L1. Closed-loop JSON-RPC load (C clients, each sending its
 * next transaction when the previous one is answered) to the leader, to the followers
 * (forwarding), and in JSON-RPC batches of 100; measures committed transactions per second,
 * latency, errors, and each node's CPU and memory.
 *
 *   npm run bench [-- --duration 10 --warmup 2 --concurrency 1,16,64,256 --targets leader,follower,batch100]
 *   npm run bench -- --profile /tmp/prof --targets leader --concurrency 64   (V8 CPU profiles of the nodes)
 *
 * Writes scripts/bench/results/latest.json (profile runs: profile.json, not latest).
 */
import { nodeRpc as rpc } from "../../node/rpc/client.js";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Hex } from "viem";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../lib/devnet.js";
import { formatProfileSummary, summarizeCpuProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { RpcHttpClient, runClosedLoop, type LoadResult } from "./lib/load.js";
import { scrapeCounters, type NodeCounters } from "./lib/metrics.js";
import { LoadSigner } from "./lib/presign.js";
import { sampleProcess, selfCpuSeconds, type ProcSample } from "./lib/procstat.js";
import { mineToNextEpoch } from "../lib/deploy.js";

const ROLLUP_CHAIN_ID = 901;
const BATCH_SIZE = 100;
const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}

/** The cluster did not reach a usable state (no leader, a node exited). */
class ClusterError extends Error {
  override readonly name = "ClusterError";
}

type Target = "leader" | "follower" | "batch100";
const TARGETS: readonly Target[] = ["leader", "follower", "batch100"];

function parseSettings() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      concurrency: { type: "string", default: "1,16,64,256" },
      "batch-concurrency": { type: "string", default: "1,2" },
      targets: { type: "string", default: TARGETS.join(",") },
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
      "npm run bench -- [--duration S] [--warmup S] [--concurrency 1,16,64,256] [--batch-concurrency 1,2]\n" +
        "                 [--targets leader,follower,batch100] [--method seq_sendRawTransaction|eth_sendRawTransaction]\n" +
        "                 [--senders N] [--tx-bytes N] [--profile DIR] [--out FILE] [--keep]\n" +
        "--keep leaves the temp dir (node logs and data) in place and prints its path",
    );
    process.exit(0);
  }
  const positive = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new BenchUsageError(`--${name} must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const list = (name: string, v: string | undefined): number[] => (v ?? "").split(",").map((x) => Math.round(positive(name, x.trim())));
  const targets = values.targets!.split(",").map((t) => t.trim()) as Target[];
  for (const t of targets) if (!TARGETS.includes(t)) throw new BenchUsageError(`--targets: unknown target "${t}" (known: ${TARGETS.join(", ")})`);
  if (!["seq_sendRawTransaction", "eth_sendRawTransaction"].includes(values.method!)) {
    throw new BenchUsageError(`--method must be seq_sendRawTransaction or eth_sendRawTransaction, got ${values.method}`);
  }
  const profileDir = values.profile === undefined ? undefined : path.resolve(values.profile);
  return {
    durationMs: positive("duration", values.duration) * 1000,
    warmupMs: Number(values.warmup) >= 0 ? Number(values.warmup) * 1000 : positive("warmup", values.warmup),
    concurrency: list("concurrency", values.concurrency),
    batchConcurrency: list("batch-concurrency", values["batch-concurrency"]),
    targets,
    method: values.method!,
    senders: Math.round(positive("senders", values.senders)),
    txBytes: Math.round(positive("tx-bytes", values["tx-bytes"])),
    profileDir,
    keep: values.keep!,
    out: path.resolve(values.out ?? path.join(REPO_ROOT, "scripts/bench/results", profileDir ? "profile.json" : "latest.json")),
  };
}

interface Status {
  role: string;
  leader: string | null;
  commitIndex: number;
  nextPosition: number;
}

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
  readonly nodes: ProcSample[];
  readonly selfCpu: number;
  readonly machine: { busy: number; total: number };
  /** Started at the snapshot, read after the run (an HTTP round trip cannot block the load loop). */
  readonly counters: Promise<NodeCounters[]>;
}

interface ScenarioResult {
  system: "sequencer";
  nodes: number;
  concurrency: number;
  target: Target;
  method: string;
  txsPerRequest: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** CPU cores used by each node over the window (1 = one core fully busy), by operator index. */
  cpuPerNode: number[];
  rssMbPerNode: number[];
  roles: string[];
  leaderIndex: number;
  leaderChanged: boolean;
  /** Committed transactions per CPU-second spent by the three nodes together. */
  opsPerClusterCpuSecond: number;
  /** Committed transactions per CPU-second of the leader. */
  opsPerLeaderCpuSecond: number;
  /** CPU cores used by this process: load generator (and the idle in-process L1 chain). */
  loadGenCpu: number;
  /** Share of the whole machine's CPU busy during the window (all tenants). */
  machineCpuBusy: number;
  /** CPU cores used by other tenants of the machine during the window (busy minus the nodes and this process). */
  otherTenantsCpu: number;
  windowSeconds: number;
  exhausted: boolean;
  /** Synced writes (group commits) per second on each node: one fsync covers many transactions. */
  fsyncsPerSecPerNode: number[];
  /** Mean duration of a synced write per node, ms. */
  fsyncMeanMsPerNode: number[];
  /** Transactions per leader fsync: the group-commit factor. */
  txsPerLeaderFsync: number;
  /** Leader-measured proposal-to-commitment latency (mean, ms): the node's share of the client latency (forwarded: the leader's part). */
  leaderCommitMeanMs: number;
  /** Profile runs: the leader's V8 time window, for the summary. */
  profileWindowUs?: [number, number];
}

async function main(): Promise<void> {
  const settings = parseSettings();
  const procs: NodeProcess[] = [];
  let chain: LocalChain | undefined;
  let dir: string | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (signal: NodeJS.Signals = "SIGKILL") =>
    (cleaning ??= (async () => {
      await Promise.all(procs.map((p) => stopNode(p, signal, 15_000)));
      await chain?.close().catch(() => undefined);
      if (dir && settings.keep) console.log(`kept ${dir} (node logs: ${dir}/node-*/node.log)`);
      else if (dir) await rm(dir, { recursive: true, force: true });
    })());
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping the nodes and removing ${dir ?? "the temp dir"}`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  // An error outside main's await chain must not orphan the node processes either.
  for (const event of ["uncaughtException", "unhandledRejection"] as const) {
    process.once(event, (error: unknown) => {
      console.error(`bench: ${event}:`, error);
      void cleanup().finally(() => process.exit(1));
    });
  }

  const signer = new LoadSigner({ chainId: ROLLUP_CHAIN_ID, senders: settings.senders, txBytes: settings.txBytes });
  await signer.checkAgainstViem();
  const txBytes = (signer.sign(1)[0]!.length - 2) / 2;
  let pool: Hex[] = [];
  let poolNext = 0;

  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  const scenarios: ScenarioResult[] = [];
  let net: StakedNetwork;
  try {
    dir = await mkdtemp(path.join(tmpdir(), "seq-bench-"));
    console.log(`bench: ${cpus().length} CPUs (${cpus()[0]?.model}), Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2500", "1500", "1000"]);
    await mineToNextEpoch(chain.connection, net.deployment.registry);
    const env: NodeJS.ProcessEnv = {};
    if (settings.profileDir) {
      mkdirSync(settings.profileDir, { recursive: true });
      env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir=${settings.profileDir}`.trim();
    }
    for (const op of net.operators) procs.push(spawnNode(op, env));
    for (const p of procs) {
      void p.exited.then((code) => {
        if (!cleaning) console.error(`node process ${p.pid} exited (${code}); see ${p.logFile}`);
      });
    }
    const urls = net.operators.map((o) => o.rpcUrl);

    const leaderIndex = async (timeoutMs = 60_000): Promise<number> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const p of procs) if (p.child.exitCode !== null || p.child.signalCode !== null) throw new ClusterError(`node ${p.pid} exited; see ${p.logFile}`);
        try {
          const statuses = await Promise.all(urls.map((u) => rpc<Status>(u, "seq_status")));
          const leader = statuses[0]!.leader;
          if (leader !== null && statuses.every((s) => s.leader === leader)) {
            const i = net.operators.findIndex((o) => o.operator.toLowerCase() === leader);
            if (i >= 0) return i;
          }
        } catch {
          // Not serving yet.
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new ClusterError(`no leader all three nodes agree on within ${timeoutMs} ms`);
    };
    const settle = async () => {
      // Let followers finish applying the previous scenario so it does not bleed into the next.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const s = await Promise.all(urls.map((u) => rpc<Status>(u, "seq_status")));
        if (s.every((x) => x.commitIndex === s[0]!.commitIndex && x.nextPosition === s[0]!.nextPosition)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    await leaderIndex();
    console.log(`cluster up: ${net.operators.length} nodes, pids ${procs.map((p) => p.pid).join(" ")}; ${txBytes}-byte EIP-1559 transactions from ${settings.senders} senders`);

    const plan: { target: Target; concurrency: number }[] = [];
    for (const target of settings.targets) {
      for (const c of target === "batch100" ? settings.batchConcurrency : settings.concurrency) plan.push({ target, concurrency: c });
    }
    let bestRate = 0;
    const client = new RpcHttpClient(Math.max(...plan.map((p) => p.concurrency)));
    try {
      for (const { target, concurrency } of plan) {
        await settle();
        const leader = await leaderIndex();
        const followers = [0, 1, 2].filter((i) => i !== leader);
        const txsPerRequest = target === "batch100" ? BATCH_SIZE : 1;

        // Top up the pre-signed load before the clock starts: twice the best rate so far.
        const seconds = (settings.warmupMs + settings.durationMs) / 1000;
        const need = Math.ceil(Math.max(2_000, 2 * bestRate) * seconds) + concurrency * txsPerRequest;
        if (pool.length - poolNext < need) {
          const t0 = performance.now();
          const fresh = signer.sign(need - (pool.length - poolNext));
          pool = [...pool.slice(poolNext), ...fresh];
          poolNext = 0;
          if (fresh.length >= 10_000) console.log(`  (pre-signed ${fresh.length} transactions in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        }
        let id = 0;
        const nextBody = (): { body: string; txs: number } | undefined => {
          if (poolNext + txsPerRequest > pool.length) return undefined;
          if (txsPerRequest === 1) return { body: `{"jsonrpc":"2.0","id":${id++},"method":"${settings.method}","params":["${pool[poolNext++]}"]}`, txs: 1 };
          const calls: string[] = [];
          for (let k = 0; k < txsPerRequest; k++) calls.push(`{"jsonrpc":"2.0","id":${id++},"method":"${settings.method}","params":["${pool[poolNext++]}"]}`);
          return { body: `[${calls.join(",")}]`, txs: txsPerRequest };
        };

        const snap = (): WindowSnapshot => ({
          hrUs: Number(process.hrtime.bigint() / 1000n),
          wallMs: performance.now(),
          nodes: procs.map((p) => sampleProcess(p.pid)),
          selfCpu: selfCpuSeconds(),
          machine: machineJiffies(),
          counters: Promise.all(urls.map((u) => scrapeCounters(u))),
        });
        let first: WindowSnapshot | undefined;
        let last: WindowSnapshot | undefined;
        const load: LoadResult = await runClosedLoop(client, {
          concurrency,
          warmupMs: settings.warmupMs,
          durationMs: settings.durationMs,
          urlFor: (i) => (target === "follower" ? urls[followers[i % followers.length]!]! : urls[leader]!),
          nextBody,
          window: { onWindowStart: () => (first = snap()), onWindowEnd: () => (last = snap()) },
        });
        if (first === undefined || last === undefined) throw new Error("the measurement window never opened");
        const leaderAfter = await leaderIndex();
        const [c0, c1] = await Promise.all([first.counters, last.counters]);
        const fsyncs = c1.map((c, i) => c.fsyncCount - c0[i]!.fsyncCount);
        const fsyncSecs = c1.map((c, i) => c.fsyncSeconds - c0[i]!.fsyncSeconds);
        const commits = c1[leader]!.commitCount - c0[leader]!.commitCount;
        const secs = (last.wallMs - first.wallMs) / 1000;
        const cpu = last.nodes.map((n, i) => n.cpuSeconds - first!.nodes[i]!.cpuSeconds);
        const clusterCpu = cpu.reduce((a, b) => a + b, 0);
        const machineBusy = (last.machine.busy - first.machine.busy) / (last.machine.total - first.machine.total);
        const loadGenCpu = (last.selfCpu - first.selfCpu) / secs;
        const r: ScenarioResult = {
          system: "sequencer",
          nodes: procs.length,
          concurrency,
          target,
          method: settings.method,
          txsPerRequest,
          opsPerSec: round(load.opsPerSec, 1),
          p50Ms: round(load.p50Ms, 2),
          p99Ms: round(load.p99Ms, 2),
          maxMs: round(load.maxMs, 2),
          meanMs: round(load.meanMs, 2),
          errors: load.errors,
          errorKinds: load.errorKinds,
          cpuPerNode: cpu.map((c) => round(c / secs, 3)),
          rssMbPerNode: last.nodes.map((n) => round(n.rssBytes / 2 ** 20, 1)),
          roles: procs.map((_, i) => (i === leader ? "leader" : "follower")),
          leaderIndex: leader,
          leaderChanged: leaderAfter !== leader,
          opsPerClusterCpuSecond: round(load.committed / clusterCpu, 1),
          opsPerLeaderCpuSecond: round(load.committed / cpu[leader]!, 1),
          loadGenCpu: round(loadGenCpu, 3),
          machineCpuBusy: round(machineBusy, 3),
          otherTenantsCpu: round(Math.max(0, machineBusy * cpus().length - clusterCpu / secs - loadGenCpu), 2),
          windowSeconds: round(load.windowMs / 1000, 2),
          exhausted: load.exhausted,
          fsyncsPerSecPerNode: fsyncs.map((n) => round(n / secs, 1)),
          fsyncMeanMsPerNode: fsyncs.map((n, i) => round(n > 0 ? (1000 * fsyncSecs[i]!) / n : Number.NaN, 2)),
          txsPerLeaderFsync: round(load.committed / Math.max(1, fsyncs[leader]!), 1),
          leaderCommitMeanMs: round(commits > 0 ? (1000 * (c1[leader]!.commitSeconds - c0[leader]!.commitSeconds)) / commits : Number.NaN, 2),
          ...(settings.profileDir ? { profileWindowUs: [first.hrUs, last.hrUs] as [number, number] } : {}),
        };
        scenarios.push(r);
        bestRate = Math.max(bestRate, r.opsPerSec);
        printRow(r);
      }
    } finally {
      client.close();
    }

    const result = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version, loadAverage: { start: loadAtStart, end: loadavg() } },
      commit: gitHead(),
      startedAt,
      settings: {
        durationSeconds: settings.durationMs / 1000,
        warmupSeconds: settings.warmupMs / 1000,
        txBytes,
        senders: settings.senders,
        storage: "level, synced group commit (one fsync per Ready)",
        profiled: settings.profileDir !== undefined,
      },
      scenarios,
    };
    mkdirSync(path.dirname(settings.out), { recursive: true });
    writeFileSync(settings.out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(process.cwd(), settings.out)}`);

    if (settings.profileDir) {
      // Graceful stop so V8 writes the profiles on exit.
      await cleanup("SIGTERM");
      const summaries = summarizeProfiles(settings.profileDir, procs, scenarios);
      writeFileSync(settings.out.replace(/\.json$/, ".summary.json"), `${JSON.stringify(summaries, null, 2)}\n`);
    }
  } finally {
    await cleanup();
  }
}

function summarizeProfiles(dir: string, procs: readonly NodeProcess[], scenarios: readonly ScenarioResult[]) {
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
    const follower = [0, 1, 2].find((i) => i !== s.leaderIndex)!;
    const leader = summarizeCpuProfile(fileOf(procs[s.leaderIndex]!.pid), { fromUs, toUs });
    const fol = summarizeCpuProfile(fileOf(procs[follower]!.pid), { fromUs, toUs }, 10);
    const txs = s.opsPerSec * s.windowSeconds;
    console.log(`\n${formatProfileSummary(`leader, ${s.target} c=${s.concurrency} (${s.opsPerSec} ops/s, /proc CPU ${s.cpuPerNode[s.leaderIndex]})`, leader, txs)}`);
    console.log(`\n${formatProfileSummary(`a follower, same window (/proc CPU ${s.cpuPerNode[follower]})`, fol, txs)}`);
    out.push({ target: s.target, concurrency: s.concurrency, leader, follower: fol });
  }
  return out;
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
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
      `\n${"target".padEnd(9)} ${"conc".padStart(4)} ${"ops/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"errors".padStart(6)}  ${"CPU per node (L=leader)".padEnd(24)} ${"RSS MB".padEnd(16)} ${"ops/leader-CPU-s".padStart(16)} ${"ops/cluster-CPU-s".padStart(17)} ${"loadgen CPU".padStart(11)} ${"machine".padStart(7)} ${"others".padStart(6)} ${"tx/fsync".padStart(8)} ${"fsync ms".padStart(8)} ${"commit ms".padStart(9)}`,
    );
    headerPrinted = true;
  }
  const cpu = r.cpuPerNode.map((c, i) => `${c.toFixed(2)}${i === r.leaderIndex ? "L" : ""}`).join(" ");
  console.log(
    `${r.target.padEnd(9)} ${String(r.concurrency).padStart(4)} ${r.opsPerSec.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(1).padStart(8)} ${r.p99Ms.toFixed(1).padStart(8)} ${r.maxMs.toFixed(1).padStart(8)} ${String(r.errors).padStart(6)}  ${cpu.padEnd(24)} ${r.rssMbPerNode.map((m) => m.toFixed(0)).join(" ").padEnd(16)} ${r.opsPerLeaderCpuSecond.toFixed(0).padStart(16)} ${r.opsPerClusterCpuSecond.toFixed(0).padStart(17)} ${r.loadGenCpu.toFixed(2).padStart(11)} ${`${(100 * r.machineCpuBusy).toFixed(0)}%`.padStart(7)} ${r.otherTenantsCpu.toFixed(2).padStart(6)} ${r.txsPerLeaderFsync.toFixed(1).padStart(8)} ${r.fsyncMeanMsPerNode[r.leaderIndex]!.toFixed(2).padStart(8)} ${r.leaderCommitMeanMs.toFixed(1).padStart(9)}${r.leaderChanged ? "  (leader changed)" : ""}${r.exhausted ? "  (load ran out)" : ""}`,
  );
  const kinds = Object.entries(r.errorKinds);
  if (kinds.length > 0) console.log(`          errors: ${kinds.map(([k, n]) => `${n}x ${k}`).join("; ")}`);
}

main().then(
  // Keep-alive sockets of the status polls would hold the process for a while: done is done.
  () => process.exit(0),
  (error: unknown) => {
  if (error instanceof BenchUsageError) {
    console.error(`bench: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
  },
);
