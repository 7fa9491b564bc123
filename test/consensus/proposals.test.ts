import { expect } from "chai";
import { RaftCore, ReadyProtocolError, type ProposalOutcome } from "../../node/consensus/index.js";
import { Cluster, seeded, txs } from "./helpers.js";

/** Each proposed hash got exactly `n` outcomes on `id`. */
function expectOutcomeCounts(c: Cluster, id: string, hashes: readonly string[], n = 1): void {
  const counts = new Map<string, number>();
  for (const o of c.outcomes.get(id)!) counts.set(o.txHash, (counts.get(o.txHash) ?? 0) + 1);
  for (const h of hashes) expect(counts.get(h) ?? 0, `outcomes for ${h}`).to.equal(n);
}

describe("consensus: proposals and outcomes", () => {
  it("a follower fails proposals at once with not-leader and a leader hint", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    const t = txs(2);
    c.core("b").propose(t);
    c.flush();
    expect(c.outcomesOf("b")).to.deep.equal(t.map((x) => ({ txHash: x.hash, status: "failed", reason: "not-leader", leader: "a" })));
    expect(c.diskLog("b")).to.deep.equal(["1:1:noop"]);
  });

  it("a leader reports committed (position, index, term) for every transaction, in order", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    const t = txs(3);
    a.propose(t);
    c.stabilize();
    expect(c.outcomesOf("a")).to.deep.equal(t.map((x, i) => ({ txHash: x.hash, status: "committed", position: i, index: 2, term: 1 })));
    expect(c.core("b").proposeApp(new Uint8Array([1])), "followers do not accept app records").to.equal(false);
  });

  it("check-quorum: an isolated leader steps down, fails every in-flight proposal with no-quorum and stops accepting", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("a");
    const inFlight = txs(3);
    a.propose(inFlight);
    c.flush(); // appended, never acknowledged
    const pending = txs(2);
    a.propose(pending); // still in the pending batch
    for (let i = 0; i < 20 && a.status().role === "leader"; i++) c.tick("a");
    c.flush();
    expect(a.status().role).to.equal("follower");
    const failed = c.outcomesOf("a", "failed");
    expect(failed.map((o) => o.txHash)).to.have.members([...inFlight, ...pending].map((x) => x.hash));
    for (const o of failed) expect(o).to.include({ reason: "no-quorum" });
    expect(c.eventsOf("a", "lostLeadership")).to.have.length(1);
    const late = txs(1);
    a.propose(late);
    c.flush();
    expect(c.outcomesOf("a").at(-1)).to.include({ txHash: late[0]!.hash, reason: "not-leader" });
    expectOutcomeCounts(c, "a", [...inFlight, ...pending, ...late].map((x) => x.hash));
  });

  it("a leader that keeps a majority does not step down on check-quorum", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("c");
    c.tickAll(50);
    expect(a.status()).to.include({ role: "leader", term: 1 });
  });

  it("stepping down to a higher term fails in-flight proposals with lost-leadership", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    c.isolate("a");
    const t = txs(2);
    a.propose(t);
    c.flush();
    c.core("c").setElectionRank(5);
    c.tick("c", 10);
    c.elect("b");
    c.heal();
    c.tick("b", 2);
    c.stabilize();
    expect(c.outcomesOf("a")).to.deep.equal(t.map((x) => ({ txHash: x.hash, status: "failed", reason: "lost-leadership", leader: "b" })));
  });

  describe("idempotency", () => {
    it("a transaction repeated within one proposal gets one position and two committed outcomes", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      const [x, y] = txs(2);
      a.propose([x!, y!, x!]);
      c.stabilize();
      expect(c.disks.get("a")!.entries[1]!.txs!.map((t) => t.hash)).to.deep.equal([x!.hash, y!.hash]);
      const forX = c.outcomesOf("a").filter((o) => o.txHash === x!.hash);
      expect(forX).to.deep.equal([
        { txHash: x!.hash, status: "committed", position: 0, index: 2, term: 1 },
        { txHash: x!.hash, status: "committed", position: 0, index: 2, term: 1 },
      ]);
    });

    it("a committed transaction proposed again gets its existing commitment immediately, no new entry", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      const t = txs(2);
      a.propose(t);
      c.stabilize();
      const last = a.status().lastIndex;
      c.outcomes.get("a")!.length = 0;
      a.propose([t[1]!]);
      const rd = c.handleReady("a");
      expect(rd.outcomes).to.deep.equal([{ txHash: t[1]!.hash, status: "committed", position: 1, index: 2, term: 1 }]);
      expect(a.status().lastIndex).to.equal(last);
    });

    it("a duplicate of an in-flight transaction waits for that entry and gets its outcome", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      const t = txs(1);
      a.propose(t);
      c.handleReady("a"); // appended and sent, not committed
      a.propose(t);
      const rd = c.handleReady("a");
      expect(rd.outcomes, "nothing yet").to.have.length(0);
      expect(rd.entries, "no second entry").to.have.length(0);
      c.stabilize();
      expect(c.outcomesOf("a")).to.deep.equal([
        { txHash: t[0]!.hash, status: "committed", position: 0, index: 2, term: 1 },
        { txHash: t[0]!.hash, status: "committed", position: 0, index: 2, term: 1 },
      ]);
    });

    it("a duplicate of an in-flight transaction fails with it when the leader steps down", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      c.isolate("a");
      const t = txs(1);
      a.propose(t);
      c.flush();
      a.propose(t);
      for (let i = 0; i < 20; i++) c.tick("a");
      c.flush();
      expect(c.outcomesOf("a")).to.deep.equal([
        { txHash: t[0]!.hash, status: "failed", reason: "no-quorum", leader: null },
        { txHash: t[0]!.hash, status: "failed", reason: "no-quorum", leader: null },
      ]);
    });

    it("a new leader attaches a duplicate to the previous leader's uncommitted entry (no second position)", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      const x = txs(1, "x");
      a.propose(x);
      c.handleReady("a");
      c.deliverAll((m) => m.to === "b");
      c.handleReady("b"); // b has x; the acknowledgement dies with a
      c.crash("a");
      c.core("c").setElectionRank(5);
      c.tick("c", 10);
      // Elect b but hold its replication back so x is still uncommitted when re-proposed.
      const b = c.core("b");
      while (b.status().role !== "leader") {
        b.tick();
        for (;;) {
          c.flush();
          if (c.deliverAll((m) => m.type !== "append" && m.type !== "appendResp") === 0) break;
        }
      }
      expect(b.status().commit, "x (index 2) not committed yet").to.equal(1);
      b.propose(x);
      c.stabilize();
      expect(c.outcomesOf("b")).to.deep.equal([{ txHash: x[0]!.hash, status: "committed", position: 0, index: 2, term: 1 }]);
      expect(c.diskLog("b")).to.deep.equal(["1:1:noop", "2:1:txs", "3:2:noop"]);
    });

    it("a transaction compacted out of the log is answered through lookupCommittedTx", () => {
      const c = new Cluster(["a", "b", "c"]);
      const a = c.elect("a");
      const t = txs(3);
      a.propose(t);
      c.stabilize();
      a.compact(a.status().applied, new Uint8Array());
      c.outcomes.get("a")!.length = 0;
      const lookups: string[] = [];
      // Same cluster, but a fresh leader core whose index knows nothing: only the application does.
      const solo = new RaftCore({
        id: "s",
        initialConfig: { voters: ["s"], learners: [] },
        random: seeded(3),
        electionTicks: 10,
        heartbeatTicks: 2,
        lookupCommittedTx: (h) => {
          lookups.push(h);
          return h === t[0]!.hash ? { position: 41, index: 9, term: 2 } : undefined;
        },
      });
      while (solo.status().role !== "leader") solo.tick();
      solo.propose([t[0]!]);
      expect(solo.ready().outcomes).to.deep.equal([{ txHash: t[0]!.hash, status: "committed", position: 41, index: 9, term: 2 }]);
      expect(lookups).to.deep.equal([t[0]!.hash]);
      // And on the real leader after compaction, the duplicate still gets its original commitment.
      a.propose([t[2]!]);
      expect(c.handleReady("a").outcomes).to.deep.equal([{ txHash: t[2]!.hash, status: "committed", position: 2, index: 2, term: 1 }]);
    });
  });

  it("every proposal gets exactly one outcome through a leader crash, a new election and retries", () => {
    const c = new Cluster(["a", "b", "c"]);
    const a = c.elect("a");
    const first = txs(10);
    a.propose(first);
    c.handleReady("a");
    c.crash("a");
    c.core("c").setElectionRank(5);
    c.tick("c", 10);
    const b = c.elect("b");
    const second = txs(10);
    b.propose([...second, ...first.slice(0, 5)]);
    c.stabilize();
    expectOutcomeCounts(c, "b", [...second, ...first.slice(0, 5)].map((x) => x.hash));
    const positions = new Set(c.outcomesOf("b").map((o) => (o as Extract<ProposalOutcome, { status: "committed" }>).position));
    expect(positions.size).to.equal(15);
  });

  it("enforces the Ready protocol", () => {
    const c = new Cluster(["a"]);
    const a = c.core("a");
    expect(() => a.advance()).to.throw(ReadyProtocolError);
    a.tick();
    while (!a.hasReady()) a.tick();
    a.ready();
    expect(a.hasReady()).to.equal(false);
    expect(() => a.ready()).to.throw(ReadyProtocolError);
    a.advance();
  });
});
