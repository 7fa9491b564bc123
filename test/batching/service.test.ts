/**
 * BatchService on a real chain and real stores: three members share one replicated log (driven
 * by the test, entry by entry, as the Raft driver would apply it), sign each other's requests
 * in-process, and the leader posts to the BatchInbox deployed by scripts/lib/deploy.ts.
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
  http,
  keccak256,
  parseEther,
  toHex,
  type EIP1193RequestFn,
  type Hex,
  type PublicClient,
} from "viem";
import type { Entry } from "../../node/consensus/index.js";
import { NodeStore } from "../../node/storage/index.js";
import { appRecordsOf, type StoredBatchHeader } from "../../node/domain/index.js";
import { BatchService, BatchSigningRefusedError, decodeBatchData, deriveBatch, storedBatchHash, type BatchLimits, type BatchPoster } from "../../node/batching/index.js";
import { toBatchHeader } from "../../node/batching/header.js";
import { BatchL1Error } from "../../node/l1/inbox-writer.js";
import { signBatcherBinding } from "../../node/l1/key-binding.js";
import { privateKeyToAccount } from "viem/accounts";
import { RegistryReader } from "../../node/l1/registry.js";
import { readAcceptedBatches } from "../../node/l1/inbox.js";
import { createLogger } from "../../node/ops/logger.js";
import { NodeMetrics } from "../../node/ops/metrics.js";
import { freePort } from "../../scripts/lib/devnet.js";
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

describe("BatchService (3 members, in-process chain)", function () {
  this.timeout(120_000);
  let f: SequencerFixture;
  let root: string;
  let epoch: number;
  let l1Down = false;
  let closedPortUrl: string;
  const members: Member[] = [];
  const log: Entry[] = [];
  let nextPosition = 0;
  let txCounter = 0;

  const limits: BatchLimits = { maxTxs: 50, maxBytes: 100_000, intervalMs: 0, deadlineMs: 60_000, maxUnpostedTxs: 8, l1Confirmations: 2 };

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

  async function makeService(i: number, store: NodeStore, metrics: NodeMetrics, wrapPoster?: (honest: BatchPoster) => BatchPoster): Promise<BatchService> {
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
      limits,
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

  async function appendTxs(n: number): Promise<void> {
    const txs = Array.from({ length: n }, () => {
      const data = Uint8Array.of(2, ...toHexBytes(txCounter++), 0xc0);
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
    f = await deploySequencer(3);
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
    await f?.connection.close();
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
    const fromL1 = decodeBatchData(Buffer.from(accepted!.data.slice(2), "hex"), 5).map((t) => keccak256(t));
    expect(fromL1).to.deep.equal(log[0]!.txs!.map((t) => t.hash));
    expect(accepted!.l1TxHash).to.equal(cut.posted!.l1TxHash);
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
    await appendTxs(1); // the log keeps growing meanwhile
    l1Down = false;
    await runUntil("batch 3 on L1", async () => (await l1Count()) === 3);
    await f.networkHelpers.mine(1);
    await runUntil("batch 3 posted", () => posted(3));
    expect(leader().service.status()).to.deep.include({ consecutiveFailures: 0, overloaded: false });
  });

  it("re-cuts an unposted batch at the current epoch when its epoch is too old for the inbox", async () => {
    await appendTxs(2); // positions 11.. plus the one appended while L1 was down: cut as batch 4
    await runUntil("batch 4 cut", () => leader().service.status().lastCut?.batchNumber === 4);
    const oldEpoch = leader().service.status().lastCut!.epoch;
    l1Down = true; // hold the posting while three epochs pass
    await runUntil("a failure", () => leader().service.status().consecutiveFailures >= 1);
    for (let i = 0; i < 3; i++) await f.mineToNextEpoch();
    epoch = Number(await f.registry.read.currentEpoch());
    l1Down = false;
    await runUntil("batch 4 on L1", async () => (await l1Count()) === 4);
    await f.networkHelpers.mine(1);
    await runUntil("batch 4 posted", () => posted(4));
    const onL1 = await f.inbox.read.batch([4n]);
    expect(Number(onL1.epoch)).to.equal(epoch);
    expect(epoch).to.be.greaterThan(oldEpoch + 2);
    // Members signed batch 4 under the new epoch; the old epoch's signatures stay on record.
    expect(await members[1]!.store.getSignedBatchHeader(4, epoch)).to.not.equal(undefined);
  });

  it("S3: a leader whose batch another member's batcher posts first (between its inbox read and its submit) records that post and sends nothing", async () => {
    const m = leader();
    const i = members.indexOf(m);
    const other = f.operators[(i + 1) % 3]!.signer;
    let raced: Hex | undefined;
    // Another member's batcher lands the same header, data and quorum just before this leader submits.
    const racing = (honest: BatchPoster): BatchPoster => ({
      gatherSignatures: (h, hash) => honest.gatherSignatures(h, hash),
      submit: async (h, data, signatures) => {
        raced ??= await f.submitBatch([toBatchHeader(h), toHex(data), signatures], other);
        return honest.submit(h, data, signatures);
      },
    });
    await m.service.stop();
    m.service = await makeService(i, m.store, m.metrics, racing);
    const nonceBefore = await f.publicClient.getTransactionCount({ address: f.operators[i]!.signer.address });
    await appendTxs(3);
    await runUntil("batch 5 on L1", async () => (await l1Count()) === 5);
    await f.networkHelpers.mine(1);
    await runUntil("batch 5 recorded as posted", () => posted(5));
    expect(raced).to.not.equal(undefined);
    expect(m.service.status().lastPosted).to.deep.include({ batchNumber: 5, l1TxHash: raced });
    expect(m.service.status().consecutiveFailures).to.equal(0);
    // The leader found it accepted in its simulation and sent no transaction at all.
    expect(await f.publicClient.getTransactionCount({ address: f.operators[i]!.signer.address })).to.equal(nonceBefore);
    expect(await f.inbox.getEvents.BatchAlreadyAccepted({ batchNumber: 5n }, { fromBlock: 0n })).to.deep.equal([]);
  });

  it("a leader whose batcher the registry does not name says so (account and fix), and posts once it is the batcher again", async () => {
    const m = leader();
    const i = members.indexOf(m);
    const op = f.operators[i]!;
    // The operator moved its batcher to another account; this node still pays from its signer.
    const elsewhere = privateKeyToAccount(keccak256(toHex("elsewhere")));
    await f.registry.write.setBatcher([elsewhere.address, await signBatcherBinding(elsewhere, f.domain, op.address)], { account: op.address });
    await appendTxs(2);
    await runUntil("a NotBatcher failure", () => (m.service.status().lastError ?? "").includes("NotBatcher"));
    expect(m.service.status().lastError).to.contain(`the batcher account ${op.signer.address}`).and.contain("seq set-batcher");
    expect(m.service.status().lastCut).to.deep.include({ batchNumber: 6, epoch, posted: false });
    expect(await l1Count()).to.equal(5);
    // Back to the default (its signer): the same cut goes through.
    await f.registry.write.setBatcher([op.signer.address, "0x"], { account: op.address });
    await runUntil("batch 6 on L1", async () => (await l1Count()) === 6);
  });

  it("re-cuts at the current epoch when the inbox refuses its batcher for the cut's epoch (a leader that joined the set later)", async () => {
    const m = leader();
    const i = members.indexOf(m);
    await f.networkHelpers.mine(1);
    await runUntil("batch 6 recorded as posted", () => posted(6));
    // This leader stands for one that was no member of the cut's epoch: the inbox's answer to it.
    const refusing = (honest: BatchPoster): BatchPoster => ({
      gatherSignatures: (h, hash) => honest.gatherSignatures(h, hash),
      submit: async (h, data, signatures) => {
        if (h.epoch < epoch) throw new BatchL1Error("post_batch", "submitBatch would revert with NotBatcher", { revert: "NotBatcher" });
        return honest.submit(h, data, signatures);
      },
    });
    await m.service.stop();
    m.service = await makeService(i, m.store, m.metrics, refusing);
    await appendTxs(2);
    await runUntil("batch 7 cut", () => m.service.status().lastCut?.batchNumber === 7);
    const cutEpoch = m.service.status().lastCut!.epoch;
    await f.mineToNextEpoch();
    epoch = Number(await f.registry.read.currentEpoch());
    expect(epoch).to.be.greaterThan(cutEpoch);
    await runUntil("batch 7 on L1", async () => (await l1Count()) === 7);
    expect(Number((await f.inbox.read.batch([7n])).epoch)).to.equal(epoch);
  });
});

function toHexBytes(n: number): number[] {
  return [...Buffer.from(toHex(n, { size: 4 }).slice(2), "hex")];
}
