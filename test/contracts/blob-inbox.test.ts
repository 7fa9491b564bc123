/**
 * BatchInbox in blob mode (format v3) on an Anvil, whose chain takes EIP-4844 transactions: a
 * batch whose data references exactly its transaction's blobs is accepted; a wrong versioned
 * hash, a blob the data does not reference and a malformed reference are refused. Compressed
 * (v2) calldata is bound by its hash alone.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { bytesToHex, concatHex, createWalletClient, custom, defineChain, encodeFunctionData, hexToBytes, parseGwei, toBlobs, toHex, type Hex, type PublicClient } from "viem";
import { PROBE_BLOB_VERSIONED_HASH, l1AcceptsBlobs } from "../../node/l1/inbox-writer.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { blobKzg, nodeBlobSource, toBlobCarrier, versionedHashesOf } from "../../node/l1/blobs.js";
import { revertOf } from "../../node/l1/revert.js";
import { encodeBatchData } from "../../node/batching/format.js";
import { compressBatchData } from "../../node/batching/compression.js";
import type { BatchHeader } from "../../node/commitments/typed-data.js";
import type { LocalChain } from "../../scripts/lib/devnet.js";
import { startAnvil } from "../fixtures/anvil.js";
import { deploySequencer, fakeTxs, type SequencerFixture } from "./helpers/sequencer.js";

describe("BatchInbox blob batches (Anvil)", function () {
  this.timeout(120_000);
  let anvil: LocalChain;
  let f: SequencerFixture;

  before(async () => {
    anvil = await startAnvil();
    f = await deploySequencer(3, { connection: anvil.connection });
  });
  after(async () => {
    await anvil?.close();
  });

  const payloadOf = (txs: readonly Hex[]) => compressBatchData(encodeBatchData(txs.map((t) => hexToBytes(t))));

  /** Batch 1 over `txs` with `data` as its batch data, signed by a quorum. */
  async function batch1(txs: readonly Hex[], data: Hex) {
    const b = f.makeBatch({ epoch: f.epoch, batchNumber: 1n, prevBatchHash: f.ZERO_HASH, firstPosition: 0n, txs, data });
    return { ...b, signatures: await f.signHeader(b.header) };
  }

  const input = (header: BatchHeader, data: Hex, signatures: readonly Hex[]) =>
    encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [header, data, [...signatures]] });

  /** The custom error `submitBatch` reverts with when its transaction carries blobs of `versionedHashes` (eth_call). */
  async function revertWithBlobs(header: BatchHeader, data: Hex, signatures: readonly Hex[], versionedHashes: readonly Hex[]) {
    try {
      await f.publicClient.request({
        method: "eth_call",
        params: [
          {
            from: f.batcher().address,
            to: f.inbox.address,
            data: input(header, data, signatures),
            ...(versionedHashes.length === 0 ? {} : { blobVersionedHashes: [...versionedHashes], maxFeePerBlobGas: toHex(parseGwei("10")) }),
          } as never,
          "latest",
        ],
      });
    } catch (error) {
      return revertOf(error);
    }
    throw new Error("submitBatch did not revert");
  }

  function wallet() {
    const chain = defineChain({ id: f.chainId, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } });
    return createWalletClient({ account: f.batcher(), chain, transport: custom(f.connection.provider) });
  }

  it("the auto data mode's probe: Anvil takes a blob transaction, the in-process Hardhat chain neither takes nor serves blobs (the fixed probe blob hashes right)", async () => {
    expect(versionedHashesOf(toBlobs({ data: "0x01" }))).to.deep.equal([PROBE_BLOB_VERSIONED_HASH]);
    expect(await l1AcceptsBlobs(f.publicClient as unknown as PublicClient, f.batcher().address, parseGwei("10"))).to.equal(true);
    const hardhat = await network.create();
    try {
      const client = (await hardhat.viem.getPublicClient()) as unknown as PublicClient;
      expect(await l1AcceptsBlobs(client, f.batcher().address, parseGwei("10"))).to.equal(false);
      // Nor does it serve blobs: a reader gets none (an unreadable batch), not an error retried forever.
      expect(await nodeBlobSource(client)(PROBE_BLOB_VERSIONED_HASH)).to.equal(undefined);
    } finally {
      await hardhat.close();
    }
  });

  it("refuses a wrong versioned hash, an unreferenced blob and a malformed reference, and nothing changes", async () => {
    const txs = fakeTxs(30, "blob-refused", 120);
    const carrier = toBlobCarrier(payloadOf(txs));
    const [hash0] = carrier.versionedHashes;
    const other = versionedHashesOf(toBlobCarrier(payloadOf(fakeTxs(3, "other"))).blobs);
    const b = await batch1(txs, bytesToHex(carrier.data));
    expect(await revertWithBlobs(b.header, b.data, b.signatures, other)).to.deep.equal({ errorName: "BlobHashMismatch", args: [0n, hash0, other[0]] });
    expect(await revertWithBlobs(b.header, b.data, b.signatures, [])).to.deep.equal({ errorName: "BlobHashMismatch", args: [0n, hash0, f.ZERO_HASH] });
    expect(await revertWithBlobs(b.header, b.data, b.signatures, [...carrier.versionedHashes, other[0]!])).to.deep.equal({ errorName: "UnreferencedBlob", args: [1n] });
    const malformed = concatHex(["0x03", hash0!.slice(0, 64) as Hex]);
    const m = await batch1(txs, malformed);
    expect(await revertWithBlobs(m.header, m.data, m.signatures, carrier.versionedHashes)).to.deep.equal({ errorName: "MalformedBlobReference", args: [32n] });
    const empty = await batch1(txs, "0x03");
    expect(await revertWithBlobs(empty.header, empty.data, empty.signatures, [])).to.deep.equal({ errorName: "MalformedBlobReference", args: [1n] });

    // Sent for real (gas given, so nothing is estimated first): mined, reverted, no batch.
    const hash = await wallet().sendTransaction({ to: f.inbox.address, data: input(b.header, b.data, b.signatures), blobs: toBlobCarrier(payloadOf(fakeTxs(3, "other"))).blobs, kzg: blobKzg(), gas: 1_000_000n, maxFeePerBlobGas: parseGwei("10") });
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("reverted");
    expect(await f.inbox.read.batchCount()).to.equal(0n);
  });

  it("accepts a blob transaction whose data references exactly its blobs (several of them), with the header's root and range on chain", async () => {
    // ~180 kB of v1 data that compresses poorly: two blobs.
    const txs = fakeTxs(1_400, "blob-accepted", 128);
    const carrier = toBlobCarrier(payloadOf(txs));
    expect(carrier.blobs).to.have.length(2);
    const b = await batch1(txs, bytesToHex(carrier.data));
    const hash = await wallet().sendTransaction({ to: f.inbox.address, data: input(b.header, b.data, b.signatures), blobs: carrier.blobs, kzg: blobKzg(), maxFeePerBlobGas: parseGwei("10") });
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    expect(receipt.blobGasUsed).to.equal(2n * 131_072n);
    expect(await f.inbox.read.batchCount()).to.equal(1n);
    expect((await f.inbox.read.batch([1n])).merkleRoot).to.equal(b.header.merkleRoot);
  });

  it("accepts compressed (v2) calldata by its dataHash alone: the root rests on the signers (docs/contracts.md)", async () => {
    const [, last] = await f.inbox.read.lastBatch();
    const txs = fakeTxs(20, "v2-calldata", 100);
    const b = f.makeBatch({ epoch: f.epoch, batchNumber: 2n, prevBatchHash: last.batchHash, firstPosition: last.lastPosition + 1n, txs, data: bytesToHex(payloadOf(txs)) });
    const hash = await f.submitBatch([b.header, b.data, await f.signHeader(b.header)]);
    expect((await f.publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    expect(await f.inbox.read.batchCount()).to.equal(2n);
  });
});
