/**
 * The driver reports a lost connection to the leader (RaftCore.leaderConnectionLost): a crashed
 * leader is replaced without waiting for the election timeout, while a live leader whose link
 * to one member merely flapped stays in place at the same term. Driven message by message.
 */
import { expect } from "chai";
import { Cluster, expectLogsAgree, txs } from "./helpers.js";

describe("consensus: leader connection lost", () => {
  it("a crashed leader's follower campaigns at once (pre-vote, cause leaderLost) and is elected without a tick", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("a").propose(txs(3));
    c.stabilize();
    c.core("b").setElectionRank(0);
    c.core("c").setElectionRank(1);
    c.crash("a");
    c.core("b").leaderConnectionLost("a");
    c.core("c").leaderConnectionLost("a"); // rank 1: not yet campaigning, but out of its lease
    c.stabilize(); // no tick: the whole election runs on the connection-loss input
    expect(c.leader()).to.equal("b");
    expect(c.core("b").status().term).to.equal(2);
    expect(c.eventsOf("b", "campaignStarted")).to.deep.equal([{ type: "campaignStarted", term: 1, cause: "leaderLost" }]);
    expect(c.appliedTxs("b")).to.have.length(3);
    expectLogsAgree(c, ["b", "c"]);
  });

  it("a pre-vote that arrived while this node was still in its lease is answered once it loses the leader too", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("b").setElectionRank(0);
    c.core("c").setElectionRank(1);
    c.crash("a");
    c.core("b").leaderConnectionLost("a");
    c.stabilize(); // c still hears a (no report yet): it holds b's pre-vote unanswered
    expect(c.leader()).to.equal(undefined);
    expect(c.core("b").status().role).to.equal("preCandidate");
    c.core("c").leaderConnectionLost("a");
    c.stabilize(); // no tick
    expect(c.leader()).to.equal("b");
    expect(c.eventsOf("c", "campaignStarted")).to.deep.equal([]);
  });

  it("equal ranks that both lose the leader may split the vote; the randomized timeout then elects exactly one", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.crash("a");
    c.core("b").leaderConnectionLost("a");
    c.core("c").leaderConnectionLost("a");
    c.stabilize();
    for (let i = 0; i < 100 && c.leader() === undefined; i++) c.tickAll();
    const leader = c.leader();
    expect(leader).to.be.oneOf(["b", "c"]);
    const other = leader === "b" ? "c" : "b";
    expect(c.core(other).status()).to.include({ role: "follower", leader, term: c.core(leader!).status().term });
    expectLogsAgree(c, ["b", "c"]);
  });

  it("with election ranks, rank 0 campaigns at once and rank 1 only after a whole tick, so the vote is not split", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("b").setElectionRank(0);
    c.core("c").setElectionRank(1);
    c.crash("a");
    c.core("c").leaderConnectionLost("a");
    expect(c.core("c").status().role, "rank 1 waits").to.equal("follower");
    c.tick("c");
    expect(c.core("c").status().role, "rank 1 waits a whole tick").to.equal("follower");
    c.core("b").leaderConnectionLost("a");
    c.stabilize();
    expect(c.leader()).to.equal("b");
    expect(c.core("b").status().term).to.equal(2);
    expect(c.eventsOf("c", "campaignStarted")).to.deep.equal([]);
    // The leader's appends cancel c's pending campaign.
    c.tickAll(5);
    expect(c.eventsOf("c", "campaignStarted")).to.deep.equal([]);
    expect(c.core("c").status()).to.include({ role: "follower", leader: "b", term: 2 });
  });

  it("a flapping link to a live leader starts a pre-vote that the others ignore: no new term, the leader stays", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.tickAll(2);
    for (let round = 0; round < 20; round++) {
      c.core("b").leaderConnectionLost("a");
      expect(c.core("b").status().role).to.equal("preCandidate");
      c.stabilize(); // c is in its lease, a is the leader: neither answers b's pre-vote
      expect(c.core("b").status().role).to.equal("preCandidate");
      c.tickAll(2); // a's heartbeat reaches b again
      expect(c.core("b").status()).to.include({ role: "follower", leader: "a", term: 1 });
    }
    expect(c.core("a").status()).to.include({ role: "leader", term: 1 });
    for (const id of ["a", "b", "c"]) expect(c.core(id).status().term).to.equal(1);
    expect(c.eventsOf("b", "campaignStarted").map((e) => e.cause)).to.deep.equal(Array(20).fill("leaderLost"));
  });

  it("the leader itself ignores a higher-term pre-vote at every tick of its election period (it is its own lease)", () => {
    const c = new Cluster(["a", "b", "c"], { electionTicks: 4, heartbeatTicks: 1 });
    c.elect("a");
    for (let t = 0; t < 8; t++) {
      c.core("a").step({ type: "preVote", from: "b", to: "a", term: 2, lastIndex: 1, lastTerm: 1 });
      c.flush();
      expect(c.take((m) => m.type === "preVoteResp" && m.from === "a"), `tick ${t}`).to.deep.equal([]);
      c.tick("a");
      c.flush();
      c.take((m) => m.from === "a");
    }
  });

  it("is ignored unless it names the leader of a follower", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    const before = c.eventsOf("a", "campaignStarted").length;
    c.core("b").leaderConnectionLost("c"); // not the leader
    c.core("a").leaderConnectionLost("b"); // the leader itself
    c.stabilize();
    expect(c.eventsOf("b", "campaignStarted")).to.deep.equal([]);
    expect(c.eventsOf("a", "campaignStarted")).to.have.length(before);
    expect(c.core("a").status()).to.include({ role: "leader", term: 1 });
  });
});
