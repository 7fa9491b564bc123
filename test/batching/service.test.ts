/**
 * BatchService on a real chain and real stores: three members share one replicated log (driven
 * by the test, entry by entry, as the Raft driver would apply it), sign each other's requests
 * in-process, and the leader posts to the BatchInbox deployed by scripts/lib/deploy.ts, on an
 * in-process Hardhat chain and on an Anvil.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  encodeFunctionData,
  http,
  hexToBytes,
  keccak256,
  parseEther,
  parseGwei,
  serializeTransaction,
  toHex,
  type EIP1193RequestFn,
  type Hex,
  type PublicClient,
} from "viem";
import type { Entry } from "../../node/consensus/index.js";
import { NodeStore } from "../../node/storage/index.js";
import { appRecordsOf, type StoredBatchHeader } from "../../node/domain/index.js";
import { BatchService, BatchSigningRefusedError, decodeBatchPayload, deriveBatch, storedBatchHash, type BatchLimits, type BatchPoster } from "../../node/batching/index.js";
import { toBatchHeader } from "../../node/batching/header.js";
import { signBatcherBinding } from "../../node/l1/key-binding.js";
import { privateKeyToAccount } from "viem/accounts";
import { RegistryReader } from "../../node/l1/registry.js";
import { readAcceptedBatches } from "../../node/l1/inbox.js";
import { blobKzg, type BlobCarrier } from "../../node/l1/blobs.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { BatchL1Error, GETH_MAX_TX_BYTES } from "../../node/l1/inbox-writer.js";
import { createLogger } from "../../node/ops/logger.js";
import { NodeMetrics } from "../../node/ops/metrics.js";
import { DEFAULTS, feeCapsOf } from "../../node/sequencer/config.js";
import type { FeeCaps } from "../../node/l1/fees.js";
import { freePort, type LocalChain } from "../../scripts/lib/devnet.js";
import { startAnvil } from "../fixtures/anvil.js";
import { deploySequencer, type SequencerFixture } from "../contracts/helpers/sequencer.js";

const logger = createLogger({ level: "silent" });

interface Member {
  readonly id: string;
  readonly dir: string;
  store: NodeStore;
  service: BatchService;
  readonly metrics: NodeMetrics;
  leader: boolean;
  /** Replicated records this member proposed, waiting for the test's log to take them. */
  readonly proposed: Uint8Array[];
}

