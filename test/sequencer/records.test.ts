/** What members exchange beside Raft messages: certificate records and history chunks. */
import { expect } from "chai";
import { CodecError, Reader, Writer } from "../../node/codec/index.js";
import { readStoredBatch, writeHeaderFields, writePostedMark, writeStoredBatch } from "../../node/domain/types.js";
import { decodeAppRecord, encodeAppRecord } from "../../node/domain/records.js";
import { SLOT_KEY_BYTES, decodePositionRecord, encodePositionRecord } from "../../node/domain/positions.js";
import { decodeHistoryRequest, decodeHistoryResponse, encodeHistoryRequest, encodeHistoryResponse, HISTORY_CHUNK } from "../../node/sequencer/history.js";

const certificate = {
  epoch: 3,
  term: 7,
  firstPosition: 100,
  lastPosition: 163,
  merkleRoot: `0x${"ab".repeat(32)}` as const,
  signature: `0x${"cd".repeat(64)}1b` as const,
};

describe("sequencer app records and history chunks", () => {
  it("round-trips a certificate record", () => {
    expect(decodeAppRecord(encodeAppRecord({ kind: "certificate", certificate }))).to.deep.equal({ kind: "certificate", certificate });
  });

  it("round-trips a batch-signatures record and refuses a truncated signature", () => {
    const record = { kind: "batchSigned" as const, batchNumber: 7, batchHash: `0x${"ef".repeat(32)}` as const, signatures: [certificate.signature, `0x${"12".repeat(64)}1c` as const] };
    const bytes = encodeAppRecord(record);
    expect(decodeAppRecord(bytes)).to.deep.equal(record);
    expect(() => decodeAppRecord(bytes.subarray(0, bytes.length - 1))).to.throw(CodecError);
  });

  it("reads a stored batch with or without the quorum's signatures, and a legacy snapshot's without", () => {
    const header = { epoch: 2, batchNumber: 5, prevBatchHash: certificate.merkleRoot, firstPosition: 10, lastPosition: 19, merkleRoot: certificate.merkleRoot, dataHash: certificate.merkleRoot };
    const posted = { batchHash: certificate.merkleRoot, l1Block: 44, l1TxHash: certificate.merkleRoot };
    for (const b of [{ header }, { header, posted }, { header, posted, signatures: [certificate.signature] }]) {
      const w = new Writer();
      writeStoredBatch(w, b);
      const r = new Reader(w.finish(), "batch");
      expect(readStoredBatch(r)).to.deep.equal(b);
      r.end();
    }
    // Written before the signatures existed: header and posted mark only.
    const old = new Writer();
    writeHeaderFields(old, header);
    old.bool(true);
    writePostedMark(old, posted);
    const bytes = old.finish();
    expect(readStoredBatch(new Reader(bytes, "batch"))).to.deep.equal({ header, posted });
    // Two in a row, as a version-1 snapshot holds them.
    const twice = new Reader(Uint8Array.of(...bytes, ...bytes), "snapshot");
    expect([readStoredBatch(twice, true), readStoredBatch(twice, true)]).to.deep.equal([{ header, posted }, { header, posted }]);
    twice.end();
  });

  it("round-trips a batch-adopted record (an escape batch taken in from L1), its header and posting", () => {
    const header = { epoch: 3, batchNumber: 9, prevBatchHash: `0x${"01".repeat(32)}` as const, firstPosition: 40, lastPosition: 41, merkleRoot: `0x${"02".repeat(32)}` as const, dataHash: `0x${"03".repeat(32)}` as const };
    const record = { kind: "batchAdopted" as const, header, posted: { batchNumber: 9, batchHash: `0x${"04".repeat(32)}` as const, l1Block: 120, l1TxHash: `0x${"05".repeat(32)}` as const } };
    expect(decodeAppRecord(encodeAppRecord(record))).to.deep.equal(record);
  });

  it("round-trips the DKG records and refuses an unknown phase", () => {
    const message = { kind: "dkgMessage" as const, epoch: 4, member: 2, message: Uint8Array.of(3, 1, 4, 1, 5), signature: certificate.signature };
    expect(decodeAppRecord(encodeAppRecord(message))).to.deep.equal(message);
    for (const phase of ["complaining", "justifying", "done"] as const) {
      expect(decodeAppRecord(encodeAppRecord({ kind: "dkgPhase", epoch: 4, phase }))).to.deep.equal({ kind: "dkgPhase", epoch: 4, phase });
    }
    const bytes = encodeAppRecord({ kind: "dkgPhase", epoch: 4, phase: "done" });
    expect(() => decodeAppRecord(Uint8Array.of(...bytes.subarray(0, -1), 3))).to.throw(CodecError, "unknown DKG phase");
  });

  it("rejects truncated, unknown-version and unknown-kind records with CodecError", () => {
    const bytes = encodeAppRecord({ kind: "certificate", certificate });
    expect(() => decodeAppRecord(bytes.subarray(0, bytes.length - 1))).to.throw(CodecError);
    expect(() => decodeAppRecord(Uint8Array.of(2, ...bytes.subarray(1)))).to.throw(CodecError, "version 2");
    expect(() => decodeAppRecord(Uint8Array.of(1, 11))).to.throw(CodecError, "unknown app record kind 11");
  });

  it("round-trips a key release record and the encrypted flow's position records; a transaction is none", () => {
    const release = { kind: "keyRelease" as const, epoch: 3, slot: 9, member: 2, release: Uint8Array.of(1, 2, 3), signature: `0x${"ab".repeat(65)}` as const };
    expect(decodeAppRecord(encodeAppRecord(release))).to.deep.equal(release);
    const key = new Uint8Array(SLOT_KEY_BYTES).fill(7);
    for (const record of [{ kind: "close", epoch: 3, slot: 9 }, { kind: "slotKey", epoch: 3, slot: 9, key }, { kind: "undecryptable", epoch: 3, slot: 9 }] as const) {
      expect(decodePositionRecord(encodePositionRecord(record))).to.deep.equal(record);
    }
    expect(decodePositionRecord(encodePositionRecord({ kind: "ciphertext", ciphertext: Uint8Array.of(1, 2) }))).to.deep.equal({ kind: "ciphertext", ciphertext: Uint8Array.of(1, 2) });
    expect(() => decodePositionRecord(Uint8Array.of(0xb2, 1, 2))).to.throw(CodecError);
    // Typed transactions start below 0x80, legacy ones at 0xc0 or above.
    for (const first of [0x02, 0x7f, 0xc0, 0xf8]) expect(decodePositionRecord(Uint8Array.of(first, 1))).to.equal(undefined);
  });

  it("round-trips history chunks and caps the requested count", () => {
    const txs = [0, 1, 2].map((i) => ({ position: 40 + i, index: 12, term: 2, hash: `0x${String(i).repeat(64)}` as const, data: Uint8Array.of(2, i, 255) }));
    expect(decodeHistoryResponse(encodeHistoryResponse(txs))).to.deep.equal(txs);
    expect(decodeHistoryRequest(encodeHistoryRequest(40, 5))).to.deep.equal({ from: 40, count: 5 });
    expect(decodeHistoryRequest(encodeHistoryRequest(0, 1e9)).count).to.equal(HISTORY_CHUNK);
  });

  it("rejects a history response that claims more transactions than it carries", () => {
    const bytes = encodeHistoryResponse([{ position: 1, index: 1, term: 1, hash: `0x${"11".repeat(32)}`, data: Uint8Array.of(1) }]);
    const lying = Uint8Array.of(5, ...bytes.subarray(1));
    expect(() => decodeHistoryResponse(lying)).to.throw(CodecError);
  });
});
