import { expect } from "chai";
import { LeadershipTransferError, NotLeaderError } from "../../node/consensus/index.js";
import { Cluster, txs } from "./helpers.js";

describe("consensus: leadership transfer", () => {
  it("hands leadership to a caught-up voter at once (timeoutNow, campaign without pre-vote, lease waived)", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(3));
    c.stabilize();
    a.transferLeadership("b");
    expect(a.status().transferringTo).to.equal("b");
    const held = txs(2);
    a.propose(held);
    c.flush();
    expect(c.outcomesOf("a", "failed")).to.deep.equal(held.map((t) => ({ txHash: t.hash, status: "failed", reason: "transferring", leader: "b" })));
    expect(c.queue.filter((m) => m.type === "timeoutNow")).to.deep.equal([{ type: "timeoutNow", from: "a", to: "b", term: 1 }]);
    c.stabilize();
    expect(c.core("b").status()).to.include({ role: "leader", term: 2 });
    expect(a.status()).to.include({ role: "follower", leader: "b", transferringTo: null });
    const votes = c.sent.filter((m) => m.type === "vote" && m.term === 2);
    expect(votes.length).to.be.greaterThan(0);
    for (const v of votes) expect(v).to.include({ from: "b", transfer: true });
    expect(c.sent.some((m) => m.type === "preVote" && m.from === "b"), "no pre-vote").to.equal(false);
  });

  it("catches a lagging target up before sending timeoutNow", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("b");
    for (let i = 0; i < 3; i++) {
      a.propose(txs(2));
      c.stabilize();
    }
    c.heal();
    const last = a.status().lastIndex;
    a.transferLeadership("b");
    c.flush();
    expect(c.queue.some((m) => m.type === "timeoutNow"), "not before b holds everything").to.equal(false);
    c.stabilize();
    const timeoutAt = c.sent.findIndex((m) => m.type === "timeoutNow");
    const caughtUpAt = c.sent.findIndex((m) => m.type === "appendResp" && m.from === "b" && m.success && m.matchIndex === last);
    expect(caughtUpAt).to.be.greaterThan(-1);
    expect(timeoutAt).to.be.greaterThan(caughtUpAt);
    expect(c.core("b").status().role).to.equal("leader");
  });

  it("aborts after an election timeout if the target does not take over, then accepts proposals again", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("b");
    a.transferLeadership("b");
    for (let i = 0; i < 10; i++) c.tickAll();
    expect(c.eventsOf("a", "transferAborted")).to.deep.equal([{ type: "transferAborted", to: "b" }]);
    expect(a.status()).to.include({ role: "leader", transferringTo: null, term: 1 });
    const t = txs(1);
    a.propose(t);
    c.stabilize();
    expect(c.outcomesOf("a").at(-1)).to.include({ txHash: t[0]!.hash, status: "committed" });
  });

  it("rejects transfers from a non-leader or to a non-voter", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    expect(() => c.core("b").transferLeadership("c")).to.throw(NotLeaderError);
    expect(() => a.transferLeadership("zz")).to.throw(LeadershipTransferError);
    expect(a.status().transferringTo).to.equal(null);
  });
});
