/**
 * The slashing watchtower on a local Hardhat chain served over HTTP (scripts/lib/devnet.ts):
 * deploySystem, 3 operators registered and staked through registerOperator with signer keys
 * the test holds, a real NodeStore as the honest node's log and certificates, batches posted
 * by a quorum (2 of 3). Covers: an honest batch, waiting for the node's log, a broken order
 * commitment slashed once (reporter paid, offender jailed and out of the next set), batch
 * equivocation, the RPC evidence source, and the `seq slash` / `seq watch` paths.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, type Hex, type PublicClient, createPublicClient, getAddress, http, keccak256, parseEther, toBytes, toHex } from "viem";
import { type LocalAccount, generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { deployAndStake, startLocalChain, type LocalChain, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { mineToNextEpoch } from "../../scripts/lib/deploy.js";
import { loadDeploymentRecord, type NodeDeployment } from "../../node/l1/deployment.js";
import { operatorClients } from "../../node/l1/operator.js";
import { loadSigner } from "../../node/keys/index.js";
import { CommitmentService } from "../../node/app/commitments.js";
import { sequencerMethods } from "../../node/sequencer/api.js";
import { createRpcServer, type RpcServer } from "../../node/rpc/server.js";
import { NodeStore } from "../../node/storage/index.js";
import type { StoredCertificate } from "../../node/domain/index.js";
import type { Entry } from "../../node/consensus/types.js";
import { encodeBatchData } from "../../node/batching/format.js";
import { buildPositionalTree, merkleRoot } from "../../node/commitments/merkle.js";
import { certifyGroup, encodeOrderCommitmentProof, type OrderCommitmentProof } from "../../node/commitments/certificate.js";
import { type BatchHeader, type SequencerDomain, ZERO_HASH, batchHash, domain, signBatchHeader } from "../../node/commitments/typed-data.js";
import { createLogger } from "../../node/ops/logger.js";
import { Watchtower, type WatchtowerOptions } from "../../node/watchtower/watchtower.js";
import { rpcEvidence, storeEvidence, type WatchtowerEvidence } from "../../node/watchtower/evidence.js";
import { WatchtowerStateError, loadCursor, saveCursor } from "../../node/watchtower/state.js";
import { checkOrderCommitment } from "../../node/watchtower/commitment-check.js";
import { brokenCommitmentOffenceId } from "../../node/watchtower/slashing.js";
import { quorumCommitmentFromStore, signOrderCommitment } from "../../node/commitments/index.js";
import { openNodeEvidence } from "../../node/cli/evidence-source.js";
import { NodeMetrics } from "../../node/ops/metrics.js";
import { relayedLooking, startRelayedLookingRpc } from "../l1/edited-transactions.js";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(REPO_ROOT, "node/cli/main.ts");
const REPORTER_SHARE_BPS = 1_000n; // config/default.json

/** Runs `seq <args>` with this process's Node (and tsx); resolves with its exit code and output. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: "silent" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("slashing watchtower", function () {
  this.timeout(120_000);

  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  let deployment: NodeDeployment;
  let publicClient: PublicClient;
  let d: SequencerDomain;
  let signers: LocalAccount[];
  let store: NodeStore;
  let rpc: RpcServer | undefined;
  let epoch: bigint;
  /** The watchtower's wallet: the honest node's (operator 2's) signer key. */
  let towerWallet: Awaited<ReturnType<typeof operatorClients>>["wallet"];
  const accepted: BatchHeader[] = [];
  /** What the node's log holds, by position. */
  const log: Uint8Array[] = [];
  let logIndex = 0;

  const tx = (label: string) => toBytes(`raw transaction ${label}`);
  const registry = () => net.deployment.registry;
  const token = () => net.deployment.token;
  const inbox = () => chain.connection.viem.getContractAt("BatchInbox", deployment.batchInbox);
  const slashingContract = () => chain.connection.viem.getContractAt("Slashing", deployment.slashing);

  /** Commits `raws` to the node's log (persisted and applied), certified by `leader` when given. */
  async function commit(raws: Uint8Array[], leader?: LocalAccount): Promise<void> {
    const firstPosition = log.length;
    const entry: Entry = { index: ++logIndex, term: 1, kind: "txs", firstPosition, txs: raws.map((data) => ({ hash: keccak256(data), data })) };
    await store.persistReady({ entries: [entry], hardState: { term: 1, vote: null, commit: logIndex } });
    const certificates: StoredCertificate[] = [];
    if (leader !== undefined) {
      const signed = await certifyGroup(
        { epoch, term: 1n, firstPosition: BigInt(firstPosition), txHashes: raws.map((r) => keccak256(r)) },
        { chainId: deployment.chainId, registry: deployment.sequencerRegistry, signer: leader },
      );
      const c = signed.certificate;
      certificates.push({ epoch: Number(c.epoch), term: 1, firstPosition, lastPosition: Number(c.lastPosition), merkleRoot: c.merkleRoot, signature: signed.signature });
    }
    await store.applyCommitted([entry], { certificates });
    log.push(...raws);
  }

  /** The next batch's header over `raws` (continuing the accepted chain), and its data. */
  function nextBatch(raws: Uint8Array[], headerEpoch = epoch): { header: BatchHeader; data: Hex } {
    const prev = accepted.at(-1);
    const firstPosition = prev === undefined ? 0n : prev.lastPosition + 1n;
    const data = toHex(encodeBatchData(raws));
    const header: BatchHeader = {
      epoch: headerEpoch,
      batchNumber: BigInt(accepted.length + 1),
      prevBatchHash: prev === undefined ? ZERO_HASH : batchHash(prev),
      firstPosition,
      lastPosition: firstPosition + BigInt(raws.length - 1),
      merkleRoot: merkleRoot(buildPositionalTree(firstPosition, raws.map((r) => keccak256(r)))),
      dataHash: keccak256(data),
    };
    return { header, data };
  }

  /** Posts `batch` signed by `by` (a quorum), then mines one block so it has a confirmation. */
  async function post(batch: { header: BatchHeader; data: Hex }, by: LocalAccount[]): Promise<Hex[]> {
    const sigs = await Promise.all(by.map((s) => signBatchHeader(s, d, batch.header)));
    // The first signer's key is its operator's batcher (the default): it pays for the post.
    const hash = await (await inbox()).write.submitBatch([batch.header, batch.data, sigs], { account: by[0]! });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    accepted.push(batch.header);
    await chain.connection.networkHelpers.mine(1);
    return sigs;
  }

  function tower(overrides: Partial<WatchtowerOptions> = {}): Watchtower {
    return new Watchtower({
      publicClient,
      wallet: towerWallet,
      deployment,
      evidence: storeEvidence(store, d),
      stateFile: path.join(dir, "watchtower.json"),
      logger: createLogger({ level: "silent" }),
      confirmations: 1,
      pollMs: 50,
      ...overrides,
    });
  }

  const reporterBalance = async () => token().read.balanceOf([towerWallet.account.address]);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "watchtower-"));
    chain = await startLocalChain();
    // Epochs of 10 blocks; the unbonding period is the least the inbox's lag of 2 allows.
    net = await deployAndStake(chain, dir, ["3000", "2000", "1000"], {}, { deploy: { epochLength: 10n, unbondingPeriod: 40n } });
    deployment = await loadDeploymentRecord(net.deploymentFile);
    publicClient = createPublicClient({ transport: http(chain.url) }) as PublicClient;
    d = domain(deployment.chainId, deployment.sequencerRegistry);
    // The devnet writes plain-hex keys: their warning is expected here.
    signers = await Promise.all(net.operators.map((op) => loadSigner(op.config.signerKeyFile, { warn: () => undefined })));
    towerWallet = (await operatorClients(chain.url, deployment, signers[2]!)).wallet;
    epoch = await mineToNextEpoch(chain.connection, registry());
    expect((await registry().read.activeSigners([epoch])).length).to.equal(3);
    // The honest node is operator 2's, its store where its config says.
    store = await NodeStore.open(path.join(net.operators[2]!.config.dataDir, "db"));
  });

  after(async () => {
    await rpc?.close();
    await store?.close();
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("checks an honest batch and slashes nobody", async () => {
    const raws = [tx("a"), tx("b"), tx("c")];
    await commit(raws, signers[0]);
    await post(nextBatch(raws), [signers[0]!, signers[1]!]);
    const t = tower();
    const run = await t.runOnce();
    expect(run.batchesChecked).to.equal(1);
    expect(run.slashes).to.deep.equal([]);
    expect(run.caughtUp).to.equal(true);
    const stats = t.stats();
    expect(stats).to.deep.include({ batchesChecked: 1, mismatches: 0, slashesSubmitted: 0, lastError: null, waitingForPosition: null });
    // The cursor is persisted: the confirmed head.
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    expect(stats.lastCheckedBlock).to.equal(head - 1n);
    expect(await loadCursor(path.join(dir, "watchtower.json"), { chainId: deployment.chainId, batchInbox: deployment.batchInbox })).to.equal(head - 1n);
  });

  it("waits for its log to reach a batch, then slashes the leader whose certificate the batch breaks, once", async () => {
    const promised = [tx("d"), tx("e"), tx("f")];
    // A faulty leader (operator 0) certified d, e, f at 3..5, then posts a batch with x at 4.
    const faulty = nextBatch([promised[0]!, tx("x"), promised[2]!]);
    await post(faulty, [signers[0]!, signers[1]!]);
    const t = tower();
    const early = await t.runOnce();
    expect(early.batchesChecked).to.equal(0);
    expect(t.stats().waitingForPosition).to.equal(3n);
    expect(t.stats().batchesChecked).to.equal(0);

    await commit(promised, signers[0]);
    const before = await reporterBalance();
    const op0 = net.operators[0]!.operator;
    const stakeBefore = await registry().read.operatorInfo([op0]);
    const run = await t.runOnce();
    expect(run.batchesChecked).to.equal(1);
    expect(run.slashes).to.have.length(1);
    const [report] = run.slashes;
    expect(report).to.deep.include({ offence: "broken-commitment", batchNumber: 2n, position: 4n, signer: signers[0]!.address });
    expect(report!.outcome.status).to.equal("slashed");
    if (report!.outcome.status !== "slashed") return;
    console.log(`      slashBrokenCommitment via the watchtower (commit + reveal): ${report!.outcome.gasUsed} gas`);
    const amount = report!.outcome.amount;
    expect(amount).to.equal(((stakeBefore.activeStake + stakeBefore.unbonding) * 1_000n) / 10_000n);
    expect((await registry().read.operatorInfo([op0])).jailed).to.equal(true);
    expect(t.stats()).to.deep.include({ batchesChecked: 1, mismatches: 1, slashesSubmitted: 1, waitingForPosition: null });
    // The node's status lists the offence it found (the status page shows it).
    expect(t.stats().recentSlashes).to.have.length(1);
    expect(t.stats().recentSlashes[0]).to.deep.include({ ...report, at: t.stats().recentSlashes[0]!.at });
    // The proof went in two steps: a commitment, then the reveal in a later block.
    const commits = await (await slashingContract()).getEvents.ProofCommitted({}, { fromBlock: deployment.deploymentBlock });
    expect(commits).to.have.length(1);
    expect(commits[0]!.blockNumber < (await publicClient.getTransactionReceipt({ hash: report!.outcome.txHash })).blockNumber).to.equal(true);
    // The reward is held for the claim window; the first run after it pays the watchtower's wallet.
    expect(await reporterBalance()).to.equal(before);
    await chain.connection.networkHelpers.mineUpTo(report!.outcome.rewardClaimableFrom);
    await t.runOnce();
    expect((await reporterBalance()) - before).to.equal((amount * REPORTER_SHARE_BPS) / 10_000n);

    // A second run has nothing new; a watchtower rescanning from the start does not slash again.
    expect((await t.runOnce()).slashes).to.deep.equal([]);
    const rescan = tower({ stateFile: path.join(dir, "rescan.json") });
    const again = await rescan.runOnce();
    expect(again.batchesChecked).to.equal(2);
    expect(again.slashes.map((s) => s.outcome.status)).to.deep.equal(["already-slashed"]);
    expect(rescan.stats().slashesSubmitted).to.equal(0);
    expect(rescan.stats().recentSlashes.map((r) => r.outcome.status)).to.deep.equal(["already-slashed"]);
    expect(t.stats().recentSlashes, "a run that finds nothing adds nothing").to.have.length(1);
    expect(await reporterBalance()).to.equal(before + (amount * REPORTER_SHARE_BPS) / 10_000n);
    const events = await (await slashingContract()).getEvents.Slashed({}, { fromBlock: deployment.deploymentBlock });
    expect(events).to.have.length(1);
  });

  it("the slashed leader leaves the active set at the next epoch", async () => {
    const op0 = net.operators[0]!.operator;
    expect((await registry().read.activeSet([epoch])).map((m) => m.operator.toLowerCase())).to.include(op0.toLowerCase()); // frozen
    epoch = await mineToNextEpoch(chain.connection, registry());
    const members = (await registry().read.activeSet([epoch])).map((m) => m.operator.toLowerCase());
    expect(members).to.deep.equal([net.operators[1]!.operator.toLowerCase(), net.operators[2]!.operator.toLowerCase()]);
  });

  it("slashes a signer of two different headers for one batch number and epoch, not one that re-signed under a later epoch", async () => {
    const raws = [tx("g"), tx("h")];
    await commit(raws, signers[1]);
    const batch = nextBatch(raws);
    // Operator 1 also signed another header for the same batch and epoch, which this node collected...
    const other = { ...batch.header, dataHash: keccak256(toHex("another payload")) };
    const otherSig = await signBatchHeader(signers[1]!, d, other);
    // ...and, legitimately, the same batch re-signed under the previous epoch.
    const older = { ...batch.header, epoch: epoch - 1n };
    const olderSig = await signBatchHeader(signers[1]!, d, older);
    await post(batch, [signers[1]!, signers[2]!]);
    const base = storeEvidence(store, d);
    const evidence: WatchtowerEvidence = {
      ...base,
      // Everything it holds for batch 3, whatever the epoch: the watchtower must tell them apart.
      heldBatchHeaders: async () => [
        { header: other, signatures: [otherSig] },
        { header: older, signatures: [olderSig] },
      ],
    };
    const t = tower({ evidence });
    const run = await t.runOnce();
    expect(run.slashes).to.have.length(1);
    expect(run.slashes[0]).to.deep.include({ offence: "batch-equivocation", batchNumber: 3n, signer: signers[1]!.address });
    expect(run.slashes[0]!.outcome.status).to.equal("slashed");
    expect((await registry().read.operatorInfo([net.operators[1]!.operator])).jailed).to.equal(true);
    expect(t.stats().mismatches).to.equal(0);
    // The header of the earlier epoch was never sent to L1 (the contract would refuse it: EpochsDiffer).
    expect(t.stats().lastError).to.equal(null);
  });

  it("S2: slashes a signer of the quorum-signed header the node holds that also signed the conflicting accepted batch, and not the honest signers", async () => {
    // Batch 2 as accepted (operators 0 and 1) put x at 4; the node's log holds e there, and the
    // node holds a header over its log for batch 2 under another epoch, signed by operators 1
    // and 2: operator 1 signed both. Operator 2 signed only the header its log reproduces.
    const faulty = accepted[1]!;
    const ours = [tx("d"), tx("e"), tx("f")].map((r) => keccak256(r));
    const honest: BatchHeader = { ...faulty, epoch: faulty.epoch - 1n, merkleRoot: merkleRoot(buildPositionalTree(faulty.firstPosition, ours)) };
    const quorum = await Promise.all([signers[1]!, signers[2]!].map((s) => signBatchHeader(s, d, honest)));
    const base = storeEvidence(store, d);
    const evidence: WatchtowerEvidence = { ...base, heldBatchHeaders: async (n) => (n === honest.batchNumber ? [{ header: honest, signatures: quorum }] : base.heldBatchHeaders(n, 0n)) };
    const op2Before = await registry().read.operatorInfo([net.operators[2]!.operator]);
    const t = tower({ evidence, stateFile: path.join(dir, "conflicts.json") });
    const run = await t.runOnce();
    const conflicts = run.slashes.filter((x) => x.offence === "conflicting-batches");
    expect(conflicts).to.have.length(1);
    expect(conflicts[0]).to.deep.include({ batchNumber: 2n, position: 4n, signer: signers[1]!.address });
    expect(conflicts[0]!.outcome.status).to.equal("slashed");
    // Operator 0's broken commitment was punished before: only "already-slashed" is left of it.
    expect(run.slashes.filter((x) => x.offence === "broken-commitment").map((x) => x.outcome.status)).to.deep.equal(["already-slashed"]);
    expect(await registry().read.operatorInfo([net.operators[2]!.operator])).to.deep.equal(op2Before);
    expect((await t.runOnce()).slashes).to.deep.equal([]);
  });

  it("S2: slashes a co-signer of the node's quorum certificate that also signed the contradicting batch, not the co-signer that did not", async () => {
    // Operators 1 and 2 co-signed a certificate over the node's log at 3..5 (e at 4); batch 2 as
    // accepted (operators 0 and 1) put x at 4. Operator 1 signed both; operator 2 only the truth.
    const hashes = [tx("d"), tx("e"), tx("f")].map((r) => keccak256(r));
    const certificate = { epoch, term: 1n, firstPosition: 3n, lastPosition: 5n, merkleRoot: merkleRoot(buildPositionalTree(3n, hashes)) };
    const stored = { epoch: Number(epoch), term: 1, firstPosition: 3, lastPosition: 5, merkleRoot: certificate.merkleRoot, signatures: await Promise.all([signers[1]!, signers[2]!].map((s) => signOrderCommitment(s, d, certificate))) };
    const base = storeEvidence(store, d);
    const evidence: WatchtowerEvidence = { ...base, quorumLeaf: async (p) => (p >= 3n && p <= 5n ? quorumCommitmentFromStore(stored, hashes, Number(p), d) : undefined) };
    const op2Before = await registry().read.operatorInfo([net.operators[2]!.operator]);
    const t = tower({ evidence, stateFile: path.join(dir, "quorum.json") });
    const run = await t.runOnce();
    const broken = run.slashes.filter((x) => x.offence === "broken-commitment");
    expect(broken.map((x) => [x.signer, x.outcome.status])).to.deep.equal([
      [signers[0]!.address, "already-slashed"],
      [signers[1]!.address, "slashed"],
    ]);
    expect(broken[1]).to.deep.include({ batchNumber: 2n, position: 4n });
    expect(await registry().read.operatorInfo([net.operators[2]!.operator])).to.deep.equal(op2Before);
  });

  it("reads the headers a node signed from its store, for the asked epoch only", async () => {
    const h = nextBatch([tx("held")]).header;
    const signature = await signBatchHeader(signers[2]!, d, h);
    await store.recordSignedBatchHeader({
      epoch: Number(h.epoch),
      batchNumber: Number(h.batchNumber),
      prevBatchHash: h.prevBatchHash,
      firstPosition: Number(h.firstPosition),
      lastPosition: Number(h.lastPosition),
      merkleRoot: h.merkleRoot,
      dataHash: h.dataHash,
      signature,
    });
    const evidence = storeEvidence(store, d);
    expect(await evidence.heldBatchHeaders(h.batchNumber, h.epoch)).to.deep.equal([{ header: h, signatures: [signature] }]);
    expect(await evidence.heldBatchHeaders(h.batchNumber, h.epoch + 1n)).to.deep.equal([]);
    // And the replicated cut of a batch number with the quorum's signatures, whatever its epoch.
    const cut = { ...h, batchNumber: 99n };
    const quorum = await Promise.all([signers[1]!, signers[2]!].map((x) => signBatchHeader(x, d, cut)));
    const stored = { epoch: Number(cut.epoch), batchNumber: 99, prevBatchHash: cut.prevBatchHash, firstPosition: Number(cut.firstPosition), lastPosition: Number(cut.lastPosition), merkleRoot: cut.merkleRoot, dataHash: cut.dataHash };
    await store.putBatches([{ header: stored, signatures: quorum }]);
    expect(await evidence.heldBatchHeaders(99n, h.epoch + 5n)).to.deep.equal([{ header: cut, signatures: quorum }]);
  });

  it("serves the same evidence over a running node's RPC", async () => {
    const commitments = new CommitmentService({
      store,
      signer: privateKeyToAccount(generatePrivateKey()),
      chainId: deployment.chainId,
      registry: deployment.sequencerRegistry,
      logger: createLogger({ level: "silent" }),
      epoch: () => Number(epoch),
      leaderTerm: () => null,
      proposeApp: () => false,
    });
    rpc = await createRpcServer({ methods: sequencerMethods({ rollupChainId: 901, submissions: undefined as never, commitments, store, status: () => ({}), activity: () => [] }) });
    const viaRpc = rpcEvidence(rpc.url);
    const viaStore = storeEvidence(store, d);
    expect(await viaRpc.committedTxHashes(0n, 100)).to.deep.equal(await viaStore.committedTxHashes(0n, 100));
    expect(await viaRpc.committedTxHashes(2n, 3)).to.deep.equal(log.slice(2, 5).map((r) => keccak256(r)));
    for (const position of [0n, 4n, 7n]) expect(await viaRpc.certifiedLeaf(position)).to.deep.equal(await viaStore.certifiedLeaf(position));
    expect(await viaRpc.certifiedLeaf(100n)).to.equal(undefined);
    // A node holding the store: `seq watch` falls back to its RPC.
    const source = await openNodeEvidence({ ...net.operators[2]!.config, rpcPort: rpc.port }, deployment);
    expect(source.description).to.equal(`rpc http://127.0.0.1:${rpc.port}/`);
    // The RPC source finds the same broken commitment (already punished).
    const run = await tower({ evidence: viaRpc, stateFile: path.join(dir, "rpc.json") }).runOnce();
    expect(run.batchesChecked).to.equal(3);
    expect(run.slashes.map((s) => [s.offence, s.outcome.status])).to.deep.equal([["broken-commitment", "already-slashed"]]);
  });

  describe("a user's commitment (seq slash)", () => {
    let user: Awaited<ReturnType<typeof operatorClients>>["wallet"];
    let userKeyFile: string;
    /** Commitment for `position` as the node serves it. */
    const served = async (position: bigint) => (await storeEvidence(store, d).certifiedLeaf(position))!;
    let forged: OrderCommitmentProof;
    let userReward: { offenceId: Hex; amount: bigint; claimableFrom: bigint; before: bigint } | undefined;

    before(async () => {
      const key = generatePrivateKey();
      userKeyFile = path.join(dir, "user.key");
      await writeFile(userKeyFile, `${key}\n`, { mode: 0o600 });
      user = (await operatorClients(chain.url, deployment, key)).wallet;
      await chain.connection.networkHelpers.setBalance(user.account.address, parseEther("1"));
      // Operator 1 (leader) had promised this user another transaction at position 7.
      const signed = await certifyGroup(
        { epoch, term: 2n, firstPosition: 6n, txHashes: [keccak256(log[6]!), keccak256(tx("user's tx"))] },
        { chainId: deployment.chainId, registry: deployment.sequencerRegistry, signer: signers[1]! },
      );
      forged = signed.proofFor(7n);
    });

    it("verifies a kept commitment and reports one not batched yet", async () => {
      const kept = await checkOrderCommitment(await served(1n), { publicClient, deployment, wallet: user });
      expect(kept).to.deep.include({ status: "kept", batchNumber: 1n });
      await commit([tx("i")], signers[2]);
      const pending = await checkOrderCommitment(await served(8n), { publicClient, deployment, wallet: user });
      expect(pending).to.deep.equal({ status: "not-batched", position: 8n, lastBatchedPosition: 7n });
    });

    it("refuses a commitment that does not verify", async () => {
      const tampered = { ...forged, txHash: keccak256(tx("tampered")) };
      const result = await checkOrderCommitment(tampered, { publicClient, deployment, wallet: user });
      expect(result.status).to.equal("invalid");
      if (result.status === "invalid") expect(result.reasons.map((r) => r.code)).to.deep.equal(["invalid-merkle-proof"]);
    });

    it("reports a broken commitment without a key, slashes with one, and only once", async () => {
      const offenceId = brokenCommitmentOffenceId(signers[1]!.address, 3n);
      const dry = await checkOrderCommitment(forged, { publicClient, deployment });
      expect(dry).to.deep.include({ status: "broken", batchNumber: 3n, batchTxHash: keccak256(log[7]!), signer: signers[1]!.address, offenceId });
      const before = await token().read.balanceOf([user.account.address]);
      const slashed = await checkOrderCommitment(forged, { publicClient, deployment, wallet: user });
      expect(slashed).to.deep.include({ status: "slashed", offenceId, operator: getAddress(net.operators[1]!.operator) });
      if (slashed.status !== "slashed") return;
      userReward = { offenceId, amount: (slashed.amount * REPORTER_SHARE_BPS) / 10_000n, claimableFrom: slashed.rewardClaimableFrom, before };
      // Held for the claim window (seq slash --claim pays it, below).
      expect(await token().read.balanceOf([user.account.address])).to.equal(before);
      expect((await (await slashingContract()).read.claimOf([offenceId])).reporter).to.equal(getAddress(user.account.address));
      expect(await checkOrderCommitment(forged, { publicClient, deployment, wallet: user })).to.deep.include({ status: "already-slashed", offenceId });
    });

    it("S2: a commitment broken by a batch its signer did not sign is reported as unprovable, and slashes nobody", async () => {
      // Operator 0 promised position 7 to another transaction; batch 3 was signed by operators 1 and 2 only.
      const signed = await certifyGroup(
        { epoch, term: 3n, firstPosition: 7n, txHashes: [keccak256(tx("promised by 0"))] },
        { chainId: deployment.chainId, registry: deployment.sequencerRegistry, signer: signers[0]! },
      );
      const before = await registry().read.operatorInfo([net.operators[0]!.operator]);
      const result = await checkOrderCommitment(signed.proofFor(7n), { publicClient, deployment, wallet: user });
      expect(result).to.deep.include({ status: "broken-unprovable", batchNumber: 3n, signer: signers[0]!.address });
      if (result.status === "broken-unprovable") expect([...result.batchSigners].sort()).to.deep.equal([signers[1]!.address, signers[2]!.address].sort());
      expect(await registry().read.operatorInfo([net.operators[0]!.operator])).to.deep.equal(before);
    });

    it("runs from the command line", async () => {
      const file = path.join(dir, "commitment.json");
      await writeFile(file, JSON.stringify(encodeOrderCommitmentProof(await served(1n))));
      const kept = await runCli(["slash", "--commitment", file, "--l1-rpc", chain.url, "--deployment", net.deploymentFile]);
      expect(kept.code, kept.stderr).to.equal(0);
      expect(kept.stdout).to.match(/verified: batch 1 \(L1 tx 0x[0-9a-f]{64}\) holds 0x[0-9a-f]{64} at position 1/);
      await writeFile(file, JSON.stringify(encodeOrderCommitmentProof(forged)));
      const slashed = await runCli(["slash", "--commitment", file, "--l1-rpc", chain.url, "--deployment", net.deploymentFile, "--key", userKeyFile]);
      expect(slashed.code, slashed.stderr).to.equal(0);
      expect(slashed.stdout).to.match(/broken, and already slashed: batch 3/);
      // The user's reward, once its claim window has closed.
      const claim = ["slash", "--claim", "--l1-rpc", chain.url, "--deployment", net.deploymentFile, "--key", userKeyFile];
      const early = await runCli(claim);
      expect(early.code, early.stderr).to.equal(0);
      expect(early.stdout).to.contain("no reporter reward of this key is claimable yet");
      await chain.connection.networkHelpers.mineUpTo(userReward!.claimableFrom);
      const paid = await runCli(claim);
      expect(paid.code, paid.stderr).to.equal(0);
      expect(paid.stdout).to.contain(`paid: reward ${userReward!.amount} for offence ${userReward!.offenceId}`);
      expect((await token().read.balanceOf([user.account.address])) - userReward!.before).to.equal(userReward!.amount);
    });
  });

  it("seq watch --once checks a stopped node's store and slashes nothing twice", async () => {
    await rpc?.close();
    rpc = undefined;
    await store.close();
    const state = path.join(dir, "cli-watch.json");
    const run = await runCli(["watch", "--config", net.operators[2]!.configFile, "--once", "--state", state]);
    expect(run.code, run.stderr).to.equal(0);
    const stats = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(stats).to.deep.include({ evidence: `store ${path.join(net.operators[2]!.config.dataDir, "db")}`, batchesChecked: 3, slashesSubmitted: 0, waitingForPosition: null });
    expect(stats.mismatches).to.equal(1);
    store = await NodeStore.open(path.join(net.operators[2]!.config.dataDir, "db"));
  });

  it("keeps its cursor per deployment and retries L1 failures with back-off", async () => {
    const file = path.join(dir, "scoped.json");
    const scope = { chainId: deployment.chainId, batchInbox: deployment.batchInbox };
    await saveCursor(file, scope, 42n);
    expect(await loadCursor(file, scope)).to.equal(42n);
    const other = { ...scope, batchInbox: deployment.slashing as Address };
    let error: unknown;
    await loadCursor(file, other).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(WatchtowerStateError);
    expect((error as Error).message).to.match(/remove it to check the new deployment/);

    const dead = createPublicClient({ transport: http("http://127.0.0.1:1/", { retryCount: 0 }) }) as PublicClient;
    const t = tower({ publicClient: dead, stateFile: path.join(dir, "dead.json") });
    t.start();
    const deadline = Date.now() + 5_000;
    while (t.stats().lastError === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await t.stop();
    expect(t.stats().lastError?.message).to.match(/127\.0\.0\.1:1|fetch failed|HTTP request failed/);
    expect(t.stats().lastCheckedBlock).to.equal(deployment.deploymentBlock - 1n); // nothing skipped
  });
  // After the other suites: it posts two more batches.
  describe("an unreadable batch", () => {
    it("S3: flags an accepted batch it cannot read from L1 (counted, metric, log), checks the batches after it, and seq slash says it cannot check", async () => {
      // The set is what the slashes left of it: its members post, signed by all of them.
      const current = await registry().read.currentEpoch();
      const setSigners = new Set((await registry().read.activeSigners([current])).map((a) => a.toLowerCase()));
      const quorum = signers.filter((s) => setSigners.has(s.address.toLowerCase()));
      await commit([tx("relayed 1"), tx("relayed 2")], signers[2]);
      // Everything the log holds past the last batch (the user's suite left one unbatched).
      await post(nextBatch(log.slice(Number(accepted.at(-1)!.lastPosition + 1n)), current), quorum);
      const relayedNumber = BigInt(accepted.length);
      const [event] = await (await inbox()).getEvents.BatchAccepted({ batchNumber: relayedNumber }, { fromBlock: deployment.deploymentBlock });
      const relayedTx = event!.transactionHash;
      const after = [tx("after the relayed one")];
      await commit(after, signers[2]);
      await post(nextBatch(after, current), quorum);

      // Readers shown the batch as a relay's call (what an inbox before S3 accepted, and where every
      // watchtower stopped for good on da717cf).
      const relayedClient = relayedLooking(publicClient, relayedTx, signers[0]!.address);
      const metrics = new NodeMetrics({ processMetrics: false });
      const t = tower({ publicClient: relayedClient, stateFile: path.join(dir, "unreadable.json"), metrics });
      const run = await t.runOnce();
      expect(run.caughtUp).to.equal(true);
      expect(run.unreadable).to.have.length(1);
      expect(run.unreadable[0]).to.deep.include({ batchNumber: relayedNumber, l1TxHash: relayedTx, matchesOurLog: true });
      expect(run.unreadable[0]!.reason).to.contain("not the inbox");
      // Every other batch was checked, the one after the unreadable one included.
      expect(run.batchesChecked).to.equal(accepted.length - 1);
      expect(t.stats()).to.deep.include({ unreadableBatches: 1, waitingForPosition: null });
      expect(t.stats().lastError?.message).to.contain(relayedTx);
      expect((await metrics.watchtowerUnreadableBatches.get()).values[0]!.value).to.equal(1);
      // Checked once: a later run neither flags it again nor stops before it.
      await chain.connection.networkHelpers.mine(1);
      expect((await t.runOnce()).unreadable).to.deep.equal([]);

      // A user holding a commitment inside it gets a typed answer, not a crash.
      const position = accepted.at(-2)!.lastPosition;
      const commitment = (await storeEvidence(store, d).certifiedLeaf(position))!;
      expect(await checkOrderCommitment(commitment, { publicClient: relayedClient, deployment })).to.deep.include({
        status: "unreadable",
        batchNumber: relayedNumber,
        l1TxHash: relayedTx,
      });
      const file = path.join(dir, "relayed-commitment.json");
      await writeFile(file, JSON.stringify(encodeOrderCommitmentProof(commitment)));
      const rpcProxy = await startRelayedLookingRpc(chain.url, relayedTx, signers[0]!.address);
      try {
        const cli = await runCli(["slash", "--commitment", file, "--l1-rpc", rpcProxy.url, "--deployment", net.deploymentFile]);
        expect(cli.code, cli.stderr).to.equal(1);
        expect(cli.stdout).to.contain(`cannot check: batch ${relayedNumber} (L1 tx ${relayedTx}) covers position ${position} but cannot be read from L1`);
      } finally {
        await rpcProxy.close();
      }
    });
  });

  // Last: an item left uncovered makes the inbox refuse every later batch.
  describe("forced inclusion", () => {
    it("alarms once when an uncovered forced item nears its deadline", async () => {
      const lines: string[] = [];
      const logger = createLogger({ level: "error", destination: { write: (line: string) => void lines.push(line) } });
      const queue = await chain.connection.viem.getContractAt("ForcedInclusionQueue", deployment.forcedInclusionQueue!);
      const delay = Number(await queue.read.inclusionDelay());
      await queue.write.enqueue(["0x01"]);
      const t = tower({ logger, forcedQueue: queue.address, forcedAlarmMarginBlocks: 10 });
      await t.runOnce();
      expect(lines, "far from its deadline").to.deep.equal([]);
      await chain.connection.networkHelpers.mine(delay - 5);
      await t.runOnce();
      await t.runOnce();
      expect(lines.filter((l) => l.includes("inclusion deadline is near"))).to.have.length(1);
    });
  });
});
