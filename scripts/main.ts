/**
 * The main job (`npm start`): a one-command devnet. Starts an L1 chain (in-process Hardhat, an
 * Anvil process with --l1 anvil, or the one at --l1-rpc), deploys the contracts, registers and stakes the operators, runs one node child
 * process per operator, sends a steady stream of transactions and prints a status line once a
 * second. Ctrl-C (or SIGTERM) stops everything; a second Ctrl-C kills the nodes at once.
 *
 *   npm start -- [--l1 hardhat|anvil | --l1-rpc URL] [--nodes N] [--tps N] [--duration S] [--dir PATH] [--keep] [--epoch-length BLOCKS] [--unbonding-period BLOCKS]
 *
 * Options are checked before anything starts; a bad one is refused with one sentence, exit 2.
 */
import { parseOptions } from "../node/cli/options.js";
import { DEVNET_DEFAULTS, validateDevnetOptions, type DevnetOptions } from "./devnet/options.js";
import type { DevnetOutput } from "./devnet/devnet.js";
import { failWithUsage, numberOption, optionsOrExit } from "./lib/cli.js";

const USAGE = `usage: npm start -- [options]
  --l1 hardhat|anvil   the chain the devnet starts: an in-process Hardhat chain (default) or an Anvil process
  --l1-rpc URL         use this chain (Anvil, hardhat node; unlocked dev accounts) instead of one of its own
  --nodes N            operators staked and nodes started (default ${DEVNET_DEFAULTS.nodes}, at least 3)
  --tps N              transactions per second sent round-robin to the nodes (default ${DEVNET_DEFAULTS.tps})
  --duration S         run S seconds, compare every node's log with the stream rebuilt from L1, exit (default: until Ctrl-C)
  --dir PATH           working directory for keys, configs, data and logs (default: a fresh temp dir)
  --keep               keep the temp dir on exit
  --epoch-length N     L1 blocks per epoch (default ${DEVNET_DEFAULTS.epochLength}; the in-process chain mines a block a second)
  --unbonding-period N L1 blocks stake stays slashable after an unstake: at least maxBatchEpochLag + 2 = 4 epochs
                       (default: config/default.json's 80, or 4 epochs when that is longer)`;

/** The options, checked before anything starts (no chain, no Hardhat loaded yet). */
function parseDevnetOptions(): DevnetOptions | undefined {
  const values = parseOptions("npm start", process.argv.slice(2), {
    l1: { type: "string" },
    "l1-rpc": { type: "string" },
    nodes: { type: "string" },
    tps: { type: "string" },
    duration: { type: "string" },
    dir: { type: "string" },
    keep: { type: "boolean" },
    "epoch-length": { type: "string" },
    "unbonding-period": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) return undefined;
  const durationS = numberOption(values.duration, "--duration", (n) => n > 0, "a positive number of seconds");
  const unbondingPeriod = numberOption(values["unbonding-period"], "--unbonding-period", (n) => Number.isSafeInteger(n) && n > 0, "a positive integer number of blocks");
  const options: DevnetOptions = {
    ...(values["l1-rpc"] === undefined ? {} : { l1Rpc: values["l1-rpc"] }),
    l1: (values.l1 ?? DEVNET_DEFAULTS.l1) as DevnetOptions["l1"],
    nodes: numberOption(values.nodes, "--nodes", Number.isSafeInteger, "an integer >= 3") ?? DEVNET_DEFAULTS.nodes,
    tps: numberOption(values.tps, "--tps", (n) => n > 0, "a positive number") ?? DEVNET_DEFAULTS.tps,
    ...(durationS === undefined ? {} : { durationS }),
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    keep: values.keep ?? DEVNET_DEFAULTS.keep,
    epochLength: numberOption(values["epoch-length"], "--epoch-length", Number.isSafeInteger, "an integer >= 4") ?? DEVNET_DEFAULTS.epochLength,
    ...(unbondingPeriod === undefined ? {} : { unbondingPeriod }),
    blockIntervalMs: DEVNET_DEFAULTS.blockIntervalMs,
  };
  validateDevnetOptions(options);
  return options;
}

/** On a TTY the status line is rewritten in place; otherwise every status is its own line (logs, CI). */
function terminalOutput(): DevnetOutput {
  const tty = process.stdout.isTTY === true;
  let statusShown = false;
  return {
    line(text) {
      if (tty && statusShown) process.stdout.write("\r\x1b[K");
      statusShown = false;
      process.stdout.write(`${text}\n`);
    },
    status(text) {
      if (!tty) return void process.stdout.write(`${text}\n`);
      const width = process.stdout.columns ?? 200;
      process.stdout.write(`\r\x1b[K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
      statusShown = true;
    },
  };
}

const options = optionsOrExit(parseDevnetOptions, USAGE);

const out = terminalOutput();
// Hardhat, viem and the rest load only for options that hold.
const { Devnet } = await import("./devnet/devnet.js");
let devnet: InstanceType<typeof Devnet>;
try {
  devnet = new Devnet(options, out);
} catch (e) {
  failWithUsage(e, USAGE);
}

let firstSignalAt: number | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  const now = performance.now();
  if (firstSignalAt === undefined) {
    firstSignalAt = now;
    out.line(`${signal}: stopping (traffic, nodes, chain); press Ctrl-C again to kill the nodes at once`);
    devnet.stop();
  } else if (now - firstSignalAt > 1_000) {
    // A terminal delivers one Ctrl-C to the whole process group (npm, tsx, this process): only a later one forces.
    out.line(`${signal} again: killing the nodes`);
    devnet.forceKill();
    process.exit(130);
  }
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

try {
  const result = await devnet.run();
  out.line(result.exitCode === 0 ? `devnet finished: ${result.acked} transactions acknowledged` : "devnet finished with errors (see above)");
  process.exitCode = result.exitCode;
} catch (e) {
  out.line(`devnet failed: ${(e as Error).message.split("\n")[0]}`);
  if (process.env.LOG_LEVEL === "debug") console.error(e);
  process.exitCode = 1;
}
