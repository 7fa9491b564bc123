/** The `seq` command line as an operator uses it: keys, then joining the set on L1. */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseEther, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { deployAndStake, startLocalChain, type LocalChain } from "../../scripts/lib/devnet.js";
import { mineToNextEpoch } from "../../scripts/lib/deploy.js";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { domain } from "../../node/commitments/typed-data.js";
import { signPeerIdBinding, signSignerBinding } from "../../node/l1/key-binding.js";
import { proveOperatorKeys } from "../../node/l1/operator.js";
import { gasWithMargin } from "../../node/l1/send.js";
import { savePeerKey } from "../../node/transport/index.js";
import { makeTempDir, removeTempDir, runChild } from "../../scripts/lib/processes.js";

const CLI = path.resolve(import.meta.dirname, "../../node/cli/main.ts");

/** Runs the CLI to its end; a run killed by its timeout or a signal reads as exit code 1. */
async function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runChild(process.execPath, ["--import", "tsx", file, ...args], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
  return { code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function seq(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(CLI, args, env);
}

describe("seq CLI", function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = makeTempDir("seq-cli-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  it("prints help, and rejects an unknown command with a usage error", async () => {
    const help = await seq(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain("register");
    const bad = await seq(["frobnicate"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('unknown command "frobnicate"');
  });

  it("npm run seq's launcher (scripts/seq.mjs) runs the CLI from dist/ when it is current, else from the sources, and says which with LOG_LEVEL=debug", async () => {
    const launcher = path.resolve(import.meta.dirname, "../../scripts/seq.mjs");
    const r = await runChild(process.execPath, [launcher, "--help"], { env: { ...process.env, LOG_LEVEL: "debug" } });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("seq: run and inspect a staked sequencer node");
    expect(r.stderr).to.match(/^seq: running (\S+\/dist\/node\/cli\/main\.js|node\/cli\/main\.ts through tsx)/);
    const bad = await runChild(process.execPath, [launcher, "status"], { env: { ...process.env, LOG_LEVEL: "" } });
    expect([bad.code, bad.stderr]).to.deep.equal([2, "seq: status: --rpc URL (at least one) is required\n"]);
  });

  it("generates an encrypted signer keystore (geth's standard scrypt) and owner-only key files, and refuses to overwrite them", async () => {
    const out = path.join(dir, "keys-standard");
    const refused = await seq(["keys", "--out", out], { SEQ_KEYSTORE_PASSWORD: "" });
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain("give its passphrase with --password-file FILE or SEQ_KEYSTORE_PASSWORD");
    expect(existsSync(out), "nothing written without a passphrase").to.equal(false);

    const first = await seq(["keys", "--out", out], { SEQ_KEYSTORE_PASSWORD: "operator passphrase" });
    expect(first.code, first.stderr).to.equal(0);
    const printed = JSON.parse(first.stdout) as { signer: string; peerId: string; keystore: string };
    expect(printed.signer).to.match(/^0x[0-9a-fA-F]{40}$/);
    expect(printed.peerId).to.match(/^12D3KooW/);
    expect(printed.keystore).to.contain("scrypt n=262144 r=8 p=1");
    for (const f of ["signer.key", "p2p.key"]) expect((await stat(path.join(out, f))).mode & 0o777).to.equal(0o600);
    const keystore = JSON.parse(await readFile(path.join(out, "signer.key"), "utf8")) as { version: number; address: string; crypto: { kdf: string; cipher: string; kdfparams: { n: number; r: number; p: number } } };
    expect(keystore).to.deep.include({ version: 3, address: printed.signer.slice(2).toLowerCase() });
    expect(keystore.crypto).to.deep.include({ kdf: "scrypt", cipher: "aes-128-ctr" });
    expect(keystore.crypto.kdfparams).to.include({ n: 262_144, r: 8, p: 1 });

    const before = await readFile(path.join(out, "signer.key"), "utf8");
    const second = await seq(["keys", "--out", out], { SEQ_KEYSTORE_PASSWORD: "operator passphrase" });
    expect(second.code).to.equal(2);
    expect(second.stderr).to.contain("refusing to overwrite");
    expect(await readFile(path.join(out, "signer.key"), "utf8")).to.equal(before);
  });

  it("does not start a node from a keystore without its passphrase, or with a wrong one, naming the file", async () => {
    const keys = path.join(dir, "keys-node");
    const password = path.join(dir, "node-password");
    await writeFile(password, "node passphrase\n");
    const made = await seq(["keys", "--out", keys, "--light-kdf", "--password-file", password]);
    expect(made.code, made.stderr).to.equal(0);
    // The key is the first thing a node reads: no chain is needed to see it refused.
    const config = path.join(keys, "config.json");
    await writeFile(config, JSON.stringify({ dataDir: "data", signerKeyFile: "signer.key", p2pKeyFile: "p2p.key", l1RpcUrl: "http://127.0.0.1:9", deployment: "none.json", watchtower: false }));
    const signerKey = path.join(keys, "signer.key");

    const missing = await seq(["start", "--config", config], { SEQ_KEYSTORE_PASSWORD: "" });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain(`${signerKey} is an encrypted keystore: give its passphrase`);
    const wrong = await seq(["start", "--config", config], { SEQ_KEYSTORE_PASSWORD: "not it" });
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain(`the passphrase does not open the keystore ${signerKey}`);
    // With the right one the key opens and the node gets as far as its deployment record.
    const right = await seq(["start", "--config", config, "--password-file", password], { SEQ_KEYSTORE_PASSWORD: "not it" });
    expect(right.code).to.equal(1);
    expect(right.stderr).to.contain("none.json");
    expect(right.stderr).to.not.contain("passphrase");
  });

  describe("register", () => {
    let chain: LocalChain;
    before(async () => {
      chain = await startLocalChain();
    });
    after(async () => {
      await chain.close();
    });

    /** Keys from `seq keys` in DIR/keys-<name> (light scrypt, passphrase "<name> passphrase" in a file), and a funded operator account. */
    async function newOperator(name: string) {
      const keys = path.join(dir, `keys-${name}`);
      const password = path.join(dir, `${name}-password`);
      await writeFile(password, `${name} passphrase\n`);
      const made = await seq(["keys", "--out", keys, "--light-kdf", "--password-file", password]);
      expect(made.code, made.stderr).to.equal(0);
      const { signer } = JSON.parse(made.stdout) as { signer: string };
      const operatorKey = generatePrivateKey();
      const operator = privateKeyToAccount(operatorKey).address;
      await chain.connection.networkHelpers.setBalance(operator, parseEther("10"));
      return { keys, password, signer, operatorKey, operator };
    }

    it("joins the set with the keys of seq keys, opening the signer keystore: the operator is a member from the next epoch", async () => {
      const net = await deployAndStake(chain, path.join(dir, "net"), []);
      const { keys, password, signer, operatorKey, operator } = await newOperator("register");
      const args = ["register", "--keys", keys, "--stake", "1200", "--addr", "/ip4/127.0.0.1/tcp/4999", "--l1", chain.url, "--deployment", net.deploymentFile, "--mint"];

      const missingKey = await seq(args, { OPERATOR_KEY: "" });
      expect(missingKey.code).to.equal(2);
      expect(missingKey.stderr).to.contain("operator's account key");
      const noPassphrase = await seq(args, { OPERATOR_KEY: operatorKey, SEQ_KEYSTORE_PASSWORD: "" });
      expect(noPassphrase.code).to.equal(1);
      expect(noPassphrase.stderr).to.contain(`${path.join(keys, "signer.key")} is an encrypted keystore`);

      const ok = await seq([...args, "--password-file", password], { OPERATOR_KEY: operatorKey });
      expect(ok.code, ok.stderr).to.equal(0);
      const epoch = await mineToNextEpoch(chain.connection, net.deployment.registry);
      const members = await net.deployment.registry.read.activeSet([epoch]);
      expect(members.map((m) => m.operator.toLowerCase())).to.deep.equal([operator.toLowerCase()]);
      expect(members[0]!.signer).to.equal(signer);

      const again = await seq(args, { OPERATOR_KEY: operatorKey, SEQ_KEYSTORE_PASSWORD: "register passphrase" });
      expect(again.code).to.equal(1);
      expect(again.stderr).to.match(/AlreadyRegistered|reverted/);
    });

    it("S3: names a batcher other than the signer (register --batcher-key), and set-batcher moves it back (--reset) and to a node config's batcherKeyFile (--config)", async () => {
      const net = await deployAndStake(chain, path.join(dir, "net-batcher"), []);
      const registry = net.deployment.registry;
      const { keys, password, signer, operatorKey, operator } = await newOperator("batcher");
      const batcherKey = generatePrivateKey();
      const batcher = privateKeyToAccount(batcherKey).address;
      const batcherFile = path.join(dir, "batcher.key");
      await writeFile(batcherFile, `${batcherKey}\n`, { mode: 0o600 });
      const env = { OPERATOR_KEY: operatorKey };
      const l1 = ["--l1", chain.url, "--deployment", net.deploymentFile];

      const registered = await seq(["register", "--keys", keys, "--stake", "1200", "--addr", "/ip4/127.0.0.1/tcp/4996", ...l1, "--mint", "--batcher-key", batcherFile, "--password-file", password], env);
      expect(registered.code, registered.stderr).to.equal(0);
      expect(registered.stdout).to.contain(`batcher: ${batcher} posts this operator's batches`);
      expect(await registry.read.batcherOf([operator])).to.equal(batcher);

      const reset = await seq(["set-batcher", "--reset", ...l1], env);
      expect(reset.code, reset.stderr).to.equal(0);
      expect(reset.stdout).to.contain("the operator's signer posts its batches (the default)");
      expect(await registry.read.batcherOf([operator])).to.equal(signer);

      // The node's config: its batcherKeyFile is the account the registry is to name.
      const config = path.join(dir, "batcher-node.json");
      const nodeConfig = { dataDir: "data", signerKeyFile: path.join(keys, "signer.key"), p2pKeyFile: path.join(keys, "p2p.key"), l1RpcUrl: chain.url, deployment: net.deploymentFile };
      await writeFile(config, JSON.stringify({ ...nodeConfig, batcherKeyFile: batcherFile }));
      const fromConfig = await seq(["set-batcher", "--config", config], env);
      expect(fromConfig.code, fromConfig.stderr).to.equal(0);
      expect(await registry.read.batcherOf([operator])).to.equal(batcher);

      const both = await seq(["set-batcher", "--reset", "--config", config], env);
      expect(both.code).to.equal(2);
      expect(both.stderr).to.contain("exactly one of --config FILE, --batcher-key FILE and --reset");
      // An account that is no operator names no batcher: the dry run refuses, nothing is sent.
      const other = generatePrivateKey();
      await chain.connection.networkHelpers.setBalance(privateKeyToAccount(other).address, parseEther("1"));
      const taken = await seq(["set-batcher", "--batcher-key", batcherFile, ...l1], { OPERATOR_KEY: other });
      expect(taken.code).to.equal(1);
      expect(taken.stderr).to.contain("NotRegistered");
    });

    it("registers three operators at once (operators joining together): each lands, sent with a margin over its gas estimate", async () => {
      const net = await deployAndStake(chain, path.join(dir, "net-concurrent"), []);
      const joiners = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const keys = path.join(dir, `keys-concurrent-${i}`);
          await mkdir(keys, { recursive: true });
          await writeFile(path.join(keys, "signer.key"), `${generatePrivateKey()}\n`, { mode: 0o600 });
          await savePeerKey(path.join(keys, "p2p.key"), await generateKeyPair("Ed25519"));
          const operatorKey = generatePrivateKey();
          await chain.connection.networkHelpers.setBalance(privateKeyToAccount(operatorKey).address, parseEther("10"));
          return { keys, operatorKey, operator: privateKeyToAccount(operatorKey).address };
        }),
      );
      const runs = await Promise.all(
        joiners.map((j, i) =>
          seq(["register", "--keys", j.keys, "--stake", String(1_000 + i), "--addr", `/ip4/127.0.0.1/tcp/${4990 + i}`, "--l1", chain.url, "--deployment", net.deploymentFile, "--mint"], { OPERATOR_KEY: j.operatorKey }),
        ),
      );
      for (const r of runs) expect(r.code, r.stderr).to.equal(0);
      const epoch = await mineToNextEpoch(chain.connection, net.deployment.registry);
      const members = await net.deployment.registry.read.activeSet([epoch]);
      expect(members.map((m) => m.operator).sort()).to.deep.equal(joiners.map((j) => j.operator).sort());
      // Every register transaction left room over what it used (the bare estimate leaves none).
      const publicClient = await chain.connection.viem.getPublicClient();
      for (const r of runs) {
        const hash = (JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf("}") + 1)) as { transactionHash: Hex }).transactionHash;
        const [tx, receipt] = await Promise.all([publicClient.getTransaction({ hash }), publicClient.getTransactionReceipt({ hash })]);
        expect(tx.gas * 100n >= receipt.gasUsed * 120n, `gas limit ${tx.gas}, used ${receipt.gasUsed}`).to.equal(true);
      }
    });

    it("a registration the registry refuses is one sentence saying what its custom error means, and nothing is sent", async () => {
      const net = await deployAndStake(chain, path.join(dir, "net-refused"), []);
      const keys = path.join(dir, "keys-refused");
      await mkdir(keys, { recursive: true });
      await writeFile(path.join(keys, "signer.key"), `${generatePrivateKey()}\n`, { mode: 0o600 });
      await savePeerKey(path.join(keys, "p2p.key"), await generateKeyPair("Ed25519"));
      const operatorKey = generatePrivateKey();
      const operator = privateKeyToAccount(operatorKey).address;
      await chain.connection.networkHelpers.setBalance(operator, parseEther("10"));
      const run = await seq(["register", "--keys", keys, "--stake", "1", "--addr", "/ip4/127.0.0.1/tcp/4979", "--l1", chain.url, "--deployment", net.deploymentFile, "--mint"], { OPERATOR_KEY: operatorKey });
      expect(run.code).to.equal(1);
      const errors = run.stderr.trimEnd().split("\n").filter((l) => !l.startsWith("seq: warning:"));
      expect(errors).to.deep.equal([
        `seq: the registry refuses to register ${operator}: the stake of 1000000000000000000 (smallest token units) is below the registry's minimum of 1000000000000000000000 (StakeBelowMinimum)`,
      ]);
      const publicClient = await chain.connection.viem.getPublicClient();
      expect(await publicClient.getTransactionCount({ address: operator }), "no mint or approval sent").to.equal(0);
    });

    it("the gas margin covers a registration estimated after others landed and mined as the first of a new epoch (how one of three ran out of gas)", async () => {
      const net = await deployAndStake(chain, path.join(dir, "net-margin"), []);
      const { registry, token } = net.deployment;
      const publicClient = await chain.connection.viem.getPublicClient();
      const wallets = (await chain.connection.viem.getWalletClients()).slice(1, 4);
      const d = domain(net.deployment.chainId, registry.address);
      const calls = await Promise.all(
        wallets.map(async (wallet, i) => {
          const stake = parseEther(String(1_000 + i));
          await publicClient.waitForTransactionReceipt({ hash: await token.write.mint([wallet.account.address, stake], { account: wallet.account }) });
          await publicClient.waitForTransactionReceipt({ hash: await token.write.approve([registry.address, stake], { account: wallet.account }) });
          const proven = await proveOperatorKeys({ signer: privateKeyToAccount(generatePrivateKey()), peerKey: await generateKeyPair("Ed25519") }, d, wallet.account.address);
          return { wallet, args: [stake, proven.signer, proven.signerProof, proven.peerIdBytes, proven.peerIdProof, [`/ip4/127.0.0.1/tcp/${4980 + i}`]] as const };
        }),
      );
      // Two registrations land; the third is estimated right after them, in the same epoch, and
      // mined in the next: it meets an epoch nobody has checkpointed and a set not yet marked changed.
      for (const c of calls.slice(0, 2)) await publicClient.waitForTransactionReceipt({ hash: await registry.write.register(c.args, { account: c.wallet.account }) });
      const last = calls[2]!;
      const estimate = await registry.estimateGas.register(last.args, { account: last.wallet.account });
      await mineToNextEpoch(chain.connection, registry);
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await registry.write.register(last.args, { account: last.wallet.account, gas: gasWithMargin(estimate) }) });
      expect(receipt.status).to.equal("success");
      expect(receipt.gasUsed > estimate, `the bare estimate (${estimate}) is below what the transaction used (${receipt.gasUsed})`).to.equal(true);
      expect(receipt.gasUsed <= gasWithMargin(estimate), `estimate ${estimate}, used ${receipt.gasUsed}`).to.equal(true);
    });

    it("scripts/register-operator.ts joins with generated keys, and refuses a chain the record does not name", async () => {
      const net = await deployAndStake(chain, path.join(dir, "net2"), []);
      const operatorKey = generatePrivateKey();
      const operator = privateKeyToAccount(operatorKey).address;
      await chain.connection.networkHelpers.setBalance(operator, parseEther("10"));
      const script = path.resolve(import.meta.dirname, "../../scripts/register-operator.ts");
      const register = (env: NodeJS.ProcessEnv) => run(script, ["--addr", "/ip4/127.0.0.1/tcp/4998", "--stake", "1100", "--mint"], env);
      const batcherKey = generatePrivateKey();
      const ok = await register({ OPERATOR_KEY: operatorKey, L1_RPC_URL: chain.url, DEPLOYMENT: net.deploymentFile, BATCHER_KEY: batcherKey });
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.contain(`operator ${operator} registered`);
      expect(ok.stdout).to.contain("generated signing key");
      expect(await net.deployment.registry.read.batcherOf([operator])).to.equal(privateKeyToAccount(batcherKey).address);
      const epoch = await mineToNextEpoch(chain.connection, net.deployment.registry);
      expect((await net.deployment.registry.read.activeSet([epoch])).map((m) => m.operator)).to.deep.equal([operator]);

      // Keys kept elsewhere: only the signer address, the peer id and their proofs are given.
      const second = generatePrivateKey();
      const secondOperator = privateKeyToAccount(second).address;
      await chain.connection.networkHelpers.setBalance(secondOperator, parseEther("10"));
      const signer = privateKeyToAccount(generatePrivateKey());
      const peerKey = await generateKeyPair("Ed25519");
      const d = domain(net.deployment.chainId, net.deployment.registry.address);
      const external = async (signerProof: string) =>
        run(script, ["--addr", "/ip4/127.0.0.1/tcp/4997", "--stake", "1100", "--mint", "--signer", signer.address, "--signer-proof", signerProof, "--peer-id", peerIdFromPrivateKey(peerKey).toString(), "--peer-proof", await signPeerIdBinding(peerKey, d, secondOperator)], {
          OPERATOR_KEY: second,
          L1_RPC_URL: chain.url,
          DEPLOYMENT: net.deploymentFile,
        });
      const forged = await external(await signSignerBinding(signer, d, operator));
      expect(forged.code).to.equal(1);
      expect(forged.stderr).to.contain("InvalidSignerProof");
      const proven = await external(await signSignerBinding(signer, d, secondOperator));
      expect(proven.code, proven.stderr).to.equal(0);
      expect(await net.deployment.registry.read.operatorOfSigner([signer.address])).to.equal(secondOperator);

      const record = JSON.parse(await readFile(net.deploymentFile, "utf8")) as { chainId: number };
      const wrong = path.join(dir, "wrong-chain.json");
      await writeFile(wrong, JSON.stringify({ ...record, chainId: record.chainId + 1 }));
      const refused = await register({ OPERATOR_KEY: operatorKey, L1_RPC_URL: chain.url, DEPLOYMENT: wrong });
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.contain(`but the deployment is on chain ${record.chainId + 1}`);
    });
  });
});
