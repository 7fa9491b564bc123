import { expect } from "chai";
import { INVALID_PARAMS, INVALID_REQUEST, InvalidParamsError, NO_LEADER, NOT_FOUND, RpcError, TIMEOUT, isRetryable } from "../../node/rpc/errors.js";
import { noParams, positionalParams } from "../../node/rpc/methods.js";
import { parseMessage, toJson } from "../../node/rpc/protocol.js";

describe("rpc protocol", () => {
  it("encodes bigint as hex quantities and bytes as hex data", () => {
    expect(toJson({ a: 0n, b: 255n, c: -16n, d: new Uint8Array([0, 1, 254]), e: Buffer.from("ff00", "hex"), f: [1n] })).to.equal(
      '{"a":"0x0","b":"0xff","c":"-0x10","d":"0x0001fe","e":"0xff00","f":["0x1"]}',
    );
    expect(toJson(undefined)).to.equal("null");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toJson(cyclic)).to.throw(TypeError);
  });

  it("tells single requests, batches and whole-message rejections apart", () => {
    const single = parseMessage('{"jsonrpc":"2.0","id":1,"method":"m"}', 2);
    expect(single).to.deep.equal({ kind: "single", item: { ok: true, request: { method: "m", id: 1, params: undefined } } });
    const notification = parseMessage('{"jsonrpc":"2.0","method":"m","params":{"x":1}}', 2);
    expect(notification).to.deep.equal({ kind: "single", item: { ok: true, request: { method: "m", id: undefined, params: { x: 1 } } } });
    const nullId = parseMessage('{"jsonrpc":"2.0","id":null,"method":"m"}', 2);
    expect(nullId.kind === "single" && nullId.item.ok && nullId.item.request.id).to.equal(null);
    expect(parseMessage("[1,2,3]", 2)).to.deep.equal({
      kind: "rejected",
      error: { code: INVALID_REQUEST, message: "invalid request: batch of 3 exceeds the limit of 2" },
    });
    const batch = parseMessage('[{"jsonrpc":"2.0","id":"a","method":"m"},{"jsonrpc":"2.0","id":"b"}]', 2);
    expect(batch.kind).to.equal("batch");
    if (batch.kind !== "batch") return;
    expect(batch.items[0].ok).to.equal(true);
    expect(batch.items[1]).to.deep.equal({ ok: false, id: "b", error: { code: INVALID_REQUEST, message: 'invalid request: "method" must be a non-empty string' } });
  });

  it("gives application errors a retryable flag and keeps standard errors bare", () => {
    expect(new RpcError(NO_LEADER, "no leader").toJSON()).to.deep.equal({ code: NO_LEADER, message: "no leader", data: { retryable: true } });
    expect(new RpcError(TIMEOUT, "slow", { waitedMs: 5 }).data).to.deep.equal({ retryable: true, waitedMs: 5 });
    expect(new RpcError(NOT_FOUND, "gone", "0xabc").data).to.deep.equal({ retryable: false, detail: "0xabc" });
    expect(new RpcError(NO_LEADER, "stop", { retryable: false }).data).to.deep.equal({ retryable: false });
    expect(new InvalidParamsError("bad").toJSON()).to.deep.equal({ code: INVALID_PARAMS, message: "bad" });
    expect(isRetryable(INVALID_PARAMS)).to.equal(false);
    expect(() => new RpcError(1.5, "x")).to.throw(TypeError);
  });

  it("validates positional params with messages that say what is wrong", () => {
    expect(positionalParams(undefined, 0, 1)).to.deep.equal([]);
    expect(positionalParams(["a", 2], 1, 2)).to.deep.equal(["a", 2]);
    expect(() => positionalParams({ a: 1 }, 1)).to.throw(InvalidParamsError, "expected a positional array, got an object");
    expect(() => positionalParams([1, 2, 3], 1, 2)).to.throw(InvalidParamsError, "expected 1 to 2 parameter(s), got 3");
    expect(() => noParams([1])).to.throw(InvalidParamsError, "expected 0 parameter(s), got 1");
  });
});
