/**
 * Deterministic simulation of the Raft core under faults: 2,000 seeds over 3, 5 and 7
 * nodes (crashes that lose unsynced writes, reported to the survivors as closed connections in half
 * of the runs, connection resets between live nodes, partitions, lossy/duplicating/reordering
 * network, clock skew, compaction and snapshot installs, leadership transfers and
 * membership changes in a fraction of runs), four in five of them with stake-weighted
 * quorums (equal, random, one voter over half, sybils at the minimum stake; see
 * `StakeProfile`) and re-weighting changes among the membership changes. Every run must show zero violations of
 * the checker's properties (see checker.ts and run.ts). Replay a failing seed with
 * `npm run sim -- --seed S --nodes N`.
 */
import { expect } from "chai";
import { STAKE_PROFILES, describeFailure, randomRunOptions, runSeed, type RunResult, type StakeProfile } from "../../sim/run.js";

const PLAN: ReadonlyArray<{ nodes: number; seeds: number }> = [
  { nodes: 3, seeds: 700 },
  { nodes: 5, seeds: 700 },
  { nodes: 7, seeds: 600 },
];
const CHUNK = 100;

describe("simulation: randomized fault schedules", function () {
  const totals = {
    runs: 0,
    crashes: 0,
    crashesOfLeader: 0,
    crashesDuringFsync: 0,
    partitions: 0,
    oneWay: 0,
    transfers: 0,
    connectionResets: 0,
    deposals: 0,
    membershipChanges: 0,
    stakeChanges: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    lost: 0,
    duplicated: 0,
    committedTold: 0,
    resubmitted: 0,
    elections: 0,
  };
  const recovery: number[] = [];
  const byProfile = new Map<StakeProfile, number>();

  for (const { nodes, seeds } of PLAN) {
    for (let from = 1; from <= seeds; from += CHUNK) {
      const to = Math.min(seeds, from + CHUNK - 1);
      it(`${nodes} nodes, seeds ${from}..${to}: no violations`, function () {
        const failures: RunResult[] = [];
        for (let seed = from; seed <= to; seed++) {
          const r = runSeed(randomRunOptions(seed, nodes));
          totals.runs++;
          totals.crashes += r.faults.crashes;
          totals.crashesOfLeader += r.faults.crashesOfLeader;
          totals.crashesDuringFsync += r.faults.crashesDuringFsync;
          totals.partitions += r.faults.partitions;
          totals.oneWay += r.faults.oneWay;
          totals.transfers += r.faults.transfers;
          totals.connectionResets += r.faults.resets;
          totals.deposals += r.faults.deposals;
          totals.membershipChanges += r.faults.membershipChanges;
          totals.stakeChanges += r.faults.stakeChanges;
          byProfile.set(r.stakes, (byProfile.get(r.stakes) ?? 0) + 1);
          totals.snapshotsInstalled += r.cluster.snapshotsInstalled;
          totals.compactions += r.cluster.compactions;
          totals.lost += r.cluster.messagesLost;
          totals.duplicated += r.cluster.messagesDuplicated;
          totals.committedTold += r.clients.committed;
          totals.resubmitted += r.clients.resubmitted;
          totals.elections += r.electionTicks.length;
          if (r.recoveryTicks !== null) recovery.push(r.recoveryTicks);
          if (!r.ok) failures.push(r);
        }
        expect(failures, failures.map((r) => describeFailure(r, 80, 5)).join("\n")).to.be.empty;
      });
    }
  }

  // The runs above prove nothing if the fault paths were never taken.
  it("exercised every fault and recovery path", function () {
    expect(totals.runs).to.equal(2000);
    for (const [name, count] of Object.entries(totals)) {
      expect(count, `${name} never happened across all seeds`).to.be.greaterThan(0);
    }
    expect(totals.crashesDuringFsync, "crashes inside an fsync window").to.be.greaterThan(100);
    expect(totals.snapshotsInstalled, "snapshot installs").to.be.greaterThan(100);
    expect(recovery.length, "every run measured its recovery").to.equal(2000);
    for (const profile of STAKE_PROFILES) expect(byProfile.get(profile) ?? 0, `runs with stakes "${profile}"`).to.be.greaterThan(200);
  });
});
