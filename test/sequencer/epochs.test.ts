/**
 * The EpochManager against real Raft cores (the consensus test cluster), driven by a fake
 * clock: membership toward the epoch's set, rotation in schedule order skipping unreachable
 * nodes, no leadership move once the epoch is settled, and the L1-checked veto.
 */
import { expect } from "chai";
import { createLogger } from "../../node/ops/logger.js";
import { decodeAppRecord } from "../../node/domain/records.js";
import { EpochManager, EpochPlans, type EpochPlan } from "../../node/sequencer/epochs.js";
import { Cluster } from "../consensus/helpers.js";

const logger = createLogger({ level: "silent" });

function setup(plans: EpochPlan[], leader = "a", voters = ["a", "b", "c"]) {
  const c = new Cluster(voters);
  c.elect(leader);
  let now = 1_000_000;
  const heard = new Map<string, number>(voters.map((id) => [id, now]));
  let missed = false;
  let settled: { epoch: number; leader: string } | undefined;
  const veto = new EpochPlans(logger);
  const manager = new EpochManager({
    self: leader,
    plans: veto,
    raft: c.core(leader),
    lastHeard: (id) => heard.get(id),
    reachableWithinMs: 1_000,
    takeoverMs: 3_000,
    settleMs: 500,
    missedDeadline: () => missed,
    settled: () => settled,
    logger,
    now: () => now,
  });
  manager.setPlans(plans);
  manager.onLeadership(true);
  const advance = (ms: number) => {
    now += ms;
    for (const id of c.ids()) if (heard.has(id) && heard.get(id)! >= now - ms - 1) heard.set(id, now); // live peers keep answering
  };
  const records = () =>
    c.disks.get(leader)!.entries.filter((e) => e.kind === "app").map((e) => decodeAppRecord(e.app!));
  const settle = (epoch: number, leader: string) => (settled = { epoch, leader });
  return { c, manager, veto, advance, heard, records, settle, setMissed: (v: boolean) => (missed = v) };
}

