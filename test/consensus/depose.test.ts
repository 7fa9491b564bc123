/**
 * RaftCore.depose: members holding a majority of stake reported the leader for censorship (the
 * node layer verified the reports). The reported leader keeps running and heartbeating; its
 * deposed followers stop granting it the lease, so the next in schedule is elected without its
 * consent, and a stale or misdirected depose changes nothing. Driven message by message.
 */
import { expect } from "chai";
import { Cluster, expectLogsAgree, txs } from "./helpers.js";

describe("consensus: deposing a reported leader", () => {
  it("the successor campaigns at once and wins against a live leader that keeps heartbeating; the log stays one", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("a").propose(txs(3));
    c.stabilize();
    c.core("c").depose("a", 1, false);
    c.core("b").depose("a", 1, true);
    c.stabilize(); // no tick: a is alive and in office until b's election ends it
    expect(c.leader()).to.equal("b");
    expect(c.core("b").status().term).to.equal(2);
    expect(c.core("a").status()).to.include({ role: "follower", leader: "b", term: 2 });
    expect(c.eventsOf("b", "campaignStarted")).to.deep.equal([{ type: "campaignStarted", term: 1, cause: "deposed" }]);
    c.core("b").propose(txs(2));
    c.stabilize();
    expect(c.appliedTxs("a")).to.have.length(5);
    expectLogsAgree(c, ["a", "b", "c"]);
  });

  it("without the depose the same campaign is held off by the live leader's lease", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("b").depose("a", 1, true);
    c.stabilize(); // c never deposed a: it holds b's pre-vote inside its lease
    expect(c.core("a").status().role).to.equal("leader");
    expect(c.core("b").status().role).to.equal("preCandidate");
    c.core("c").depose("a", 1, false); // c's tally completes later: it answers the held pre-vote
    c.stabilize();
    expect(c.leader()).to.equal("b");
  });

  it("deposed followers time out on their own when the successor does not campaign: the leader's heartbeats no longer hold them", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("b").depose("a", 1, false);
    c.core("c").depose("a", 1, false);
    for (let i = 0; i < 100 && (c.leader() === "a" || c.leader() === undefined); i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.leader()).to.be.oneOf(["b", "c"]);
    expectLogsAgree(c, ["a", "b", "c"]);
  });

  it("a depose for another term, another leader or by the leader itself changes nothing", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    c.core("b").depose("a", 0, true); // stale term
    c.core("b").depose("c", 1, true); // not b's leader
    c.core("a").depose("a", 1, true); // the leader itself
    c.core("c").depose("a", 2, false); // a term nobody is in
    c.stabilize();
    for (let i = 0; i < 30; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.leader()).to.equal("a");
    expect(c.core("a").status().term).to.equal(1);
    expect(c.eventsOf("b", "campaignStarted")).to.deep.equal([]);
  });
});
