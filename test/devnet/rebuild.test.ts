import { expect } from "chai";
import { type Hex, type PublicClient, bytesToHex, createWalletClient, custom, defineChain, encodeFunctionData, hexToBytes, keccak256, parseGwei } from "viem";
import { buildBatch, toBatchHeader, type BatchEncoding } from "../../node/batching/header.js";
import { blobKzg, toBlobCarrier } from "../../node/l1/blobs.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import type { LocalChain } from "../../scripts/lib/devnet.js";
import { startAnvil } from "../fixtures/anvil.js";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";
import { RebuildError, compareWithNode, describeDifference, rebuildFromL1, streamOfBatches, type StreamTx } from "../../scripts/lib/rebuild.js";
import { batchDataOf, deploySequencer } from "../contracts/helpers/sequencer.js";
import { relayedLooking } from "../l1/edited-transactions.js";
import { startFakeNode, type FakeLogEntry, type FakeNode } from "./fake-node.js";

const txSigner = new LoadSigner({ chainId: 901, senders: 3, txBytes: 120, seed: 7 });

/** A deployment with 3 staked operators where the test posts batches of real signed transactions. */
async function chainWithBatches(sizes: number[]) {
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
    const header = built.header;
    const hash = await f.submitBatch([header, built.data, await f.signHeader(header)]);
    expect((await f.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    raws.forEach((raw, k) => expected.push({ position: firstPosition + BigInt(k), txHash: keccak256(raw), raw }));
    prev = header;
  }
  return { f, client, expected };
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

    it("S3: reports an unreadable batch as a gap with its positions and rebuilds the batches after it", async () => {
      const { f, client, expected } = await chainWithBatches([3, 2, 4]);
      const { batches } = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
      const second = batches[1]!;
      if (!second.readable) throw new Error("batch 2 unreadable");
      // Batch 2 as a batch relayed through a contract looks: on da717cf rebuildFromL1 threw here.
      const stream = await rebuildFromL1(relayedLooking(client, second.l1TxHash, f.outsider.account.address), { inbox: f.inbox.address, deploymentBlock: 0n });
      expect(stream.batches.map((b) => [b.batchNumber, b.readable])).to.deep.equal([[1n, true], [2n, false], [3n, true]]);
      expect(stream.gaps).to.have.length(1);
      expect(stream.gaps[0]).to.deep.include({
        batchNumber: 2n,
        firstPosition: 3n,
        lastPosition: 4n,
        dataHash: second.header.dataHash,
        merkleRoot: second.header.merkleRoot,
        l1BlockNumber: second.l1BlockNumber,
        l1TxHash: second.l1TxHash,
      });
      expect(stream.gaps[0]!.reason).to.contain("not the inbox");
      // Batch 3 is rebuilt, and chained to batch 2 through the event's hash.
      expect(stream.txs).to.deep.equal([...expected.slice(0, 3), ...expected.slice(5)]);
    });

    it("reports a batch whose data contradicts its header (what an inbox before S6 took) as a gap, and goes on", async () => {
      const { f, client, expected } = await chainWithBatches([2, 3, 1]);
      const { batches } = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
      const [b1, b2, b3] = batches.map((b) => {
        if (!b.readable) throw new Error(`batch ${b.batchNumber} unreadable`);
        return b;
      });
      const otherTxs = txSigner.sign(3);
      const contradicting = { ...b2!, payload: batchDataOf(otherTxs) };
      const short = { ...b2!, payload: batchDataOf(otherTxs.slice(0, 2)) };
      for (const [bad, reason] of [
        [contradicting, "the Merkle root of its transactions is"],
        [short, "does not decode as 3 transactions"],
      ] as const) {
        const { txs, gaps } = streamOfBatches([b1!, bad, b3!], true);
        expect(gaps.map((g) => [g.batchNumber, g.firstPosition, g.lastPosition])).to.deep.equal([[2n, 2n, 4n]]);
        expect(gaps[0]!.reason).to.contain(reason);
        expect(txs).to.deep.equal([...expected.slice(0, 2), ...expected.slice(5)]);
      }
    });

    it("refuses a batch that does not chain to an unreadable one's hash", async () => {
      const { f, client } = await chainWithBatches([1, 1, 1]);
      const { batches } = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
      const second = batches[1]!;
      const relayed = await rebuildFromL1(relayedLooking(client, second.l1TxHash, f.outsider.account.address), { inbox: f.inbox.address, deploymentBlock: 0n });
      const unreadable = relayed.batches[1]!;
      if (unreadable.readable) throw new Error("batch 2 was read");
      const forged = { ...unreadable, accepted: { ...unreadable.accepted, batchHash: keccak256(unreadable.accepted.batchHash) } };
      expect(() => streamOfBatches([relayed.batches[0]!, forged, relayed.batches[2]!], true)).to.throw(RebuildError, "is not the hash of batch 2");
    });

    it("refuses a stream with a missing batch, or one not starting at batch 1 when read from the deployment", async () => {
      const { f, client } = await chainWithBatches([1, 1, 1]);
      const { batches } = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
      expect(() => streamOfBatches([batches[0]!, batches[2]!], true)).to.throw(RebuildError, "batch numbers have a gap");
      expect(() => streamOfBatches(batches.slice(1), true)).to.throw(RebuildError, "must be batch 1 at position 0");
      // From a later block the stream may start anywhere, as long as it chains.
      expect(streamOfBatches(batches.slice(1), false).txs.map((t) => t.position)).to.deep.equal([1n, 2n]);
      const later = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n, fromBlock: batches[1]!.l1BlockNumber });
      expect(later.firstPosition).to.equal(1n);
      expect(later.txs).to.have.length(2);
    });
  });

  describe("blob and compressed batches (Anvil)", () => {
    let anvil: LocalChain;
    before(async () => {
      anvil = await startAnvil();
    });
    after(async () => {
      await anvil?.close();
    });

    it("rebuilds v1 and v2 calldata and blob batches (v2 and v1 in blobs, several per transaction) to the exact list; blobs the source lacks are a gap", async () => {
      const f = await deploySequencer(3, { connection: anvil.connection });
      const client = f.publicClient as unknown as PublicClient;
      const chain = defineChain({ id: f.chainId, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } });
      const wallet = createWalletClient({ account: f.batcher(), chain, transport: custom(f.connection.provider) });
      const expected: StreamTx[] = [];
      let prev: BatchHeader | undefined;
      // Each batch's payload and, for blob batches, its blobs.
      const encodings: BatchEncoding[] = [{ compress: false }, { compress: true }, { compress: true, maxBlobs: 6 }, { compress: false, maxBlobs: 6 }];
      const sizes = [5, 40, 3_000, 30];
      for (const [i, encoding] of encodings.entries()) {
        const raws = txSigner.sign(sizes[i]!);
        const firstPosition = prev === undefined ? 0n : prev.lastPosition + 1n;
        const built = buildBatch(
          { epoch: Number(f.epoch), batchNumber: i + 1, prevBatchHash: prev === undefined ? f.ZERO_HASH : batchHash(prev), firstPosition: Number(firstPosition) },
          raws.map((raw) => ({ hash: keccak256(raw), data: hexToBytes(raw) })),
          encoding,
        );
        const header = toBatchHeader(built.header);
        const args = [header, bytesToHex(built.data), await f.signHeader(header)] as const;
        const hash =
          built.blobs === undefined
            ? await f.submitBatch(args)
            : await wallet.sendTransaction({ to: f.inbox.address, data: encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [...args] }), blobs: built.blobs.blobs, kzg: blobKzg(), maxFeePerBlobGas: parseGwei("10") });
        expect((await f.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
        raws.forEach((raw, k) => expected.push({ position: firstPosition + BigInt(k), txHash: keccak256(raw), raw }));
        prev = header;
      }
      const stream = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n });
      expect(stream.gaps).to.deep.equal([]);
      expect(stream.txs).to.deep.equal(expected);
      expect(stream.batches.map((b) => (b.readable ? [b.data.slice(0, 4), b.blobs] : []))).to.deep.equal([["0x01", 0], ["0x02", 0], ["0x03", 2], ["0x03", 1]]);

      // A reader whose blob source has pruned them: the blob batches are gaps, the rest is rebuilt.
      const pruned = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n, blobSource: async () => undefined });
      expect(pruned.gaps.map((g) => g.batchNumber)).to.deep.equal([3n, 4n]);
      expect(pruned.gaps[0]!.reason).to.contain("the blob source does not have its blobs");
      expect(pruned.txs).to.deep.equal(expected.slice(0, 45));
      // A source serving other blobs: their versioned hashes give them away.
      const [, , third] = stream.batches;
      const wrong = await rebuildFromL1(client, { inbox: f.inbox.address, deploymentBlock: 0n, blobSource: async (tx) => (tx === third!.l1TxHash ? toBlobCarrier(new Uint8Array(200_000).fill(7)).blobs : undefined) });
      expect(wrong.gaps[0]).to.deep.include({ batchNumber: 3n });
      expect(wrong.gaps[0]!.reason).to.match(/blob 0 has versioned hash 0x01[0-9a-f]+, the batch references/);
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

    it("skips a stream's gaps (an unreadable batch), asking for each run of contiguous positions", async () => {
      const node = await fake(asLog(stream));
      const withGap = [...stream.slice(0, 1_200), ...stream.slice(1_300)];
      expect(await compareWithNode(node.url, withGap)).to.deep.equal({ url: node.url, matched: 2_400, difference: null });
      expect(node.calls).to.deep.equal([[0, 1000], [1000, 200], [1300, 1000], [2300, 200]]);
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