describe("EpochManager", () => {
  it("waits a settle period as a fresh leader, then records itself when it is the epoch's primary", () => {
    const { c, manager, advance, records } = setup([{ epoch: 5, voters: ["a", "b", "c"], schedule: ["a", "b", "c"] }]);
    manager.tick();
    c.stabilize();
    expect(records(), "nothing before the settle period").to.deep.equal([]);
    advance(600);
    manager.tick();
    c.stabilize();
    expect(records()).to.deep.equal([{ kind: "epochLeader", epoch: 5, leader: "a" }]);
  });

  it("transfers to the first reachable node in schedule order, skipping one not heard from", () => {
    const { c, manager, advance, heard } = setup([{ epoch: 2, voters: ["a", "b", "c"], schedule: ["b", "c", "a"] }]);
    c.crash("b");
    heard.set("b", 0); // silent since long ago
    advance(600);
    manager.tick();
    c.stabilize();
    expect(c.core("c").status().role, "c is the first reachable in schedule order").to.equal("leader");
  });

  it("moves to the next candidate when the scheduled one does not take over in time", () => {
    const { c, manager, advance } = setup([{ epoch: 2, voters: ["a", "b", "c"], schedule: ["b", "c", "a"] }]);
    c.isolate("b"); // reachable a moment ago, but the transfer cannot complete
    advance(600);
    manager.tick();
    c.stabilize();
    expect(c.core("a").status().role).to.equal("leader");
    // The core aborts the transfer after an election timeout; the manager's own deadline passes later.
    c.tickAll(30);
    advance(3_100);
    manager.tick();
    c.stabilize();
    expect(c.core("c").status().role).to.equal("leader");
  });

  it("does not move leadership again once the epoch is settled, unless the leader misses its batch deadline", () => {
    const { c, manager, advance, settle, setMissed } = setup([{ epoch: 7, voters: ["a", "b", "c"], schedule: ["b", "a", "c"] }]);
    settle(7, "a"); // an applied epochLeader record: e.g. b was down at the boundary and a took over
    advance(600);
    manager.tick();
    c.stabilize();
    expect(c.core("a").status().role, "settled: b's return changes nothing").to.equal("leader");
    setMissed(true);
    manager.tick();
    c.stabilize();
    expect(c.core("c").status().role, "the next in schedule order after a takes over").to.equal("leader");
  });

  it("starts the membership change toward the epoch's set before rotating", () => {
    const { c, manager, advance } = setup([{ epoch: 3, voters: ["a", "b"], schedule: ["a", "b"] }]);
    advance(600);
    manager.tick();
    c.stabilize();
    for (let i = 0; i < 5; i++) {
      advance(100);
      manager.tick();
      c.stabilize();
    }
    expect(c.core("a").status().config).to.deep.equal({ voters: ["a", "b"], learners: [] });
  });

  it("accepts only membership whose voters are a known epoch's set and whose nodes it knows", () => {
    const { c, veto } = setup([
      { epoch: 4, voters: ["a", "b", "d"], schedule: ["a", "b", "d"] },
      { epoch: 3, voters: ["a", "b", "c"], schedule: ["a", "b", "c"] },
    ]);
    const current = c.core("a").status().config;
    expect(veto.accepts({ voters: ["a", "b", "c"], learners: ["d"] }, current)).to.equal(true);
    expect(veto.accepts({ voters: ["a", "b", "d"], outgoing: ["a", "b", "c"], learners: [] }, current)).to.equal(true);
    expect(veto.accepts({ voters: ["a", "b", "d"], learners: [] }, current)).to.equal(true);
    expect(veto.accepts({ voters: ["a", "b", "e"], learners: [] }, current), "e is in no set").to.equal(false);
    expect(veto.accepts({ voters: ["a", "b"], learners: [] }, current), "no epoch has this set").to.equal(false);
    expect(veto.accepts({ voters: ["a", "b", "c"], learners: ["x"] }, current), "unknown learner").to.equal(false);
  });

  it("logs a refused membership change (expected while this node's L1 reading lags) as info, once however often the leader resends it", () => {
    const lines: { level: string; msg: string }[] = [];
    const veto = new EpochPlans(createLogger({ level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: string; msg: string }) } }));
    veto.set([{ epoch: 3, voters: ["a", "b", "c"], schedule: ["a", "b", "c"] }]);
    const current = { voters: ["a", "b", "c"], learners: [] };
    const unread = { voters: ["a", "b", "d"], learners: [] };
    for (let i = 0; i < 3; i++) expect(veto.accepts(unread, current)).to.equal(false);
    expect(lines.map((l) => l.level)).to.deep.equal(["info"]);
    expect(lines[0]!.msg).to.contain("not yet accepting a membership change for a set this node has not read on L1").and.contain("expected while joining");
    veto.set([{ epoch: 4, voters: ["a", "b", "d"], schedule: ["a", "b", "d"] }, { epoch: 3, voters: ["a", "b", "c"], schedule: ["a", "b", "c"] }]);
    expect(veto.accepts(unread, current), "accepted once this node has read the epoch").to.equal(true);
    expect(lines).to.have.length(1);
  });

  it("moves the membership to the epoch's stakes when only the stakes changed", () => {
    const { c, manager, advance } = setup([{ epoch: 3, voters: ["a", "b", "c"], weights: ["5", "1", "1"], schedule: ["a", "b", "c"] }]);
    for (let i = 0; i < 6; i++) {
      advance(i === 0 ? 600 : 100);
      manager.tick();
      c.stabilize();
    }
    expect(c.core("b").status().config).to.deep.equal({ voters: ["a", "b", "c"], weights: ["5", "1", "1"], learners: [] });
  });

  it("accepts membership only with the stakes of a known epoch, or its current voters' (a learner stage)", () => {
    const { c, veto } = setup([
      { epoch: 4, voters: ["a", "b", "d"], weights: ["7", "1", "3"], schedule: ["a", "b", "d"] },
      { epoch: 3, voters: ["a", "b", "c"], weights: ["2", "2", "2"], schedule: ["a", "b", "c"] },
    ]);
    const current = c.core("a").status().config;
    expect(veto.accepts({ voters: ["d", "a", "b"], weights: ["3", "7", "1"], learners: [] }, current)).to.equal(true);
    expect(veto.accepts({ voters: ["a", "b", "d"], weights: ["1", "7", "3"], learners: [] }, current), "stakes swapped").to.equal(false);
    expect(veto.accepts({ voters: ["a", "b", "d"], learners: [] }, current), "head count instead of stake").to.equal(false);
    expect(veto.accepts({ voters: ["a", "b", "c"], learners: ["d"] }, current), "the current (genesis) voters plus a learner").to.equal(true);
    expect(veto.accepts({ voters: ["a", "b", "c"], weights: ["1", "1", "9"], learners: ["d"] }, current)).to.equal(false);
  });

  it("ranks elections in schedule order among the nodes other than the leader, so the next one fires first", () => {
    const c = new Cluster(["a", "b", "c"], { electionTicks: 10 });
    c.elect("a");
    const plan: EpochPlan = { epoch: 1, voters: ["a", "b", "c"], schedule: ["a", "b", "c"] };
    for (const id of ["b", "c"]) {
      const m = new EpochManager({
        self: id,
        plans: new EpochPlans(logger),
        raft: c.core(id),
        lastHeard: () => undefined,
        reachableWithinMs: 1_000,
        takeoverMs: 3_000,
        settleMs: 500,
        missedDeadline: () => false,
        settled: () => undefined,
        logger,
      });
      m.setPlans([plan]);
      m.onLeaderChanged("a");
      m.onLeaderChanged(null); // losing the leader keeps the ranks
    }
    c.crash("a");
    // b is rank 0 once the leader is left out: it times out within [10, 20) ticks, before c's
    // [20, 30). Counting the leader's slot, b would wait at least 20.
    for (let t = 0; t < 19 && c.core("b").status().role !== "leader"; t++) c.tickAll(1);
    expect(c.core("b").status().role).to.equal("leader");
  });
});
