/** Reverts read for people: every custom error the contracts have gets a sentence, raw revert data is decoded. */
import { expect } from "chai";
import { BaseError, encodeErrorResult, stringToHex } from "viem";
import { batchInboxAbi, forcedInclusionQueueAbi, sequencerRegistryAbi, slashingAbi, testTokenAbi } from "../../node/l1/generated/abi.js";
import { DESCRIBED_ERRORS, describeL1Failure, describeRevert, revertOf } from "../../node/l1/revert.js";

describe("contract reverts for people (node/l1/revert.ts)", () => {
  it("has a sentence for every custom error of the registry, the inbox, the forced queue, the slashing contract and the stake token", () => {
    const errors = [...sequencerRegistryAbi, ...batchInboxAbi, ...forcedInclusionQueueAbi, ...slashingAbi, ...testTokenAbi].filter((item) => item.type === "error").map((item) => item.name);
    expect(errors.filter((name) => !DESCRIBED_ERRORS.has(name)), "custom errors without a sentence in describeRevert").to.deep.equal([]);
  });

  it("says what ParameterOutOfBounds(unbondingPeriod) means, with the caller's hint on how to change it", () => {
    const sentence = describeRevert({ errorName: "ParameterOutOfBounds", args: [stringToHex("unbondingPeriod", { size: 32 }), 80n, 14_400n, 330_000n] }, { unbondingPeriod: "use --unbonding-period or --epoch-length" });
    expect(sentence).to.equal(
      "the unbonding period of 80 blocks is outside the registry's bounds: it must cover at least the registry's minimum number of epochs (14400 blocks at this epoch length) and at most 330000 blocks (ParameterOutOfBounds); use --unbonding-period or --epoch-length",
    );
    expect(describeRevert({ errorName: "ParameterOutOfBounds", args: [stringToHex("maxActive", { size: 32 }), 101n, 1n, 100n] })).to.equal(
      "the maximum active set size (maxActive) of 101 is outside the registry's bounds of 1 to 100 (ParameterOutOfBounds)",
    );
    expect(describeRevert({ errorName: "SomethingNew", args: [1n, "0xab"] }), "an error without a sentence keeps its name and arguments").to.equal("SomethingNew(1, 0xab)");
  });

  it("decodes raw revert data anywhere in an error's cause chain, as a deployment's failure carries it", () => {
    const data = encodeErrorResult({ abi: batchInboxAbi, errorName: "UnbondingTooShort", args: [2n, 4n] });
    const rpc = Object.assign(new Error("execution reverted"), { data });
    const error = new BaseError("Missing or invalid parameters.", { cause: rpc, details: "execution reverted" });
    expect(revertOf(error)).to.deep.equal({ errorName: "UnbondingTooShort", args: [2n, 4n] });
    expect(describeL1Failure(error)).to.equal("the registry's unbonding floor of 2 epochs is shorter than the 4 epochs the inbox's epoch lag needs (maxBatchEpochLag + 2) (UnbondingTooShort)");
  });

  it("reads what the L1 node said rather than viem's generic first line, one line of it", () => {
    const inner = new BaseError("RPC Request failed.", { details: "Transaction ran out of gas" });
    const outer = new BaseError("Missing or invalid parameters.\nDouble check you have provided the correct parameters.", { cause: inner });
    expect(describeL1Failure(outer)).to.equal("Transaction ran out of gas");
    expect(describeL1Failure(new Error("first\nsecond"))).to.equal("first");
  });
});
