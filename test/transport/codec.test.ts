import { expect } from "chai";
import fc from "fast-check";
import type { Message } from "../../node/consensus/types.js";
import {
  CodecError,
  Writer,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeRpcRequest,
  decodeRpcResponse,
  decodeSnapshot,
  decodeSubmitRequest,
  decodeSubmitResponse,
  SUBMIT_FAILURES,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeRpcRequest,
  encodeRpcResponse,
  encodeSnapshot,
  encodeSubmitRequest,
  encodeSubmitResponse,
  MESSAGE_CODEC_VERSION,
} from "../../node/codec/index.js";
import { entry, hardState, message, snapshot } from "./arbitraries.js";
import { appendMessage } from "../../scripts/bench/lib/messages.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Decoding arbitrary bytes may succeed or throw CodecError, nothing else; success must be canonical. */
function expectDecodesOrCodecError<T>(bytes: Uint8Array, decode: (b: Uint8Array) => T, encode: (v: T) => Uint8Array): void {
  let value: T;
  try {
    value = decode(bytes);
  } catch (err) {
    if (!(err instanceof CodecError)) throw new Error(`decode threw ${String(err)} instead of CodecError`, { cause: err });
    return;
  }
  expect(hex(encode(value))).to.equal(hex(bytes));
}

describe("codec", () => {
  describe("round trips", () => {
    it("every Message variant", () => {
      fc.assert(fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).to.deep.equal(m);
      }), { numRuns: 2_000 });
    });

    it("entries, snapshots and hard state", () => {
      fc.assert(fc.property(entry, (e) => {
        expect(decodeEntry(encodeEntry(e))).to.deep.equal(e);
      }), { numRuns: 1_000 });
      fc.assert(fc.property(snapshot, (s) => {
        expect(decodeSnapshot(encodeSnapshot(s))).to.deep.equal(s);
      }), { numRuns: 300 });
      fc.assert(fc.property(hardState, (h) => {
        expect(decodeHardState(encodeHardState(h))).to.deep.equal(h);
      }), { numRuns: 300 });
    });

    it("keeps present-but-empty optional fields distinct from absent ones", () => {
      const withEmpty = { index: 1, term: 1, kind: "txs" as const, firstPosition: 0, txs: [] };
      const without = { index: 1, term: 1, kind: "noop" as const, firstPosition: 0 };
      expect(decodeEntry(encodeEntry(withEmpty))).to.deep.equal(withEmpty);
      expect(decodeEntry(encodeEntry(without))).to.not.have.property("txs");
    });

    it("rpc and submission envelopes", () => {
      const bytes = fc.uint8Array({ maxLength: 200 });
      fc.assert(
        fc.property(fc.constantFrom("submit" as const, "batchSignature" as const), bytes, (kind, payload) => {
          expect(decodeRpcRequest(encodeRpcRequest({ kind, payload }))).to.deep.equal({ kind, payload });
        }),
      );
      fc.assert(
        fc.property(
          fc.oneof(
            bytes.map((payload) => ({ ok: true as const, payload })),
            fc.record({
              ok: fc.constant(false as const),
              code: fc.constantFrom("busy" as const, "unsupported" as const, "malformed" as const, "handler-failed" as const),
              message: fc.string({ maxLength: 50 }),
            }),
          ),
          (res) => {
            expect(decodeRpcResponse(encodeRpcResponse(res))).to.deep.equal(res);
          },
        ),
      );
      fc.assert(fc.property(bytes, (rawTx) => {
        expect(decodeSubmitRequest(encodeSubmitRequest({ rawTx }))).to.deep.equal({ rawTx });
      }));
      fc.assert(
        fc.property(
          fc.oneof(
            bytes.map((result) => ({ ok: true as const, result })),
            fc.record(
              { ok: fc.constant(false as const), failure: fc.constantFrom(...SUBMIT_FAILURES), message: fc.string({ maxLength: 50 }), reason: fc.string({ minLength: 1, maxLength: 20 }) },
              { requiredKeys: ["ok", "failure", "message"] },
            ),
          ),
          (res) => {
            expect(decodeSubmitResponse(encodeSubmitResponse(res))).to.deep.equal(res);
          },
        ),
      );
    });

    it("stake-weighted configurations, joint ones with both halves' weights", () => {
      const e18 = (tokens: bigint) => (tokens * 10n ** 18n).toString();
      const config = {
        voters: ["a", "b", "c"],
        weights: [e18(100_000n), e18(100n), "1"],
        outgoing: ["a", "d"],
        outgoingWeights: [e18(99_000n), (2n ** 256n - 1n).toString()],
        learners: ["e"],
      };
      const e = { index: 3, term: 2, kind: "config" as const, firstPosition: 9, config };
      expect(decodeEntry(encodeEntry(e))).to.deep.equal(e);
      const s = { meta: { index: 3, term: 2, nextPosition: 9, config: { voters: config.voters, weights: config.weights, learners: [] } }, data: new Uint8Array([1]) };
      expect(decodeSnapshot(encodeSnapshot(s))).to.deep.equal(s);
    });

    it("is compact: a 1,024 x 150-byte tx append costs under 2% over the raw tx bytes", () => {
      const bytes = encodeMessage(appendMessage("node-a", "node-b", 7, 1_024, 150));
      const raw = 1_024 * (150 + 32);
      expect(bytes.length).to.be.lessThan(raw * 1.02);
    });
  });

  describe("configurations written before weights", () => {
    // Frozen bytes of the layout before weights: ids, a 0/1 "outgoing" byte, outgoing ids, learners.
    // Entry 7 of term 3, kind config, firstPosition 4, flags FLAG_CONFIG;
    // config { voters: [a, b], outgoing: [c], learners: [d] }.
    const OLD_ENTRY = "0703020402" + "0201610162" + "01" + "010163" + "010164";
    const oldEntry = { index: 7, term: 3, kind: "config", firstPosition: 4, config: { voters: ["a", "b"], outgoing: ["c"], learners: ["d"] } };
    // Snapshot at 5 of term 2, nextPosition 3, config { voters: [a], learners: [] }, data 0xff.
    const OLD_SNAPSHOT = "050203" + "010161" + "00" + "00" + "01ff";

    it("decode to the same unweighted configuration (every voter counts 1)", () => {
      expect(decodeEntry(Buffer.from(OLD_ENTRY, "hex"))).to.deep.equal(oldEntry);
      expect(decodeSnapshot(Buffer.from(OLD_SNAPSHOT, "hex"))).to.deep.equal({
        meta: { index: 5, term: 2, nextPosition: 3, config: { voters: ["a"], learners: [] } },
        data: Uint8Array.of(0xff),
      });
    });

    it("unweighted configurations are still written byte for byte as before", () => {
      expect(hex(encodeEntry(oldEntry as never))).to.equal(OLD_ENTRY);
    });
  });

  describe("rejects bad values on encode", () => {
    it("weights that are not positive decimal integers, or do not match the voters", () => {
      const cfg = (c: object) => ({ index: 1, term: 1, kind: "config" as const, firstPosition: 0, config: { voters: ["a", "b"], learners: [], ...c } });
      for (const weights of [["1", "0"], ["1", "01"], ["1", "-2"], ["1", "1e3"], ["1", "9".repeat(79)], ["1"]]) {
        expect(() => encodeEntry(cfg({ weights })), JSON.stringify(weights)).to.throw(CodecError, /voter weight/);
      }
      expect(() => encodeEntry(cfg({ outgoingWeights: ["1", "1"] }))).to.throw(CodecError, /outgoing weights without outgoing voters/);
      expect(() => encodeEntry(cfg({ outgoing: ["a"], outgoingWeights: ["1", "1"] }))).to.throw(CodecError, /outgoing voter weight/);
    });

    it("uppercase, short or unprefixed tx hashes", () => {
      for (const hash of ["0x" + "AB".repeat(32), "0x" + "ab".repeat(31), "ab".repeat(33), "0x" + "zz".repeat(32)]) {
        const e = { index: 1, term: 1, kind: "txs" as const, firstPosition: 0, txs: [{ hash, data: new Uint8Array(1) }] };
        expect(() => encodeEntry(e)).to.throw(CodecError, /tx hash/);
      }
    });

    it("negative, fractional and unsafe integers", () => {
      for (const term of [-1, 1.5, Number.NaN, 2 ** 53]) {
        expect(() => encodeMessage({ type: "timeoutNow", from: "a", to: "b", term })).to.throw(CodecError, /message term/);
      }
    });
  });

  describe("malformed input", () => {
    const sample: Message = appendMessage("a", "b", 3, 4, 20);
    const good = encodeMessage(sample);

    it("every truncation of a valid message throws CodecError", () => {
      for (let n = 0; n < good.length; n++) expect(() => decodeMessage(good.subarray(0, n)), `prefix ${n}`).to.throw(CodecError);
    });

    it("trailing bytes, unknown versions, tags and flags throw CodecError", () => {
      expect(() => decodeMessage(Uint8Array.of(...good, 0))).to.throw(CodecError, /trailing/);
      expect(() => decodeMessage(Uint8Array.of(MESSAGE_CODEC_VERSION + 1, ...good.subarray(1)))).to.throw(CodecError, /version/);
      expect(() => decodeMessage(Uint8Array.of(MESSAGE_CODEC_VERSION, 0, ...good.subarray(2)))).to.throw(CodecError, /type tag/);
      const badFlags = encodeEntry({ index: 1, term: 1, kind: "noop", firstPosition: 0 });
      badFlags[badFlags.length - 1] = 0x80;
      expect(() => decodeEntry(badFlags)).to.throw(CodecError, /flags/);
      expect(() => decodeMessage(encodeMessage({ type: "voteResp", from: "a", to: "b", term: 1, granted: true }).map((b, i, a) => (i === a.length - 1 ? 2 : b)))).to.throw(
        CodecError,
        /granted/,
      );
        });

    it("unknown configuration flags and malformed weights throw CodecError", () => {
      // config entry, voters [a], then the flags byte and what follows it
      const entryWith = (tail: string) => Buffer.from("0101020002" + "010161" + tail, "hex");
      expect(decodeEntry(entryWith("02" + "0137" + "00")).config, "weight 7").to.deep.equal({ voters: ["a"], weights: ["7"], learners: [] });
      expect(() => decodeEntry(entryWith("08" + "00")), "unknown bit").to.throw(CodecError, /configuration flags/);
      expect(() => decodeEntry(entryWith("04" + "00")), "outgoing weights without outgoing").to.throw(CodecError, /configuration flags/);
      for (const weight of ["0130", "023037", "012d", "0141"]) {
        expect(() => decodeEntry(entryWith("02" + weight + "00")), weight).to.throw(CodecError, /voter weight/);
      }
      expect(() => decodeEntry(entryWith("02" + "4f" + "39".repeat(79) + "00")), "79 digits").to.throw(CodecError, /limit/);
    });

    it("overlong varints and invalid UTF-8 throw CodecError", () => {
      // term = 1 encoded as 0x81 0x00 instead of 0x01
      expect(() => decodeMessage(Uint8Array.of(MESSAGE_CODEC_VERSION, 9, 1, 97, 1, 98, 0x81, 0x00))).to.throw(CodecError, /overlong/);
      expect(() => decodeMessage(Uint8Array.of(MESSAGE_CODEC_VERSION, 9, 1, 0xff, 1, 98, 1))).to.throw(CodecError, /UTF-8/);
    });

    it("huge length prefixes and counts are rejected before allocating", () => {
      // append with 2^50 entries claimed in a 20-byte buffer
      const w = new Writer();
      w.u8(MESSAGE_CODEC_VERSION);
      w.u8(5);
      w.string("a", 10, "");
      w.string("b", 10, "");
      w.varint(1);
      w.varint(0);
      w.varint(0);
      w.varint(0);
      w.varint(2 ** 50);
      expect(() => decodeMessage(w.finish())).to.throw(CodecError, /count/);
      const big = new Writer();
      big.varint(Number.MAX_SAFE_INTEGER);
      expect(() => decodeSubmitRequest(big.finish())).to.throw(CodecError, /exceeds limit/);
    });

    it("fuzz: random bytes decode canonically or throw CodecError", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
          expectDecodesOrCodecError(b, decodeMessage, encodeMessage);
          expectDecodesOrCodecError(b, decodeEntry, encodeEntry);
          expectDecodesOrCodecError(b, decodeSnapshot, encodeSnapshot);
          expectDecodesOrCodecError(b, decodeHardState, encodeHardState);
          expectDecodesOrCodecError(b, decodeRpcRequest, encodeRpcRequest);
          expectDecodesOrCodecError(b, decodeRpcResponse, encodeRpcResponse);
          expectDecodesOrCodecError(b, decodeSubmitResponse, encodeSubmitResponse);
        }),
        { numRuns: 5_000 },
      );
    });

    it("fuzz: mutated valid messages decode canonically or throw CodecError", () => {
      fc.assert(
        fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (m, edits) => {
          const b = encodeMessage(m).slice();
          for (const [at, v] of edits) b[at % b.length] = v;
          expectDecodesOrCodecError(b, decodeMessage, encodeMessage);
        }),
        { numRuns: 3_000 },
      );
    });
  });
});
