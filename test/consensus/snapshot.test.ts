import { expect } from "chai";
import { CompactionError, type Message } from "../../node/consensus/index.js";
import { Cluster, expectLogsAgree, txs } from "./helpers.js";

describe("consensus: snapshots, compaction and restart", () => {
  it("compact() records the snapshot meta at an applied index and drops the log prefix", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(4));
    c.stabilize();
    a.propose(txs(3));
    c.stabilize();
    const snap = c.compact("a");
    expect(snap.meta).to.deep.equal({ index: 3, term: 1, config: { voters: ["a", "b", "c"], learners: [] }, nextPosition: 7 });
    expect(a.status()).to.include({ lastIndex: 3, commit: 3, nextPosition: 7 });
    expect(() => a.compact(2, new Uint8Array()), "behind the snapshot").to.throw(CompactionError);
    expect(() => a.compact(9, new Uint8Array()), "beyond applied").to.throw(CompactionError);
    expect(a.compact(3, new Uint8Array()).meta.index, "same index: no-op").to.equal(3);
    a.propose(txs(1));
    c.stabilize();
    expect(c.outcomesOf("a", "committed").at(-1)).to.include({ position: 7, index: 4 });
  });

  it("sends a snapshot to a follower that lags behind the compaction point, then the tail", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.crash("c");
    const early = txs(6);
    a.propose(early.slice(0, 3));
    c.stabilize();
    a.propose(early.slice(3));
    c.stabilize();
    c.compact("a");
    a.propose(txs(2)); // tail after the snapshot
    c.stabilize();
    c.restart("c");
    c.tickAll(12); // a notices its appends to c went unanswered, probes again, finds the prefix compacted

    const withSnapshot = c.readies.get("c")!.filter((r) => r.snapshot);
    expect(withSnapshot).to.have.length(1);
    const rd = withSnapshot[0]!;
    expect(rd.snapshot!.meta).to.include({ index: 3, term: 1, nextPosition: 6 });
    expect(rd.messages).to.deep.include({ type: "snapshotResp", from: "c", to: "a", term: 1, success: true, matchIndex: 3 });
    expect(c.sent.filter((m) => m.type === "snapshot")).to.have.length(1);
    expect(c.core("c").status()).to.include({ commit: 4, lastIndex: 4, nextPosition: 8 });
    expect(c.diskLog("c")).to.deep.equal(c.diskLog("a"));
    expect([...c.apps.get("c")!.txs]).to.deep.equal([...c.apps.get("a")!.txs]);

    // c leads later: a compacted transaction proposed again keeps its original commitment.
    a.transferLeadership("c");
    c.stabilize();
    const cCore = c.core("c");
    expect(cCore.status().role).to.equal("leader");
    c.outcomes.get("c")!.length = 0;
    cCore.propose([early[4]!]);
    c.flush();
    expect(c.outcomesOf("c")).to.deep.equal([{ txHash: early[4]!.hash, status: "committed", position: 4, index: 3, term: 1 }]);
  });

  it("a follower that already holds the snapshot's last entry keeps its log and only advances commit", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(2));
    c.stabilize();
    const b = c.core("b");
    const before = c.diskLog("b");
    const snapshot = { meta: { index: 2, term: 1, config: c.genesis, nextPosition: 2 }, data: new Uint8Array() };
    const m: Message = { type: "snapshot", from: "a", to: "b", term: 1, snapshot };
    c.stabilize();
    b.step(m);
    const rd = c.handleReady("b");
    expect(rd.snapshot).to.equal(undefined);
    expect(rd.messages).to.deep.include({ type: "snapshotResp", from: "b", to: "a", term: 1, success: true, matchIndex: 2 });
    expect(c.diskLog("b")).to.deep.equal(before);
  });

  it("restarts every node from what it persisted and carries on with the same state", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(5));
    c.stabilize();
    c.tickAll(2);
    const before = new Map(["a", "b", "c"].map((id) => [id, c.core(id).status()]));
    const appliedBefore = new Map(["a", "b", "c"].map((id) => [id, c.appliedTxs(id)]));
    for (const id of ["a", "b", "c"]) c.crash(id);
    for (const id of ["a", "b", "c"]) c.restart(id);
    for (const id of ["a", "b", "c"]) {
      const s = c.core(id).status();
      const b = before.get(id)!;
      expect(s).to.include({ role: "follower", term: b.term, commit: b.commit, applied: b.applied, lastIndex: b.lastIndex, nextPosition: b.nextPosition });
      expect(s.config).to.deep.equal(b.config);
      expect(c.core(id).hasReady(), "nothing to re-apply or re-persist").to.equal(false);
    }
    const leader = c.elect("b");
    expect(leader.status().term).to.equal(2);
    const more = txs(2);
    leader.propose(more);
    c.stabilize();
    expect(c.outcomesOf("b", "committed").map((o) => (o.status === "committed" ? o.position : -1))).to.deep.equal([5, 6]);
    for (const id of ["a", "b", "c"]) expect(c.appliedTxs(id).slice(0, 5)).to.deep.equal(appliedBefore.get(id)!.slice(0, 5));
    expectLogsAgree(c, ["a", "b", "c"]);
  });

  it("a restarted node re-applies only what it had not applied", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(3));
    c.stabilize();
    c.tickAll(2);
    const disk = c.disks.get("c")!;
    // Pretend c crashed after persisting commit 2 but before applying entry 2.
    disk.applied = 1;
    c.crash("c");
    const restarted = c.restart("c");
    const rd = restarted.ready();
    expect(rd.committedEntries.map((e) => e.index)).to.deep.equal([2]);
    restarted.advance();
  });

  it("restarts from a snapshot plus tail, with compacted transactions still deduplicated", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    const t = txs(4);
    a.propose(t);
    c.stabilize();
    c.tickAll(2);
    c.compact("b");
    const after = txs(1);
    a.propose(after);
    c.stabilize();
    c.tickAll(2);
    const before = c.core("b").status();
    c.crash("b");
    const b = c.restart("b");
    expect(b.status()).to.include({ lastIndex: before.lastIndex, commit: before.commit, nextPosition: 5 });
    a.transferLeadership("b");
    c.stabilize();
    expect(b.status().role).to.equal("leader");
    c.outcomes.get("b")!.length = 0;
    b.propose([t[1]!, after[0]!]);
    c.flush();
    expect(c.outcomesOf("b")).to.deep.equal([
      { txHash: t[1]!.hash, status: "committed", position: 1, index: 2, term: 1 },
      { txHash: after[0]!.hash, status: "committed", position: 4, index: 3, term: 1 },
    ]);
  });
});
