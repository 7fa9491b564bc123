/**
 * Targeted simulator scenarios: the seeds' three transaction cases, pre-vote keeping a
 * rejoining node from deposing the leader, and check-quorum stepping a minority leader
 * down. The last two each run a control with the feature off, which must show the
 * failure the feature prevents (so the scenario can fail).
 */
import { expect } from "chai";
import type { NodeId, ProposalOutcome, RaftEvent, Tx } from "../../node/consensus/index.js";
import { Cluster, type ClusterOptions, type SimNode } from "../../sim/cluster.js";
import { runCoreScenario } from "../../sim/election-study.js";

function tx(n: number): Tx {
  return { hash: `0x${"ab".repeat(4)}${n.toString(16).padStart(56, "0")}`, data: new Uint8Array([n & 0xff]) };
}

interface Recorder {
  outcomes: Array<{ node: NodeId; outcome: ProposalOutcome; time: number }>;
  events: Array<{ node: NodeId; event: RaftEvent; time: number }>;
}

function record(cluster: Cluster): Recorder {
  const rec: Recorder = { outcomes: [], events: [] };
  cluster.listeners.push({
    onOutcome: (n, o) => rec.outcomes.push({ node: n.id, outcome: o, time: cluster.now }),
    onEvent: (n, e) => rec.events.push({ node: n.id, event: e, time: cluster.now }),
  });
  return rec;
}

function stableLeader(cluster: Cluster): SimNode {
  const tick = cluster.tickMs;
  // A leader that has committed its no-op on every node.
  const ready = () => {
    const ls = cluster.leaders();
    if (ls.length !== 1) return false;
    const s = ls[0].core!.status();
    return s.commit === s.lastIndex && cluster.nodes.every((n) => !n.member || n.app.applied === s.commit);
  };
  cluster.runFor(500 * tick, ready);
  expect(ready(), `no stable leader:\n${cluster.trace.format(40)}`).to.equal(true);
  return cluster.leaders()[0];
}

function expectClean(cluster: Cluster): void {
  const v = cluster.checker.violations.map((x) => `${x.property}: ${x.detail}`);
  expect(v, `${v.join("\n")}\n${cluster.traceAtFailure ?? ""}`).to.be.empty;
}

describe("scenario: the seeds' transaction cases", function () {
  it("case 1, normal flow: the user is answered only once a majority holds the entry durably, then every node applies it at that position", function () {
    for (const seed of [1, 2, 3, 4, 5]) {
      const cluster = new Cluster({ seed, nodes: 3, fsyncMs: [2, 6] });
      const rec = record(cluster);
      const leader = stableLeader(cluster);
      let durableAtAnswer = -1;
      cluster.listeners.push({
        onOutcome: (_n, o) => {
          if (o.status === "committed") durableAtAnswer = cluster.nodes.filter((n) => n.durablyHolds(o.index, o.term)).length;
        },
      });
      const t = tx(seed);
      cluster.propose(leader.id, [t]);
      cluster.runFor(100 * cluster.tickMs, () => cluster.nodes.every((n) => n.app.positionOf(t.hash) !== undefined));
      const answer = rec.outcomes.filter((o) => o.outcome.txHash === t.hash);
      expect(answer, "exactly one outcome").to.have.length(1);
      const o = answer[0].outcome;
      expect(o.status).to.equal("committed");
      if (o.status !== "committed") return;
      expect(durableAtAnswer, "durable copies when the user was answered").to.be.at.least(2);
      for (const n of cluster.nodes) expect(n.app.positionOf(t.hash), n.id).to.equal(o.position);
      // Resubmitting returns the existing commitment, not a second position.
      cluster.propose(leader.id, [t]);
      cluster.runFor(20 * cluster.tickMs);
      const again = rec.outcomes.filter((x) => x.outcome.txHash === t.hash);
      expect(again).to.have.length(2);
      expect(again[1].outcome).to.deep.include({ status: "committed", position: o.position });
      expectClean(cluster);
    }
  });

  for (const j of [0, 1]) {
    it(`case 2, leader dies before a majority has the entry (reached ${j} of 4 followers): no commitment was given; the tx ends absent or at one position`, function () {
      for (let seed = 1; seed <= 10; seed++) {
        const r = runCoreScenario(j, seed);
        const where = JSON.stringify({ ...r, trace: undefined });
        expect(r.violations, `${where}\n${r.trace}`).to.be.empty;
        expect(r.toldBeforeCrash, where).to.equal(false);
        expect(r.newLeader, where).to.not.equal(null);
        // Either no live node has it, or it kept the position the old leader assigned.
        expect([null, r.assignedPosition], where).to.include(r.survivedAt);
        // The user, never answered, resubmits: one position, retrievable everywhere.
        expect(r.resubmittedAt, where).to.not.equal(null);
        if (r.survivedAt !== null) expect(r.resubmittedAt, where).to.equal(r.survivedAt);
        expect(r.finalPosition, where).to.equal(r.resubmittedAt);
      }
    });
  }

  for (const j of [2, 3, 4]) {
    it(`case 3, leader dies after a majority has the entry (reached ${j} of 4 followers): it survives on the new leader and everywhere`, function () {
      for (let seed = 1; seed <= 10; seed++) {
        const r = runCoreScenario(j, seed);
        const where = JSON.stringify({ ...r, trace: undefined });
        expect(r.violations, `${where}\n${r.trace}`).to.be.empty;
        expect(r.newLeaderHeld, where).to.equal(true);
        expect(r.survivedAt, where).to.equal(r.assignedPosition);
        expect(r.resubmittedAt, where).to.equal(r.assignedPosition);
        expect(r.finalPosition, where).to.equal(r.assignedPosition);
      }
    });
  }
});

