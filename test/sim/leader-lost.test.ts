/**
 * Closed connections reported to the core (RaftCore.leaderConnectionLost) in the simulator: a
 * crashed leader is replaced by a campaign the connection loss started (not the election timer),
 * safety holds, and a flapping link to a live leader causes no election storm. The flapping
 * scenario runs a control without pre-vote, which must storm (so the scenario can fail).
 */
import { expect } from "chai";
import type { RaftEvent, Tx } from "../../node/consensus/index.js";
import { Cluster, type SimNode } from "../../sim/cluster.js";

function tx(n: number): Tx {
  return { hash: `0x${"cd".repeat(4)}${n.toString(16).padStart(56, "0")}`, data: new Uint8Array([n & 0xff]) };
}

function stableLeader(cluster: Cluster): SimNode {
  const ready = () => {
    const ls = cluster.leaders();
    if (ls.length !== 1) return false;
    const s = ls[0]!.core!.status();
    return s.commit === s.lastIndex && cluster.nodes.every((n) => !n.member || n.app.applied === s.commit);
  };
  cluster.runFor(500 * cluster.tickMs, ready);
  expect(ready(), `no stable leader:\n${cluster.trace.format(40)}`).to.equal(true);
  return cluster.leaders()[0]!;
}

function expectClean(cluster: Cluster): void {
  const v = cluster.checker.violations.map((x) => `${x.property}: ${x.detail}`);
  expect(v, `${v.join("\n")}\n${cluster.traceAtFailure ?? ""}`).to.be.empty;
}

function record(cluster: Cluster): Array<{ node: string; event: RaftEvent }> {
  const events: Array<{ node: string; event: RaftEvent }> = [];
  cluster.listeners.push({ onEvent: (n, e) => events.push({ node: n.id, event: e }) });
  return events;
}

describe("simulation: leader connection lost", function () {
  it("a crashed leader's survivors elect a successor through a leaderLost campaign, under load, without violations", function () {
    for (const nodes of [3, 5]) {
      for (let seed = 1; seed <= 20; seed++) {
        const cluster = new Cluster({ seed, nodes, fsyncMs: [1, 4], net: { delayMs: [0.5, 3] } });
        const events = record(cluster);
        const old = stableLeader(cluster);
        const ranks = cluster.nodes.filter((n) => n !== old).map((n, i) => [n.id, i] as const);
        for (const [id, rank] of ranks) cluster.call(id, (core) => core.setElectionRank(rank));
        let n = 0;
        for (let k = 0; k < 10; k++) cluster.schedule(k * 3, () => void cluster.propose(old.id, [tx(seed * 1000 + n++)]));
        cluster.runFor(15);
        const term = old.core!.status().term;
        cluster.crash(old.id);
        // TCP delivers what the leader sent before its connection closes: report after the longest delay.
        for (const [id] of ranks) cluster.schedule(4, () => void cluster.connectionLost(id, old.id));
        cluster.runFor(400 * cluster.tickMs, () => cluster.leaders().some((l) => l.core!.status().term > term));
        const next = cluster.leaders().find((l) => l.core!.status().term > term);
        expect(next, `seed ${seed}, ${nodes} nodes: no new leader\n${cluster.trace.format(40)}`).to.not.equal(undefined);
        const campaigns = events.filter((e) => e.event.type === "campaignStarted" && e.event.term >= term && e.node !== old.id).map((e) => e.event);
        expect(campaigns.length, `seed ${seed}`).to.be.greaterThan(0);
        expect(
          campaigns.every((c) => c.type === "campaignStarted" && c.cause === "leaderLost"),
          `seed ${seed}, ${nodes} nodes: a campaign other than leaderLost ran: ${JSON.stringify(campaigns)}\n${cluster.trace.format(60)}`,
        ).to.equal(true);
        cluster.restart(old.id);
        stableLeader(cluster);
        expectClean(cluster);
      }
    }
  });

  function flap(preVote: boolean, seed: number): { termsBegun: number; cluster: Cluster } {
    const cluster = new Cluster({ seed, nodes: 3, preVote, fsyncMs: [1, 4], net: { delayMs: [0.5, 3] } });
    const leader = stableLeader(cluster);
    const startTerm = leader.core!.status().term;
    const followers = cluster.nodes.filter((n) => n !== leader);
    let n = 0;
    // 200 resets of a leader-follower link over 200 election timeouts' worth of virtual time, under load.
    for (let k = 0; k < 200; k++) {
      cluster.schedule(k * cluster.tickMs * 10, () => {
        const f = followers[k % followers.length]!;
        const l = cluster.leaders()[0];
        if (l === undefined) return;
        cluster.connectionLost(f.id, l.id);
        cluster.connectionLost(l.id, f.id);
        cluster.propose(l.id, [tx(seed * 100_000 + n++)]);
      });
    }
    cluster.runFor(200 * cluster.tickMs * 10 + 50);
    const maxTerm = Math.max(...cluster.nodes.map((x) => x.core!.status().term));
    return { termsBegun: maxTerm - startTerm, cluster };
  }

  it("a flapping link to a live leader begins no new term (pre-vote); without pre-vote it storms (control)", function () {
    for (let seed = 1; seed <= 5; seed++) {
      const withPreVote = flap(true, seed);
      expect(withPreVote.termsBegun, `seed ${seed}: terms begun while the leader lived\n${withPreVote.cluster.trace.format(40)}`).to.equal(0);
      expectClean(withPreVote.cluster);
      const control = flap(false, seed);
      expect(control.termsBegun, `seed ${seed}: control without pre-vote should begin terms`).to.be.greaterThan(50);
      expectClean(control.cluster);
    }
  });
});
