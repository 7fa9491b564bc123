/**
 * `seq`: the operator's command line. Each command checks its options here, before it loads
 * anything heavy (its module under `commands/` is imported only then): `seq --help` and a bad
 * option answer at once. A failure prints one sentence on stderr (exit 2 for a usage error, else
 * 1); `LOG_LEVEL=debug` adds the whole error with its causes and stack.
 *
 *   seq keys | register | set-batcher | start | status | send | verify | watch | force | slash   (seq --help lists their options)
 */
import { reportFailure } from "./common.js";
import {
  addressOption,
  dialAddressOption,
  dirWithFiles,
  fileOption,
  hexBytesOption,
  parseOptions,
  positiveIntegerOption,
  privateKeyOption,
  required,
  tokenAmountOption,
  urlOption,
  type OptionValues,
  type OptionsConfig,
} from "./options.js";
import { UsageError } from "./usage.js";
import { MAX_FORCED_TX_BYTES } from "../domain/api.js";

type Command = {
  /** The command's lines of the help. */
  readonly usage: string;
  /** Parses and checks `args`, then loads and runs the command. */
  readonly run: (args: readonly string[]) => Promise<void>;
};

/** A command whose options are parsed with `options` and checked by `check` (which returns the command's input) before `run` loads it. */
function command<O extends OptionsConfig, I>(name: string, usage: string, options: O, check: (values: OptionValues<O>) => I, run: (input: I) => Promise<void>): Command {
  return { usage, run: async (args) => run(check(parseOptions(name, args, options))) };
}

const passwordFileOption = { "password-file": { type: "string" } } as const;
/** The operator's account key from --operator-key, else env OPERATOR_KEY. */
const operatorKeyOption = (name: string, value: string | undefined) =>
  privateKeyOption(name, "--operator-key (or OPERATOR_KEY)", required(name, "the operator's account key,", value ?? process.env.OPERATOR_KEY, "--operator-key 0x.. or env OPERATOR_KEY,"));
/** A --password-file FILE, checked to exist (the passphrase is read from it later). */
const passwordFile = (name: string, value: string | undefined) => (value === undefined ? undefined : fileOption(name, "--password-file", value));

