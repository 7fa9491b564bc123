import { expect } from "chai";
import { type Hex, type PublicClient, keccak256, toHex, zeroHash } from "viem";
import { rebuildFromL1 } from "../../scripts/lib/rebuild.js";
import { buildPositionalTree, merkleProof, merkleRoot } from "../../node/commitments/merkle.js";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { forcedChainHash } from "../../node/l1/forced-queue.js";
import { type SequencerFixture, deploySequencer, fakeTxs } from "./helpers/sequencer.js";

const INCLUSION_DELAY = 50n;
const ESCAPE_WINDOW = 150n;

describe("Forced inclusion (ForcedInclusionQueue + BatchInbox)", () => {
  let f: SequencerFixture;

  async function expectError(promise: Promise<unknown>, contract: { abi: readonly unknown[] }, name: string, args?: unknown[]) {
    if (args) await f.viem.assertions.revertWithCustomErrorWithArgs(promise as Promise<Hex>, contract as never, name as never, args as never);
    else await f.viem.assertions.revertWithCustomError(promise as Promise<Hex>, contract as never, name as never);
  }

  /** The next batch after the last accepted one, holding `txs`, signed by the quorum. */
  async function nextBatch(txs: readonly Hex[]) {
    const [n, last] = await f.inbox.read.lastBatch();
    const b = f.makeBatch({
      epoch: await f.registry.read.currentEpoch(),
      batchNumber: n + 1n,
      prevBatchHash: n === 0n ? zeroHash : last.batchHash,
      firstPosition: n === 0n ? 0n : last.lastPosition + 1n,
      txs,
    });
    return { ...b, signatures: await f.signHeader(b.header) };
  }

  /** The coverage entry proving that `txs[index]` of batch `b` is at its position. */
  function coverageOf(b: { header: BatchHeader; tree: ReturnType<typeof buildPositionalTree> }, index: number, item = 0n) {
    return { item, batchNumber: b.header.batchNumber, position: b.header.firstPosition + BigInt(index), proof: merkleProof(b.tree, index) };
  }

  async function enqueue(raw: Hex): Promise<bigint> {
    const index = await f.forcedQueue.read.length();
    await f.forcedQueue.write.enqueue([raw], { account: f.outsider.account });
    return index;
  }

  beforeEach(async () => {
    f = await deploySequencer(3);
  });

  describe("the queue", () => {
    it("hash-chains items and announces each with its bytes", async () => {
      const [a, b] = fakeTxs(2, "forced", 120);
      await f.viem.assertions.emit(f.forcedQueue.write.enqueue([a!], { account: f.outsider.account }), f.forcedQueue, "ForcedTransactionEnqueued");
      await f.forcedQueue.write.enqueue([b!], { account: f.outsider.account });
      const [hashA, chainA, blockA] = await f.forcedQueue.read.item([0n]);
      const [hashB, chainB, blockB] = await f.forcedQueue.read.item([1n]);
      expect(hashA).to.equal(keccak256(a!));
      expect(chainA).to.equal(forcedChainHash(zeroHash, 0n, blockA, hashA));
      expect(chainB).to.equal(forcedChainHash(chainA, 1n, blockB, hashB));
      const logs = await f.forcedQueue.getEvents.ForcedTransactionEnqueued({}, { fromBlock: 0n });
      expect(logs.map((l) => l.args.rawTx)).to.deep.equal([a, b]);
      expect(await f.forcedQueue.read.inclusionDelay()).to.equal(INCLUSION_DELAY);
    });

    it("refuses empty and oversized items, items posing as position records (first byte 0x80-0xbf), and more than 16 items or 128 KiB in one block", async () => {
      await expectError(f.forcedQueue.write.enqueue(["0x"]), f.forcedQueue, "EmptyForcedTransaction");
      // A forced item cannot pose as one of the stream's position records (0xb4 would mark a slot undecryptable).
      for (const first of [0x80, 0xb1, 0xb4, 0xbf]) await expectError(f.forcedQueue.write.enqueue([toHex(Uint8Array.of(first, 0, 0))]), f.forcedQueue, "ReservedFirstByte", [first]);
      const big = toHex(new Uint8Array(65_537).fill(7));
      await expectError(f.forcedQueue.write.enqueue([big]), f.forcedQueue, "ForcedTransactionTooLarge", [65_537n, 65_536n]);
      const batcher = await f.viem.deployContract("ForcedEnqueuer");
      const seventeen = fakeTxs(17, "spam", 40);
      await expectError(batcher.write.enqueueAll([f.forcedQueue.address, seventeen]), f.forcedQueue, "BlockItemCapReached", [16n]);
      const max = toHex(new Uint8Array(65_536).fill(9));
      await expectError(batcher.write.enqueueAll([f.forcedQueue.address, [max, max, "0x01"]]), f.forcedQueue, "BlockByteCapReached", [131_072n, 1n, 131_072n]);
      expect(await f.forcedQueue.read.length()).to.equal(0n);
      // The caps are per block: 16 items in one block, 16 more in the next.
      await batcher.write.enqueueAll([f.forcedQueue.address, seventeen.slice(0, 16)]);
      await batcher.write.enqueueAll([f.forcedQueue.address, seventeen.slice(1)]);
      expect(await f.forcedQueue.read.length()).to.equal(32n);
    });
  });

  describe("the inbox", () => {
    it("accepts a batch without coverage while no item is overdue", async () => {
      await enqueue(fakeTxs(1, "user")[0]!);
      const b = await nextBatch(fakeTxs(3, "a"));
      await f.submitBatch([b.header, b.data, b.signatures]);
      expect(await f.inbox.read.forcedCursor()).to.equal(0n);
    });

    it("rejects a batch that leaves an overdue item out, and accepts one that proves it", async () => {
      const forced = fakeTxs(1, "user")[0]!;
      await enqueue(forced);
      const [, , enqueuedAt] = await f.forcedQueue.read.item([0n]);
      await f.networkHelpers.mine(Number(INCLUSION_DELAY));
      const without = await nextBatch(fakeTxs(3, "a"));
      await expectError(f.submitBatch([without.header, without.data, without.signatures]), f.inbox, "ForcedTransactionOverdue", [0n, enqueuedAt, enqueuedAt + INCLUSION_DELAY]);

      const withIt = await nextBatch([...fakeTxs(2, "a"), forced]);
      // A proof of the wrong position, or a proof that does not verify, is refused.
      const wrong = { ...coverageOf(withIt, 2), position: 1n };
      await expectError(f.inbox.write.submitBatch([withIt.header, withIt.data, withIt.signatures, [wrong]], { account: f.batcher() }), f.inbox, "InvalidForcedProof", [0n, 1n, 1n]);
      const forged = { ...coverageOf(withIt, 2), proof: [keccak256(toHex("x")), keccak256(toHex("y"))] };
      await expectError(f.inbox.write.submitBatch([withIt.header, withIt.data, withIt.signatures, [forged]], { account: f.batcher() }), f.inbox, "InvalidForcedProof", [0n, 1n, 2n]);
      const outside = { ...coverageOf(withIt, 2), position: 7n };
      await expectError(f.inbox.write.submitBatch([withIt.header, withIt.data, withIt.signatures, [outside]], { account: f.batcher() }), f.inbox, "InvalidForcedProof", [0n, 1n, 7n]);
      expect(await f.inbox.read.batchCount()).to.equal(0n);

      await f.viem.assertions.emitWithArgs(
        f.inbox.write.submitBatch([withIt.header, withIt.data, withIt.signatures, [coverageOf(withIt, 2)]], { account: f.batcher() }),
        f.inbox,
        "ForcedItemCovered",
        [0n, 1n, 2n],
      );
      expect(await f.inbox.read.forcedCursor()).to.equal(1n);
      expect(await f.inbox.read.forcedPosition([0n])).to.deep.equal([true, 2n]);
      // The stream goes on: nothing is pending.
      const after = await nextBatch(fakeTxs(1, "b"));
      await f.submitBatch([after.header, after.data, after.signatures]);
    });

    it("lets an item already ordered by an earlier batch keep its one position (cover, or a later batch's proof)", async () => {
      const forced = fakeTxs(1, "user")[0]!;
      // The user also sent it to a node: batch 1 orders it at position 1 before the deadline.
      const b1 = await nextBatch([fakeTxs(1, "a")[0]!, forced]);
      await f.submitBatch([b1.header, b1.data, b1.signatures]);
      await enqueue(forced);
      await enqueue(fakeTxs(1, "second")[0]!);
      await f.networkHelpers.mine(Number(INCLUSION_DELAY) + 1);
      // Anyone covers item 0 against batch 1; item 1 is overdue too, so covering 0 alone reverts.
      await expectError(f.inbox.write.cover([[coverageOf(b1, 1)]], { account: f.outsider.account }), f.inbox, "ForcedTransactionOverdue");
      // Batch 2 orders item 1 and proves item 0 against batch 1, item 1 against itself.
      const b2 = await nextBatch([fakeTxs(1, "second")[0]!]);
      await f.inbox.write.submitBatch([b2.header, b2.data, b2.signatures, [coverageOf(b1, 1), coverageOf(b2, 0, 1n)]], { account: f.batcher() });
      expect(await f.inbox.read.forcedPosition([0n])).to.deep.equal([true, 1n]);
      expect(await f.inbox.read.forcedPosition([1n])).to.deep.equal([true, 2n]);
      // Entries for covered items are skipped (a pipelined batch repeats them); a gap or an item not enqueued is refused.
      await f.inbox.write.cover([[coverageOf(b2, 0, 1n)]]);
      await expectError(f.inbox.write.cover([[coverageOf(b2, 0, 3n)]]), f.inbox, "ForcedCoverageGap", [3n, 2n]);
      await expectError(f.inbox.write.cover([[coverageOf(b2, 0, 2n)]]), f.inbox, "ForcedItemNotEnqueued", [2n, 2n]);
    });

    it("covers through the permissionless cover() against an accepted batch", async () => {
      const forced = fakeTxs(1, "user")[0]!;
      await enqueue(forced);
      const b1 = await nextBatch([forced]);
      await f.submitBatch([b1.header, b1.data, b1.signatures]);
      await expectError(f.inbox.write.cover([[{ ...coverageOf(b1, 0), batchNumber: 2n }]]), f.inbox, "UnknownBatch", [2n]);
      await f.inbox.write.cover([[coverageOf(b1, 0)]], { account: f.outsider.account });
      expect(await f.inbox.read.forcedCursor()).to.equal(1n);
    });
  });

  describe("the escape hatch", () => {
    it("cannot pre-empt an idle set: it opens only once the oldest pending item is overdue", async () => {
      const now = await f.publicClient.getBlockNumber();
      await f.networkHelpers.mine(Number(ESCAPE_WINDOW) + 5); // no batch for longer than the window
      expect((await f.publicClient.getBlockNumber()) > now + ESCAPE_WINDOW).to.equal(true);
      await expectError(f.inbox.write.escape([1n]), f.inbox, "InvalidEscapeCount", [1n, 0n]);
      await enqueue(fakeTxs(1, "user")[0]!);
      const [, , enqueuedAt] = await f.forcedQueue.read.item([0n]);
      await expectError(f.inbox.write.escape([1n]), f.inbox, "EscapeHatchClosed", [enqueuedAt + INCLUSION_DELAY + 1n]);
      // The set covers it in time: the hatch never opens for it.
      const b = await nextBatch([fakeTxs(1, "user")[0]!]);
      await f.inbox.write.submitBatch([b.header, b.data, b.signatures, [coverageOf(b, 0)]], { account: f.batcher() });
      expect(await f.inbox.read.forcedCursor()).to.equal(1n);
    });

    it("stays closed while the set posts, then lets anyone post forced items alone; the set resumes on top", async () => {
      const b1 = await nextBatch(fakeTxs(2, "a"));
      await f.submitBatch([b1.header, b1.data, b1.signatures]);
      const acceptedAt = await f.inbox.read.lastQuorumBatchBlock();
      const forced = fakeTxs(2, "user", 90);
      await enqueue(forced[0]!);
      await enqueue(forced[1]!);
      await expectError(f.inbox.write.escape([1n], { account: f.outsider.account }), f.inbox, "EscapeHatchClosed", [acceptedAt + ESCAPE_WINDOW + 1n]);
      await expectError(f.inbox.write.escape([0n], { account: f.outsider.account }), f.inbox, "InvalidEscapeCount", [0n, 2n]);
      const now = await f.publicClient.getBlockNumber();
      await f.networkHelpers.mine(Number(acceptedAt + ESCAPE_WINDOW - now));
      await expectError(f.inbox.write.escape([3n], { account: f.outsider.account }), f.inbox, "InvalidEscapeCount", [3n, 2n]);

      // Positions right after batch 1; the leaves are the forced transactions' hashes.
      await f.viem.assertions.emitWithArgs(f.inbox.write.escape([1n], { account: f.outsider.account }), f.inbox, "EscapeBatchAccepted", [2n, 0n, 1n, f.outsider.account.address]);
      await f.inbox.write.escape([1n], { account: f.outsider.account }); // the window stays open
      const [, chain1] = await f.forcedQueue.read.item([1n]);
      const escaped2 = await f.inbox.read.batch([2n]);
      const escaped3 = await f.inbox.read.batch([3n]);
      expect([escaped2.firstPosition, escaped2.lastPosition, escaped3.firstPosition]).to.deep.equal([2n, 2n, 3n]);
      expect(escaped2.merkleRoot).to.equal(merkleRoot(buildPositionalTree(2n, [keccak256(forced[0]!)])));
      const header3: BatchHeader = {
        epoch: b1.header.epoch,
        batchNumber: 3n,
        prevBatchHash: escaped2.batchHash,
        firstPosition: 3n,
        lastPosition: 3n,
        merkleRoot: merkleRoot(buildPositionalTree(3n, [keccak256(forced[1]!)])),
        dataHash: chain1,
      };
      expect(escaped3.batchHash).to.equal(batchHash(header3));
      expect(await f.inbox.read.forcedCursor()).to.equal(2n);
      await expectError(f.inbox.write.escape([1n]), f.inbox, "InvalidEscapeCount", [1n, 0n]);

      // The set resumes: its next batch chains onto the escape batches and closes the hatch.
      const resumed = await nextBatch(fakeTxs(2, "resumed"));
      expect(resumed.header.prevBatchHash).to.equal(escaped3.batchHash);
      expect(resumed.header.firstPosition).to.equal(4n);
      await f.submitBatch([resumed.header, resumed.data, resumed.signatures]);
      await enqueue(fakeTxs(1, "later")[0]!);
      await expectError(f.inbox.write.escape([1n]), f.inbox, "EscapeHatchClosed");

      // Derivation follows the same rule: the escape batches' positions hold the forced items.
      const stream = await rebuildFromL1(f.publicClient as unknown as PublicClient, { inbox: f.inbox.address, deploymentBlock: 0n });
      expect(stream.gaps).to.deep.equal([]);
      expect(stream.batches.map((b) => b.readable && b.escape !== undefined)).to.deep.equal([false, true, true, false]);
      expect(stream.txs.map((t) => t.raw)).to.deep.equal([...fakeTxs(2, "a"), ...forced, ...fakeTxs(2, "resumed")]);
      expect(stream.txs.map((t) => t.position)).to.deep.equal([0n, 1n, 2n, 3n, 4n, 5n]);
    });
  });
});
