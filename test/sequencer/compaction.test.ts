import { expect } from "chai";
import { compactionDue } from "../../node/sequencer/compaction.js";

describe("log compaction policy", () => {
  const last = { applied: 100, nextPosition: 5_000 };
  const policy = { compactEvery: 1_000, compactEveryTxs: 10_000 };

  it("waits until enough entries or enough transactions have been applied since the last snapshot", () => {
    expect(compactionDue({ applied: 1_099, nextPosition: 14_999 }, last, policy)).to.equal(false);
  });

  it("compacts after compactEvery entries however few transactions they hold (config and certificate records)", () => {
    expect(compactionDue({ applied: 1_100, nextPosition: 5_000 }, last, policy)).to.equal(true);
  });

  it("compacts after compactEveryTxs transactions however few entries carry them (large batched entries)", () => {
    expect(compactionDue({ applied: 101, nextPosition: 15_000 }, last, policy)).to.equal(true);
  });
});
