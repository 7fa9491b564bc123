/** Batch data format v1 and header derivation: what a derivation pipeline and every member rely on. */
import { expect } from "chai";
import fc from "fast-check";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toHex, type Hex } from "viem";
import {
  BATCH_FORMAT_VERSION,
  BatchFormatError,
  BatchHistoryMissingError,
  batchTxHashes,
  buildBatch,
  decodeBatchData,
  deriveBatch,
  encodeBatchData,
  encodedBatchSize,
  encodedTxSize,
  nextPrevHash,
  storedBatchHash,
  toBatchHeader,
} from "../../node/batching/index.js";
import { ZERO_HASH, batchHash, buildPositionalTree, merkleRoot, leafHashHex, verifyMerkleProof, merkleProof } from "../../node/commitments/index.js";
import { NodeStore } from "../../node/storage/index.js";
import { decodeAppRecord, encodeAppRecord } from "../../node/domain/records.js";
import { decodeSignatureRequest, decodeSignatureResponse, encodeSignatureRequest, encodeSignatureResponse } from "../../node/batching/wire.js";
import { CodecError } from "../../node/codec/index.js";

function expectFormatError(data: Uint8Array, message: RegExp, expectedCount?: number): void {
  expect(() => decodeBatchData(data, expectedCount)).to.throw(BatchFormatError, message);
}

