import { expect } from "chai";
import {
  InvalidMembershipError,
  LeadershipTransferError,
  MembershipChangeInProgressError,
  NotLeaderError,
  type MembershipConfig,
} from "../../node/consensus/index.js";
import { committedIndex, hasQuorum, voteResult } from "../../node/consensus/quorum.js";
import { Cluster, expectLogsAgree, txs } from "./helpers.js";

const configEntries = (c: Cluster, id: string) =>
  c.disks.get(id)!.entries.filter((e) => e.kind === "config").map((e) => e.config!);

describe("consensus: membership", () => {
  describe("joint majority math", () => {
    const joint: MembershipConfig = { voters: ["d", "e", "f"], outgoing: ["a", "b", "c"], learners: [] };
    const match: Record<string, number> = { a: 9, b: 9, c: 1, d: 5, e: 1, f: 1 };

    it("commits the lower of the two majorities", () => {
      expect(committedIndex({ voters: ["a", "b", "c"], learners: [] }, (id) => match[id]!)).to.equal(9);
      expect(committedIndex(joint, (id) => match[id]!)).to.equal(1);
      expect(committedIndex(joint, (id) => ({ ...match, e: 7 })[id]!)).to.equal(5);
    });

    it("needs a majority of both halves to win, and loses if either half is lost", () => {
      const votes = (granted: string[], rejected: string[] = []) =>
        new Map([...granted.map((id) => [id, true] as const), ...rejected.map((id) => [id, false] as const)]);
      expect(voteResult(joint, votes(["a", "b", "d"]))).to.equal("pending");
      expect(voteResult(joint, votes(["a", "b", "d", "e"]))).to.equal("won");
      expect(voteResult(joint, votes(["a", "b", "c"], ["e", "f"]))).to.equal("lost");
      expect(hasQuorum(joint, (id) => ["a", "b", "d", "e"].includes(id))).to.equal(true);
      expect(hasQuorum(joint, (id) => ["a", "b", "c", "d"].includes(id))).to.equal(false);
    });
  });

  it("adds a node as a learner, waits for it to catch up, then goes through C(old,new) to C(new)", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(10));
    c.stabilize();
    c.start("d"); // starts with the genesis config: not a voter, never campaigns
    c.isolate("d");
    a.changeMembership(["a", "b", "c", "d"]);
    c.tickAll(10);
    expect(a.status().config).to.deep.equal({ voters: ["a", "b", "c"], learners: ["d"] });
    expect(configEntries(c, "a"), "no joint config while the learner lags").to.have.length(1);
    expect(() => a.changeMembership(["a", "b"])).to.throw(MembershipChangeInProgressError);

    c.heal();
    c.tickAll(10);
    expect(configEntries(c, "d")).to.deep.equal([
      { voters: ["a", "b", "c"], learners: ["d"] },
      { voters: ["a", "b", "c", "d"], outgoing: ["a", "b", "c"], learners: [] },
      { voters: ["a", "b", "c", "d"], learners: [] },
    ]);
    for (const id of ["a", "b", "c", "d"]) expect(c.core(id).status().config).to.deep.equal({ voters: ["a", "b", "c", "d"], learners: [] });
    const joint = c.disks.get("a")!.entries.find((e) => e.config?.outgoing)!;
    const ackedBeforeJoint = c.sent.findIndex(
      (m) => m.type === "appendResp" && m.from === "d" && m.success && m.matchIndex >= joint.index - 1,
    );
    expect(ackedBeforeJoint, "d acknowledged the log before C(old,new) was sent").to.be.greaterThan(-1);
    expect(c.eventsOf("d", "configChanged").map((e) => e.index)).to.deep.equal([joint.index - 1, joint.index, joint.index + 1]);

    // d is a full voter now: with a gone, b needs d's vote as well (3 of 4).
    c.crash("a");
    c.crash("c");
    c.core("d").setElectionRank(5);
    c.tick("d", 10);
    for (let i = 0; i < 100; i++) {
      c.tick("b");
      c.stabilize();
    }
    expect(c.core("b").status().role, "2 of 4 is not a majority").not.to.equal("leader");
    c.restart("c");
    c.elect("b");
  });

  it("cannot commit a change a quorum of followers vetoes; commits it once they accept", () => {
    let l1Knows = false; // the followers' reading of L1: d is not a member yet
    const c = new Cluster(["a", "b", "c"], { acceptConfig: (id, config) => id === "a" || l1Knows || !JSON.stringify(config).includes('"d"') });
    const a = c.elect("a");
    a.propose(txs(3));
    c.stabilize();
    c.start("d");
    a.changeMembership(["a", "b", "c", "d"]);
    c.tickAll(30);
    for (const id of ["b", "c"]) expect(configEntries(c, id), `${id} never stored the vetoed config`).to.deep.equal([]);
    expect(a.status().commit, "the learner config is not committed").to.be.lessThan(a.status().lastIndex);
    expect(a.status().role, "the leader survives the veto (heartbeats still flow)").to.equal("leader");

    l1Knows = true;
    c.tickAll(30);
    for (const id of ["a", "b", "c", "d"]) expect(c.core(id).status().config).to.deep.equal({ voters: ["a", "b", "c", "d"], learners: [] });
    expectLogsAgree(c, ["a", "b", "c", "d"]);
  });

  it("removes a voter; the removed node stops campaigning", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.changeMembership(["a", "b"]);
    c.stabilize();
    c.tickAll(4);
    for (const id of ["a", "b", "c"]) expect(c.core(id).status().config).to.deep.equal({ voters: ["a", "b"], learners: [] });
    const term = a.status().term;
    for (let i = 0; i < 100; i++) {
      c.tick("c");
      c.stabilize();
    }
    expect(c.core("c").status()).to.include({ role: "follower", term });
    expect(c.sent.filter((m) => m.from === "c" && (m.type === "preVote" || m.type === "vote"))).to.have.length(0);
  });

  it("a removed node that missed its removal cannot disrupt the remaining members", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("c");
    a.changeMembership(["a", "b"]);
    c.tickAll(4);
    expect(a.status().config).to.deep.equal({ voters: ["a", "b"], learners: [] });
    expect(c.core("c").status().config.voters, "c still believes it is a voter").to.include("c");
    c.heal();
    for (let i = 0; i < 200; i++) c.tickAll();
    expect(c.sent.some((m) => m.from === "c" && m.type === "preVote"), "c did try").to.equal(true);
    expect(a.status()).to.include({ role: "leader", term: 1 });
    expect(c.core("b").status()).to.include({ term: 1, leader: "a" });
  });

  it("replaces every member including the leader, which steps down once C(new) commits", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    const before = txs(5);
    a.propose(before);
    c.stabilize();
    for (const id of ["d", "e", "f"]) c.start(id);
    a.changeMembership(["d", "e", "f"]);
    for (let i = 0; i < 10 && a.status().role === "leader"; i++) c.tickAll();
    expect(a.status().role).to.equal("follower");
    expect(c.eventsOf("a", "lostLeadership")).to.have.length(1);
    c.stabilize();
    const leader = c.leader();
    expect(["d", "e", "f"]).to.include(leader);
    expect(c.sent.some((m) => m.type === "timeoutNow" && m.from === "a"), "a handed over directly").to.equal(true);

    const after = txs(3);
    c.core(leader!).propose(after);
    c.stabilize();
    expect(c.outcomesOf(leader!, "committed").map((o) => o.txHash)).to.deep.equal(after.map((t) => t.hash));
    for (const id of ["d", "e", "f"]) {
      expect(c.core(id).status().config).to.deep.equal({ voters: ["d", "e", "f"], learners: [] });
      expect(c.appliedTxs(id).slice(0, 5)).to.deep.equal(c.appliedTxs("a").slice(0, 5));
    }
    expectLogsAgree(c, ["d", "e", "f"]);
    // The old members are out: they never campaign again.
    const sentBefore = c.sent.length;
    for (let i = 0; i < 50; i++) {
      for (const id of ["a", "b", "c"]) c.tick(id);
      c.stabilize();
    }
    expect(c.sent.slice(sentBefore).some((m) => ["a", "b", "c"].includes(m.from))).to.equal(false);
  });

  it("a new leader finishes a joint change its predecessor began", () => {
    const c = new Cluster(["a", "b", "c", "d", "e"]);
    const a = c.elect("a");
    a.changeMembership(["a", "b", "c", "d"]);
    // Let C(old,new) commit on a, but lose everything a sends afterwards (including C(new)).
    c.handleReady("a");
    c.deliverAll();
    c.flush();
    c.deliverAll((m) => m.to === "a");
    c.handleReady("a");
    expect(configEntries(c, "a").at(-1)).to.deep.equal({ voters: ["a", "b", "c", "d"], learners: [] });
    c.crash("a");
    expect(c.core("b").status().config.outgoing).to.deep.equal(["a", "b", "c", "d", "e"]);
    for (const id of ["c", "d", "e"]) c.core(id).setElectionRank(5);
    c.tick("c", 10);
    c.tick("d", 10);
    c.tick("e", 10);
    c.elect("b");
    c.stabilize();
    expect(c.core("b").status().config).to.deep.equal({ voters: ["a", "b", "c", "d"], learners: [] });
    expect(c.core("c").status().config).to.deep.equal({ voters: ["a", "b", "c", "d"], learners: [] });
  });

  it("rejects invalid or conflicting change requests without changing anything", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    expect(() => c.core("b").changeMembership(["a", "b"])).to.throw(NotLeaderError);
    expect(() => a.changeMembership([])).to.throw(InvalidMembershipError);
    expect(() => a.changeMembership(["a", "a"])).to.throw(InvalidMembershipError);
    a.transferLeadership("b");
    expect(() => a.changeMembership(["a", "b"])).to.throw(LeadershipTransferError);
    c.stabilize();
    expect(c.core("b").status().config).to.deep.equal({ voters: ["a", "b", "c"], learners: [] });
    expect(configEntries(c, "b")).to.have.length(0);
  });
});
