/**
 * Election-rule study (docs/election-rule-study.md): the literal "equal commitment
 * state" vote rule can leave a 5-node cluster without an electable leader, ours
 * (isAtLeastAsComplete) always elects and never loses a majority-replicated entry;
 * and the real core behaves as the model says for j = 0..4. The same with stake-weighted
 * quorums, and a stake minority of voters that can neither elect nor commit.
 */
import { expect } from "chai";
import {
  SYBIL_STAKES,
  atLeastAsCompleteRule,
  explore,
  formatStudy,
  formatWeightedStudy,
  latestReach,
  literalRule,
  runCoreScenario,
  runStakeMinorityScenario,
  runStudy,
  runWeightedStudy,
  scenarios,
  type VoteRule,
} from "../../sim/election-study.js";

describe("election-rule study: exhaustive small scope", function () {
  const rows = runStudy();

  it("(a) literal equal-state rule: j = 2 leaves no electable leader, ever", function () {
    for (const s of scenarios(1).filter((x) => latestReach(x) === 2)) {
      const r = explore(s, literalRule);
      expect(r.wins.size, `state ${JSON.stringify(s.held)}`).to.equal(0);
      // Two live nodes with the entry, two without: nobody can get past 2 of the 3 votes needed.
      expect(s.live.filter((n) => s.held[n] === 1)).to.have.length(2);
      for (const n of s.live) expect(r.bestVotes.get(n)!.length).to.equal(2);
    }
    const j2 = rows.find((r) => r.rule === "a" && r.m === 1 && !r.leaderRestarted && r.j === 2)!;
    expect(j2.leaderless).to.equal(j2.states);
  });

  it("(a) is safe but not live; (b) isAtLeastAsComplete is safe and live in every explored state", function () {
    const a = rows.filter((r) => r.rule === "a");
    const b = rows.filter((r) => r.rule === "b");
    expect(a.reduce((n, r) => n + r.unsafe, 0)).to.equal(0);
    expect(a.reduce((n, r) => n + r.leaderless, 0)).to.be.greaterThan(0);
    for (const r of b) {
      expect(r.leaderless, formatStudy([r])).to.equal(0);
      expect(r.unsafe, formatStudy([r])).to.equal(0);
      expect(r.electableMin, formatStudy([r])).to.be.greaterThan(0);
    }
  });

  it("(b) j >= 2: every electable leader holds the entry that reached a majority", function () {
    for (const m of [1, 2]) {
      for (const s of scenarios(m).filter((x) => latestReach(x) >= 2)) {
        const r = explore(s, atLeastAsCompleteRule);
        expect(r.majorityEntries).to.include(m);
        expect(r.wins.size).to.be.greaterThan(0);
        for (const w of r.wins.keys()) expect(s.held[w], `winner n${w} in ${JSON.stringify(s.held)}`).to.equal(m);
      }
    }
  });

  it("the explorer does flag an unsafe rule (grant to anyone)", function () {
    const anyone: VoteRule = () => true;
    const unsafe = scenarios(1).filter((s) => latestReach(s) === 2).map((s) => explore(s, anyone));
    expect(unsafe.every((r) => r.unsafeWinners.length > 0)).to.equal(true);
  });
});

describe("election-rule study: the real core, leader dies after its entry reached j followers", function () {
  const SEEDS = 12;
  for (let j = 0; j <= 4; j++) {
    it(`j = ${j}: a leader is always elected${j >= 2 ? " and it holds the entry" : ""}; the tx ends with one position`, function () {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runCoreScenario(j, seed);
        const where = `j=${j} seed=${seed}: ${JSON.stringify({ ...r, trace: undefined })}\n${r.trace ?? ""}`;
        expect(r.violations, where).to.be.empty;
        expect(r.newLeader, where).to.not.equal(null);
        expect(r.toldBeforeCrash, where).to.equal(false);
        expect(r.resubmittedAt, where).to.not.equal(null);
        expect(r.finalPosition, where).to.equal(r.resubmittedAt);
        if (j >= 2) {
          expect(r.newLeaderHeld, where).to.equal(true);
          expect(r.survivedAt, where).to.equal(r.assignedPosition);
        } else if (j === 0) {
          expect(r.newLeaderHeld, where).to.equal(false);
          expect(r.survivedAt, where).to.equal(null);
        } else if (r.survivedAt !== null) {
          // The one holder won: the entry keeps the position the old leader gave it.
          expect(r.newLeaderHeld, where).to.equal(true);
          expect(r.survivedAt, where).to.equal(r.assignedPosition);
        }
      }
    });
  }
});

