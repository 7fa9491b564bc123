import { expect } from "chai";
import { RaftCore, isAtLeastAsComplete, type Message } from "../../node/consensus/index.js";
import { Cluster, coreWithLog, seeded } from "./helpers.js";

const voteReq = (from: string, to: string, term: number, lastTerm: number, lastIndex: number, transfer = false): Message => ({
  type: "vote",
  from,
  to,
  term,
  lastIndex,
  lastTerm,
  transfer,
});

function responses(core: RaftCore) {
  const rd = core.ready();
  core.advance();
  return rd;
}

describe("consensus: elections", () => {
  describe("vote rule (at least as complete)", () => {
    it("compares last term first, then last index", () => {
      const voter = { lastTerm: 2, lastIndex: 3 };
      expect(isAtLeastAsComplete({ lastTerm: 1, lastIndex: 10 }, voter), "lower last term, longer log").to.equal(false);
      expect(isAtLeastAsComplete({ lastTerm: 2, lastIndex: 2 }, voter), "same term, shorter").to.equal(false);
      expect(isAtLeastAsComplete({ lastTerm: 2, lastIndex: 3 }, voter), "equal").to.equal(true);
      expect(isAtLeastAsComplete({ lastTerm: 2, lastIndex: 4 }, voter), "same term, longer").to.equal(true);
      expect(isAtLeastAsComplete({ lastTerm: 3, lastIndex: 1 }, voter), "higher term, shorter").to.equal(true);
    });

    const cases: [string, number, number, boolean][] = [
      ["rejects a candidate with a lower last term but a longer log", 1, 10, false],
      ["rejects a candidate with the same last term and a shorter log", 2, 2, false],
      ["grants an equally complete candidate", 2, 3, true],
      ["grants a more complete candidate (higher last term, shorter log)", 3, 1, true],
    ];
    for (const [title, lastTerm, lastIndex, granted] of cases) {
      it(title, () => {
        const v = coreWithLog("v", ["v", "c", "x"], [1, 2, 2]);
        v.step(voteReq("c", "v", 5, lastTerm, lastIndex));
        const rd = responses(v);
        const resp = rd.messages.find((m) => m.type === "voteResp");
        expect(resp).to.deep.include({ to: "c", granted });
        expect(v.status().term, "a higher-term request moves the voter's term either way").to.equal(5);
        expect(rd.hardState?.vote ?? null).to.equal(granted ? "c" : null);
      });
    }
  });

  it("grants one vote per term, records it in hardState in the same Ready as the reply, and keeps it across a restart", () => {
    const v = coreWithLog("v", ["v", "b", "c"], [1]);
    v.step(voteReq("b", "v", 3, 1, 1));
    const rd = responses(v);
    expect(rd.hardState).to.deep.equal({ term: 3, vote: "b", commit: 0 });
    expect(rd.messages).to.deep.equal([{ type: "voteResp", from: "v", to: "b", term: 3, granted: true }]);

    // Another candidate of the same term, even a more complete one, is refused.
    v.step(voteReq("c", "v", 3, 2, 5));
    expect(responses(v).messages[0]).to.deep.include({ to: "c", granted: false });
    // A retransmitted request from the candidate we voted for is granted again.
    v.step(voteReq("b", "v", 3, 1, 1));
    expect(responses(v).messages[0]).to.deep.include({ to: "b", granted: true });

    // After a crash the persisted vote still binds.
    const restarted = new RaftCore({
      id: "v",
      initialConfig: { voters: ["v", "b", "c"], learners: [] },
      random: seeded(1),
      electionTicks: 10,
      heartbeatTicks: 2,
      persisted: { hardState: rd.hardState!, entries: [{ index: 1, term: 1, kind: "noop", firstPosition: 0 }], applied: 0 },
    });
    restarted.step(voteReq("c", "v", 3, 2, 5));
    expect(responses(restarted).messages[0]).to.deep.include({ to: "c", granted: false });
  });

  it("elects a leader that appends a no-op of its term first", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    expect(c.core("a").status()).to.include({ role: "leader", term: 1, commit: 1 });
    for (const id of ["a", "b", "c"]) expect(c.diskLog(id)).to.deep.equal(["1:1:noop"]);
    expect(c.core("b").status()).to.include({ leader: "a", term: 1 });
    expect(c.eventsOf("a", "becameLeader")).to.deep.equal([{ type: "becameLeader", term: 1 }]);
  });

  it("a single-node cluster elects itself and commits only after its own persistence", () => {
    const c = new Cluster(["solo"]);
    c.elect("solo");
    expect(c.core("solo").status().commit).to.equal(1);
  });

  describe("pre-vote", () => {
    it("does not bump the term of a partitioned node, which then cannot depose the leader", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      c.isolate("c");
      for (let i = 0; i < 100; i++) c.tickAll();
      expect(c.core("c").status().term, "pre-candidate kept its term").to.equal(1);
      expect(c.core("c").status().role).to.equal("preCandidate");
      c.heal();
      c.tickAll(5);
      expect(c.core("a").status()).to.include({ role: "leader", term: 1 });
      expect(c.core("c").status()).to.include({ role: "follower", term: 1, leader: "a" });
    });

    it("pre-vote requests of a rejoining node are ignored by followers inside the leader lease", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      c.isolate("c");
      for (let i = 0; i < 30; i++) c.tickAll();
      c.heal();
      // c campaigns before hearing from the leader again.
      const core = c.core("c");
      for (let i = 0; i < 100 && !c.queue.some((m) => m.type === "preVote"); i++) {
        core.tick();
        c.flush();
      }
      expect(c.queue.some((m) => m.type === "preVote")).to.equal(true);
      c.deliverAll((m) => m.type === "preVote");
      c.flush();
      expect(c.queue.filter((m) => m.type === "preVoteResp"), "members in lease do not answer").to.have.length(0);
      c.stabilize();
      expect(c.core("a").status()).to.include({ role: "leader", term: 1 });
      expect(c.core("b").status().term).to.equal(1);
    });

    it("without pre-vote the same partition deposes the leader (the behaviour pre-vote prevents)", () => {
      const c = new Cluster(["a", "b", "c"], { preVote: false });
      c.elect("a");
      c.isolate("c");
      for (let i = 0; i < 100; i++) c.tickAll();
      expect(c.core("c").status().term).to.be.greaterThan(1);
      c.heal();
      c.tickAll(5);
      expect(c.core("a").status().term, "the stale-term reply forced the leader out").to.be.greaterThan(1);
    });
  });

  describe("leader lease", () => {
    it("a follower that recently heard from the leader ignores a higher-term vote request", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      c.core("b").step(voteReq("c", "b", 7, 9, 9));
      expect(c.core("b").hasReady()).to.equal(false);
      expect(c.core("b").status().term).to.equal(1);
    });

    it("the lease is waived for a leadership-transfer campaign", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      c.core("b").step(voteReq("c", "b", 2, 1, 1, true));
      const rd = responses(c.core("b"));
      expect(rd.messages[0]).to.deep.include({ type: "voteResp", to: "c", granted: true, term: 2 });
    });

    it("the lease expires after an election timeout without the leader", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      c.crash("a");
      c.core("b").setElectionRank(5); // keep b from campaigning itself
      c.tick("b", 10);
      c.core("b").step(voteReq("c", "b", 2, 1, 1));
      expect(responses(c.core("b")).messages[0]).to.deep.include({ type: "voteResp", granted: true });
    });

    it("the lease ends one tick before the election timeout, so the first candidate never finds a peer a tick behind in lease", () => {
      const c = new Cluster(["a", "b", "c"]);
      c.elect("a");
      c.crash("a");
      c.core("b").setElectionRank(5);
      c.tick("b", 8); // electionTicks is 10: still in lease two ticks short of it
      c.core("b").step(voteReq("c", "b", 2, 1, 1));
      expect(c.core("b").hasReady(), "in lease: ignored").to.equal(false);
      c.tick("b", 1); // one tick short: a candidate whose clock runs a tick ahead may ask now
      c.core("b").step(voteReq("c", "b", 2, 1, 1));
      expect(responses(c.core("b")).messages[0]).to.deep.include({ type: "voteResp", granted: true });
    });
  });

  describe("election timeouts", () => {
    function ticksUntilCampaign(seed: number, rank: number, electionJitterTicks?: number): number {
      const core = new RaftCore({
        id: "n",
        initialConfig: { voters: ["n", "m", "o"], learners: [] },
        random: seeded(seed),
        electionTicks: 10,
        electionJitterTicks,
        heartbeatTicks: 2,
      });
      core.setElectionRank(rank);
      let ticks = 0;
      while (core.status().role === "follower") {
        core.tick();
        ticks++;
      }
      return ticks;
    }

    it("are randomized in [base, 2*base) from the injected generator", () => {
      const seen = new Set<number>();
      for (let seed = 1; seed <= 40; seed++) {
        const t = ticksUntilCampaign(seed, 0);
        expect(t).to.be.within(10, 19);
        seen.add(t);
      }
      expect(seen.size, "timeouts actually vary").to.be.greaterThan(3);
      expect(ticksUntilCampaign(7, 0), "deterministic").to.equal(ticksUntilCampaign(7, 0));
    });

    it("a higher election rank campaigns strictly later (schedule order)", () => {
      for (let seed = 1; seed <= 20; seed++) {
        expect(ticksUntilCampaign(seed, 1)).to.be.within(20, 29);
        expect(ticksUntilCampaign(seed, 2)).to.be.within(30, 39);
      }
    });

    it("a narrower jitter keeps ranked timeouts within [base * (1 + rank), + jitter)", () => {
      const seen = new Set<number>();
      for (let seed = 1; seed <= 40; seed++) {
        const first = ticksUntilCampaign(seed, 0, 3);
        expect(first).to.be.within(10, 12);
        seen.add(first);
        expect(ticksUntilCampaign(seed, 1, 3)).to.be.within(20, 22);
      }
      expect(seen.size, "still randomized").to.equal(3);
      expect(() => ticksUntilCampaign(1, 0, 0)).to.throw(/electionJitterTicks must be a positive integer/);
    });

    it("the rank never changes the vote rule", () => {
      const v = coreWithLog("v", ["v", "c", "x"], [1, 2, 2]);
      v.setElectionRank(3);
      v.step(voteReq("c", "v", 5, 2, 3));
      expect(responses(v).messages[0]).to.deep.include({ granted: true });
    });
  });

  it("a stale leader learns the new term from a follower's reply and steps down", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("a");
    c.core("c").setElectionRank(5);
    c.tick("c", 10); // c's lease on a expires
    c.elect("b");
    expect(c.core("b").status().term).to.equal(2);
    c.heal();
    c.tick("a", 2); // heartbeat at term 1
    c.stabilize();
    expect(c.core("a").status()).to.include({ role: "follower", term: 2 });
    c.tick("b", 2);
    c.stabilize();
    expect(c.core("a").status()).to.include({ role: "follower", term: 2, leader: "b" });
  });

  it("drops malformed messages without throwing or changing state", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    const b = c.core("b");
    const before = JSON.stringify(b.status());
    const bad: unknown[] = [
      null,
      { type: "vote", from: "c", to: "b", term: -1, lastIndex: 0, lastTerm: 0, transfer: false },
      { type: "vote", from: "c", to: "b", term: 9, lastIndex: 0, lastTerm: 0 },
      { type: "append", from: "a", to: "b", term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ index: 5, term: 1, kind: "noop", firstPosition: 0 }] },
      { type: "append", from: "a", to: "b", term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ index: 2, term: 1, kind: "txs", firstPosition: 0 }] },
      { type: "append", from: "a", to: "b", term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ index: 2, term: 1, kind: "noop", firstPosition: 7 }] },
      { type: "append", from: "a", to: "b", term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: [{ index: 2, term: 2, kind: "noop", firstPosition: 0 }] },
      { type: "append", from: "a", to: "b", term: 1, prevIndex: 1, prevTerm: 1, commit: 1, entries: "x" },
      { type: "appendResp", from: "a", to: "b", term: 1, success: "yes", matchIndex: 0, hintIndex: 0, hintTerm: 0 },
      { type: "snapshot", from: "a", to: "b", term: 1, snapshot: { meta: { index: 3, term: 1, nextPosition: 0, config: { voters: "a", learners: [] } }, data: new Uint8Array() } },
      { type: "bogus", from: "a", to: "b", term: 1 },
      { type: "timeoutNow", from: "a", to: "someone-else", term: 1 },
    ];
    for (const m of bad) expect(() => b.step(m as Message)).not.to.throw();
    expect(b.hasReady()).to.equal(false);
    expect(JSON.stringify(b.status())).to.equal(before);
  });
});
