/**
 * `npm run nemesis -- --minutes N --seed S [--nodes 5] [--tps 15] [--keep] [--dir PATH]`
 *
 * A local chain, the contracts, staked operators and one node process each; clients submit
 * continuously to random nodes while seeded faults hit the cluster (SIGKILL + restart, SIGSTOP of
 * the leader, partitions, message drop/delay, L1 RPC outages, a crashed majority, clock-rate
 * skew). Then everything is healed and the checker judges the history and the final logs and L1.
 * Exit codes: 0 no violation, 1 violations (the seed and history excerpts are printed), 2 bad usage.
 */
import { parseArgs } from "node:util";
import { NEMESIS_DEFAULTS, runNemesis, type NemesisOptions } from "./run.js";
import { numberOption, optionsOrExit } from "../lib/cli.js";

const USAGE = `usage: npm run nemesis -- [--minutes N] [--seed S] [--nodes N] [--tps N] [--senders N] [--skew F] [--dir PATH] [--keep]
  --minutes N   length of the faulted phase (default 10)
  --seed S      seed of the fault schedule, targets and transactions (default: from the clock, printed)
  --nodes N     staked operators and node processes (default ${NEMESIS_DEFAULTS.nodes}, at least 3)
  --tps N       client submissions per second (open loop) (default ${NEMESIS_DEFAULTS.tps})
  --senders N   sender accounts the clients sign with (default ${NEMESIS_DEFAULTS.senders})
  --skew F      spread of the nodes' timer periods around 50 ms, 0..0.5 (default ${NEMESIS_DEFAULTS.clockSkew})
  --dir PATH    working directory (default a temp dir, kept only when the run fails; a killed run removes it)
  --keep        keep the working directory (node logs, history.jsonl) even when the run passes`;

function parse(): NemesisOptions | undefined {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string" },
      seed: { type: "string" },
      nodes: { type: "string" },
      tps: { type: "string" },
      senders: { type: "string" },
      skew: { type: "string" },
      dir: { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return undefined;
  const minutes = numberOption(values.minutes, "--minutes", (n) => n > 0) ?? 10;
  return {
    durationMs: Math.round(minutes * 60_000),
    seed: numberOption(values.seed, "--seed", (n) => Number.isSafeInteger(n) && n >= 0 && n < 2 ** 32) ?? Date.now() % 2 ** 32,
    nodes: numberOption(values.nodes, "--nodes", (n) => Number.isSafeInteger(n) && n >= 3 && n <= 9) ?? NEMESIS_DEFAULTS.nodes,
    tps: numberOption(values.tps, "--tps", (n) => n > 0 && n <= 1000) ?? NEMESIS_DEFAULTS.tps,
    senders: numberOption(values.senders, "--senders", (n) => Number.isSafeInteger(n) && n >= 1 && n <= 1000) ?? NEMESIS_DEFAULTS.senders,
    clockSkew: numberOption(values.skew, "--skew", (n) => n >= 0 && n <= 0.5) ?? NEMESIS_DEFAULTS.clockSkew,
    timing: NEMESIS_DEFAULTS.timing,
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    keep: values.keep === true ? "always" : NEMESIS_DEFAULTS.keep,
    settleMs: NEMESIS_DEFAULTS.settleMs,
  };
}

const options = optionsOrExit(parse, USAGE);

try {
  const result = await runNemesis(options, (line) => console.log(line));
  const t = result.timings;
  console.log(`run time: setup ${(t.setup / 1000).toFixed(0)} s, faults ${(t.faults / 1000).toFixed(0)} s, heal + settle ${(t.settle / 1000).toFixed(0)} s, check ${(t.check / 1000).toFixed(0)} s, total ${(t.total / 1000).toFixed(0)} s`);
  console.log(result.ok ? `PASS (seed ${result.seed})` : `FAIL (seed ${result.seed}): rerun with --seed ${result.seed}`);
  process.exitCode = result.ok ? 0 : 1;
} catch (e) {
  console.error(`nemesis failed (seed ${options.seed}): ${(e as Error).stack ?? (e as Error).message}`);
  process.exitCode = 1;
}
