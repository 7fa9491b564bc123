/** Stake to share units: the quorum rule "more than half of the stake decrypts, at most half cannot", checked on every subset. */
import { expect } from "chai";
import fc from "fast-check";
import { StakeUnitsError, apportion, memberOfIndex, planStakeUnits, shareIndicesOf } from "../../node/threshold/index.js";
import { subsets } from "./helpers.js";

const sum = (xs: readonly bigint[]): bigint => xs.reduce((a, b) => a + b, 0n);

describe("threshold: stake units", () => {
  it("gives equal stakes one unit each and the majority threshold", () => {
    for (const n of [1, 2, 3, 4, 5, 21]) {
      const plan = planStakeUnits(Array.from({ length: n }, () => 10n ** 18n));
      expect(plan.totalUnits).to.equal(n);
      expect(plan.threshold).to.equal(Math.floor(n / 2) + 1);
      expect(plan.exact).to.equal(true);
    }
  });

  it("holds the quorum rule exactly on every subset whenever the plan says exact, and safety always (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 1_000_000n }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 8, max: 64 }), (stakes, bound) => {
        const plan = planStakeUnits(stakes, bound);
        expect(plan.totalUnits).to.be.at.most(bound);
        expect(plan.units.reduce((a, b) => a + b, 0)).to.equal(plan.totalUnits);
        expect(plan.threshold).to.be.within(1, plan.totalUnits);
        let tight = false;
        for (const set of subsets(stakes.length)) {
          const stake = sum(set.map((i) => stakes[i]!));
          const units = set.reduce((a, i) => a + plan.units[i]!, 0);
          const canDecrypt = units >= plan.threshold;
          // safety, always: a set holding at most half of the stake never reaches the threshold
          if (2n * stake <= plan.totalStake) expect(canDecrypt, `set ${set} holds ${stake} of ${plan.totalStake}`).to.equal(false);
          // liveness: more than the guarantee decrypts; with an exact plan that is every majority
          if (stake > plan.decryptGuaranteedAbove) expect(canDecrypt, `set ${set} holds ${stake}`).to.equal(true);
          if (plan.exact) expect(canDecrypt).to.equal(2n * stake > plan.totalStake);
          if (!canDecrypt && stake === plan.decryptGuaranteedAbove) tight = true;
        }
        expect(tight, "decryptGuaranteedAbove is the stake of some set that cannot decrypt").to.equal(true);
        expect(2n * plan.decryptGuaranteedAbove <= plan.totalStake).to.equal(plan.exact);
      }),
      { numRuns: 300, seed: 1616 },
    );
  });

  it("finds exact plans for typical stakes (multiples of a minimum stake, a few whales)", () => {
    const min = 32n * 10n ** 18n;
    for (const multiples of [[1, 1, 1], [1, 2, 3, 4, 5], [10, 1, 1, 1, 1, 1], [3, 3, 2, 1, 1, 1, 1], Array.from({ length: 21 }, (_, i) => 1 + (i % 4))]) {
      const plan = planStakeUnits(multiples.map((m) => BigInt(m) * min));
      expect(plan.exact, `stakes ${multiples}`).to.equal(true);
    }
  });

  it("keeps safety and states the slack when no small exact plan exists", () => {
    // a near tie between two whales: two dust members are pivotal, yet proportional units give them nothing
    const stakes = [1_000_000n, 999_999n, 1n, 1n];
    const plan = planStakeUnits(stakes, 64);
    expect(plan.exact).to.equal(false);
    // {A, dust} holds 1,000,001 of 2,000,001 (a majority) and cannot decrypt: the stated slack covers it
    expect(plan.decryptGuaranteedAbove).to.equal(1_000_002n);
    const a = plan.units[0]!;
    expect(a).to.be.lessThan(plan.threshold);
  });

  it("apportions by largest remainders, ties to the lower index", () => {
    expect(apportion([1n, 1n, 1n], 4)).to.deep.equal([2, 1, 1]);
    expect(apportion([5n, 3n, 2n], 10)).to.deep.equal([5, 3, 2]);
    expect(apportion([1n, 2n], 2)).to.deep.equal([1, 1]);
  });

  it("numbers the share indices of each member consecutively from 1", () => {
    // the smallest exact plan for 3:1:2 is 2:1:1 units with threshold 3 ({0} and {1, 2} hold half and cannot)
    const plan = planStakeUnits([3n, 1n, 2n]);
    expect(plan.units).to.deep.equal([2, 1, 1]);
    expect(plan.threshold).to.equal(3);
    expect(shareIndicesOf(plan, 0)).to.deep.equal([1, 2]);
    expect(shareIndicesOf(plan, 2)).to.deep.equal([4]);
    expect(memberOfIndex(plan, 3)).to.equal(1);
    expect(memberOfIndex(plan, 5)).to.equal(undefined);
  });

  it("refuses stakes it cannot plan", () => {
    expect(() => planStakeUnits([])).to.throw(StakeUnitsError);
    expect(() => planStakeUnits([1n, 0n])).to.throw(StakeUnitsError);
    expect(() => planStakeUnits([1n], 0)).to.throw(StakeUnitsError);
    expect(() => planStakeUnits(Array.from({ length: 257 }, () => 1n))).to.throw(StakeUnitsError);
  });
});
