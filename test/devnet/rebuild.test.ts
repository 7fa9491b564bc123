import { expect } from "chai";
import { type Hex, type PublicClient, keccak256 } from "viem";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";
import { RebuildError, compareWithNode, describeDifference, rebuildFromL1, streamOfBatches, type StreamTx } from "../../scripts/lib/rebuild.js";
import { deploySequencer, type SequencerFixture } from "../contracts/helpers/sequencer.js";
import { startFakeNode, type FakeLogEntry, type FakeNode } from "./fake-node.js";

const txSigner = new LoadSigner({ chainId: 901, senders: 3, txBytes: 120, seed: 7 });

/** A deployment with 3 staked operators where the test posts batches of real signed transactions. */
async function chainWithBatches(sizes: number[], tamper?: (batchIndex: number, header: BatchHeader) => BatchHeader) {
  const f = await deploySequencer(3);
  const client = f.publicClient as unknown as PublicClient;
  const expected: StreamTx[] = [];
  let prev: BatchHeader | undefined;
  for (const [i, size] of sizes.entries()) {
    const raws = txSigner.sign(size);
    const firstPosition = prev === undefined ? 0n : prev.lastPosition + 1n;
    const built = f.makeBatch({
      epoch: f.epoch,
      batchNumber: BigInt(i + 1),
      prevBatchHash: prev === undefined ? f.ZERO_HASH : batchHash(prev),
      firstPosition,
      txs: raws,
    });
    const header = tamper ? tamper(i, built.header) : built.header;
    const hash = await f.submitBatch([header, built.data, await f.signHeader(header)]);
    expect((await f.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    raws.forEach((raw, k) => expected.push({ position: firstPosition + BigInt(k), txHash: keccak256(raw), raw }));
    prev = header;
  }
  return { f, client, expected };
}

async function rebuildError(f: SequencerFixture, client: PublicClient): Promise<RebuildError> {
  try {
    await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
  } catch (e) {
    if (e instanceof RebuildError) return e;
    throw e;
  }
  throw new Error("rebuildFromL1 accepted an inconsistent stream");
}

describe("rebuild from L1", function () {
  this.timeout(60_000);

  describe("rebuildFromL1 / streamOfBatches", () => {
    it("rebuilds the exact ordered transaction list from the accepted batches", async () => {
      const { f, client, expected } = await chainWithBatches([3, 1, 4]);
      const stream = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n, maxBlockRange: 2n });
      expect(stream.batches.map((b) => b.batchNumber)).to.deep.equal([1n, 2n, 3n]);
      expect(stream.txs).to.deep.equal(expected);
      expect(stream.firstPosition).to.equal(0n);
    });

    it("refuses a batch whose Merkle root does not match its transactions (the inbox only checks the data hash)", async () => {
      const { f, client } = await chainWithBatches([2, 2], (i, h) => (i === 1 ? { ...h, merkleRoot: keccak256(h.merkleRoot) } : h));
      const err = await rebuildError(f, client);
      expect(err.batch.batchNumber).to.equal(2n);
      expect(err.message).to.contain("Merkle root").and.contain(err.batch.l1TxHash);
    });

    it("refuses data that holds another number of transactions than the header's range", async () => {
      const { f, client } = await chainWithBatches([2, 3], (i, h) => (i === 1 ? { ...h, lastPosition: h.lastPosition + 1n } : h));
      const err = await rebuildError(f, client);
      expect(err.batch.batchNumber).to.equal(2n);
      expect(err.message).to.contain("does not decode as 4 transactions").and.contain("3 transactions");
    });

    it("refuses a stream with a missing batch, or one not starting at batch 1 when read from the deployment", async () => {
      const { f, client } = await chainWithBatches([1, 1, 1]);
      const { batches } = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
      expect(() => streamOfBatches([batches[0]!, batches[2]!], true)).to.throw(RebuildError, "batch numbers have a gap");
      expect(() => streamOfBatches(batches.slice(1), true)).to.throw(RebuildError, "must be batch 1 at position 0");
      // From a later block the stream may start anywhere, as long as it chains.
      expect(streamOfBatches(batches.slice(1), false).map((t) => t.position)).to.deep.equal([1n, 2n]);
      const later = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n, fromBlock: batches[1]!.l1BlockNumber });
      expect(later.firstPosition).to.equal(1n);
      expect(later.txs).to.have.length(2);
    });
  });

  describe("compareWithNode", () => {
    const stream: StreamTx[] = txSigner.sign(2_500).map((raw, i) => ({ position: BigInt(i), txHash: keccak256(raw), raw }));
    const asLog = (txs: readonly StreamTx[]): FakeLogEntry[] => txs.map((t) => ({ position: Number(t.position), txHash: t.txHash, raw: t.raw }));
    const nodes: FakeNode[] = [];
    const fake = async (log: FakeLogEntry[]) => {
      const n = await startFakeNode(log);
      nodes.push(n);
      return n;
    };
    after(async () => {
      for (const n of nodes) await n.close();
    });

    it("finds every position equal on a node holding the same log (and more), asking ≤ 1000 at a time", async () => {
      const extra = txSigner.sign(3).map((raw, i) => ({ position: 2_500 + i, txHash: keccak256(raw), raw }));
      const node = await fake([...asLog(stream), ...extra]);
      const result = await compareWithNode(node.url, stream);
      expect(result).to.deep.equal({ url: node.url, matched: 2_500, difference: null });
      expect(node.calls).to.deep.equal([[0, 1000], [1000, 1000], [2000, 500]]);
      expect(describeDifference(result)).to.contain("all 2500 positions equal");
    });

    it("reports the first position where the node holds another transaction", async () => {
      const log = asLog(stream);
      const other = txSigner.sign(1)[0]!;
      log[1_234] = { position: 1_234, txHash: keccak256(other), raw: other };
      log[2_000] = { position: 2_000, txHash: keccak256(other), raw: other };
      const node = await fake(log);
      const result = await compareWithNode(node.url, stream);
      expect(result.matched).to.equal(1_234);
      expect(result.difference).to.deep.equal({ position: 1_234n, l1: stream[1_234], node: { txHash: keccak256(other), raw: other } });
      expect(describeDifference(result)).to.contain("position 1234 differs").and.contain(stream[1_234]!.txHash);
    });

    it("catches different bytes under the same hash, and a node whose log stops short", async () => {
      const log = asLog(stream);
      log[7] = { ...log[7]!, raw: `${log[7]!.raw.slice(0, -2)}00` as Hex };
      const bytes = await compareWithNode((await fake(log)).url, stream);
      expect(bytes.difference?.position).to.equal(7n);
      expect(describeDifference(bytes)).to.contain("same hash, different bytes");

      const short = await compareWithNode((await fake(asLog(stream.slice(0, 1_999)))).url, stream);
      expect(short.matched).to.equal(1_999);
      expect(short.difference).to.deep.equal({ position: 1_999n, l1: stream[1_999], node: null });
      expect(describeDifference(short)).to.contain("the node has nothing");
    });
  });
});