/** Isolates one follower for a long time, heals, and reports whether the leader was deposed. */
function rejoinScenario(seed: number, opts: Partial<ClusterOptions>): { deposed: boolean; cluster: Cluster; rejoinedTerm: number; leaderTerm: number } {
  const cluster = new Cluster({ seed, nodes: 5, ...opts });
  const rec = record(cluster);
  const leader = stableLeader(cluster);
  const term = leader.core!.status().term;
  const follower = cluster.initialVoters.find((id) => id !== leader.id)!;
  cluster.partition([[follower], cluster.initialVoters.filter((id) => id !== follower)]);
  cluster.runFor(10 * cluster.electionTicks * cluster.tickMs);
  const rejoinedTerm = cluster.node(follower).core!.status().term;
  cluster.heal();
  const healedAt = cluster.now;
  cluster.runFor(5 * cluster.electionTicks * cluster.tickMs);
  const deposed = rec.events.some((e) => e.time >= healedAt && e.node === leader.id && e.event.type === "lostLeadership") || leader.core!.status().term !== term;
  return { deposed, cluster, rejoinedTerm, leaderTerm: term };
}

describe("scenario: pre-vote", function () {
  it("a partitioned node rejoining does not depose the leader (with pre-vote), and does without it (control)", function () {
    for (const seed of [1, 2, 3, 4, 5]) {
      const withPreVote = rejoinScenario(seed, { preVote: true, checkQuorum: true });
      expect(withPreVote.deposed, `seed ${seed}: leader deposed despite pre-vote\n${withPreVote.cluster.trace.format(60)}`).to.equal(false);
      // Pre-vote also kept the isolated node's term from running away.
      expect(withPreVote.rejoinedTerm).to.equal(withPreVote.leaderTerm);
      expectClean(withPreVote.cluster);

      const control = rejoinScenario(seed, { preVote: false, checkQuorum: false });
      expect(control.rejoinedTerm, `seed ${seed}: isolated node's term`).to.be.greaterThan(control.leaderTerm);
      expect(control.deposed, `seed ${seed}: control without pre-vote should be deposed`).to.equal(true);
      expectClean(control.cluster);
    }
  });
});

/** Cuts the leader off with one follower (a minority of 5) while a client waits on it. */
function minorityLeaderScenario(seed: number, checkQuorum: boolean) {
  const cluster = new Cluster({ seed, nodes: 5, checkQuorum, preVote: true });
  const rec = record(cluster);
  const leader = stableLeader(cluster);
  const buddy = cluster.initialVoters.find((id) => id !== leader.id)!;
  const majority = cluster.initialVoters.filter((id) => id !== leader.id && id !== buddy);
  cluster.partition([[leader.id, buddy], majority]);
  const cutAt = cluster.now;
  const t = tx(1000 + seed);
  cluster.propose(leader.id, [t]);
  const stepped = () => leader.core!.status().role !== "leader";
  cluster.runFor(4 * cluster.electionTicks * cluster.tickMs, stepped);
  const stepDownTicks = stepped() ? (cluster.now - cutAt) / cluster.tickMs : null;
  cluster.runFor(4 * cluster.electionTicks * cluster.tickMs);
  const otherLeader = cluster.leaders().find((n) => n.id !== leader.id && majority.includes(n.id));
  return { cluster, rec, leader, t, stepDownTicks, otherLeader };
}

describe("scenario: check-quorum", function () {
  it("a leader cut off with a minority steps down and fails its pending proposal (no-quorum); without check-quorum it does not (control)", function () {
    for (const seed of [1, 2, 3, 4, 5]) {
      const s = minorityLeaderScenario(seed, true);
      expect(s.stepDownTicks, `seed ${seed}: minority leader never stepped down\n${s.cluster.trace.format(60)}`).to.not.equal(null);
      // Check-quorum runs once per election timeout: at most two of them.
      expect(s.stepDownTicks!).to.be.at.most(2 * s.cluster.electionTicks * 1.35);
      const out = s.rec.outcomes.filter((o) => o.outcome.txHash === s.t.hash);
      expect(out, `seed ${seed}: outcomes of the pending proposal`).to.have.length(1);
      expect(out[0].outcome).to.deep.include({ status: "failed", reason: "no-quorum" });
      expect(s.rec.events.some((e) => e.node === s.leader.id && e.event.type === "lostLeadership")).to.equal(true);
      expect(s.otherLeader, `seed ${seed}: the majority side elects its own leader`).to.not.equal(undefined);
      expectClean(s.cluster);

      const control = minorityLeaderScenario(seed, false);
      expect(control.stepDownTicks, `seed ${seed}: without check-quorum the minority leader stays`).to.equal(null);
      expect(control.rec.outcomes.filter((o) => o.outcome.txHash === control.t.hash), "no answer while it cannot commit").to.have.length(0);
      expectClean(control.cluster);
    }
  });
});