describe("batch data format v1", () => {
  const txs = [Uint8Array.of(2, 1, 2, 3), new Uint8Array(200).fill(7), Uint8Array.of(0xf8)];

  it("encodes version, LEB128 count and length-prefixed raw transactions, and decodes them back", () => {
    const data = encodeBatchData(txs);
    // 0x01 | count 3 | 4, 02 01 02 03 | 200 = c8 01, ... | 1, f8
    expect(toHex(data.subarray(0, 7))).to.equal("0x01030402010203");
    expect(toHex(data.subarray(7, 9))).to.equal("0xc801");
    expect(data.length).to.equal(1 + 1 + 5 + 202 + 2);
    expect(data.length).to.equal(encodedBatchSize(3, txs.reduce((n, t) => n + encodedTxSize(t), 0)));
    expect(data[0]).to.equal(BATCH_FORMAT_VERSION);
    expect(decodeBatchData(data, 3)).to.deep.equal(txs);
    expect(batchTxHashes(decodeBatchData(data))).to.deep.equal(txs.map((t) => keccak256(t)));
  });

  it("rejects every malformed payload with a BatchFormatError that says what is wrong", () => {
    const good = encodeBatchData(txs);
    expectFormatError(new Uint8Array(0), /empty/);
    expectFormatError(Uint8Array.of(2, ...good.subarray(1)), /version 2 is not supported/);
    expectFormatError(Uint8Array.of(1), /truncated reading transaction count/);
    expectFormatError(Uint8Array.of(1, 0), /no transactions/);
    expectFormatError(good.subarray(0, good.length - 1), /truncated reading transaction 2/);
    expectFormatError(Uint8Array.of(...good, 0), /1 trailing bytes/);
    expectFormatError(Uint8Array.of(1, 1, 0), /cannot fit|transaction 0 is empty/);
    expectFormatError(Uint8Array.of(1, 2, 0, 5, 1, 9), /transaction 0 is empty/);
    expectFormatError(Uint8Array.of(1, 0x81, 0x00, 1, 9), /overlong/);
    expectFormatError(Uint8Array.of(1, 200, 1), /count 200 cannot fit/);
    expectFormatError(good, /holds 3 transactions, the header covers 4 positions/, 4);
    expect(() => encodeBatchData([])).to.throw(BatchFormatError, /at least one/);
    expect(() => encodeBatchData([Uint8Array.of(1), new Uint8Array(0)])).to.throw(BatchFormatError, /transaction 1 is empty/);
  });

  it("round-trips any list of non-empty transactions; arbitrary bytes decode or fail only with BatchFormatError", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 40 }), (list) => {
        const decoded = decodeBatchData(encodeBatchData(list), list.length);
        expect(decoded.map((t) => toHex(t))).to.deep.equal(list.map((t) => toHex(t)));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const decoded = decodeBatchData(bytes);
          // Whatever decodes re-encodes to the very same bytes: the format is canonical.
          expect(toHex(encodeBatchData(decoded))).to.equal(toHex(bytes));
        } catch (error) {
          expect(error).to.be.instanceOf(BatchFormatError);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("batch headers derived from the node's log", () => {
  let dir: string;
  let store: NodeStore;
  const raw = (p: number) => Uint8Array.of(2, p & 0xff, (p >> 8) & 0xff, 9);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "seq-batch-header-"));
    store = await NodeStore.open(path.join(dir, "db"));
    const txs = Array.from({ length: 10 }, (_, p) => ({ hash: keccak256(raw(p)), data: raw(p) }));
    const entries = [
      { index: 1, term: 1, kind: "txs" as const, firstPosition: 0, txs: txs.slice(0, 6) },
      { index: 2, term: 1, kind: "txs" as const, firstPosition: 6, txs: txs.slice(6) },
    ];
    await store.persistReady({ entries, hardState: { term: 1, vote: null, commit: 2 } });
    await store.applyCommitted(entries);
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("builds the header the inbox and the slashing contract expect: positional root, dataHash of v1 data, hash chain", async () => {
    const first = buildBatch({ epoch: 3, batchNumber: 1, prevBatchHash: nextPrevHash(undefined), firstPosition: 0 }, [0, 1, 2, 3].map((p) => ({ hash: keccak256(raw(p)), data: raw(p) })));
    expect(first.header.prevBatchHash).to.equal(ZERO_HASH);
    expect(first.header.lastPosition).to.equal(3);
    expect(first.header.dataHash).to.equal(keccak256(encodeBatchData([0, 1, 2, 3].map(raw))));
    const hashes = [0, 1, 2, 3].map((p) => keccak256(raw(p)));
    expect(first.header.merkleRoot).to.equal(merkleRoot(buildPositionalTree(0, hashes)));
    // A leaf proven against the root at its position: what a broken-commitment proof checks.
    const tree = buildPositionalTree(0, hashes);
    expect(verifyMerkleProof(leafHashHex(2, hashes[2]!), 2, 4, merkleProof(tree, 2), first.header.merkleRoot as Hex)).to.equal(true);

    const derived = await deriveBatch(store, first.header);
    expect(derived.header).to.deep.equal(first.header);
    expect(toHex(derived.data)).to.equal(toHex(first.data));

    const second = await deriveBatch(store, { ...first.header, batchNumber: 2, prevBatchHash: nextPrevHash(first.header), firstPosition: 4, lastPosition: 9 });
    expect(second.header.prevBatchHash).to.equal(storedBatchHash(first.header));
    expect(storedBatchHash(first.header)).to.equal(batchHash(toBatchHeader(first.header)));
    expect(toBatchHeader(first.header).lastPosition).to.equal(3n);
  });

  it("refuses to derive a range the node does not hold", async () => {
    const h = buildBatch({ epoch: 1, batchNumber: 1, prevBatchHash: ZERO_HASH, firstPosition: 8 }, [8, 9, 10].map((p) => ({ hash: keccak256(raw(p)), data: raw(p) }))).header;
    try {
      await deriveBatch(store, h);
      expect.fail("derived a range with a missing position");
    } catch (error) {
      expect(error).to.be.instanceOf(BatchHistoryMissingError);
      expect((error as BatchHistoryMissingError).missingFrom).to.equal(10);
    }
  });

  it("round-trips batch app records and signature request/response payloads, and rejects malformed ones", () => {
    const header = buildBatch({ epoch: 5, batchNumber: 7, prevBatchHash: keccak256("0x01"), firstPosition: 40 }, [{ hash: keccak256(raw(1)), data: raw(1) }]).header;
    expect(decodeAppRecord(encodeAppRecord({ kind: "batchCut", header }))).to.deep.equal({ kind: "batchCut", header });
    const posted = { batchNumber: 7, batchHash: keccak256("0x02"), l1Block: 123_456, l1TxHash: keccak256("0x03") };
    expect(decodeAppRecord(encodeAppRecord({ kind: "batchPosted", posted }))).to.deep.equal({ kind: "batchPosted", posted });
    expect(decodeSignatureRequest(encodeSignatureRequest(header))).to.deep.equal(header);
    const sig = `0x${"ab".repeat(64)}1c` as Hex;
    expect(decodeSignatureResponse(encodeSignatureResponse(sig))).to.equal(sig);
    const req = encodeSignatureRequest(header);
    expect(() => decodeSignatureRequest(req.subarray(0, req.length - 1))).to.throw(CodecError);
    expect(() => decodeSignatureRequest(Uint8Array.of(...req, 0))).to.throw(CodecError, /trailing/);
    expect(() => decodeSignatureResponse(new Uint8Array(64))).to.throw(CodecError);
  });
});
