/**
 * Stake-weighted quorums driven message by message: commitment, elections (with and without
 * pre-vote), check-quorum, the lease, joint configurations of a re-weighting, and the rejection
 * of unusable weights.
 */
import { expect } from "chai";
import {
  InvalidMembershipError,
  InvalidOptionsError,
  InvalidPersistedStateError,
  RaftCore,
  type MembershipConfig,
  type Message,
} from "../../node/consensus/index.js";
import { Cluster, seeded, txs } from "./helpers.js";

const FIVE = ["a", "b", "c", "d", "e"];
const configEntries = (c: Cluster, id: string) =>
  c.disks.get(id)!.entries.filter((e) => e.kind === "config").map((e) => e.config!);

/** Proposes one tx on `leader`; only `ackers` hear from it (and catch up) and answer, the rest is lost. */
function replicateTo(c: Cluster, leader: string, ackers: readonly string[]): string {
  const [tx] = txs(1);
  c.core(leader).propose([tx!]);
  const between = (m: Message) => (m.from === leader && ackers.includes(m.to)) || (m.to === leader && ackers.includes(m.from));
  do c.flush();
  while (c.deliverAll(between) > 0);
  c.take();
  return tx!.hash;
}

const committed = (c: Cluster, id: string, hash: string) => c.outcomesOf(id, "committed").some((o) => o.txHash === hash);

