import { expect } from "chai";
import type { Message } from "../../node/consensus/index.js";
import { Cluster, diskWithLog, expectLogsAgree, txs } from "./helpers.js";

const appends = (q: readonly Message[], to: string) =>
  q.filter((m): m is Extract<Message, { type: "append" }> => m.type === "append" && m.to === to && m.entries.length > 0);

/** Runs an election for `id` delivering everything except replication traffic. */
function electWithoutReplication(c: Cluster, id: string): void {
  const core = c.core(id);
  for (let i = 0; i < 200 && core.status().role !== "leader"; i++) {
    core.tick();
    for (;;) {
      c.flush();
      if (c.deliverAll((m) => m.type !== "append" && m.type !== "appendResp") === 0) break;
    }
  }
  expect(core.status().role).to.equal("leader");
}

describe("consensus: replication", () => {
  it("batches every proposal of a ready cycle into one txs entry, split at maxTxsPerEntry", () => {
    const c = new Cluster(["a", "b", "c"], { maxTxsPerEntry: 16 });
    const a = c.elect("a");
    a.propose(txs(5));
    a.propose(txs(5));
    a.propose(txs(4));
    c.stabilize();
    const disk = c.disks.get("a")!.entries;
    expect(disk.map((e) => [e.kind, e.txs?.length ?? 0])).to.deep.equal([["noop", 0], ["txs", 14]]);
    a.propose(txs(20));
    c.stabilize();
    expect(c.disks.get("a")!.entries.slice(2).map((e) => e.txs!.length)).to.deep.equal([16, 4]);
    expect(c.outcomesOf("a", "committed")).to.have.length(34);
  });

  it("pipelines up to maxInflight appends per follower before any response, then sends many entries per message", () => {
    const c = new Cluster(["a", "b", "c"], { maxInflight: 3 });
    const a = c.elect("a");
    for (let i = 0; i < 6; i++) {
      a.propose(txs(2));
      c.handleReady("a");
    }
    const toB = appends(c.queue, "b");
    expect(toB, "three appends in flight to b, the window is full").to.have.length(3);
    expect(a.status().progress!.b).to.include({ inflight: 3 });
    expect(toB.map((m) => m.entries.length)).to.deep.equal([1, 1, 1]);
    // Deliver b's traffic: the first acknowledgement frees the window and the rest goes in one message.
    c.deliverAll((m) => m.to === "b");
    c.handleReady("b");
    c.deliverAll((m) => m.from === "b");
    c.handleReady("a");
    expect(appends(c.queue, "b").map((m) => m.entries.length)).to.deep.equal([3]);
    c.stabilize();
    expect(c.outcomesOf("a", "committed")).to.have.length(12);
  });

  it("the leader counts its own copy only after advance() for the Ready that carried it", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.cut("a", "c");
    const commitBefore = a.status().commit;
    a.propose(txs(1));
    const rd = a.ready(); // carries the new entry; not yet persisted by the driver
    expect(rd.entries).to.have.length(1);
    for (const m of rd.messages) c.deliver(m);
    c.handleReady("b"); // b persisted and acknowledged
    c.deliverAll((m) => m.to === "a");
    expect(a.status().commit, "b's copy alone is not a majority of durable copies").to.equal(commitBefore);
    a.advance();
    expect(a.status().commit).to.equal(rd.entries[0]!.index);
    expect(a.ready().outcomes).to.deep.include({ txHash: rd.entries[0]!.txs![0]!.hash, status: "committed", position: 0, index: 2, term: 1 });
    a.advance();
  });

  it("a follower acknowledges only what its Ready persisted (entries and ack in the same Ready)", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(3));
    c.handleReady("a");
    c.deliverAll((m) => m.to === "b");
    const rd = c.handleReady("b");
    const ack = rd.messages.find((m) => m.type === "appendResp");
    expect(ack).to.deep.include({ success: true, matchIndex: 2 });
    expect(rd.entries.map((e) => e.index)).to.deep.equal([2]);
  });

  describe("current-term commit rule (Raft Figure 8)", () => {
    // s1 led term 2 and replicated index 2 to s2 (and s3); s5 led term 3 with its own index 2.
    const setup = () => {
      const c = new Cluster(["s1", "s2", "s3", "s4", "s5"], {}, {
        s1: diskWithLog([1, 2], 3),
        s2: diskWithLog([1, 2], 3),
        s3: diskWithLog([1, 2], 3),
        s4: diskWithLog([1], 3),
        s5: diskWithLog([1, 3], 3),
      });
      c.crash("s5");
      electWithoutReplication(c, "s1"); // term 4, no-op at index 3 still only on s1
      c.take();
      return c;
    };

    it("does not commit an earlier-term entry held by a majority until a current-term entry is", () => {
      const c = setup();
      const s1 = c.core("s1");
      expect(s1.status()).to.include({ term: 4, lastIndex: 3 });
      for (const from of ["s2", "s3"]) {
        s1.step({ type: "appendResp", from, to: "s1", term: 4, success: true, matchIndex: 2, hintIndex: 0, hintTerm: 0 });
      }
      c.flush();
      expect(s1.status().commit, "index 2 (term 2) is on s1, s2, s3 but must not commit").to.equal(0);
      expect(c.readies.get("s1")!.flatMap((r) => r.committedEntries)).to.have.length(0);

      // Why: s5 (last term 3) can still win and overwrite index 2 on s2 and s3.
      c.crash("s1");
      c.restart("s5");
      c.elect("s5");
      c.stabilize();
      for (const id of ["s2", "s3", "s4", "s5"]) expect(c.diskLog(id)[1]).to.equal("2:3:noop");
    });

    it("commits the earlier-term entry together with the leader's no-op once that is on a majority", () => {
      const c = setup();
      const s1 = c.core("s1");
      c.tick("s1", 2); // heartbeat, then probes reach everyone
      c.stabilize();
      expect(s1.status().commit).to.equal(3);
      for (const id of ["s2", "s3", "s4"]) expect(c.diskLog(id)).to.deep.equal(["1:1:noop", "2:2:noop", "3:4:noop"]);
      // s5 can no longer win: a majority's last term is 4.
      c.crash("s1");
      c.restart("s5");
      for (let i = 0; i < 100; i++) {
        c.tick("s5");
        c.stabilize();
      }
      expect(c.core("s5").status().role).not.to.equal("leader");
    });
  });

  it("a new leader commits the previous leader's majority-held entry through its own no-op", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    const x = txs(1, "x");
    a.propose(x);
    c.handleReady("a");
    c.deliverAll((m) => m.to === "b");
    c.handleReady("b"); // b holds x durably; its acknowledgement is lost with a
    c.crash("a");
    c.core("c").setElectionRank(5);
    c.tick("c", 10);
    const b = c.elect("b");
    expect(c.diskLog("b")).to.deep.equal(["1:1:noop", "2:1:txs", "3:2:noop"]);
    expect(b.status().commit).to.equal(3);
    expect(c.appliedTxs("c")).to.deep.equal([`${x[0]!.hash}@0`]);
  });

  it("truncates a follower's conflicting suffix and drops its transactions from the idempotency index", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("a");
    const x = txs(1, "x");
    a.propose(x); // only on a: index 2, position 0
    c.stabilize();
    expect(c.diskLog("a")).to.deep.equal(["1:1:noop", "2:1:txs"]);

    c.core("c").setElectionRank(5);
    c.tick("c", 10);
    const b = c.elect("b");
    const y = txs(1, "y");
    b.propose(y); // index 3, position 0
    c.stabilize();

    c.heal();
    c.tick("b", 2);
    c.stabilize();
    expect(c.diskLog("a")).to.deep.equal(c.diskLog("b"));
    expect(c.diskLog("a")).to.deep.equal(["1:1:noop", "2:2:noop", "3:2:txs"]);
    expect(c.outcomesOf("a")).to.deep.equal([{ txHash: x[0]!.hash, status: "failed", reason: "lost-leadership", leader: "b" }]);

    // a leads again: y is a duplicate (committed at 0), x is new (position 1, not the truncated 0).
    b.transferLeadership("a");
    c.stabilize();
    expect(a.status().role).to.equal("leader");
    c.outcomes.get("a")!.length = 0;
    a.propose([...y, ...x]);
    c.stabilize();
    expect(c.outcomesOf("a")).to.deep.equal([
      { txHash: y[0]!.hash, status: "committed", position: 0, index: 3, term: 2 },
      { txHash: x[0]!.hash, status: "committed", position: 1, index: 5, term: 3 },
    ]);
    expectLogsAgree(c, ["a", "b", "c"]);
  });

  describe("fast back-off", () => {
    it("skips a divergent suffix a term at a time (bounded rejections)", () => {
      const leaderLog = [1, 1, ...Array<number>(18).fill(4)];
      const c = new Cluster(["l", "g", "f"], {}, {
        l: diskWithLog(leaderLog, 4),
        g: diskWithLog(leaderLog, 4),
        f: diskWithLog([1, 1, ...Array<number>(50).fill(2), ...Array<number>(50).fill(3)], 3),
      });
      c.elect("l");
      c.stabilize();
      const rejections = c.sent.filter((m) => m.type === "appendResp" && m.from === "f" && !m.success);
      expect(rejections.length, "one per divergent term at most").to.be.at.most(2);
      expect(c.diskLog("f")).to.deep.equal(c.diskLog("l"));
      expect(c.diskLog("f")).to.have.length(21);
    });

    it("jumps straight to the end of a lagging follower's log", () => {
      const leaderLog = [1, 1, ...Array<number>(40).fill(2)];
      const c = new Cluster(["l", "g", "f"], {}, {
        l: diskWithLog(leaderLog, 2),
        g: diskWithLog(leaderLog, 2),
        f: diskWithLog([1, 1], 2),
      });
      c.elect("l");
      const rejections = c.sent.filter((m) => m.type === "appendResp" && m.from === "f" && !m.success);
      expect(rejections).to.have.length(1);
      expect(c.diskLog("f")).to.have.length(43);
    });
  });

  it("recovers lost appends (window stalls, then probes again)", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    for (let i = 0; i < 5; i++) {
      a.propose(txs(3));
      c.flush();
      c.take((m) => m.to === "b"); // lost
      c.stabilize();
    }
    expect(c.core("b").status().lastIndex).to.equal(1);
    c.tickAll(30);
    expect(c.diskLog("b")).to.deep.equal(c.diskLog("a"));
    expect(c.core("b").status().commit).to.equal(a.status().commit);
  });

  it("heartbeats carry the commit index to followers, which apply", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(txs(4));
    c.stabilize();
    c.tickAll(2);
    for (const id of ["b", "c"]) {
      expect(c.core(id).status().commit).to.equal(2);
      expect(c.appliedTxs(id)).to.deep.equal(c.appliedTxs("a"));
    }
  });

  it("keeps positions gap-free from 0 across terms, leader changes, app entries and truncations", () => {
    const c = new Cluster(["a", "b", "c"]);
    let leader = c.elect("a");
    leader.propose(txs(3));
    expect(leader.proposeApp(new Uint8Array([1]))).to.equal(true);
    c.stabilize();
    // a appends more while cut off; it will be truncated
    c.isolate("a");
    leader.propose(txs(4));
    c.stabilize();
    c.core("c").setElectionRank(5);
    c.tick("c", 10);
    leader = c.elect("b");
    leader.propose(txs(2));
    leader.propose(txs(5));
    c.stabilize();
    c.heal();
    c.tickAll(3);
    c.core("b").transferLeadership("c");
    c.stabilize();
    leader = c.core("c");
    expect(leader.status().role).to.equal("leader");
    leader.propose(txs(6));
    expect(leader.proposeApp(new Uint8Array([2]))).to.equal(true);
    leader.propose(txs(1));
    c.stabilize();
    c.tickAll(2);

    const reference = c.appliedTxs("c");
    expect(reference).to.have.length(3 + 2 + 5 + 6 + 1);
    for (const id of ["a", "b", "c"]) {
      expect(c.appliedTxs(id)).to.deep.equal(reference);
      let expected = 0;
      for (const e of c.apps.get(id)!.entries) {
        expect(e.firstPosition, `entry ${e.index} on ${id}`).to.equal(expected);
        expected += e.txs?.length ?? 0;
      }
    }
    reference.forEach((r, i) => expect(r.endsWith(`@${i}`)).to.equal(true));
    expect(leader.status().nextPosition).to.equal(17);
  });
});