// The same run on both L1s: Hardhat's in-process chain, and an Anvil process.
// And on the Anvil in blob mode: compressed payloads in blobs, format v3 in calldata.
const L1_NAMES = { hardhat: "in-process Hardhat chain", anvil: "Anvil", "anvil-blobs": "Anvil, blob mode" } as const;
for (const l1 of ["hardhat", "anvil", "anvil-blobs"] as const) describe(`BatchService (3 members, ${L1_NAMES[l1]})`, function () {
  this.timeout(120_000);
  let f: SequencerFixture;
  let anvil: LocalChain | undefined;
  let root: string;
  let epoch: number;
  let l1Down = false;
  let closedPortUrl: string;
  const members: Member[] = [];
  const log: Entry[] = [];
  let nextPosition = 0;
  let txCounter = 0;

  const limits: BatchLimits = {
    maxTxs: 50,
    maxBytes: 100_000,
    maxL1TxBytes: GETH_MAX_TX_BYTES,
    intervalMs: 0,
    deadlineMs: 60_000,
    maxInFlight: 4,
    maxUnpostedTxs: 8,
    maxUnpostedBytes: 1 << 20,
    l1Confirmations: 2,
    replaceAfterBlocks: 2,
    ...(l1 === "anvil-blobs" ? { encoding: { compress: true, maxBlobs: 6 } } : {}),
  };
  const defaultCaps = feeCapsOf(DEFAULTS);

  /** The L1 client every member uses: the chain, or a closed port while `l1Down`. */
  function l1Clients(account: SequencerFixture["operators"][number]["signer"]) {
    const down = http(closedPortUrl, { retryCount: 0 })({});
    const request: EIP1193RequestFn = (async (args: { method: string; params?: unknown }) =>
      l1Down ? down.request(args as never) : f.connection.provider.request(args as never)) as EIP1193RequestFn;
    const chain = defineChain({ id: f.chainId, name: "hardhat", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [closedPortUrl] } } });
    const transport = custom({ request }, { retryCount: 0 });
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient;
    const wallet = createWalletClient({ account, chain, transport });
    return { publicClient, wallet };
  }

  async function makeService(
    i: number,
    store: NodeStore,
    metrics: NodeMetrics,
    overrides: Partial<BatchLimits> = {},
    wrapPoster?: (honest: BatchPoster) => BatchPoster,
    feeCaps: FeeCaps = defaultCaps,
  ): Promise<BatchService> {
    const op = f.operators[i]!;
    const { publicClient, wallet } = l1Clients(op.signer);
    const registry = new RegistryReader(publicClient, f.registry.address, f.chainId);
    const self = op.address.toLowerCase();
    const service = new BatchService({
      store,
      signer: op.signer,
      chainId: f.chainId,
      registry: f.registry.address,
      inbox: f.inbox.address,
      inboxFromBlock: 0n,
      publicClient,
      wallet,
      limits: { ...limits, ...overrides },
      feeCaps,
      logger,
      metrics,
      selfId: self,
      isLeader: () => members[i]!.leader,
      epoch: () => epoch,
      epochView: async (e) => ({
        members: (await registry.epochView(BigInt(e))).members.map((m) => ({ nodeId: m.operator.toLowerCase(), signer: m.signer, stake: m.stake })),
      }),
      request: async (nodeId, payload) => {
        const peer = members.find((m) => m.id === nodeId);
        if (peer === undefined) throw new Error(`no member ${nodeId}`);
        return peer.service.handleSignatureRequest(payload);
      },
      proposeApp: (data) => {
        if (!members[i]!.leader) return false;
        members[i]!.proposed.push(data);
        return true;
      },
      cutWaitMs: 200,
      backoff: { baseMs: 20, maxMs: 100 },
      ...(wrapPoster ? { wrapPoster } : {}),
    });
    await service.recover();
    return service;
  }

  /** `submitBatch` sent by `by` as a batcher sends it: with its blobs in blob mode. */
  async function submitAs(by: SequencerFixture["operators"][number]["signer"], h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[], blobs: BlobCarrier | undefined): Promise<Hex> {
    const args = [toBatchHeader(h), toHex(data), [...signatures]] as const;
    if (blobs === undefined) return f.submitBatch(args, by);
    const input = encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [...args] });
    return l1Clients(by).wallet.sendTransaction({ to: f.inbox.address, data: input, blobs: blobs.blobs, kzg: blobKzg(), maxFeePerBlobGas: parseGwei("10") });
  }

  /** Appends entries to the shared log and applies them on every member, as the Raft driver does. */
  async function append(entries: Omit<Entry, "index" | "term">[]): Promise<void> {
    const full = entries.map((e) => ({ ...e, index: log.length + 1, term: 1 }) as Entry);
    for (const e of full) log.push(e);
    for (const m of members) {
      const s = m.store.status();
      const fresh = log.slice(s.lastIndex);
      await m.store.persistReady({ entries: fresh, hardState: { term: 1, vote: null, commit: log.length } });
      const toApply = log.slice(s.applied);
      await m.service.apply(toApply, appRecordsOf(toApply));
      await m.store.applyCommitted(toApply);
    }
  }

  /** Appends `n` distinct stand-in transactions of `size` bytes (at least 6). */
  async function appendTxs(n: number, size = 6): Promise<void> {
    const txs = Array.from({ length: n }, () => {
      const data = new Uint8Array(size).fill(0xc0);
      data.set([2, ...toHexBytes(txCounter++)]);
      return { hash: keccak256(data), data };
    });
    await append([{ kind: "txs", firstPosition: nextPosition, txs }]);
    nextPosition += n;
  }

  /** Replicates what the members proposed (in proposal order). */
  async function replicateProposals(): Promise<void> {
    for (const m of members) {
      while (m.proposed.length > 0) await append([{ kind: "app", firstPosition: nextPosition, app: m.proposed.shift()! }]);
    }
  }

  /** Runs the leader loop (and the log) until `done`, or fails after `steps`. */
  async function runUntil(what: string, done: () => boolean | Promise<boolean>, steps = 200): Promise<void> {
    for (let i = 0; i < steps; i++) {
      if (await done()) return;
      for (const m of members) await m.service.tick();
      await replicateProposals();
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`gave up waiting for ${what}; leader status: ${JSON.stringify(members.find((m) => m.leader)?.service.status())}`);
  }

  before(async () => {
    anvil = l1 !== "hardhat" ? await startAnvil() : undefined;
    f = await deploySequencer(3, anvil ? { connection: anvil.connection } : {});
    epoch = Number(f.epoch);
    closedPortUrl = `http://127.0.0.1:${await freePort()}`;
    root = await mkdtemp(path.join(tmpdir(), "seq-batcher-"));
    for (let i = 0; i < 3; i++) {
      await f.networkHelpers.setBalance(f.operators[i]!.signer.address, parseEther("10"));
      const dir = path.join(root, `m${i}`);
      const store = await NodeStore.open(dir);
      const metrics = new NodeMetrics({ processMetrics: false });
      members.push({ id: f.operators[i]!.address.toLowerCase(), dir, store, metrics, service: undefined as never, leader: i === 0, proposed: [] });
      members[i]!.service = await makeService(i, store, metrics);
    }
  });

  after(async () => {
    for (const m of members) {
      await m.service.stop();
      await m.store.close();
    }
    if (anvil !== undefined) await anvil.close();
    else await f?.connection.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const leader = () => members.find((m) => m.leader)!;
  const posted = (n: number) => members.every((m) => (m.service.status().lastPosted?.batchNumber ?? 0) >= n);
  const l1Count = async () => Number(await f.inbox.read.batchCount());

  it("cuts committed transactions, gathers a majority, posts to the inbox, waits for confirmations and records it on every member", async () => {
    await appendTxs(5);
    await runUntil("batch 1 on L1", async () => (await l1Count()) === 1);
    // One confirmation only: not recorded as posted yet.
    for (let i = 0; i < 5; i++) await runUntil("a step", () => true);
    expect(members.every((m) => m.service.status().lastPosted === null)).to.equal(true);
    await f.networkHelpers.mine(1);
    await runUntil("batch 1 recorded as posted", () => posted(1));

    const status = leader().service.status();
    expect(status.lastCut).to.deep.include({ batchNumber: 1, epoch, firstPosition: 0, lastPosition: 4, posted: true });
    expect(status.unpostedTxs).to.equal(0);
    const onL1 = await f.inbox.read.batch([1n]);
    const cut = (await members[1]!.store.getBatch(1))!;
    expect(onL1.batchHash).to.equal(storedBatchHash(cut.header));
    expect(cut.posted!.batchHash).to.equal(onL1.batchHash);
    // The ordered list rebuilt from L1 alone is the log's.
    const [accepted] = await readAcceptedBatches(f.publicClient as PublicClient, f.inbox.address, 0n, await f.publicClient.getBlockNumber());
    if (!accepted?.readable) throw new Error("batch 1 is not readable from L1");
    const fromL1 = decodeBatchPayload(hexToBytes(accepted!.payload), 5).map((t) => keccak256(t));
    // In blob mode the calldata only references the blob, which carries the payload.
    expect([accepted!.data.slice(0, 4), accepted!.blobs]).to.deep.equal(l1 === "anvil-blobs" ? ["0x03", 1] : ["0x01", 0]);
    expect(fromL1).to.deep.equal(log[0]!.txs!.map((t) => t.hash));
    expect(accepted!.l1TxHash).to.equal(cut.posted!.l1TxHash);
    // The quorum's signatures reached every member through the log, as L1 got them: what
    // seq_getBatchCommitment serves before L1 has the batch.
    for (const m of members) expect((await m.store.getBatch(1))!.signatures).to.deep.equal(accepted!.signatures);
    // Every member that signed recorded the header durably first.
    const signed = await Promise.all(members.map((m) => m.store.getSignedBatchHeader(1, epoch)));
    expect(signed.filter((s) => s !== undefined).length).to.be.at.least(2);
    expect((await leader().metrics.batchesPosted.get()).values[0]!.value).to.equal(1);
  });

  it("carries the batch state in snapshot data: an installed snapshot restores last cut and last posted", async () => {
    const dir = path.join(root, "snap");
    const store = await NodeStore.open(dir);
    try {
      const fresh = await makeService(1, store, new NodeMetrics({ processMetrics: false }));
      const data = leader().service.snapshotData();
      await fresh.installSnapshot({ meta: { index: log.length, term: 1, nextPosition, config: { voters: [], learners: [] } }, data } as never);
      expect(fresh.status().lastCut).to.deep.equal(leader().service.status().lastCut);
      expect(fresh.status().lastPosted).to.deep.equal(leader().service.status().lastPosted);
      expect(await store.getBatch(1)).to.deep.equal(await members[0]!.store.getBatch(1));
      await fresh.stop();
    } finally {
      await store.close();
    }
  });

  /** A snapshot of `m`'s batch state installed elsewhere, and `m`'s own store read after a restart, give the same unposted cuts. */
  async function expectSnapshotAndRestartKeep(m: Member): Promise<void> {
    const index = members.indexOf(m);
    const store = await NodeStore.open(path.join(root, `snap-${log.length}`));
    try {
      const installed = await makeService(index, store, new NodeMetrics({ processMetrics: false }));
      const meta = { index: log.length, term: 1, nextPosition, config: { voters: [], learners: [] } };
      await installed.installSnapshot({ meta, data: m.service.snapshotData() } as never);
      const restarted = await makeService(index, m.store, new NodeMetrics({ processMetrics: false }));
      for (const other of [installed, restarted]) {
        expect(other.state.unpostedCuts).to.deep.equal(m.service.state.unpostedCuts);
        expect(other.state.lastPosted).to.deep.equal(m.service.state.lastPosted);
        await other.stop();
      }
      expect(restarted.state.unpostedBytes()).to.equal(m.service.state.unpostedBytes());
      for (const cut of m.service.state.unpostedCuts) expect(await store.getBatch(cut.header.batchNumber)).to.deep.equal(cut);
    } finally {
      await store.close();
    }
  }

  it("refuses to sign a header that differs from the applied cut or from its own log, and never two headers for one (number, epoch), even after a restart", async () => {
    await appendTxs(4);
    // Cut batch 2 without posting it: the leader loop stops once the cut is applied.
    await runUntil("batch 2 cut", () => members.every((m) => m.service.status().lastCut?.batchNumber === 2));
    const cut = (await members[1]!.store.getBatch(2))!.header;
    const expectRefusal = async (h: StoredBatchHeader, reason: RegExp, member = members[1]!) => {
      try {
        await member.service.sign(h);
        expect.fail("signed");
      } catch (error) {
        expect(error).to.be.instanceOf(BatchSigningRefusedError);
        expect((error as Error).message).to.match(reason);
      }
    };
    await expectRefusal({ ...cut, merkleRoot: keccak256("0x01") }, /differs from the batch cut applied/);
    await expectRefusal({ ...cut, batchNumber: 9 }, /no such batch cut/);

    // A member whose log holds other bytes at these positions: the cut is flagged and never signed.
    const rogueStore = await NodeStore.open(path.join(root, "rogue"));
    try {
      const rogue = await makeService(2, rogueStore, new NodeMetrics({ processMetrics: false }));
      const forged = log.map((e) => (e.txs ? { ...e, txs: e.txs.map((t) => ({ hash: keccak256(Uint8Array.of(...t.data, 1)), data: Uint8Array.of(...t.data, 1) })) } : e));
      await rogueStore.persistReady({ entries: forged, hardState: { term: 1, vote: null, commit: forged.length } });
      await rogue.apply(forged, appRecordsOf(forged));
      await rogueStore.applyCommitted(forged);
      expect(rogue.status().mismatchedCuts).to.be.at.least(1);
      await expectRefusal(cut, /this node's log gives/, { ...members[2]!, service: rogue });
      await rogue.stop();
    } finally {
      await rogueStore.close();
    }

    // Member 1 signs the cut, restarts, and is then shown a different header for (2, epoch) that
    // its log would reproduce (a shorter range): the durable record refuses it.
    const signature = await members[1]!.service.sign(cut);
    const m = members[1]!;
    await m.service.stop();
    await m.store.close();
    m.store = await NodeStore.open(m.dir);
    const shorter = (await deriveBatch(m.store, { ...cut, lastPosition: cut.lastPosition - 1 })).header;
    await m.store.putBatches([{ header: shorter }]);
    m.service = await makeService(1, m.store, m.metrics);
    await expectRefusal(shorter, /already signed by this member/);
    expect((await m.store.getSignedBatchHeader(2, epoch))!.signature).to.equal(signature);
    // Back to the log's real cut for the next tests.
    await m.store.putBatches([{ header: cut }]);
    m.service = await makeService(1, m.store, m.metrics);
  });

  it("a new leader taking over after the L1 transaction but before batchPosted reconciles with the inbox and does not post twice", async () => {
    await runUntil("batch 2 on L1", async () => (await l1Count()) === 2);
    expect(posted(2)).to.equal(false);
    // Leadership moves before the old leader saw its confirmations.
    members[0]!.leader = false;
    members[1]!.leader = true;
    const nonceBefore = await f.publicClient.getTransactionCount({ address: f.operators[1]!.signer.address });
    await f.networkHelpers.mine(1);
    await runUntil("batch 2 recorded as posted", () => posted(2));
    expect(await f.publicClient.getTransactionCount({ address: f.operators[1]!.signer.address })).to.equal(nonceBefore);
    const accepted = await f.inbox.getEvents.BatchAccepted({ batchNumber: 2n }, { fromBlock: 0n });
    const again = await f.inbox.getEvents.BatchAlreadyAccepted({ batchNumber: 2n }, { fromBlock: 0n });
    expect(accepted).to.have.length(1);
    expect(again).to.have.length(0);
    expect(members[1]!.service.status().lastPosted).to.deep.include({ batchNumber: 2, l1TxHash: accepted[0]!.transactionHash });
  });

  it("with L1 down keeps sequencing, retries with back-off, reports it and the overload, then posts once L1 is back", async () => {
    l1Down = true;
    await appendTxs(10);
    await runUntil("failures while L1 is down", () => leader().service.status().consecutiveFailures >= 3);
    const status = leader().service.status();
    expect(status.lastError).to.match(/L1 read failed/);
    expect(status.lastCut).to.deep.include({ batchNumber: 3, posted: false });
    expect(status.unpostedTxs).to.equal(10);
    expect(status.overloaded).to.equal(true); // 10 > maxUnpostedTxs 8
    expect((await leader().metrics.l1Errors.get()).values.find((v) => v.labels.operation === "read")!.value).to.be.at.least(3);
    await appendTxs(1); // the log keeps growing meanwhile, and is cut behind batch 3
    await runUntil("batch 4 cut while L1 is down", () => leader().service.status().lastCut?.batchNumber === 4);
    expect(leader().service.status()).to.deep.include({ inFlight: 2, submitted: 0 });
    l1Down = false;
    await runUntil("batches 3 and 4 on L1", async () => (await l1Count()) === 4);
    await f.networkHelpers.mine(1);
    await runUntil("batches 3 and 4 posted", () => posted(4));
    expect(leader().service.status()).to.deep.include({ consecutiveFailures: 0, overloaded: false, inFlight: 0 });
  });

  it("re-cuts every unposted cut in order at the current epoch when the oldest's epoch is too old for the inbox", async () => {
    await appendTxs(2);
    await runUntil("batch 5 cut", () => leader().service.status().lastCut?.batchNumber === 5);
    const oldEpoch = leader().service.status().lastCut!.epoch;
    l1Down = true; // hold the posting while three epochs pass
    await appendTxs(3);
    await runUntil("batch 6 cut behind it while L1 is down", () => leader().service.status().lastCut?.batchNumber === 6);
    const stale = (await members[2]!.store.getBatch(6))!.header;
    for (let i = 0; i < 3; i++) await f.mineToNextEpoch();
    epoch = Number(await f.registry.read.currentEpoch());
    l1Down = false;
    await runUntil("batches 5 and 6 on L1", async () => (await l1Count()) === 6);
    await f.networkHelpers.mine(1);
    await runUntil("batches 5 and 6 posted", () => posted(6));
    // Batch 5 was re-cut (too old), batch 6 too (chained to the old batch 5): same contents.
    for (const n of [5n, 6n]) expect(Number((await f.inbox.read.batch([n])).epoch)).to.equal(epoch);
    expect(epoch).to.be.greaterThan(oldEpoch + 2);
    const six = (await members[2]!.store.getBatch(6))!.header;
    expect(six).to.deep.equal({ ...stale, epoch, prevBatchHash: storedBatchHash((await members[2]!.store.getBatch(5))!.header) });
    // Members signed both under the new epoch.
    for (const n of [5, 6]) expect(await members[1]!.store.getSignedBatchHeader(n, epoch)).to.not.equal(undefined);
  });

  it("pipelines cuts: sends each while the ones before wait in the mempool, and a new leader taking over mid-way loses none and doubles none", async () => {
    const [oldLeader, newLeader] = [leader(), members.find((m) => !m.leader && m !== members[0])!];
    const oldBatcher = f.operators[members.indexOf(oldLeader)]!.signer.address;
    const newBatcher = f.operators[members.indexOf(newLeader)]!.signer.address;
    const fromBlock = await f.publicClient.getBlockNumber();
    await request("evm_setAutomine", [false]);
    try {
      await appendTxs(4 * limits.maxTxs); // four full batches: 7..10
      // The old leader sends batches 7 and 8 without any block being mined: both wait in the mempool.
      await runUntil("batches 7 and 8 sent", () => oldLeader.service.status().submitted === 2);
      expect(await mempool(oldBatcher)).to.equal(2);
      expect(await l1Count()).to.equal(6);
      expect(oldLeader.service.status().inFlight).to.be.within(3, limits.maxInFlight);

      oldLeader.leader = false;
      newLeader.leader = true;
      // The new leader finds 7 and 8 pending in the mempool (sends neither again), cuts the rest
      // and sends 9 and 10 behind them.
      await runUntil("batches 9 and 10 sent by the new leader", () => newLeader.service.status().submitted === 4);
      expect(await mempool(newBatcher)).to.equal(2);
      expect(await mempool(oldBatcher)).to.equal(2);
      expect(newLeader.service.status().inFlight).to.equal(4);
      await expectSnapshotAndRestartKeep(newLeader);
      await runUntil("batches 7..10 posted", async () => {
        await f.networkHelpers.mine(1);
        return posted(10);
      });
    } finally {
      await request("evm_setAutomine", [true]);
    }
    // Each batch was accepted exactly once, with the header every member's log holds.
    for (let n = 7; n <= 10; n++) {
      const accepted = await f.inbox.getEvents.BatchAccepted({ batchNumber: BigInt(n) }, { fromBlock });
      expect(accepted, `batch ${n}`).to.have.length(1);
      for (const m of members) expect(storedBatchHash((await m.store.getBatch(n))!.header)).to.equal(accepted[0]!.args.batchHash);
    }
    // The ordered list rebuilt from L1 alone is the log's, position by position.
    const batches = await readAcceptedBatches(f.publicClient as PublicClient, f.inbox.address, 0n, await f.publicClient.getBlockNumber());
    const fromL1 = batches.flatMap((b) => {
      if (!b.readable) throw new Error(`batch ${b.batchNumber} is not readable from L1`);
      return decodeBatchPayload(hexToBytes(b.payload)).map((t) => keccak256(t));
    });
    expect(fromL1).to.deep.equal(log.flatMap((e) => (e.txs ?? []).map((t) => t.hash)));
    expect(newLeader.service.status()).to.deep.include({ inFlight: 0, submitted: 0, unpostedTxs: 0, unpostedBytes: 0 });
  });

  it("S3: a leader whose batch another member's batcher posts first (between its inbox read and its submit) records that post and sends nothing", async () => {
    const m = leader();
    const i = members.indexOf(m);
    const other = f.operators[(i + 1) % 3]!.signer;
    let raced: Hex | undefined;
    // Another member's batcher lands the same header, data and quorum just before this leader submits.
    const racing = (honest: BatchPoster): BatchPoster => ({
      gatherSignatures: (h, hash) => honest.gatherSignatures(h, hash),
      submit: async (h, data, signatures, coverage, blobs) => {
        raced ??= await submitAs(other, h, data, signatures, blobs);
        return honest.submit(h, data, signatures, coverage, blobs);
      },
    });
    await m.service.stop();
    m.service = await makeService(i, m.store, m.metrics, {}, racing);
    const nonceBefore = await f.publicClient.getTransactionCount({ address: f.operators[i]!.signer.address });
    const n = (await l1Count()) + 1;
    await appendTxs(3);
    await runUntil(`batch ${n} on L1`, async () => (await l1Count()) === n);
    await f.networkHelpers.mine(1);
    await runUntil(`batch ${n} recorded as posted`, () => posted(n));
    expect(raced).to.not.equal(undefined);
    expect(m.service.status().lastPosted).to.deep.include({ batchNumber: n, l1TxHash: raced });
    expect(m.service.status().consecutiveFailures).to.equal(0);
    // The leader found it accepted in its simulation and sent no transaction at all.
    expect(await f.publicClient.getTransactionCount({ address: f.operators[i]!.signer.address })).to.equal(nonceBefore);
    expect(await f.inbox.getEvents.BatchAlreadyAccepted({ batchNumber: BigInt(n) }, { fromBlock: 0n })).to.deep.equal([]);
  });

  it("a leader whose batcher the registry does not name says so (account and fix), and posts once it is the batcher again", async () => {
    const m = leader();
    const i = members.indexOf(m);
    const op = f.operators[i]!;
    // The operator moved its batcher to another account; this node still pays from its signer.
    const elsewhere = privateKeyToAccount(keccak256(toHex("elsewhere")));
    await f.registry.write.setBatcher([elsewhere.address, await signBatcherBinding(elsewhere, f.domain, op.address)], { account: op.address });
    const n = (await l1Count()) + 1;
    await appendTxs(2);
    await runUntil("a NotBatcher failure", () => (m.service.status().lastError ?? "").includes("NotBatcher"));
    expect(m.service.status().lastError).to.contain(`the batcher account ${op.signer.address}`).and.contain("seq set-batcher");
    expect(m.service.status().lastCut).to.deep.include({ batchNumber: n, epoch, posted: false });
    expect(await l1Count()).to.equal(n - 1);
    // Back to the default (its signer): the same cut goes through.
    await f.registry.write.setBatcher([op.signer.address, "0x"], { account: op.address });
    await runUntil(`batch ${n} on L1`, async () => (await l1Count()) === n);
  });

  it("re-cuts at the current epoch when the inbox refuses its batcher for the cut's epoch (a leader that joined the set later)", async () => {
    const m = leader();
    const i = members.indexOf(m);
    const previous = await l1Count();
    await f.networkHelpers.mine(1);
    await runUntil(`batch ${previous} recorded as posted`, () => posted(previous));
    // This leader stands for one that was no member of the cut's epoch: the inbox's answer to it.
    const refusing = (honest: BatchPoster): BatchPoster => ({
      gatherSignatures: (h, hash) => honest.gatherSignatures(h, hash),
      submit: async (h, data, signatures, coverage, blobs) => {
        if (h.epoch < epoch) throw new BatchL1Error("post_batch", "submitBatch would revert with NotBatcher", { revert: "NotBatcher" });
        return honest.submit(h, data, signatures, coverage, blobs);
      },
    });
    await m.service.stop();
    m.service = await makeService(i, m.store, m.metrics, {}, refusing);
    const n = previous + 1;
    await appendTxs(2);
    await runUntil(`batch ${n} cut`, () => m.service.status().lastCut?.batchNumber === n);
    const cutEpoch = m.service.status().lastCut!.epoch;
    await f.mineToNextEpoch();
    epoch = Number(await f.registry.read.currentEpoch());
    expect(epoch).to.be.greaterThan(cutEpoch);
    await runUntil(`batch ${n} on L1`, async () => (await l1Count()) === n);
    expect(Number((await f.inbox.read.batch([BigInt(n)])).epoch)).to.equal(epoch);
  });
  const request = (method: string, params: unknown[] = []) => f.connection.provider.request({ method, params });
  const setNextBaseFee = (wei: bigint) => request(`${l1 === "hardhat" ? "hardhat" : "anvil"}_setNextBlockBaseFeePerGas`, [toHex(wei)]);
  const batcherOf = (m: Member) => f.operators[members.indexOf(m)]!.signer.address;
  const mempool = async (address: Hex) =>
    (await f.publicClient.getTransactionCount({ address, blockTag: "pending" })) - (await f.publicClient.getTransactionCount({ address }));
  const gauge = async (g: { get(): Promise<{ values: { value: number }[] }> }) => (await g.get()).values[0]?.value ?? 0;

  it("waits, without failing, while the L1's base fee is above the fee cap, says so in its status and metrics, and posts once the fee is within it", async () => {
    const m = leader();
    const i = members.indexOf(m);
    await m.service.stop();
    m.service = await makeService(i, m.store, m.metrics, {}, undefined, { ...defaultCaps, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") });
    const n = (await l1Count()) + 1;
    await setNextBaseFee(parseGwei("5"));
    await appendTxs(2);
    await runUntil("the fee cap wait", () => m.service.status().feeCapWait !== null);
    for (let k = 0; k < 5; k++) await runUntil("a step", () => true);
    expect(m.service.status().feeCapWait).to.deep.include({ field: "maxFeePerGas", neededGwei: "5", capGwei: "2" });
    expect(m.service.status()).to.deep.include({ consecutiveFailures: 0, submitted: 0 });
    expect(await gauge(m.metrics.l1FeeCapWaiting)).to.equal(1);
    expect(await l1Count()).to.equal(n - 1);
    // The base fee falls within the cap: the batch goes, at most at the cap.
    await setNextBaseFee(parseGwei("1"));
    await runUntil(`batch ${n} on L1`, async () => (await l1Count()) === n);
    const event = (await f.inbox.getEvents.BatchAccepted({ batchNumber: BigInt(n) }, { fromBlock: 0n }))[0]!;
    const tx = await f.publicClient.getTransaction({ hash: event.transactionHash });
    expect(tx.maxFeePerGas! <= parseGwei("2")).to.equal(true);
    await runUntil("the wait over", () => m.service.status().feeCapWait === null);
    expect(await gauge(m.metrics.l1FeeCapWaiting)).to.equal(0);
    await m.service.stop();
    m.service = await makeService(i, m.store, m.metrics);
  });

  it("replaces a batch transaction stuck in the mempool under its nonce with the required fee bump: it lands once, with no nonce gap", async () => {
    const m = leader();
    const batcher = batcherOf(m);
    const n = (await l1Count()) + 1;
    const replacementsBefore = await gauge(m.metrics.batchTxReplacements);
    await request("evm_setAutomine", [false]);
    try {
      await appendTxs(3);
      await runUntil(`batch ${n} in the mempool`, () => m.service.status().pendingTransactions.some((t) => t.batchNumber === n));
      const sent = m.service.status().pendingTransactions.find((t) => t.batchNumber === n)!;
      const original = await f.publicClient.getTransaction({ hash: sent.txHash });
      const nonceBefore = await f.publicClient.getTransactionCount({ address: batcher });
      expect(original.nonce).to.equal(nonceBefore);
      // Every block from here asks one wei more than the transaction offers: it cannot be mined
      // (Hardhat keeps it in the mempool, Anvil drops it: either way it is replaced).
      const highBase = original.maxFeePerGas! + 1n;
      await runUntil("a replacement", async () => {
        await setNextBaseFee(highBase);
        await request("evm_mine");
        return m.service.status().replacements > 0;
      });
      const pending = m.service.status().pendingTransactions.find((t) => t.batchNumber === n)!;
      expect(pending).to.deep.include({ nonce: original.nonce, replacements: 1, onL1: false });
      expect(pending.txHash).to.not.equal(sent.txHash);
      const replacement = await f.publicClient.getTransaction({ hash: pending.txHash });
      expect(replacement.nonce).to.equal(original.nonce);
      // geth's rule for type-2: both fee fields at least 10 % above the replaced transaction's.
      expect(replacement.maxFeePerGas! * 10n >= original.maxFeePerGas! * 11n).to.equal(true);
      expect(replacement.maxPriorityFeePerGas! * 10n >= original.maxPriorityFeePerGas! * 11n).to.equal(true);
      await setNextBaseFee(highBase);
      await request("evm_mine");
      await runUntil(`batch ${n} on L1`, async () => (await l1Count()) === n);
      await runUntil(`batch ${n} posted`, async () => {
        await request("evm_mine");
        return posted(n);
      });
      const accepted = await f.inbox.getEvents.BatchAccepted({ batchNumber: BigInt(n) }, { fromBlock: 0n });
      expect(accepted).to.have.length(1);
      expect(accepted[0]!.transactionHash).to.equal(pending.txHash);
      expect(await f.publicClient.getTransactionReceipt({ hash: sent.txHash }).catch(() => null)).to.equal(null);
      expect(await f.publicClient.getTransactionCount({ address: batcher })).to.equal(nonceBefore + 1);
      expect(await gauge(m.metrics.batchTxReplacements)).to.equal(replacementsBefore + 1);
      expect(m.service.status().pendingTransactions).to.deep.equal([]);
    } finally {
      await request("evm_setAutomine", [true]);
    }
  });

  it("a one-off transaction of the batcher account (the epoch key anchor's path) takes its turn in the account's one nonce sequence: no clash with the batches around it, no resend", async () => {
    // A fresh epoch: the blocks this test mines must not age the later tests' cuts past the inbox's epoch lag.
    await f.mineToNextEpoch();
    epoch = Number(await f.registry.read.currentEpoch());
    const m = leader();
    const batcher = batcherOf(m);
    const n = (await l1Count()) + 1;
    const resentBefore = m.service.status().resent;
    const nonceBefore = await f.publicClient.getTransactionCount({ address: batcher });
    await request("evm_setAutomine", [false]);
    try {
      await appendTxs(3);
      await runUntil(`batch ${n} in the mempool`, async () => (await mempool(batcher)) === 1);
      const oneOff = m.service.l1Sender.sendUntilMined({ to: batcher, data: "0x", gas: 30_000n }, { stuckBlocks: 5, pollMs: 20, deadline: Date.now() + 60_000 });
      await runUntil("the one-off in the mempool", async () => (await mempool(batcher)) === 2);
      await appendTxs(3);
      await runUntil(`batch ${n + 1} in the mempool`, async () => (await mempool(batcher)) === 3);
      await request("evm_mine");
      const { tx, fate } = await oneOff;
      expect(fate).to.equal("included");
      expect(tx.nonce, "between the two batches' nonces").to.equal(nonceBefore + 1);
      await runUntil(`batch ${n + 1} posted`, async () => {
        await request("evm_mine");
        return posted(n + 1);
      });
      expect(await f.publicClient.getTransactionCount({ address: batcher })).to.equal(nonceBefore + 3);
      expect(m.service.status().resent, "no batch had to be sent again").to.equal(resentBefore);
    } finally {
      await request("evm_setAutomine", [true]);
    }
  });

  // Anvil's anvil_reorg replaces the latest blocks with new ones, without their transactions.
  if (l1 !== "hardhat") it("re-posts the batches an L1 reorg took out, under the same nonces, none doubled, none skipped, and records them only at confirmation depth", async () => {
    const m = leader();
    const batcher = batcherOf(m);
    const n = (await l1Count()) + 1;
    const fromBlock = await f.publicClient.getBlockNumber();
    const postedBefore = m.service.status().lastPosted!.batchNumber;
    await request("evm_setAutomine", [false]);
    try {
      await appendTxs(2 * limits.maxTxs); // batches n and n + 1, both in one block
      await runUntil(`batches ${n} and ${n + 1} in the mempool`, () => m.service.status().pendingTransactions.length === 2);
      await request("evm_mine");
      await runUntil(`batches ${n} and ${n + 1} on L1`, async () => (await l1Count()) === n + 1 && m.service.status().pendingTransactions.every((t) => t.onL1));
      const dropped = m.service.status().pendingTransactions;
      expect(dropped.map((t) => t.batchNumber)).to.deep.equal([n, n + 1]);
      expect(members.every((x) => x.service.status().lastPosted!.batchNumber === postedBefore)).to.equal(true); // one block deep: not yet
      const head = await f.publicClient.getBlockNumber();

      await request("anvil_reorg", [1, []]);
      expect(await f.publicClient.getBlockNumber()).to.equal(head);
      expect(await l1Count()).to.equal(n - 1);
      await runUntil("both sent again", async () => (await mempool(batcher)) === 2);
      const resent = m.service.status().pendingTransactions;
      expect(resent.map((t) => [t.batchNumber, t.nonce])).to.deep.equal(dropped.map((t) => [t.batchNumber, t.nonce]));
      await runUntil(`batches ${n} and ${n + 1} posted`, async () => {
        await request("evm_mine");
        return posted(n + 1);
      });
      for (const [k, b] of [n, n + 1].entries()) {
        const accepted = await f.inbox.getEvents.BatchAccepted({ batchNumber: BigInt(b) }, { fromBlock });
        expect(accepted, `batch ${b}`).to.have.length(1);
        expect(accepted[0]!.transactionHash).to.equal(resent[k]!.txHash);
        expect(accepted[0]!.transactionHash).to.not.equal(dropped[k]!.txHash);
        for (const x of members) expect((await x.store.getBatch(b))!.posted!.l1TxHash).to.equal(accepted[0]!.transactionHash);
      }
      expect(await f.publicClient.getTransactionCount({ address: batcher })).to.equal(dropped[1]!.nonce + 1);
      expect(await gauge(m.metrics.batchTxsReorged)).to.be.at.least(1);
      expect(m.service.status().resent).to.be.at.least(1);
    } finally {
      await request("evm_setAutomine", [true]);
    }
  });

  /** Appends `n` transactions of `size` bytes, runs until they are posted, and reads the batches L1 took for them (at least 3). */
  async function postAndRead(n: number, size: number) {
    const fromBlock = (await f.publicClient.getBlockNumber()) + 1n;
    const first = nextPosition;
    await appendTxs(n, size);
    await runUntil(`the ${n} transactions posted`, async () => {
      await f.networkHelpers.mine(1);
      return members.every((m) => m.service.status().lastPosted?.lastPosition === first + n - 1);
    });
    const accepted = await readAcceptedBatches(f.publicClient as PublicClient, f.inbox.address, fromBlock, await f.publicClient.getBlockNumber());
    expect(accepted.length).to.be.at.least(3);
    return accepted;
  }

  // Last: it leaves a transaction in the log that no batch can carry.
  if (l1 === "anvil-blobs") it("S4 in blob mode: no cut carries more than maxBlobs blobs, and a transaction no blob can carry is reported and never cut", async () => {
    const oneBlob = { maxTxs: 1_000, maxBytes: 1_000_000, maxUnpostedBytes: 1_000_000, encoding: { compress: false, maxBlobs: 1 } };
    for (const m of members) {
      await m.service.stop();
      m.service = await makeService(members.indexOf(m), m.store, m.metrics, oneBlob);
    }
    const first = nextPosition;
    const accepted = await postAndRead(200, 1_500); // 300 kB of v1 data: three blobs' worth at least
    for (const b of accepted) {
      if (!b.readable) throw new Error(`batch ${b.batchNumber} unreadable: ${b.error.message}`);
      expect(b.blobs, `batch ${b.batchNumber}`).to.equal(1);
      expect((await f.publicClient.getTransaction({ hash: b.l1TxHash })).blobVersionedHashes).to.have.length(1);
    }
    expect(accepted.flatMap((b) => (b.readable ? decodeBatchPayload(hexToBytes(b.payload)) : [])).map((t) => keccak256(t))).to.deep.equal(log.flatMap((e) => e.txs ?? []).slice(first).map((t) => t.hash));

    const cutBefore = leader().service.status().lastCut!.batchNumber;
    await appendTxs(1, 130_000); // over one blob's 126,975 bytes
    await runUntil("the leader reporting it", () => /position \d+ \(130000 bytes\) .* can never be posted/.test(leader().service.status().lastError ?? ""));
    expect(leader().service.status().lastCut!.batchNumber).to.equal(cutBefore);
  });

  if (l1 !== "anvil-blobs") it("S4: no cut makes an L1 transaction over maxL1TxBytes, a transaction no L1 transaction can carry is reported and never cut, and the unposted bytes are bounded", async () => {
    // The registry has 100 seats: a cut leaves room for 100 signatures (16,032 bytes of calldata).
    const small = { maxL1TxBytes: 24_000, maxUnpostedBytes: 5_000 };
    for (const m of members) {
      await m.service.stop();
      m.service = await makeService(members.indexOf(m), m.store, m.metrics, small);
    }
    const accepted = await postAndRead(20, 1_000); // 20 kB: more than one 24,000-byte L1 transaction can carry with room for 100 signatures
    for (const b of accepted) {
      const tx = await f.publicClient.getTransaction({ hash: b.l1TxHash });
      const raw = serializeTransaction(
        { type: "eip1559", chainId: f.chainId, nonce: tx.nonce, gas: tx.gas, maxFeePerGas: tx.maxFeePerGas!, maxPriorityFeePerGas: tx.maxPriorityFeePerGas!, to: tx.to!, value: tx.value, data: tx.input },
        { r: tx.r, s: tx.s, yParity: tx.yParity! },
      );
      expect(raw, `batch ${b.batchNumber}`).to.have.length.below(2 + 2 * small.maxL1TxBytes);
      expect(keccak256(raw)).to.equal(b.l1TxHash);
    }
    expect(leader().service.status()).to.deep.include({ overloaded: false, unpostedBytes: 0 });

    // One unposted transaction of 9 kB (admitted under an older, larger maxTxBytes) is over the
    // byte bound on its own, and no batch carrying it fits: the leader says so and cuts nothing.
    const cutBefore = leader().service.status().lastCut!.batchNumber;
    await appendTxs(1, 9_000);
    const status = leader().service.status();
    expect(status).to.deep.include({ unpostedTxs: 1, overloaded: true });
    expect(status.unpostedBytes).to.equal(9_002);
    await runUntil("the leader reporting it", () => /position \d+ \(9000 bytes\) .* can never be posted/.test(leader().service.status().lastError ?? ""));
    expect(leader().service.status().lastCut!.batchNumber).to.equal(cutBefore);
  });
});

function toHexBytes(n: number): number[] {
  return [...Buffer.from(toHex(n, { size: 4 }).slice(2), "hex")];
}