describe("election-rule study: stake-weighted quorums", function () {
  const rows = runWeightedStudy();

  it("exhaustively: by stake, rule (b) elects whenever the live nodes hold a quorum, only then, and never loses an entry on a quorum", function () {
    for (const r of rows.filter((x) => x.counting === "stake")) {
      const row = formatWeightedStudy([r]);
      expect(r.leaderlessWithQuorum, row).to.equal(0);
      expect(r.leaderlessWithoutQuorum, row).to.equal(r.states - r.liveQuorum);
      expect(r.unsafe, row).to.equal(0);
      expect(r.minorityElects, row).to.equal(0);
    }
    const deadHeavyLeader = rows.filter((r) => r.stakes === "heavy leader" && !r.leaderRestarted);
    for (const r of deadHeavyLeader) expect(r.liveQuorum, "the survivors hold 4 of 10: nobody may be elected").to.equal(0);
  });

  it("exhaustively, the control: counting heads, the sybils elect one of their own and lose an entry the large operators hold", function () {
    const heads = rows.filter((r) => r.counting === "heads");
    expect(heads).to.have.length(4);
    for (const r of heads) {
      expect(r.minorityElects, formatWeightedStudy([r])).to.equal(r.states);
      expect(r.unsafe, formatWeightedStudy([r])).to.be.greaterThan(0);
    }
  });

  const SEEDS = 6;
  for (const [name, weights] of [["sybils", SYBIL_STAKES], ["skewed", ["3", "1", "4", "1", "5"]]] as const) {
    it(`the real core, stakes ${name}: a leader is always elected and, when the entry reached a quorum by stake, holds it`, function () {
      let onQuorum = 0;
      for (let j = 0; j <= 4; j++) {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const r = runCoreScenario(j, seed, weights);
          const where = `j=${j} seed=${seed}: ${JSON.stringify({ ...r, trace: undefined })}\n${r.trace ?? ""}`;
          expect(r.violations, where).to.be.empty;
          expect(r.newLeader, where).to.not.equal(null);
          expect(r.toldBeforeCrash, where).to.equal(false);
          expect(r.finalPosition, where).to.equal(r.resubmittedAt);
          if (r.onQuorum) {
            onQuorum++;
            expect(r.newLeaderHeld, where).to.equal(true);
            expect(r.survivedAt, where).to.equal(r.assignedPosition);
          }
        }
      }
      expect(onQuorum, "runs whose entry reached a quorum").to.be.within(SEEDS * 2, SEEDS * 5 - 1);
    });
  }

  it("the real core: sybils cut off from the stake neither elect nor commit, the large operators do; counting heads it is the reverse (control)", function () {
    for (let seed = 1; seed <= 5; seed++) {
      const r = runStakeMinorityScenario(seed, true);
      const where = `seed=${seed}: ${JSON.stringify({ ...r, trace: undefined })}\n${r.trace ?? ""}`;
      expect(r.violations, where).to.be.empty;
      expect(r.light, where).to.deep.equal({ elected: 0, committed: 0 });
      expect(r.heavy.committed, where).to.be.greaterThan(0);
      expect(r.converged, where).to.equal(true);

      const control = runStakeMinorityScenario(seed, false);
      const cwhere = `control seed=${seed}: ${JSON.stringify({ ...control, trace: undefined })}\n${control.trace ?? ""}`;
      expect(control.violations, cwhere).to.be.empty;
      expect(control.light.committed, cwhere).to.be.greaterThan(0);
      expect(control.heavy.committed, cwhere).to.equal(0);
    }
  });
});
