/**
 * The short nemesis (the long one is `npm run nemesis`): a local chain, the contracts, 5 staked
 * operators and 5 real node processes; clients submit continuously while, for two minutes, seeded
 * faults hit the cluster (SIGKILL + restart with the leader preferred, a crashed majority, SIGSTOP
 * of the leader, partitions, message drop and delay, L1 RPC outages, skewed timers). After heal
 * the checker must find every acknowledged commitment valid and in place on every node and on L1,
 * no double position, converged logs. Every process and the temp dir are gone afterwards.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { isAlive } from "../../scripts/lib/processes.js";
import { runNemesis, NEMESIS_DEFAULTS, type NemesisResult } from "../../scripts/nemesis/run.js";

const SEED = 6_2024;


describe("nemesis (5 node processes, 2 minutes of faults)", function () {
  this.timeout(330_000);
  const lines: string[] = [];
  let result: NemesisResult;

  before(async () => {
    result = await runNemesis(
      {
        ...NEMESIS_DEFAULTS,
        durationMs: 120_000,
        seed: SEED,
        // Shorter holds and gaps than the long run: at least 10 faults fit in two minutes.
        timing: { holdMs: [1_500, 4_000], l1OutageMs: [2_000, 6_000], gapMs: [500, 1_500] },
        keep: "never",
        settleMs: 60_000,
      },
      (line) => {
        lines.push(line);
        console.log(`      ${line}`);
      },
    );
  });

  it("keeps every acknowledged commitment valid and in place on every node and on L1 through at least 10 faults", () => {
    const { stats, availability } = result.report;
    const why = `seed ${SEED}:\n${lines.join("\n")}`;
    expect(result.report.violations, why).to.deep.equal([]);
    expect(stats.faults, why).to.be.at.least(10);
    expect(new Set(Object.keys(stats.faultKinds)).size, why).to.be.at.least(4);
    expect(stats.acknowledged, why).to.be.greaterThan(0);
    expect(stats.onL1, why).to.equal(stats.committed);
    expect(availability.share, why).to.be.greaterThan(0);
  });

  it("leaves no node process and no temp dir behind", () => {
    expect(result.pids.length).to.be.at.least(5);
    expect(result.pids.filter(isAlive)).to.deep.equal([]);
    expect(existsSync(result.dir)).to.equal(false);
  });
});
