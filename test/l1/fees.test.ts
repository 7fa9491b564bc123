/** The batcher's fee rules: fresh fees under the caps, and the bump a replacement needs, for calldata (type-2) and blob (type-3) transactions. */
import { expect } from "chai";
import { parseGwei } from "viem";
import { FeeCapExceededError, REPLACEMENT_BUMP_PERCENT, freshFees, replacementFees, type FeeCaps, type Fees } from "../../node/l1/fees.js";

const caps: FeeCaps = { maxFeePerGas: parseGwei("100"), maxPriorityFeePerGas: parseGwei("5"), maxFeePerBlobGas: parseGwei("50") };

function expectCapError(fn: () => unknown, field: keyof Fees, setting: RegExp): void {
  try {
    fn();
    expect.fail("no FeeCapExceededError");
  } catch (error) {
    expect(error).to.be.instanceOf(FeeCapExceededError);
    expect((error as FeeCapExceededError).field).to.equal(field);
    expect((error as Error).message).to.match(setting);
  }
}

describe("batcher fees", () => {
  it("offers twice the base fee plus the market's tip, the tip and the total each at most their cap", () => {
    expect(freshFees({ baseFeePerGas: parseGwei("10"), priorityFeePerGas: parseGwei("1") }, caps, "eip1559")).to.deep.equal({
      maxFeePerGas: parseGwei("21"),
      maxPriorityFeePerGas: parseGwei("1"),
    });
    expect(freshFees({ baseFeePerGas: parseGwei("60"), priorityFeePerGas: parseGwei("9") }, caps, "eip1559")).to.deep.equal({
      maxFeePerGas: parseGwei("100"),
      maxPriorityFeePerGas: parseGwei("5"),
    });
  });

  it("refuses (waits) when the base fee or the blob base fee is above its cap", () => {
    expectCapError(() => freshFees({ baseFeePerGas: parseGwei("101"), priorityFeePerGas: 1n }, caps, "eip1559"), "maxFeePerGas", /l1MaxFeePerGasGwei/);
    expectCapError(() => freshFees({ baseFeePerGas: 1n, priorityFeePerGas: 1n, blobBaseFee: parseGwei("51") }, caps, "eip4844"), "maxFeePerBlobGas", /l1MaxFeePerBlobGasGwei/);
  });

  it("offers a blob transaction twice the blob base fee, at most the blob cap", () => {
    const market = { baseFeePerGas: parseGwei("1"), priorityFeePerGas: parseGwei("1") };
    expect(freshFees({ ...market, blobBaseFee: parseGwei("3") }, caps, "eip4844").maxFeePerBlobGas).to.equal(parseGwei("6"));
    expect(freshFees({ ...market, blobBaseFee: parseGwei("40") }, caps, "eip4844").maxFeePerBlobGas).to.equal(parseGwei("50"));
  });

  it("bumps a type-2 replacement by at least 10 % on both fee fields, rounded up, as geth's txpool requires", () => {
    expect(REPLACEMENT_BUMP_PERCENT.eip1559).to.equal(10n);
    const previous = { maxFeePerGas: 1_000_001n, maxPriorityFeePerGas: 101n };
    // A market that fell: the bump alone decides.
    const next = replacementFees(previous, { baseFeePerGas: 1n, priorityFeePerGas: 1n }, caps, "eip1559");
    expect(next).to.deep.equal({ maxFeePerGas: 1_100_002n, maxPriorityFeePerGas: 112n });
    expect(next.maxFeePerGas * 100n >= previous.maxFeePerGas * 110n && next.maxPriorityFeePerGas * 100n >= previous.maxPriorityFeePerGas * 110n).to.equal(true);
    // A market that rose past the bump: the market decides.
    const risen = replacementFees(previous, { baseFeePerGas: parseGwei("10"), priorityFeePerGas: parseGwei("2") }, caps, "eip1559");
    expect(risen).to.deep.equal({ maxFeePerGas: parseGwei("22"), maxPriorityFeePerGas: parseGwei("2") });
  });

  it("bumps a type-3 replacement by at least 100 % on all three fee fields, the blob fee included", () => {
    expect(REPLACEMENT_BUMP_PERCENT.eip4844).to.equal(100n);
    const previous = { maxFeePerGas: parseGwei("3"), maxPriorityFeePerGas: parseGwei("1"), maxFeePerBlobGas: parseGwei("2") };
    const next = replacementFees(previous, { baseFeePerGas: 1n, priorityFeePerGas: 1n, blobBaseFee: 1n }, caps, "eip4844");
    expect(next).to.deep.equal({ maxFeePerGas: parseGwei("6"), maxPriorityFeePerGas: parseGwei("2"), maxFeePerBlobGas: parseGwei("4") });
  });

  it("does not replace when the bump would pass a cap (the L1 node would refuse anything less), naming the field", () => {
    expectCapError(() => replacementFees({ maxFeePerGas: parseGwei("95"), maxPriorityFeePerGas: 1n }, { baseFeePerGas: 1n, priorityFeePerGas: 1n }, caps, "eip1559"), "maxFeePerGas", /^replacing the stuck transaction needs maxFeePerGas 104.5 gwei, above the cap of 100 gwei \(l1MaxFeePerGasGwei\)/);
    expectCapError(() => replacementFees({ maxFeePerGas: parseGwei("10"), maxPriorityFeePerGas: parseGwei("4.6") }, { baseFeePerGas: 1n, priorityFeePerGas: 1n }, caps, "eip1559"), "maxPriorityFeePerGas", /l1MaxPriorityFeePerGasGwei/);
    const blob = { maxFeePerGas: parseGwei("10"), maxPriorityFeePerGas: parseGwei("1"), maxFeePerBlobGas: parseGwei("30") };
    expectCapError(() => replacementFees(blob, { baseFeePerGas: 1n, priorityFeePerGas: 1n, blobBaseFee: 1n }, caps, "eip4844"), "maxFeePerBlobGas", /l1MaxFeePerBlobGasGwei/);
  });

  it("still bumps a transaction the base fee outgrew while the base fee is above the cap: the bump is the only raise left", () => {
    const next = replacementFees({ maxFeePerGas: parseGwei("50"), maxPriorityFeePerGas: parseGwei("1") }, { baseFeePerGas: parseGwei("120"), priorityFeePerGas: parseGwei("1") }, caps, "eip1559");
    expect(next).to.deep.equal({ maxFeePerGas: parseGwei("55"), maxPriorityFeePerGas: parseGwei("1.1") });
  });
});
