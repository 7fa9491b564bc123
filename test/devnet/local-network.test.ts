/**
 * The devnet's building blocks (scripts/lib/devnet.ts) on an interval-mined chain, and the
 * rebuild script (`npm run rebuild`) end to end against batches posted there.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type Hex, bytesToHex, hexToBytes, keccak256, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { batchTxHashes, encodeBatchData } from "../../node/batching/format.js";
import { type BatchHeader, ZERO_HASH, batchHash, domain, signBatchHeader } from "../../node/commitments/typed-data.js";
import { buildPositionalTree, merkleRoot } from "../../node/commitments/merkle.js";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";
import { mineToNextEpoch } from "../../scripts/lib/deploy.js";
import { addOperator, deployAndStake, startLocalChain, type LocalChain, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { startFakeNode, type FakeLogEntry, type FakeNode } from "./fake-node.js";
import { startRelayedLookingRpc } from "../l1/edited-transactions.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

const REPO = path.resolve(import.meta.dirname, "../..");

function runRebuild(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "scripts/rebuild-from-l1.ts"), ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, output })));
}

describe("devnet building blocks and the rebuild script", function () {
  this.timeout(120_000);

  let chain: LocalChain;
  let dir: string;
  let net: StakedNetwork;
  const fakes: FakeNode[] = [];

  before(async () => {
    dir = makeTempDir("devnet-lib-");
    chain = await startLocalChain(0, { blockIntervalMs: 1_000 });
    net = await deployAndStake(chain, dir, ["2000", "1500", "1000"], { logLevel: "warn" }, { deploy: { epochLength: 8n } });
  });
  after(async () => {
    for (const f of fakes) await f.close();
    await chain?.close();
    await removeTempDir(dir);
  });

  it("mines blocks on its own with interval mining", async () => {
    const client = await chain.connection.viem.getPublicClient();
    const before = await client.getBlockNumber({ cacheTime: 0 });
    await new Promise((r) => setTimeout(r, 2_600));
    expect(await client.getBlockNumber({ cacheTime: 0 }) > before + 1n, "two blocks in 2.6 s without transactions").to.equal(true);
  });

  it("deploys with the overridden epoch length and funds every operator's signer for L1 gas", async () => {
    expect(await net.deployment.registry.read.epochLength()).to.equal(8n);
    const client = await chain.connection.viem.getPublicClient();
    for (const op of net.operators) expect(await client.getBalance({ address: op.signer })).to.equal(parseEther("10"));
  });

  it("addOperator registers and stakes one more operator with its own keys and config; it joins at the next epoch", async () => {
    const op = await addOperator(chain, net, "1200", { logLevel: "warn" });
    expect(op.index).to.equal(3);
    expect(net.operators).to.have.length(4);
    const config = JSON.parse(await readFile(op.configFile, "utf8")) as { deployment: string; signerKeyFile: string; l1RpcUrl: string };
    expect(config.deployment).to.equal(net.deploymentFile);
    expect(config.l1RpcUrl).to.equal(chain.url);
    expect(privateKeyToAccount((await readFile(config.signerKeyFile, "utf8")).trim() as Hex).address).to.equal(op.signer);
    const client = await chain.connection.viem.getPublicClient();
    expect(await client.getBalance({ address: op.signer })).to.equal(parseEther("10"));
    const epoch = await mineToNextEpoch(chain.connection, net.deployment.registry);
    const set = await net.deployment.registry.read.activeSet([epoch]);
    expect(set.map((m) => m.signer)).to.include(op.signer);
    expect(set).to.have.length(4);
  });

  it("npm run rebuild rebuilds the posted stream, writes it, exits 1 at the first position a node differs, and 3 around an unreadable batch", async () => {
    const { viem } = chain.connection;
    const publicClient = await viem.getPublicClient();
    const inbox = await viem.getContractAt("BatchInbox", net.deployment.contracts.batchInbox.address);
    const d = domain(net.deployment.chainId, net.deployment.registry.address);
    const signers = await Promise.all(net.operators.map(async (op) => privateKeyToAccount((await readFile(op.config.signerKeyFile, "utf8")).trim() as Hex)));
    const txSigner = new LoadSigner({ chainId: 901, senders: 2, txBytes: 100, seed: 11 });
    const log: FakeLogEntry[] = [];
    let prev: BatchHeader | undefined;
    for (const size of [4, 3]) {
      const raws = txSigner.sign(size).map((h) => hexToBytes(h));
      const firstPosition = prev === undefined ? 0n : prev.lastPosition + 1n;
      const data = encodeBatchData(raws);
      const header: BatchHeader = {
        epoch: await net.deployment.registry.read.currentEpoch(),
        batchNumber: prev === undefined ? 1n : prev.batchNumber + 1n,
        prevBatchHash: prev === undefined ? ZERO_HASH : batchHash(prev),
        firstPosition,
        lastPosition: firstPosition + BigInt(size - 1),
        merkleRoot: merkleRoot(buildPositionalTree(firstPosition, batchTxHashes(raws))),
        dataHash: keccak256(data),
      };
      // The batch is signed by 3 of the 4 members, as the inbox requires a strict majority.
      const signatures = await Promise.all(signers.slice(0, 3).map((s) => signBatchHeader(s, d, header)));
      // Posted by operator 0's signer, its default batcher.
      const hash = await inbox.write.submitBatch([header, bytesToHex(data), signatures], { account: signers[0]! });
      expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
      raws.forEach((raw, i) => log.push({ position: Number(firstPosition) + i, txHash: keccak256(raw), raw: bytesToHex(raw) }));
      prev = header;
    }

    const same = await startFakeNode(log);
    const tampered = [...log];
    tampered[5] = { ...log[6]!, position: 5 };
    const differing = await startFakeNode(tampered);
    fakes.push(same, differing);
    const out = path.join(dir, "stream.jsonl");
    const base = ["--l1-rpc", chain.url, "--deployment", net.deploymentFile];

    const ok = await runRebuild([...base, "--compare", same.url, "--out", out]);
    expect(ok.code, ok.output).to.equal(0);
    expect(ok.output).to.contain("batches 1..2, 7 transactions at positions 0..6").and.contain(`${same.url}: all 7 positions equal`);
    const written = (await readFile(out, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as FakeLogEntry);
    expect(written).to.deep.equal(log);

    const bad = await runRebuild([...base, "--compare", same.url, "--compare", differing.url]);
    expect(bad.code, bad.output).to.equal(1);
    expect(bad.output).to.contain(`${differing.url}: position 5 differs: L1 has tx ${log[5]!.txHash}, the node has tx ${log[6]!.txHash}`);

    // S3: a batch whose transaction a reader cannot read back (here batch 1 shown as relayed
    // through another account): reported with its positions, the rest rebuilt, exit code 3.
    const [accepted] = await inbox.getEvents.BatchAccepted({ batchNumber: 1n }, { fromBlock: 0n });
    const relay = await startRelayedLookingRpc(chain.url, accepted!.transactionHash, signers[3]!.address);
    try {
      const gap = await runRebuild(["--l1-rpc", relay.url, "--deployment", net.deploymentFile, "--compare", same.url, "--out", out]);
      expect(gap.code, gap.output).to.equal(3);
      expect(gap.output)
        .to.contain("batches 1..2, 3 transactions at positions 0..6")
        .and.contain("except for 1 unreadable batch(es)")
        .and.contain(`UNREADABLE: batch 1 (L1 tx ${accepted!.transactionHash}`)
        .and.contain("positions 0..3 missing from the stream")
        .and.contain(`${same.url}: all 3 positions equal`);
      const partial = (await readFile(out, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as FakeLogEntry);
      expect(partial).to.deep.equal(log.slice(4));
    } finally {
      await relay.close();
    }

    const usage = await runRebuild(["--l1-rpc", chain.url]);
    expect(usage.code).to.equal(2);
    expect(usage.output).to.contain("--l1-rpc and --deployment are required");
  });
});
