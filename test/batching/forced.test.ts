/**
 * ForcedInclusion's coverage (node/batching/forced.ts) against a real inbox and a real NodeStore:
 * an item whose transaction sits in the batch being posted, in a cut still on its way, or in a
 * batch L1 accepted earlier gets a proof the inbox takes; an item the log does not hold stops the
 * list there.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Hex, type PublicClient, createWalletClient, custom, hexToBytes, keccak256, parseGwei, zeroHash } from "viem";
import { ForcedInclusion } from "../../node/batching/forced.js";
import { buildBatch, toBatchHeader } from "../../node/batching/header.js";
import type { Entry } from "../../node/consensus/types.js";
import type { StoredBatchHeader } from "../../node/domain/index.js";
import { InboxWriter } from "../../node/l1/inbox-writer.js";
import { createLogger } from "../../node/ops/logger.js";
import { NodeStore } from "../../node/storage/index.js";
import { type SequencerFixture, deploySequencer, fakeTxs } from "../contracts/helpers/sequencer.js";

describe("ForcedInclusion coverage (node/batching/forced.ts)", function () {
  this.timeout(60_000);
  let f: SequencerFixture;
  let dir: string;
  let store: NodeStore;
  let forced: ForcedInclusion;
  let logIndex = 0;
  const log: Hex[] = [];

  /** Commits `raws` to the store's log at the next positions. */
  async function commit(raws: readonly Hex[]): Promise<void> {
    const entry: Entry = { index: ++logIndex, term: 1, kind: "txs", firstPosition: log.length, txs: raws.map((r) => ({ hash: keccak256(r), data: hexToBytes(r) })) };
    await store.persistReady({ entries: [entry], hardState: { term: 1, vote: null, commit: logIndex } });
    await store.applyCommitted([entry], { certificates: [] });
    log.push(...raws);
  }

  /** The cut of positions [first, last] as the node builds it, after `prev`. */
  function cut(batchNumber: number, prev: StoredBatchHeader | undefined, first: number, last: number): StoredBatchHeader {
    const prevBatchHash = prev === undefined ? zeroHash : (f.batchHash(toBatchHeader(prev)) as Hex);
    const txs = log.slice(first, last + 1).map((r) => ({ hash: keccak256(r), data: hexToBytes(r) }));
    return buildBatch({ epoch: Number(f.epoch), batchNumber, prevBatchHash, firstPosition: first }, txs).header;
  }

  async function post(h: StoredBatchHeader, coverage: Awaited<ReturnType<ForcedInclusion["coverageFor"]>> = []): Promise<void> {
    const header = toBatchHeader(h);
    const txs = log.slice(h.firstPosition, h.lastPosition + 1);
    const { data } = f.makeBatch({ epoch: header.epoch, batchNumber: header.batchNumber, prevBatchHash: header.prevBatchHash, firstPosition: header.firstPosition, txs });
    const args = [header, data, await f.signHeader(header), coverage.map((c) => ({ ...c, proof: [...c.proof] }))] as const;
    await f.inbox.write.submitBatch(args, { account: f.batcher() });
  }

  before(async () => {
    f = await deploySequencer(3);
    dir = await mkdtemp(path.join(tmpdir(), "forced-coverage-"));
    store = await NodeStore.open(path.join(dir, "db"));
    const wallet = createWalletClient({ account: f.batcher(), chain: undefined, transport: custom(f.publicClient) });
    const inbox = new InboxWriter({ publicClient: f.publicClient as unknown as PublicClient, wallet: wallet as never, inbox: f.inbox.address, feeCaps: { maxFeePerGas: parseGwei("100"), maxPriorityFeePerGas: parseGwei("2"), maxFeePerBlobGas: parseGwei("100") } });
    forced = new ForcedInclusion({
      client: f.publicClient as unknown as PublicClient,
      inbox,
      inboxAddress: f.inbox.address,
      queue: f.forcedQueue.address,
      fromBlock: 0n,
      confirmations: 1,
      pollMs: 1_000,
      store,
      logger: createLogger({ level: "silent" }),
      isLeader: () => false,
      order: () => Promise.reject(new Error("not the leader")),
    });
  });

  after(async () => {
    await forced?.stop();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("proves items against the batch being posted, a cut on its way and an accepted batch, in queue order, and stops at one the log lacks", async () => {
    const [a, b, c, missing] = fakeTxs(4, "forced", 64);
    await commit([...fakeTxs(2, "x"), a!, ...fakeTxs(2, "y")]); // a at position 2
    const b1 = cut(1, undefined, 0, 4);
    await post(b1); // accepted before anything is queued: covers nothing
    await commit([b!, ...fakeTxs(1, "z")]); // b at 5
    await commit([c!]); // c at 7
    for (const raw of [a!, b!, c!, missing!]) await f.forcedQueue.write.enqueue([raw], { account: f.outsider.account });
    await forced.poll();
    expect(forced.status()).to.deep.include({ cursor: 0, queued: 4, pending: 4 });

    const b2 = cut(2, b1, 5, 6);
    const b3 = cut(3, b2, 7, 7);
    // Posting batch 3 while batch 2 is still on its way: a against batch 1 (on L1), b against the held cut 2, c against 3; the missing one stops the list.
    const coverage = await forced.coverageFor(b3, [b2]);
    expect(coverage.map((x) => [x.item, x.batchNumber, x.position])).to.deep.equal([
      [0n, 1n, 2n],
      [1n, 2n, 5n],
      [2n, 3n, 7n],
    ]);
    // The inbox takes them once batch 2 is in (its own coverage repeats a and b: batch 3 skips what 2 covered).
    await post(b2, await forced.coverageFor(b2, []));
    expect(await f.inbox.read.forcedCursor()).to.equal(2n);
    await post(b3, coverage);
    expect(await f.inbox.read.forcedCursor()).to.equal(3n);
    expect(await f.inbox.read.forcedPosition([2n])).to.deep.equal([true, 7n]);
    await forced.poll();
    expect(forced.status()).to.deep.include({ cursor: 3, pending: 1 });
    expect(forced.status().oldestPending).to.deep.include({ index: 3, ordered: false });
  });
});
