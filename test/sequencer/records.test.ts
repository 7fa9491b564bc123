/** What members exchange beside Raft messages: certificate records and history chunks. */
import { expect } from "chai";
import { CodecError } from "../../node/codec/index.js";
import { decodeAppRecord, encodeAppRecord } from "../../node/domain/records.js";
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

  it("rejects truncated, unknown-version and unknown-kind records with CodecError", () => {
    const bytes = encodeAppRecord({ kind: "certificate", certificate });
    expect(() => decodeAppRecord(bytes.subarray(0, bytes.length - 1))).to.throw(CodecError);
    expect(() => decodeAppRecord(Uint8Array.of(2, ...bytes.subarray(1)))).to.throw(CodecError, "version 2");
    expect(() => decodeAppRecord(Uint8Array.of(1, 9))).to.throw(CodecError, "unknown app record kind 9");
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
