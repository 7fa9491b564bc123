import { expect } from "chai";
import type { MembershipConfig } from "../../node/consensus/index.js";
import { committedIndex, hasQuorum, voteResult } from "../../node/consensus/quorum.js";

const votes = (granted: string[], rejected: string[] = []) =>
  new Map([...granted.map((id) => [id, true] as const), ...rejected.map((id) => [id, false] as const)]);
const acks = (m: Record<string, number>) => (id: string) => m[id] ?? 0;
const inSet = (ids: string[]) => (id: string) => ids.includes(id);

describe("consensus: stake-weighted quorums", () => {
  // 18-decimal token amounts: far beyond 2^53, so any float rounding would show.
  const E18 = 10n ** 18n;
  const stake = (tokens: bigint, extraWei = 0n) => (tokens * E18 + extraWei).toString();

  it("a tie at exactly half of the weight is not a quorum", () => {
    const cfg: MembershipConfig = { voters: ["a", "b", "c"], weights: ["2", "1", "1"], learners: [] };
    expect(committedIndex(cfg, acks({ a: 7, b: 3, c: 3 })), "a alone holds 2 of 4").to.equal(3);
    expect(voteResult(cfg, votes(["a"])), "2 of 4 granted").to.equal("pending");
    expect(voteResult(cfg, votes(["b", "c"], ["a"])), "2 of 4 granted, 2 of 4 rejected").to.equal("lost");
    expect(hasQuorum(cfg, inSet(["a"]))).to.equal(false);
    expect(hasQuorum(cfg, inSet(["b", "c"]))).to.equal(false);
    expect(hasQuorum(cfg, inSet(["a", "c"]))).to.equal(true);
  });

  it("a tie is decided exactly even when the stakes differ by one wei beyond 2^53", () => {
    const cfg: MembershipConfig = { voters: ["a", "b", "c"], weights: [stake(100_000n, 1n), stake(50_000n), stake(50_000n)], learners: [] };
    expect(hasQuorum(cfg, inSet(["a"])), "a holds half plus half a wei").to.equal(true);
    const tie: MembershipConfig = { ...cfg, weights: [stake(100_000n), stake(50_000n), stake(50_000n)] };
    expect(hasQuorum(tie, inSet(["a"])), "exactly half").to.equal(false);
    expect(hasQuorum(tie, inSet(["b", "c"])), "exactly half").to.equal(false);
  });

  it("one voter holding more than half of the stake commits and wins by itself", () => {
    const cfg: MembershipConfig = { voters: ["a", "b", "c", "d", "e"], weights: ["5", "1", "1", "1", "1"], learners: [] };
    expect(committedIndex(cfg, acks({ a: 9, b: 1, c: 1, d: 1, e: 1 }))).to.equal(9);
    expect(voteResult(cfg, votes(["a"], ["b", "c", "d", "e"]))).to.equal("won");
    expect(voteResult(cfg, votes(["b", "c", "d", "e"]))).to.equal("pending");
    expect(voteResult(cfg, votes(["b", "c", "d", "e"], ["a"])), "four of five heads, 4 of 9 stake").to.equal("lost");
    expect(hasQuorum(cfg, inSet(["b", "c", "d", "e"]))).to.equal(false);
  });

  it("the review's case: six minimum-stake sybils cannot block or control ten seats against four honest operators", () => {
    const honest = ["h1", "h2", "h3", "h4"];
    const sybils = ["s1", "s2", "s3", "s4", "s5", "s6"];
    const cfg: MembershipConfig = {
      voters: [...honest, ...sybils],
      weights: [stake(100_000n), stake(101_000n), stake(99_500n), stake(100_250n), ...sybils.map(() => stake(100n))],
      learners: [],
    };
    expect(hasQuorum(cfg, inSet(sybils)), "6 of 10 heads").to.equal(false);
    expect(voteResult(cfg, votes(sybils, honest))).to.equal("lost");
    expect(hasQuorum(cfg, inSet(honest.slice(0, 3))), "3 of 10 heads, ~75 % of the stake").to.equal(true);
    expect(committedIndex(cfg, acks({ h1: 8, h2: 8, h3: 8, s1: 2, s2: 2, s3: 2, s4: 2, s5: 2, s6: 2 }))).to.equal(8);
  });

  it("the committed index is the highest one acknowledged by more than half of the stake, whatever the order", () => {
    const cfg: MembershipConfig = { voters: ["a", "b", "c", "d"], weights: ["1", "3", "2", "2"], learners: [] };
    // Descending by index: b (3 of 8), then c (5 of 8): c's index is the highest a quorum holds.
    expect(committedIndex(cfg, acks({ a: 9, b: 7, c: 5, d: 2 })), "a 1 + b 3 = 4 of 8 is a tie").to.equal(5);
    expect(committedIndex(cfg, acks({ a: 2, b: 9, c: 9, d: 2 }))).to.equal(9);
    expect(committedIndex(cfg, acks({ a: 9, b: 1, c: 9, d: 9 })), "a + c + d: 5 of 8").to.equal(9);
    expect(committedIndex(cfg, acks({ a: 9, b: 1, c: 1, d: 9 })), "a + d: 3 of 8").to.equal(1);
  });

  it("absent weights count heads, exactly as before", () => {
    const cfg: MembershipConfig = { voters: ["a", "b", "c", "d"], learners: [] };
    const ones: MembershipConfig = { ...cfg, weights: ["1", "1", "1", "1"] };
    for (const c of [cfg, ones]) {
      expect(committedIndex(c, acks({ a: 4, b: 3, c: 2, d: 1 })), "3 of 4 needed").to.equal(2);
      expect(voteResult(c, votes(["a", "b"], ["c"]))).to.equal("pending");
      expect(voteResult(c, votes(["a", "b"], ["c", "d"]))).to.equal("lost");
      expect(voteResult(c, votes(["a", "b", "c"]))).to.equal("won");
    }
  });

  describe("joint configurations: a quorum of each half, by that half's weights", () => {
    // The same three voters re-weighted: c's stake grew from 1 of 3 to 5 of 7.
    const joint: MembershipConfig = { voters: ["a", "b", "c"], weights: ["1", "1", "5"], outgoing: ["a", "b", "c"], learners: [] };

    it("a quorum of the old weights alone does not commit or win", () => {
      expect(committedIndex(joint, acks({ a: 6, b: 6, c: 2 })), "a + b: 2 of 3 old, 2 of 7 new").to.equal(2);
      expect(voteResult(joint, votes(["a", "b"]))).to.equal("pending");
      expect(voteResult(joint, votes(["a", "b"], ["c"])), "the new half is lost").to.equal("lost");
      expect(hasQuorum(joint, inSet(["a", "b"]))).to.equal(false);
    });

    it("a quorum of the new weights alone does not either", () => {
      expect(committedIndex(joint, acks({ a: 2, b: 2, c: 6 })), "c: 5 of 7 new, 1 of 3 old").to.equal(2);
      expect(voteResult(joint, votes(["c"], ["a", "b"])), "the old half is lost").to.equal("lost");
      expect(hasQuorum(joint, inSet(["c"]))).to.equal(false);
    });

    it("quorums of both halves commit and win", () => {
      expect(committedIndex(joint, acks({ a: 6, b: 2, c: 6 }))).to.equal(6);
      expect(voteResult(joint, votes(["a", "c"]))).to.equal("won");
      expect(hasQuorum(joint, inSet(["b", "c"]))).to.equal(true);
    });

    it("each half uses its own weights for a voter in both", () => {
      const shifted: MembershipConfig = { voters: ["a", "b"], weights: ["1", "3"], outgoing: ["a", "b"], outgoingWeights: ["3", "1"], learners: [] };
      expect(hasQuorum(shifted, inSet(["a"]))).to.equal(false);
      expect(hasQuorum(shifted, inSet(["b"]))).to.equal(false);
      expect(hasQuorum(shifted, inSet(["a", "b"]))).to.equal(true);
    });
  });
});