describe("consensus: stake-weighted quorums, message by message", () => {
  describe("commitment", () => {
    it("a heavy leader commits with one light follower's ack only when their weight is more than half", () => {
      // Total 8: a (3) + b (1) is exactly half, a (3) + e (2) is more.
      const c = new Cluster(FIVE, { weights: ["3", "1", "1", "1", "2"] });
      c.elect("a");
      const viaB = replicateTo(c, "a", ["b"]);
      expect(committed(c, "a", viaB), "a + b hold 4 of 8: a tie is no quorum").to.equal(false);
      const viaE = replicateTo(c, "a", ["e"]);
      expect(committed(c, "a", viaE), "a + e hold 5 of 8").to.equal(true);
      expect(committed(c, "a", viaB), "beneath it, the earlier entry commits too").to.equal(true);
    });

    it("a leader holding more than half of the stake commits on its own disk", () => {
      const c = new Cluster(["a", "b", "c"], { weights: ["5", "2", "2"] });
      c.elect("a");
      const hash = replicateTo(c, "a", []);
      expect(committed(c, "a", hash)).to.equal(true);
    });

    it("a head-count majority of light followers does not commit against the stake; one heavy ack does", () => {
      const c = new Cluster(FIVE, { weights: ["1", "1", "1", "10", "10"] });
      c.elect("a");
      const hash = replicateTo(c, "a", ["b", "c"]);
      expect(committed(c, "a", hash), "a, b, c: 3 of 5 heads, 3 of 23 stake").to.equal(false);
      expect(c.core("a").status().commit).to.be.lessThan(c.core("a").status().lastIndex);
      const next = replicateTo(c, "a", ["d"]);
      expect(committed(c, "a", hash), "d catches up: a, b, c, d hold the first tx, 13 of 23").to.equal(true);
      expect(committed(c, "a", next), "only a and d hold the second: 11 of 23").to.equal(false);
    });
  });

  describe("elections", () => {
    for (const preVote of [true, false]) {
      it(`a head-count majority of light voters cannot elect (pre-vote ${preVote ? "on" : "off"})`, () => {
        const c = new Cluster(FIVE, { weights: ["10", "10", "1", "1", "1"], preVote });
        c.crash("a");
        c.crash("b");
        for (let i = 0; i < 300; i++) c.tickAll();
        for (const id of ["c", "d", "e"]) expect(c.core(id).status().role, `${id} after 300 ticks`).to.not.equal("leader");
        const granted = c.sent.filter((m) => (m.type === "voteResp" || m.type === "preVoteResp") && m.granted);
        expect(granted.length, "the light voters did grant each other").to.be.greaterThan(0);
        if (preVote) expect(c.core("c").status().term, "pre-vote keeps the term").to.equal(0);
        // One heavy voter back gives the stake: c, d, e, a hold 13 of 23.
        c.restart("a");
        c.tickAll(60);
        expect(c.leader(), "a leader once a stake majority takes part").to.not.equal(undefined);
      });
    }

    it("a candidate holding more than half of the stake is elected by its own vote and commits alone", () => {
      const c = new Cluster(["a", "b", "c"], { weights: ["3", "1", "1"] });
      for (const id of ["b", "c"]) c.isolate(id);
      c.elect("a");
      expect(c.core("a").status()).to.include({ role: "leader", commit: 1 });
    });

    for (const weighted of [true, false]) {
      it(`a candidate ${weighted ? "loses as soon as the rejections leave it no more than half of the stake" : "keeps waiting while a majority may still grant (control, unweighted)"}`, () => {
        const c = new Cluster(["a", "b", "c"], weighted ? { weights: ["1", "1", "3"], preVote: false } : { preVote: false });
        const a = c.core("a");
        while (a.status().role !== "candidate") a.tick();
        c.flush();
        // c refuses (say it voted for another candidate): a's 1 + b's 1 can no longer pass 2.5 of 5.
        c.deliver({ type: "voteResp", from: "c", to: "a", term: a.status().term, granted: false });
        expect(a.status().role, "without waiting for b").to.equal(weighted ? "follower" : "candidate");
      });
    }
  });

  describe("check-quorum and the lease", () => {
    /** Leader a with light b, c, cut off from the heavy d, e (or the same cut unweighted). */
    function cutFromStake(weighted: boolean) {
      const c = new Cluster(FIVE, weighted ? { weights: ["1", "1", "1", "10", "10"] } : {});
      c.elect("a");
      for (const heavy of ["d", "e"]) for (const light of ["a", "b", "c"]) c.cut(heavy, light);
      const [tx] = txs(1);
      c.core("a").propose([tx!]);
      for (let i = 0; i < 25 && c.core("a").status().role === "leader"; i++) {
        for (const id of ["a", "b", "c"]) c.tick(id);
        c.stabilize();
      }
      return { c, hash: tx!.hash };
    }

    it("check-quorum steps a leader down when only a stake minority answers, failing its proposal with no-quorum", () => {
      const { c, hash } = cutFromStake(true);
      expect(c.core("a").status().role, "b and c answer: 3 of 5 heads, 3 of 23 stake").to.equal("follower");
      expect(c.outcomesOf("a")).to.deep.include({ txHash: hash, status: "failed", reason: "no-quorum", leader: null });
      const control = cutFromStake(false);
      expect(control.c.core("a").status().role, "control: unweighted, 3 of 5 is a majority").to.equal("leader");
      expect(committed(control.c, "a", control.hash)).to.equal(true);
    });

    it("a stake majority outside the leader's reach leaves its lease and elects; the old side commits nothing", () => {
      const { c, hash } = cutFromStake(true);
      c.core("e").setElectionRank(3);
      c.tick("e", 10); // e's lease on a runs out too (its own campaign is 40 ticks away)
      c.elect("d");
      expect(c.core("d").status().term).to.equal(2);
      expect(committed(c, "a", hash)).to.equal(false);
      for (const id of ["a", "b", "c"]) expect(c.core(id).status().commit, id).to.equal(1);
    });

    /** Leader a and b (heavy) apart from c, d, e (light, a head-count majority). */
    function heavyMinorityOfHeads(weighted: boolean) {
      const c = new Cluster(FIVE, weighted ? { weights: ["10", "10", "1", "1", "1"] } : {});
      c.elect("a");
      for (const heavy of ["a", "b"]) for (const light of ["c", "d", "e"]) c.cut(heavy, light);
      for (let i = 0; i < 100; i++) c.tickAll();
      return c;
    }

    it("a leader keeps its lease while a stake majority hears it: a head-count majority outside cannot take over", () => {
      const c = heavyMinorityOfHeads(true);
      expect(c.core("a").status()).to.include({ role: "leader", term: 1 });
      expect(c.core("b").status()).to.include({ term: 1, leader: "a" });
      for (const id of ["c", "d", "e"]) expect(c.core(id).status().role, id).to.not.equal("leader");
      expect(c.sent.some((m) => m.type === "preVoteResp" && m.granted && m.from === "d"), "the light side did campaign").to.equal(true);
      // b is inside a's lease: even a vote request that reaches it is ignored (no answer, no new term).
      const ask: Message = { type: "vote", from: "c", to: "b", term: 5, lastIndex: 9, lastTerm: 1, transfer: false };
      c.core("b").step(ask);
      expect(c.core("b").hasReady()).to.equal(false);
      const hash = replicateTo(c, "a", ["b"]);
      expect(committed(c, "a", hash), "a + b: 20 of 23").to.equal(true);

      const control = heavyMinorityOfHeads(false);
      expect(control.core("a").status().role, "control: unweighted, 2 of 5 lose the lease").to.not.equal("leader");
      expect(["c", "d", "e"]).to.include(control.leader());
    });
  });

  describe("membership changes carry stakes", () => {
    it("new weights for the same voters go through C(old,new), which commits only with a quorum of both halves by weight", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      a.changeMembership(["a", "b", "c"], ["1", "1", "5"]);
      c.flush();
      const joint: MembershipConfig = { voters: ["a", "b", "c"], weights: ["1", "1", "5"], outgoing: ["a", "b", "c"], learners: [] };
      expect(configEntries(c, "a"), "no learner stage: nobody is added").to.deep.equal([joint]);
      expect(a.status().config).to.deep.equal(joint);
      const jointIndex = a.status().lastIndex;
      // b's ack: a + b are 2 of 3 old heads but 2 of 7 new stake.
      c.deliverAll((m) => m.to === "b");
      c.flush();
      c.deliverAll((m) => m.from === "b");
      c.flush();
      expect(a.status().commit, "the joint entry needs the new half too").to.be.lessThan(jointIndex);
      // c's ack completes the new half (a + c: 6 of 7).
      c.deliverAll((m) => m.to === "c");
      c.flush();
      c.deliverAll((m) => m.from === "c");
      c.flush();
      expect(a.status().commit).to.be.at.least(jointIndex);
      c.stabilize();
      const final: MembershipConfig = { voters: ["a", "b", "c"], weights: ["1", "1", "5"], learners: [] };
      for (const id of ["a", "b", "c"]) expect(c.core(id).status().config, id).to.deep.equal(final);
      // From now on c's stake decides: a + b alone no longer commit.
      const hash = replicateTo(c, "a", ["b"]);
      expect(committed(c, "a", hash)).to.equal(false);
    });

    it("adds a staked node through the learner stage, and moves stake off a voter that leaves", () => {
      const c = new Cluster(["a", "b", "c"], { weights: ["4", "3", "2"] });
      const a = c.elect("a");
      c.start("d");
      a.changeMembership(["a", "b", "d"], ["4", "2", "7"]);
      c.tickAll(10);
      expect(configEntries(c, "d")).to.deep.equal([
        { voters: ["a", "b", "c"], weights: ["4", "3", "2"], learners: ["d"] },
        { voters: ["a", "b", "d"], weights: ["4", "2", "7"], outgoing: ["a", "b", "c"], outgoingWeights: ["4", "3", "2"], learners: [] },
        { voters: ["a", "b", "d"], weights: ["4", "2", "7"], learners: [] },
      ]);
      const hash = replicateTo(c, "a", ["d"]);
      expect(committed(c, "a", hash), "a + d: 11 of 13").to.equal(true);
    });

    it("a removed leader holding the only copy of C(new) still campaigns while the old half needs its stake (Raft thesis 4.2.2)", () => {
      // a alone is a quorum of the old half (6 of 11) and every other old quorum needs it.
      const c = new Cluster(["a", "b", "c", "d"], { weights: ["6", "1", "1", "3"] });
      const a = c.elect("a");
      a.changeMembership(["b", "c", "d"], ["1", "1", "3"]);
      c.flush();
      c.deliverAll(); // C(old,new) reaches everyone
      c.flush();
      c.deliverAll((m) => m.to === "a"); // the acks commit it on a, which appends C(new)...
      c.flush();
      c.take(); // ...and crashes before anyone else has it
      const final: MembershipConfig = { voters: ["b", "c", "d"], weights: ["1", "1", "3"], learners: [] };
      expect(a.status().config).to.deep.equal(final);
      expect(c.core("d").status().config.outgoing, "the others are still joint").to.deep.equal(["a", "b", "c", "d"]);
      c.crash("a");
      c.restart("a");
      // b, c, d need a's vote for the old half, and a refuses them: its log is longer. Only a can end this.
      for (let i = 0; i < 100 && c.leader() === undefined; i++) c.tickAll();
      for (let i = 0; i < 20; i++) c.tickAll();
      const leader = c.leader();
      expect(["b", "c", "d"], "a led, committed C(new) and handed over").to.include(leader);
      for (const id of ["a", "b", "c", "d"]) expect(c.core(id).status().config, id).to.deep.equal(final);
      const hash = replicateTo(c, leader!, ["b", "c", "d"].filter((id) => id !== leader));
      expect(committed(c, leader!, hash)).to.equal(true);
      const sent = c.sent.length;
      for (let i = 0; i < 50; i++) c.tickAll();
      expect(c.sent.slice(sent).some((m) => m.from === "a"), "a learned it is out and stopped campaigning").to.equal(false);
    });

    it("the same voters with the same weights (in any order) are no change", () => {
      const c = new Cluster(["a", "b", "c"], { weights: ["4", "3", "2"] });
      const a = c.elect("a");
      const last = a.status().lastIndex;
      a.changeMembership(["c", "a", "b"], ["2", "4", "3"]);
      expect(a.status().lastIndex).to.equal(last);
      const unweighted = new Cluster(["a", "b", "c"]);
      const u = unweighted.elect("a");
      const uLast = u.status().lastIndex;
      u.changeMembership(["a", "b", "c"], ["1", "1", "1"]);
      expect(u.status().lastIndex, "weight 1 each is what no weights mean").to.equal(uLast);
    });

    it("rejects unusable weights without changing anything", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      const last = a.status().lastIndex;
      for (const weights of [["1", "0", "1"], ["1", "-1", "1"], ["1", "01", "1"], ["1", "1.5", "1"], ["1", "1"], ["1", "1", " 2"], ["1", "1", "9".repeat(79)]]) {
        expect(() => a.changeMembership(["a", "b", "c"], weights), JSON.stringify(weights)).to.throw(InvalidMembershipError);
      }
      expect(() => a.changeMembership(["a", "b", "c"], [1, 1, 1] as never)).to.throw(InvalidMembershipError, /positive decimal integer/);
      expect(a.status().lastIndex).to.equal(last);
      expect(a.status().config).to.deep.equal({ voters: ["a", "b", "c"], learners: [] });
    });
  });

  describe("unusable weights from the options, the disk or a peer", () => {
    const base = { id: "a", random: seeded(1), electionTicks: 10, heartbeatTicks: 2 };
    const bad: MembershipConfig[] = [
      { voters: ["a", "b"], weights: ["1", "0"], learners: [] },
      { voters: ["a", "b"], weights: ["1"], learners: [] },
      { voters: ["a", "b"], outgoingWeights: ["1", "1"], learners: [] },
      { voters: ["a"], outgoing: ["a", "b"], outgoingWeights: ["1", "x"], learners: [] },
      { voters: ["a", "a"], weights: ["1", "1"], learners: [] },
    ];

    it("the constructor rejects a bad initial or persisted configuration", () => {
      for (const config of bad) {
        expect(() => new RaftCore({ ...base, initialConfig: config }), JSON.stringify(config)).to.throw(InvalidOptionsError);
        const snapshot = { meta: { index: 3, term: 1, config, nextPosition: 0 }, data: new Uint8Array() };
        expect(
          () => new RaftCore({ ...base, initialConfig: { voters: ["a"], learners: [] }, persisted: { hardState: { term: 1, vote: null, commit: 3 }, snapshot, entries: [], applied: 3 } }),
        ).to.throw(InvalidPersistedStateError, /snapshot configuration/);
        const entries = [{ index: 1, term: 1, kind: "config" as const, firstPosition: 0, config }];
        expect(
          () => new RaftCore({ ...base, initialConfig: { voters: ["a"], learners: [] }, persisted: { hardState: { term: 1, vote: null, commit: 0 }, entries, applied: 0 } }),
        ).to.throw(InvalidPersistedStateError, /configuration entry 1/);
      }
    });

    it("a follower drops appends and snapshots whose configuration has bad weights", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      const b = c.core("b");
      const before = JSON.stringify(b.status());
      for (const config of bad) {
        b.step({ type: "append", from: "a", to: "b", term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ index: 2, term: 1, kind: "config", firstPosition: 0, config }] });
        b.step({ type: "snapshot", from: "a", to: "b", term: 1, snapshot: { meta: { index: 9, term: 1, nextPosition: 0, config }, data: new Uint8Array() } });
      }
      expect(b.hasReady()).to.equal(false);
      expect(JSON.stringify(b.status())).to.equal(before);
    });
  });
});