const COMMANDS: Readonly<Record<string, Command>> = {
  keys: command(
    "keys",
    `  keys    --out DIR [--password-file FILE] [--light-kdf]
                                         generate signer.key (secp256k1, a Web3 Secret Storage v3 keystore:
                                         scrypt, aes-128-ctr, as geth writes them) and p2p.key (libp2p
                                         Ed25519), mode 0600; the passphrase is the first line of FILE, else
                                         env SEQ_KEYSTORE_PASSWORD; --light-kdf: geth's light scrypt
                                         (n=4096, p=6: fast, weak) instead of the standard n=262144`,
    { out: { type: "string" }, "light-kdf": { type: "boolean" }, ...passwordFileOption },
    (v) => ({ out: required("keys", "--out", v.out, "DIR"), passwordFile: passwordFile("keys", v["password-file"]), lightKdf: v["light-kdf"] === true }),
    async (input) => (await import("./commands/keys.js")).keys(input),
  ),
  register: command(
    "register",
    `  register --keys DIR --stake TOKENS --addr MULTIADDR [--addr ...] --l1 URL --deployment FILE
           [--operator-key 0x.. | env OPERATOR_KEY] [--mint] [--batcher-key FILE] [--password-file FILE]
                                         join the sequencer set: approve the stake and call register()
                                         with the signer and peer id of the keys in DIR, each key
                                         signing that it belongs to the operator account; with
                                         --batcher-key, then make that key's account the batcher
                                         (the only account the inbox takes this operator's batches
                                         from; default: the signer)`,
    {
      keys: { type: "string" },
      stake: { type: "string" },
      addr: { type: "string", multiple: true },
      l1: { type: "string" },
      deployment: { type: "string" },
      "operator-key": { type: "string" },
      mint: { type: "boolean" },
      "batcher-key": { type: "string" },
      ...passwordFileOption,
    },
    (v) => {
      const name = "register";
      return {
        keys: dirWithFiles(name, "--keys", required(name, "--keys", v.keys, "DIR (from seq keys)"), ["signer.key", "p2p.key"]),
        stake: tokenAmountOption(name, "--stake", required(name, "--stake", v.stake, "TOKENS")),
        addrs: required(name, "--addr", v.addr, "MULTIADDR (where other nodes dial this one)").map((a) => dialAddressOption(name, "--addr", a)),
        l1: urlOption(name, "--l1", required(name, "--l1", v.l1, "URL")),
        deployment: fileOption(name, "--deployment", required(name, "--deployment", v.deployment, "FILE")),
        operatorKey: operatorKeyOption(name, v["operator-key"]),
        mint: v.mint === true,
        batcherKey: v["batcher-key"] === undefined ? undefined : fileOption(name, "--batcher-key", v["batcher-key"]),
        passwordFile: passwordFile(name, v["password-file"]),
      };
    },
    async (input) => (await import("./commands/register.js")).register(input),
  ),
  "set-batcher": command(
    "set-batcher",
    `  set-batcher (--config FILE | --batcher-key FILE --l1 URL --deployment FILE | --reset --l1 URL --deployment FILE)
           [--operator-key 0x.. | env OPERATOR_KEY] [--password-file FILE]
                                         name the operator's batcher on L1: the account of the node
                                         config's batcherKeyFile (its signer when that is empty), of
                                         --batcher-key (which signs its agreement), or with --reset
                                         the signer again`,
    { config: { type: "string" }, "batcher-key": { type: "string" }, reset: { type: "boolean" }, l1: { type: "string" }, deployment: { type: "string" }, "operator-key": { type: "string" }, ...passwordFileOption },
    (v) => {
      const name = "set-batcher";
      const sources = [v.config, v["batcher-key"], v.reset === true ? "reset" : undefined].filter((s) => s !== undefined);
      if (sources.length !== 1) throw new UsageError(`${name}: give exactly one of --config FILE, --batcher-key FILE and --reset, got ${sources.length === 0 ? "none" : sources.length}`);
      if (v.config === undefined && (v.l1 === undefined || v.deployment === undefined)) throw new UsageError(`${name}: --l1 URL and --deployment FILE are required (or --config FILE, which names both)`);
      return {
        config: v.config === undefined ? undefined : fileOption(name, "--config", v.config),
        batcherKey: v["batcher-key"] === undefined ? undefined : fileOption(name, "--batcher-key", v["batcher-key"]),
        l1: v.l1 === undefined ? undefined : urlOption(name, "--l1", v.l1),
        deployment: v.deployment === undefined ? undefined : fileOption(name, "--deployment", v.deployment),
        operatorKey: operatorKeyOption(name, v["operator-key"]),
        passwordFile: passwordFile(name, v["password-file"]),
      };
    },
    async (input) => (await import("./commands/set-batcher.js")).setBatcher(input),
  ),
  start: command(
    "start",
    `  start   --config FILE [--password-file FILE]
                                         start a node; SEQ_* environment variables override the file`,
    { config: { type: "string" }, ...passwordFileOption },
    (v) => ({ config: v.config === undefined ? undefined : fileOption("start", "--config", v.config), passwordFile: passwordFile("start", v["password-file"]) }),
    async (input) => (await import("./commands/start.js")).start(input),
  ),
  status: command(
    "status",
    `  status  --rpc URL [--rpc URL ...]      show role, term, leader and positions of each node`,
    { rpc: { type: "string", multiple: true } },
    (v) => ({ rpc: required("status", "--rpc", v.rpc, "URL (at least one)").map((u) => urlOption("status", "--rpc", u)) }),
    async (input) => (await import("./commands/status.js")).status(input),
  ),
  send: command(
    "send",
    `  send    --rpc URL [--chain-id N] [--key 0x..] [--l1 URL] [--encrypted [--epoch-keys ADDRESS]]
                                         send a signed test transaction and verify its order commitment
                                         (against the registry on L1 when --l1 is given); --encrypted:
                                         encrypted to the node's open slot (the epoch key checked against
                                         L1's EpochKeys at ADDRESS with --l1), then wait for its plaintext`,
    { rpc: { type: "string" }, "chain-id": { type: "string" }, key: { type: "string" }, l1: { type: "string" }, encrypted: { type: "boolean" }, "epoch-keys": { type: "string" } },
    (v) => {
      if (v["epoch-keys"] !== undefined && (v.encrypted !== true || v.l1 === undefined)) throw new UsageError("send: --epoch-keys ADDRESS goes with --encrypted and --l1 URL (it is where the epoch key is checked)");
      return {
        rpc: urlOption("send", "--rpc", required("send", "--rpc", v.rpc, "URL")),
        chainId: v["chain-id"] === undefined ? undefined : positiveIntegerOption("send", "--chain-id", v["chain-id"]),
        key: v.key === undefined ? undefined : privateKeyOption("send", "--key", v.key),
        l1: v.l1 === undefined ? undefined : urlOption("send", "--l1", v.l1),
        encrypted: v.encrypted === true,
        epochKeys: v["epoch-keys"] === undefined ? undefined : addressOption("send", "--epoch-keys", v["epoch-keys"]),
      };
    },
    async (input) => (await import("./commands/send.js")).send(input),
  ),
  verify: command(
    "verify",
    `  verify  --commitment FILE|- [--l1 URL] [--registry ADDR] [--chain-id N]
                                         verify an order commitment offline, or against L1 with --l1`,
    { commitment: { type: "string" }, l1: { type: "string" }, registry: { type: "string" }, "chain-id": { type: "string" } },
    (v) => ({
      commitment: fileOption("verify", "--commitment", required("verify", "--commitment", v.commitment, "FILE (or - for standard input)"), { stdin: true }),
      l1: v.l1 === undefined ? undefined : urlOption("verify", "--l1", v.l1),
      registry: v.registry === undefined ? undefined : addressOption("verify", "--registry", v.registry),
      chainId: v["chain-id"] === undefined ? undefined : positiveIntegerOption("verify", "--chain-id", v["chain-id"]),
    }),
    async (input) => (await import("./commands/verify.js")).verify(input),
  ),
  watch: command(
    "watch",
    `  watch   --config FILE [--rpc URL] [--key FILE] [--state FILE] [--once] [--password-file FILE]
                                         run the slashing watchtower for the node of FILE: check every
                                         accepted L1 batch against the node's log and certificates (its
                                         store when the node is stopped, else its RPC) and slash offenders;
                                         pays gas with --key (default: watchtowerKeyFile, else the signer key);
                                         cursor in --state (default DATA_DIR/watchtower-standalone.json)`,
    { config: { type: "string" }, rpc: { type: "string" }, key: { type: "string" }, state: { type: "string" }, once: { type: "boolean" }, ...passwordFileOption },
    (v) => ({
      config: fileOption("watch", "--config", required("watch", "--config", v.config, "FILE (the node's config)")),
      rpc: v.rpc === undefined ? undefined : urlOption("watch", "--rpc", v.rpc),
      key: v.key === undefined ? undefined : fileOption("watch", "--key", v.key),
      state: v.state,
      once: v.once === true,
      passwordFile: passwordFile("watch", v["password-file"]),
    }),
    async (input) => (await import("./commands/watch.js")).watch(input),
  ),
  force: command(
    "force",
    `  force   --raw 0x.. --l1 URL --deployment FILE --key FILE [--rpc URL] [--password-file FILE]
                                         force a signed raw transaction in through L1, sent to no node:
                                         enqueue it on the ForcedInclusionQueue (--key pays the L1 gas),
                                         then wait until a node orders it (its order commitment, read
                                         from --rpc) and an accepted L1 batch covers it (its position)`,
    { raw: { type: "string" }, l1: { type: "string" }, deployment: { type: "string" }, key: { type: "string" }, rpc: { type: "string" }, ...passwordFileOption },
    (v) => {
      const name = "force";
      return {
        raw: hexBytesOption(name, "--raw", required(name, "--raw", v.raw, "0x.. (the signed raw transaction)"), MAX_FORCED_TX_BYTES),
        l1: urlOption(name, "--l1", required(name, "--l1", v.l1, "URL")),
        deployment: fileOption(name, "--deployment", required(name, "--deployment", v.deployment, "FILE")),
        key: fileOption(name, "--key", required(name, "--key", v.key, "FILE (the L1 account paying the enqueue's gas)")),
        rpc: v.rpc === undefined ? undefined : urlOption(name, "--rpc", v.rpc),
        passwordFile: passwordFile(name, v["password-file"]),
      };
    },
    async (input) => (await import("./commands/force.js")).force(input),
  ),
  slash: command(
    "slash",
    `  slash   --commitment FILE|- --l1-rpc URL --deployment FILE [--key FILE] [--password-file FILE]
                                         check an order or quorum commitment against the L1 batch
                                         covering its position; if the batch broke it, slash each of its
                                         signers that also signed the batch (with --key,
                                         which pays gas and earns the reporter's share: the proof is
                                         committed, then revealed a block later; the share is held for
                                         the claim window, in which an earlier reporter may take it over)
  slash   --claim --l1-rpc URL --deployment FILE --key FILE
                                         pay out the key's reporter rewards whose claim window has closed`,
    { commitment: { type: "string" }, claim: { type: "boolean" }, "l1-rpc": { type: "string" }, l1: { type: "string" }, deployment: { type: "string" }, key: { type: "string" }, ...passwordFileOption },
    (v) => {
      const name = v.claim === true ? "slash --claim" : "slash";
      const common = {
        l1: urlOption(name, "--l1-rpc", required(name, "--l1-rpc", v["l1-rpc"] ?? v.l1, "URL")),
        deployment: fileOption(name, "--deployment", required(name, "--deployment", v.deployment, "FILE")),
        passwordFile: passwordFile(name, v["password-file"]),
      };
      if (v.claim === true) {
        if (v.commitment !== undefined) throw new UsageError("slash --claim: --commitment does not go with --claim (a claim collects rewards of earlier slashes)");
        return { claim: true as const, ...common, key: fileOption(name, "--key", required(name, "--key", v.key, "FILE (the reporter's key)")) };
      }
      return {
        claim: false as const,
        ...common,
        key: v.key === undefined ? undefined : fileOption(name, "--key", v.key),
        commitment: fileOption(name, "--commitment", required(name, "--commitment", v.commitment, "FILE (or - for standard input)"), { stdin: true }),
      };
    },
    async (input) => {
      const { claim, slash } = await import("./commands/slash.js");
      return input.claim ? claim(input) : slash(input);
    },
  ),
};

const HELP = `seq: run and inspect a staked sequencer node

Commands:
${Object.values(COMMANDS)
  .map((c) => c.usage)
  .join("\n")}
Key files (signer, batcher, --key) are keystores, or plain 0x-hex keys (accepted with a warning);
a keystore's passphrase comes from --password-file FILE, else env SEQ_KEYSTORE_PASSWORD.
Run 'seq <command> --help' for the options of one command.`;

async function main(argv: readonly string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) throw new UsageError(`unknown command "${name}": the commands are ${Object.keys(COMMANDS).join(", ")} (seq --help)`);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`usage: seq\n${cmd.usage}`);
    return;
  }
  await cmd.run(rest);
}

main(process.argv.slice(2)).catch(async (error: unknown) => {
  await reportFailure("seq: ", error);
  process.exit(error instanceof UsageError ? 2 : 1);
});
