/**
 * Consensus soak: randomized fault schedules against the real Raft core, in virtual time.
 *
 *   npm run sim -- --seeds 5000                 # seeds 1..5000 (nodes rotate 3,5,7)
 *   npm run sim -- --minutes 10 --start 100000  # as many seeds as fit in 10 minutes
 *   npm run sim -- --nodes 5 --fault-ms 10000   # only 5-node clusters, longer fault phase
 *   npm run sim -- --seed 1234 --nodes 5        # replay one seed and print its trace
 *
 * Prints fault counts, seeds per stake profile, the election-time and recovery-time distributions (ticks), and
 * ends with `seeds: N` and `violations: V`. Exit code 1 if any seed violated a property.
 */
import { parseArgs } from "node:util";
import { describeFailure, randomRunOptions, runSeed, type RunResult } from "../sim/run.js";
import { UsageError } from "./lib/cli.js";


function intArg(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

function percentiles(samples: readonly number[]): string {
  if (samples.length === 0) return "no samples";
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const f = (x: number) => x.toFixed(1);
  return `min ${f(s[0])}  p50 ${f(at(0.5))}  p90 ${f(at(0.9))}  p99 ${f(at(0.99))}  max ${f(s[s.length - 1])}  (n=${s.length})`;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string" },
      minutes: { type: "string" },
      nodes: { type: "string" },
      seed: { type: "string" },
      start: { type: "string" },
      "fault-ms": { type: "string" },
      "trace-lines": { type: "string" },
    },
    strict: true,
  });
  const nodeCounts = (values.nodes ?? "3,5,7").split(",").map((x) => intArg("nodes", x, 0));
  for (const n of nodeCounts) if (n < 1 || n > 9) throw new UsageError(`--nodes: cluster sizes must be 1..9, got ${n}`);
  const faultMs = values["fault-ms"] === undefined ? undefined : intArg("fault-ms", values["fault-ms"], 0);
  const traceLines = intArg("trace-lines", values["trace-lines"], 120);
  const overrides = faultMs === undefined ? {} : { faultMs };

  if (values.seed !== undefined) {
    const seed = intArg("seed", values.seed, 0);
    const nodes = nodeCounts[0];
    const r = runSeed(randomRunOptions(seed, nodes, { ...overrides, traceCapacity: Math.max(traceLines, 400) }));
    console.log(`seed ${seed}, ${nodes} nodes, stakes ${r.stakes}: ${r.ok ? "ok" : "VIOLATIONS"}`);
    console.log(JSON.stringify({ faults: r.faults, cluster: r.cluster, clients: r.clients, electionTicks: r.electionTicks, recoveryTicks: r.recoveryTicks }, null, 1));
    if (!r.ok) console.log(describeFailure(r, traceLines));
    console.log("seeds: 1");
    console.log(`violations: ${r.ok ? 0 : 1}`);
    return r.ok ? 0 : 1;
  }

  const maxSeeds = values.seeds !== undefined ? intArg("seeds", values.seeds, 0) : Number.POSITIVE_INFINITY;
  const deadline = values.minutes !== undefined ? Date.now() + Number(values.minutes) * 60_000 : Number.POSITIVE_INFINITY;
  if (values.minutes !== undefined && !(Number(values.minutes) > 0)) throw new UsageError(`--minutes must be a positive number, got ${values.minutes}`);
  if (maxSeeds === Number.POSITIVE_INFINITY && deadline === Number.POSITIVE_INFINITY) throw new UsageError("give --seeds N, --minutes M or --seed S");
  const start = intArg("start", values.start, 1);

  const began = Date.now();
  const faultTotals: Record<string, number> = {};
  const netTotals: Record<string, number> = {};
  const elections: number[] = [];
  const recovery: number[] = [];
  const perSize = new Map<number, { seeds: number; violations: number }>();
  const perProfile = new Map<string, { seeds: number; violations: number }>();
  let seeds = 0;
  let violations = 0;
  let committed = 0;
  let virtualMs = 0;
  let nextReport = Date.now() + 30_000;
  for (let seed = start; seeds < maxSeeds && Date.now() < deadline; seed++) {
    const nodes = nodeCounts[seeds % nodeCounts.length];
    const r = runSeed(randomRunOptions(seed, nodes, overrides));
    seeds++;
    for (const [k, v] of Object.entries(r.faults)) faultTotals[k] = (faultTotals[k] ?? 0) + v;
    for (const k of ["messagesSent", "messagesLost", "messagesDuplicated", "messagesPartitioned", "snapshotsInstalled", "compactions"] as const) {
      netTotals[k] = (netTotals[k] ?? 0) + r.cluster[k];
    }
    elections.push(...r.electionTicks);
    if (r.recoveryTicks !== null) recovery.push(r.recoveryTicks);
    committed += r.committedPositions;
    virtualMs += r.virtualMs;
    const size = perSize.get(nodes) ?? { seeds: 0, violations: 0 };
    const profile = perProfile.get(r.stakes) ?? { seeds: 0, violations: 0 };
    size.seeds++;
    profile.seeds++;
    if (!r.ok) {
      violations++;
      size.violations++;
      profile.violations++;
      if (violations <= 5) console.log(describeFailure(r, traceLines));
      else console.log(`FAIL seed ${r.seed} (${r.nodes} nodes): ${r.violations[0].property}: ${r.violations[0].detail}`);
    }
    perSize.set(nodes, size);
    perProfile.set(r.stakes, profile);
    if (Date.now() > nextReport) {
      console.log(`... ${seeds} seeds, ${violations} violations, ${((Date.now() - began) / 1000).toFixed(0)}s`);
      nextReport = Date.now() + 30_000;
    }
  }

  const wall = (Date.now() - began) / 1000;
  console.log("");
  console.log(`seeds ${start}..${start + seeds - 1}, wall ${wall.toFixed(1)}s (${((wall * 1000) / Math.max(1, seeds)).toFixed(1)} ms/seed), virtual ${(virtualMs / 1000).toFixed(0)}s`);
  for (const [n, s] of [...perSize].sort((a, b) => a[0] - b[0])) console.log(`  ${n} nodes: ${s.seeds} seeds, ${s.violations} with violations`);
  for (const [p, s] of perProfile) console.log(`  stakes ${p}: ${s.seeds} seeds, ${s.violations} with violations`);
  console.log(`faults: ${Object.entries(faultTotals).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  console.log(`network/storage: ${Object.entries(netTotals).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  console.log(`committed positions (all runs): ${committed}`);
  console.log(`election time after a leader crash (ticks): ${percentiles(elections)}`);
  console.log(`recovery after heal, fresh proposal committed (ticks): ${percentiles(recovery)}`);
  console.log(`seeds: ${seeds}`);
  console.log(`violations: ${violations}`);
  return violations > 0 ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`sim: ${err.message}`);
    process.exitCode = 2;
  } else throw err;
}
