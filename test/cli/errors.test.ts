/**
 * Every documented way to call `seq` wrongly, as an operator meets it: the CLI as a child process,
 * one sentence on stderr naming the option, the value and the rule, exit code 2 for a usage error
 * (1 for a failure), and no stack trace unless LOG_LEVEL=debug. No chain: options are checked
 * before anything is loaded or contacted.
 */
import { expect } from "chai";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeTempDir, removeTempDir, runChild } from "../../scripts/lib/processes.js";

const CLI = path.resolve(import.meta.dirname, "../../node/cli/main.ts");

async function seq(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runChild(process.execPath, ["--import", "tsx", CLI, ...args], { env: { ...process.env, LOG_LEVEL: "", OPERATOR_KEY: "", ...env }, timeoutMs: 60_000 });
}

describe("seq CLI: errors for people", function () {
  this.timeout(60_000);
  // Made while mocha collects the tests: the sentences below name these paths.
  const dir = makeTempDir("seq-errors-");
  const file = path.join(dir, "deployment.json");
  const keys = path.join(dir, "keys");
  const halfKeys = path.join(dir, "half");
  const notJson = path.join(dir, "commitment.txt");
  const key = `0x${"11".repeat(32)}`;

  before(async () => {
    await writeFile(file, "{}");
    await writeFile(notJson, "not a commitment");
    await mkdir(keys);
    await writeFile(path.join(keys, "signer.key"), `${key}\n`);
    await writeFile(path.join(keys, "p2p.key"), "");
    await mkdir(halfKeys);
    await writeFile(path.join(halfKeys, "signer.key"), `${key}\n`);
  });
  after(async () => {
    await removeTempDir(dir);
  });

  const register = (over: Record<string, string | undefined>) => {
    const o: Record<string, string | undefined> = { keys, stake: "1000", addr: "/ip4/127.0.0.1/tcp/4001", l1: "http://127.0.0.1:8545", deployment: file, "operator-key": key, ...over };
    return ["register", ...Object.entries(o).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, v]))];
  };

  // [what the operator typed, the sentence (after "seq: "), extra environment]
  const usage: [() => string[], string, NodeJS.ProcessEnv?][] = [
    [() => ["frobnicate"], 'unknown command "frobnicate": the commands are keys, register, set-batcher, start, status, send, verify, watch, force, slash (seq --help)'],
    [() => ["keys"], "keys: --out DIR is required"],
    [() => ["keys", "--out", dir, "--kdf", "light"], "keys: unknown option --kdf (its options: --out, --light-kdf, --password-file)"],
    [() => ["keys", "--out", dir, "--password-file", path.join(dir, "nope")], `keys: --password-file ${path.join(dir, "nope")}: no such file`],
    [() => register({ keys: undefined }), "register: --keys DIR (from seq keys) is required"],
    [() => register({ keys: path.join(dir, "none") }), `register: --keys ${path.join(dir, "none")}: no such directory (seq keys --out DIR makes one)`],
    [() => register({ keys: halfKeys }), `register: --keys ${halfKeys} has no p2p.key (seq keys --out DIR writes both)`],
    [() => register({ stake: "1k" }), 'register: --stake "1k" must be a positive number of tokens, e.g. 1000 or 1000.5'],
    [() => register({ stake: "0" }), 'register: --stake "0" must be a positive number of tokens, e.g. 1000 or 1000.5'],
    [() => register({ addr: undefined }), "register: --addr MULTIADDR (where other nodes dial this one) is required"],
    [() => register({ addr: "127.0.0.1:4001" }), 'register: --addr "127.0.0.1:4001" must be a TCP multiaddr other nodes can dial, e.g. /ip4/203.0.113.7/tcp/4001'],
    [() => register({ l1: "localhost:8545" }), 'register: --l1 "localhost:8545" must be an http://, https://, ws:// or wss:// URL'],
    [() => register({ l1: "not a url" }), 'register: --l1 "not a url" is not a URL: give the node\'s JSON-RPC address, e.g. http://127.0.0.1:8545'],
    [() => register({ deployment: path.join(dir, "none.json") }), `register: --deployment ${path.join(dir, "none.json")}: no such file`],
    [() => register({ deployment: dir }), `register: --deployment ${dir} is not a file`],
    [() => register({ "operator-key": undefined }), "register: the operator's account key, --operator-key 0x.. or env OPERATOR_KEY, is required"],
    [() => register({ "operator-key": "0x1234" }), "register: --operator-key (or OPERATOR_KEY) must be a private key of 32 bytes as 0x-hex (66 characters), got 6 characters"],
    [() => register({ "operator-key": undefined }), "register: --operator-key (or OPERATOR_KEY) must be a private key of 32 bytes as 0x-hex (66 characters), got 4 characters", { OPERATOR_KEY: "beef" }],
    [() => register({ "batcher-key": path.join(dir, "batcher.key") }), `register: --batcher-key ${path.join(dir, "batcher.key")}: no such file`],
    [() => ["set-batcher", "--l1", "http://127.0.0.1:8545", "--deployment", file], "set-batcher: give exactly one of --config FILE, --batcher-key FILE and --reset, got none"],
    [() => ["set-batcher", "--reset", "--config", file], "set-batcher: give exactly one of --config FILE, --batcher-key FILE and --reset, got 2"],
    [() => ["set-batcher", "--reset", "--operator-key", key], "set-batcher: --l1 URL and --deployment FILE are required (or --config FILE, which names both)"],
    [() => ["set-batcher", "--reset", "--l1", "http://127.0.0.1:8545", "--deployment", file], "set-batcher: the operator's account key, --operator-key 0x.. or env OPERATOR_KEY, is required"],
    [() => ["start", "--config", path.join(dir, "config.json")], `start: --config ${path.join(dir, "config.json")}: no such file`],
    [() => ["status"], "status: --rpc URL (at least one) is required"],
    [() => ["status", "--rpc", "http://127.0.0.1:8000", "--rpc", "127.0.0.1:8001"], 'status: --rpc "127.0.0.1:8001" is not a URL: give the node\'s JSON-RPC address, e.g. http://127.0.0.1:8545'],
    [() => ["status", "--rpc", "file:///tmp/x"], 'status: --rpc "file:///tmp/x" must be an http://, https://, ws:// or wss:// URL'],
    [() => ["status", "--rpc"], "status: option --rpc needs a value"],
    [() => ["send"], "send: --rpc URL is required"],
    [() => ["send", "--rpc", "http://127.0.0.1:8000", "--chain-id", "0x10"], 'send: --chain-id "0x10" must be a positive integer'],
    [() => ["send", "--rpc", "http://127.0.0.1:8000", "--key", "abc"], "send: --key must be a private key of 32 bytes as 0x-hex (66 characters), got 3 characters"],
    [() => ["send", "http://127.0.0.1:8000"], 'send: unexpected argument "http://127.0.0.1:8000": every value follows its option (its options: --rpc, --chain-id, --key, --l1, --encrypted, --epoch-keys)'],
    [() => ["send", "--rpc", "http://127.0.0.1:8000", "--epoch-keys", "0x5FbDB2315678afecb367f032d93F642f64180aa3"], "send: --epoch-keys ADDRESS goes with --encrypted and --l1 URL (it is where the epoch key is checked)"],
    [() => ["send", "--rpc", "http://127.0.0.1:8000", "--encrypted", "--l1", "http://127.0.0.1:9", "--epoch-keys", "0x12"], 'send: --epoch-keys "0x12" must be an address: 0x and 40 hex digits'],
    [() => ["verify"], "verify: --commitment FILE (or - for standard input) is required"],
    [() => ["verify", "--commitment", path.join(dir, "c.json")], `verify: --commitment ${path.join(dir, "c.json")}: no such file`],
    [() => ["verify", "--commitment", notJson, "--registry", "0x12"], 'verify: --registry "0x12" must be an address: 0x and 40 hex digits'],
    [() => ["watch"], "watch: --config FILE (the node's config) is required"],
    [() => ["watch", "--config", file, "--rpc", "ftp://x"], 'watch: --rpc "ftp://x" must be an http://, https://, ws:// or wss:// URL'],
    [() => ["force", "--l1", "http://127.0.0.1:8545", "--deployment", file, "--key", file], "force: --raw 0x.. (the signed raw transaction) is required"],
    [() => ["force", "--raw", "0xabc", "--l1", "http://127.0.0.1:8545", "--deployment", file, "--key", file], "force: --raw must be non-empty 0x-hex bytes (an even number of hex digits after 0x)"],
    [() => ["force", "--raw", "0x01", "--l1", "http://127.0.0.1:8545", "--deployment", file], "force: --key FILE (the L1 account paying the enqueue's gas) is required"],
    [() => ["force", "--raw", "0x01", "--deployment", file, "--key", file], "force: --l1 URL is required"],
    [() => ["slash", "--l1-rpc", "http://127.0.0.1:8545", "--deployment", file], "slash: --commitment FILE (or - for standard input) is required"],
    [() => ["slash", "--commitment", notJson, "--deployment", file], "slash: --l1-rpc URL is required"],
    [() => ["slash", "--claim", "--l1-rpc", "http://127.0.0.1:8545", "--deployment", file], "slash --claim: --key FILE (the reporter's key) is required"],
    [
      () => ["slash", "--claim", "--commitment", notJson, "--l1-rpc", "http://127.0.0.1:8545", "--deployment", file, "--key", path.join(keys, "signer.key")],
      "slash --claim: --commitment does not go with --claim (a claim collects rewards of earlier slashes)",
    ],
    [() => ["verify", "--commitment", notJson], `verify: --commitment ${notJson} is not JSON (`],
    [() => ["verify", "--commitment", file], `verify: --commitment ${file} is not a commitment as seq send or seq_getQuorumCommitment prints it (`],
    [() => ["slash", "--commitment", file, "--l1-rpc", "http://127.0.0.1:9", "--deployment", file], `slash: --commitment ${file} is not a commitment as seq send or seq_getQuorumCommitment prints it (`],
  ];
  for (const [args, sentence, env] of usage) {
    it(`refuses: ${sentence.replaceAll(dir, "DIR").slice(0, 100)}`, async () => {
      const run = await seq(args(), env);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stdout).to.equal("");
      expect(run.stderr.trimEnd().split("\n"), run.stderr).to.have.length(1);
      expect(run.stderr).to.contain(`seq: ${sentence}`);
    });
  }

  it("prints one command's options for seq <command> --help", async () => {
    const run = await seq(["register", "--help"]);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain("register --keys DIR --stake TOKENS").and.not.contain("slash");
  });

  it("an L1 that does not answer is one sentence naming it; LOG_LEVEL=debug adds the whole error and its stack", async () => {
    const args = ["status", "--rpc", "http://127.0.0.1:9"];
    // seq status reports an unreachable node in its table; seq send fails on it.
    const send = await seq(["send", "--rpc", "http://127.0.0.1:9"]);
    expect(send.code).to.equal(1);
    expect(send.stderr.trimEnd().split("\n"), send.stderr).to.have.length(1);
    expect(send.stderr).to.equal("seq: eth_chainId at http://127.0.0.1:9: fetch failed\n");
    expect(send.stderr).to.not.match(/\n\s+at /);
    const debug = await seq(["send", "--rpc", "http://127.0.0.1:9"], { LOG_LEVEL: "debug" });
    expect(debug.code).to.equal(1);
    expect(debug.stderr).to.match(/\n\s+at /);
    expect((await seq(args)).code).to.equal(0);
  });
});
