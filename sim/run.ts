/**
 * One randomized simulation run: a fault phase (crashes, fsync-window crashes,
 * partitions, lossy/duplicating/reordering network, clock skew, leadership transfers,
 * membership changes) with clients proposing throughout, then a heal phase that
 * measures liveness and checks that every node converges.
 */
import type { MembershipConfig, NodeId, Weight } from "../node/consensus/index.js";
import { Clients } from "./clients.js";
import { Cluster, type ClusterOptions } from "./cluster.js";
import type { Violation } from "./checker.js";
import { Prng } from "./prng.js";

/**
 * How the initial voters' stake is spread: unweighted (quorums count heads), equal stakes,
 * independent random stakes, one voter holding more than half, or the review's sybil case (a
 * head-count majority at the minimum stake beside a few large operators).
 */
export type StakeProfile = "none" | "equal" | "random" | "heavy" | "sybils";
export const STAKE_PROFILES: readonly StakeProfile[] = ["none", "equal", "random", "heavy", "sybils"];

const TOKEN = 10n ** 18n;
const MIN_STAKE = 100n * TOKEN;

/** A stake between the minimum and 200k tokens, not a round number of tokens (18 decimals, past 2^53). */
function randomStake(r: Prng): bigint {
  return MIN_STAKE + BigInt(r.int(200_000)) * TOKEN + ((BigInt(r.u32()) << 32n) | BigInt(r.u32())) % TOKEN;
}

/** Weights of `n` voters under `profile`; undefined for unweighted. */
export function stakesFor(profile: StakeProfile, n: number, r: Prng): Weight[] | undefined {
  let stakes: bigint[];
  switch (profile) {
    case "none":
      return undefined;
    case "equal":
      stakes = new Array<bigint>(n).fill(randomStake(r));
      break;
    case "random":
      stakes = Array.from({ length: n }, () => randomStake(r));
      break;
    case "heavy": {
      stakes = Array.from({ length: n }, () => randomStake(r));
      const rest = stakes.reduce((a, b) => a + b, 0n);
      stakes[r.int(n)] = rest + 1n + BigInt(r.int(1000)) * TOKEN; // more than all the others together
      break;
    }
    case "sybils": {
      const sybils = Math.floor(n / 2) + 1;
      stakes = r.shuffle(Array.from({ length: n }, (_, i) => (i < sybils ? MIN_STAKE : 100_000n * TOKEN + BigInt(r.int(1000)) * TOKEN)));
      break;
    }
  }
  return stakes.map(String);
}

export interface RunOptions extends ClusterOptions {
  /** The initial stake distribution (ClusterOptions.weights is drawn from it). */
  readonly stakes: StakeProfile;
  /** Virtual duration of the fault phase (ms). */
  readonly faultMs: number;
  /** Fail if no proposal commits within this many ticks after the heal. */
  readonly livenessBoundTicks: number;
  /** Fail if the nodes have not converged this many ticks after the probe committed. */
  readonly convergeBoundTicks: number;
  readonly faultEveryMs: readonly [number, number];
  readonly clientEveryMs: readonly [number, number];
  readonly crashes: boolean;
  readonly partitions: boolean;
  readonly transfers: boolean;
  readonly membership: boolean;
  readonly batchMax: number;
  readonly resubmitProb: number;
  /**
   * The driver reports closed connections (RaftCore.leaderConnectionLost): a crash is reported to
   * every live member after a network delay, and spurious resets (a link closes while both ends
   * live) are injected as faults of their own.
   */
  readonly connectionLoss?: boolean;
  /**
   * The leader is reported for censorship (RaftCore.depose, docs/censorship.md): every live follower
   * deposes it at the term it sees, one of them as the successor that campaigns at once; the leader
   * keeps running. Only liveness rules are waived, so every safety property must still hold.
   */
  readonly deposals?: boolean;
}

export interface FaultCounts {
  crashes: number;
  crashesOfLeader: number;
  crashesDuringFsync: number;
  restarts: number;
  partitions: number;
  oneWay: number;
  heals: number;
  transfers: number;
  membershipChanges: number;
  /** Membership changes that re-weight the same voters. */
  stakeChanges: number;
  appRecords: number;
  /** Connection resets reported between two live nodes. */
  resets: number;
  /** Leaders deposed by a censorship report while alive. */
  deposals: number;
}

export interface RunResult {
  readonly seed: number;
  readonly nodes: number;
  readonly stakes: StakeProfile;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  /** Readable trace of the last events; only for failed runs. */
  readonly trace?: string;
  /** Ticks from a leader crash to the next leader (one sample per episode). */
  readonly electionTicks: readonly number[];
  /** Ticks from the heal until a fresh proposal was committed. */
  readonly recoveryTicks: number | null;
  readonly committedPositions: number;
  readonly faults: FaultCounts;
  readonly cluster: Cluster["stats"];
  readonly clients: Clients["stats"];
  readonly virtualMs: number;
}

/** Per-seed randomized knobs: each seed explores a different corner. */
export function randomRunOptions(seed: number, nodes: number, overrides: Partial<RunOptions> = {}): RunOptions {
  const r = new Prng(seed ^ 0x5eed5eed);
  const lossy = r.chance(0.7);
  return {
    seed,
    nodes,
    spareNodes: 2,
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: r.pick([1, 1, 2]),
    skew: [0.7, 1.3],
    fsyncMs: r.chance(0.5) ? [0.1, 2] : [1, 12],
    net: {
      delayMs: r.chance(0.5) ? [0.5, 5] : [1, 15],
      longDelayProb: lossy ? r.pick([0, 0.01, 0.05]) : 0,
      longDelayMs: 80,
      loss: lossy ? r.pick([0.01, 0.05, 0.15]) : 0,
      dup: lossy ? r.pick([0, 0.02, 0.1]) : 0,
    },
    compactEvery: r.pick([0, 3, 8, 25]),
    appFlushProb: r.pick([1, 0.5]),
    // Small batching limits in some runs (probe-state, one-entry-per-message paths), but
    // never all at once: a cluster that replicates one tx per round trip cannot keep up
    // with the clients, and a backlog is not what the liveness check is about.
    ...r.pick([
      { maxTxsPerEntry: 1, maxInflight: 8, maxEntriesPerMessage: 64 },
      { maxTxsPerEntry: 64, maxInflight: 1, maxEntriesPerMessage: 4 },
      { maxTxsPerEntry: 4, maxInflight: 2, maxEntriesPerMessage: 4 },
      { maxTxsPerEntry: 64, maxInflight: 8, maxEntriesPerMessage: 16 },
    ]),
    faultMs: 2500,
    livenessBoundTicks: 200,
    convergeBoundTicks: 300,
    faultEveryMs: [20, 150],
    clientEveryMs: [3, 25],
    crashes: true,
    partitions: true,
    transfers: r.chance(0.3),
    membership: r.chance(0.25),
    batchMax: r.pick([1, 3, 8]),
    resubmitProb: r.pick([0, 0.1, 0.3]),
    traceCapacity: 400,
    ...stakeOptions(r, nodes),
    // Drawn after the stakes, so a seed keeps its earlier corner.
    connectionLoss: r.chance(0.5),
    deposals: r.chance(0.3),
    ...overrides,
  };
}

/** Drawn after every other knob, so a seed keeps the rest of its corner with or without stakes. */
function stakeOptions(r: Prng, nodes: number): Pick<RunOptions, "stakes" | "weights"> {
  const stakes = r.pick(STAKE_PROFILES);
  const weights = stakesFor(stakes, nodes, r);
  return weights === undefined ? { stakes } : { stakes, weights };
}

export function runSeed(opts: RunOptions): RunResult {
  const cluster = new Cluster(opts);
  const rng = cluster.rng.fork();
  const clients = new Clients(cluster, rng.fork(), { batchMax: opts.batchMax, resubmitProb: opts.resubmitProb, maxAttempts: 6 }, opts.seed);
  const faults: FaultCounts = {
    crashes: 0,
    crashesOfLeader: 0,
    crashesDuringFsync: 0,
    restarts: 0,
    partitions: 0,
    oneWay: 0,
    heals: 0,
    transfers: 0,
    membershipChanges: 0,
    stakeChanges: 0,
    appRecords: 0,
    resets: 0,
    deposals: 0,
  };
  const electionTicks: number[] = [];
  let leaderLostAt: number | null = null;
  cluster.listeners.push({
    onEvent(_node, ev) {
      if (ev.type === "becameLeader" && leaderLostAt !== null) {
        electionTicks.push((cluster.now - leaderLostAt) / cluster.tickMs);
        leaderLostAt = null;
      }
    },
  });
  const membership = new MembershipDriver(cluster, rng.fork());
  let faulting = true;

  const members = (): NodeId[] => cluster.nodes.filter((n) => n.member).map((n) => n.id);
  const down = (): NodeId[] => cluster.nodes.filter((n) => n.member && !n.up).map((n) => n.id);
  const leader = (): NodeId | undefined => cluster.leaders()[0]?.id;

  const crash = (id: NodeId): void => {
    const node = cluster.node(id);
    if (!node.up) return;
    faults.crashes++;
    if (node.busy) faults.crashesDuringFsync++;
    if (node.core!.status().role === "leader") {
      faults.crashesOfLeader++;
      if (leaderLostAt === null && cluster.leaders().length === 1) leaderLostAt = cluster.now;
    }
    cluster.crash(id);
    if (opts.connectionLoss) {
      for (const other of members()) {
        // TCP delivers what was sent before the connection closed: the report comes after the longest delay.
        const after = (cluster.net.longDelayProb > 0 ? cluster.net.longDelayMs : cluster.net.delayMs[1]) + rng.range(1, 3);
        if (other !== id && cluster.node(other).up) cluster.schedule(after, () => void cluster.connectionLost(other, id));
      }
    }
    const downtime = rng.range(5, 400);
    cluster.schedule(downtime, () => {
      if (!faulting || !node.member || node.up) return;
      faults.restarts++;
      cluster.restart(id);
    });
  };

  const chaos = (): void => {
    if (!faulting) return;
    const live = members().filter((id) => cluster.node(id).up);
    const roll = rng.float();
    if (opts.crashes && roll < 0.3) {
      const maxDown = Math.floor(members().length / 2) + 1;
      if (down().length < maxDown && live.length > 0) {
        const busy = live.filter((id) => cluster.node(id).busy);
        const l = leader();
        const r2 = rng.float();
        crash(r2 < 0.4 && l ? l : r2 < 0.7 && busy.length > 0 ? rng.pick(busy) : rng.pick(live));
      }
    } else if (opts.partitions && roll < 0.45) {
      faults.partitions++;
      const ids = rng.shuffle(members());
      const cut = rng.range(1, ids.length - 1);
      cluster.partition([ids.slice(0, cut), ids.slice(cut)]);
      cluster.schedule(rng.range(30, 500), () => {
        if (!faulting) return;
        faults.heals++;
        cluster.heal();
      });
    } else if (opts.partitions && roll < 0.55) {
      faults.oneWay++;
      const ids = members();
      const links = rng.range(1, 3);
      for (let i = 0; i < links; i++) {
        const from = rng.pick(ids);
        const to = rng.pick(ids.filter((x) => x !== from));
        cluster.blockOneWay(from, to);
      }
      cluster.schedule(rng.range(30, 500), () => {
        if (!faulting) return;
        faults.heals++;
        cluster.heal();
      });
    } else if (opts.transfers && roll < 0.65) {
      const l = leader();
      if (l) {
        const voters = cluster.node(l).core!.status().config.voters.filter((v) => v !== l);
        if (voters.length > 0) {
          const to = rng.pick(voters);
          faults.transfers++;
          cluster.trace.add(cluster.now, "TRANSFER", `${l} -> ${to}`);
          cluster.call(l, (core) => {
            if (core.status().role !== "leader") return;
            try {
              core.transferLeadership(to);
            } catch (err) {
              if ((err as Error).name !== "LeadershipTransferError" && (err as Error).name !== "NotLeaderError") throw err;
            }
          });
        }
      }
    } else if (opts.membership && roll < 0.75) {
      const change = membership.change();
      if (change !== null) faults.membershipChanges++;
      if (change === "stakes") faults.stakeChanges++;
    } else if (roll < 0.8) {
      const l = leader();
      if (l) {
        faults.appRecords++;
        cluster.call(l, (core) => {
          core.proposeApp(new TextEncoder().encode(`batch@${cluster.now.toFixed(0)}`));
        });
      }
    } else if (opts.deposals && roll < 0.84) {
      const l = leader();
      const followers = members().filter((id) => id !== l && cluster.node(id).up);
      if (l !== undefined && followers.length > 0) {
        faults.deposals++;
        const successor = rng.pick(followers);
        const term = cluster.status(l)!.term;
        for (const id of followers) cluster.call(id, (core) => core.depose(l, term, id === successor));
      }
    } else if (opts.connectionLoss && roll < 0.95) {
      // A reset while both ends live, most often between the leader and a follower.
      const ids = members().filter((id) => cluster.node(id).up);
      const l = leader();
      if (ids.length >= 2) {
        const a = l !== undefined && rng.chance(0.7) ? l : rng.pick(ids);
        const b = rng.pick(ids.filter((x) => x !== a));
        faults.resets++;
        cluster.connectionLost(a, b);
        cluster.connectionLost(b, a);
      }
    }
    cluster.schedule(rng.range(opts.faultEveryMs[0], opts.faultEveryMs[1]), chaos);
  };

  const client = (): void => {
    if (!faulting) return;
    clients.submitBatch();
    cluster.schedule(rng.range(opts.clientEveryMs[0], opts.clientEveryMs[1]), client);
  };

  cluster.schedule(rng.range(50, 150), chaos);
  cluster.schedule(rng.range(1, 20), client);
  cluster.runUntil(opts.faultMs);

  // Heal: faults stop, every member restarts, the network becomes reliable.
  faulting = false;
  clients.retrying = false;
  cluster.heal();
  cluster.net = { ...cluster.net, loss: 0, dup: 0, longDelayProb: 0 };
  for (const id of down()) cluster.restart(id);
  const healedAt = cluster.now;
  clients.startProbe();
  const tick = cluster.tickMs;
  cluster.runFor(opts.livenessBoundTicks * tick, () => clients.probeCommittedAt !== null);
  let recoveryTicks: number | null = null;
  if (clients.probeCommittedAt === null) {
    cluster.checker.fail(null, "liveness", `no proposal committed within ${opts.livenessBoundTicks} ticks of the heal (${describeRoles(cluster)})`);
  } else {
    recoveryTicks = (clients.probeCommittedAt - healedAt) / tick;
  }
  // Convergence: every member ends with the same commit index and applied view.
  const converged = () => convergence(cluster) === null;
  let reason: string | null = null;
  for (let waited = 0; waited <= opts.convergeBoundTicks && recoveryTicks !== null; waited++) {
    cluster.runFor(tick);
    membership.reap();
    reason = convergence(cluster);
    if (reason === null) break;
  }
  if (reason !== null && recoveryTicks !== null) cluster.checker.fail(null, "convergence", reason);
  if (recoveryTicks !== null && converged()) finalChecks(cluster, clients);

  const ok = cluster.checker.ok;
  return {
    seed: opts.seed,
    nodes: opts.nodes,
    stakes: opts.stakes,
    ok,
    violations: cluster.checker.violations,
    trace: ok ? undefined : (cluster.traceAtFailure ?? cluster.trace.format()),
    electionTicks,
    recoveryTicks,
    committedPositions: cluster.checker.committedPositions,
    faults,
    cluster: cluster.stats,
    clients: clients.stats,
    virtualMs: cluster.now,
  };
}

function describeRoles(cluster: Cluster): string {
  return cluster.nodes
    .filter((n) => n.member)
    .map((n) => {
      const s = n.core?.status();
      return s ? `${n.id}:${s.role}@t${s.term} commit=${s.commit} last=${s.lastIndex}@t${s.lastTerm} leader=${s.leader}` : `${n.id}:down`;
    })
    .join(", ");
}

/** Null when all members agree; otherwise what still differs. */
export function convergence(cluster: Cluster): string | null {
  const members = cluster.nodes.filter((n) => n.member);
  const down = members.filter((n) => !n.up);
  if (down.length > 0) return `members down: ${down.map((n) => n.id).join(",")}`;
  const leaders = cluster.leaders();
  if (leaders.length === 0) return `no leader (${describeRoles(cluster)})`;
  const ls = leaders[0].core!.status();
  const inConfig = new Set([...ls.config.voters, ...(ls.config.outgoing ?? []), ...ls.config.learners]);
  const outsiders = members.filter((n) => !inConfig.has(n.id));
  if (outsiders.length > 0) return `running nodes outside the configuration: ${outsiders.map((n) => n.id).join(",")}`;
  for (const n of members) {
    const s = n.core!.status();
    if (s.commit !== ls.lastIndex || n.app.applied !== ls.lastIndex || s.lastIndex !== ls.lastIndex || n.busy) {
      return `${n.id} commit=${s.commit} applied=${n.app.applied} last=${s.lastIndex}, leader ${ls.id} last=${ls.lastIndex} (${describeRoles(cluster)})`;
    }
  }
  return null;
}

/** Property checks once every member has converged. */
function finalChecks(cluster: Cluster, clients: Clients): void {
  const checker = cluster.checker;
  const members = cluster.nodes.filter((n) => n.member);
  const ref = members[0].app;
  for (const n of members) {
    const app = n.app;
    if (app.hashes.length !== ref.hashes.length || app.appRecords !== ref.appRecords) {
      checker.fail(n.id, "logs-converge", `${n.id} applied ${app.hashes.length} positions / ${app.appRecords} app records, ${members[0].id} ${ref.hashes.length} / ${ref.appRecords}`);
      continue;
    }
    for (let p = 0; p < app.hashes.length; p++) {
      if (app.hashes[p] !== ref.hashes[p]) {
        checker.fail(n.id, "logs-converge", `position ${p}: ${n.id} has ${app.hashes[p]}, ${members[0].id} has ${ref.hashes[p]}`);
        break;
      }
    }
    const st = n.core!.status();
    if (st.lastIndex !== n.storeLastIndex() || st.lastTerm !== n.storeLastTerm()) {
      checker.fail(n.id, "durable-matches-memory", `core log ends at ${st.lastIndex}@t${st.lastTerm}, durable log at ${n.storeLastIndex()}@t${n.storeLastTerm()}`);
    }
    if (st.nextPosition !== app.nextPosition) {
      checker.fail(n.id, "positions-gap-free", `core nextPosition ${st.nextPosition}, application applied ${app.nextPosition} positions`);
    }
    // Every tx in the (now fully committed) log is applied exactly where the log has it.
    for (const e of n.store.entries) {
      e.txs?.forEach((tx, i) => {
        if (app.positionOf(tx.hash) !== e.firstPosition + i) {
          checker.fail(n.id, "one-position-per-tx", `log has ${tx.hash} at ${e.firstPosition + i}, applied view at ${app.positionOf(tx.hash)}`);
        }
      });
    }
    if (new Set(app.hashes).size !== app.hashes.length) {
      checker.fail(n.id, "one-position-per-tx", `${n.id}'s applied view holds a tx at two positions`);
    }
  }
  for (const [position, hash] of checker.told) {
    if (ref.hashes[position] !== hash) {
      checker.fail(null, "commitment-kept", `client was told ${hash} at ${position}; converged view has ${ref.hashes[position]}`);
    }
  }
  for (const rec of clients.allRecords()) {
    if (rec.committedAt !== undefined && ref.positionOf(rec.tx.hash) !== rec.committedAt) {
      checker.fail(null, "commitment-retrievable", `${rec.tx.hash} told at ${rec.committedAt}, converged view has ${ref.positionOf(rec.tx.hash)}`);
    }
  }
  for (const n of cluster.nodes) {
    if (n.pending.size > 0) {
      checker.fail(n.id, "no-silence", `proposals without an outcome at ${n.id}: ${[...n.pending.keys()].join(", ")}`);
    }
  }
}

/**
 * Membership changes through the leader: remove a voter, add a spare (with a stake, if the
 * configuration is weighted), replace one (the leader included), or re-weight the same voters
 * with stakes of any profile (an unweighted cluster becomes weighted as a genesis set does at
 * its first epoch). Nodes outside the committed configuration are shut down, as an operator
 * would once the change is through.
 */
class MembershipDriver {
  /** Spares we started, by start time: they get a grace period to enter a configuration. */
  private readonly joinedAt = new Map<NodeId, number>();

  constructor(
    private readonly cluster: Cluster,
    private readonly rng: Prng,
  ) {
    cluster.listeners.push({
      onEvent: (_node, ev) => {
        if (ev.type === "configChanged") cluster.schedule(0, () => this.reap());
      },
    });
  }

  /** Proposes a change; what kind, or null if none was possible. */
  change(): "members" | "stakes" | null {
    const leader = this.cluster.leaders()[0];
    if (!leader) return null;
    const st = leader.core!.status();
    if (st.config.outgoing || st.config.learners.length > 0) return null;
    const voters = [...st.config.voters];
    const stakeOf = new Map(voters.map((id, i) => [id, st.config.weights?.[i]]));
    // Only never-used spares join: a removed node never comes back with its old disk.
    const spares = this.cluster.nodes.filter((n) => !n.member && n.store.hardState === undefined && n.store.entries.length === 0);
    const roll = this.rng.float();
    let next: NodeId[];
    let weights: Weight[] | undefined;
    const restake = roll >= 0.85;
    if (restake) {
      next = voters;
      weights = stakesFor(this.rng.pick(STAKE_PROFILES.filter((p) => p !== "none")), voters.length, this.rng);
    } else {
      if (roll < 0.35 && voters.length > 3) {
        const drop = this.rng.chance(0.3) ? leader.id : this.rng.pick(voters);
        next = voters.filter((v) => v !== drop);
      } else if (spares.length > 0 && (roll < 0.7 || voters.length <= 3) && voters.length < 7) {
        next = [...voters, this.start(this.rng.pick(spares).id)];
      } else if (spares.length > 0) {
        const drop = this.rng.chance(0.5) ? leader.id : this.rng.pick(voters);
        next = [...voters.filter((v) => v !== drop), this.start(this.rng.pick(spares).id)];
      } else return null;
      // Those who stay keep their stake; a newcomer brings one of its own.
      if (st.config.weights) weights = next.map((id) => stakeOf.get(id) ?? String(randomStake(this.rng)));
    }
    this.cluster.trace.add(this.cluster.now, "RECONFIG", `${voters.join(",")} -> ${next.join(",")}${weights ? ` stakes ${weights.map(tokens).join(",")}` : ""}`);
    this.cluster.call(leader.id, (core) => {
      if (core.status().role !== "leader") return;
      try {
        core.changeMembership(next, weights);
      } catch (err) {
        const name = (err as Error).name;
        if (!["MembershipChangeInProgressError", "LeadershipTransferError", "NotLeaderError"].includes(name)) throw err;
      }
    });
    return restake ? "stakes" : "members";
  }

  private start(id: NodeId): NodeId {
    this.cluster.join(id);
    this.joinedAt.set(id, this.cluster.now);
    return id;
  }

  /** Shuts down running nodes that the leader's committed configuration no longer (or never) includes. */
  reap(): void {
    const leader = this.cluster.leaders()[0];
    if (!leader) return;
    const committed = leader.app.config;
    const current = leader.core!.status().config;
    if (committed.outgoing || current.outgoing || !sameMembers(committed, current)) return; // a change is in flight
    const inCfg = new Set([...committed.voters, ...committed.learners]);
    const grace = 30 * this.cluster.tickMs;
    for (const n of this.cluster.nodes) {
      if (!n.member || inCfg.has(n.id)) continue;
      const joined = this.joinedAt.get(n.id);
      if (joined !== undefined && this.cluster.now - joined < grace) continue;
      this.cluster.remove(n.id);
    }
  }
}

/** A stake in whole tokens, for traces. */
function tokens(weight: Weight): string {
  return `${BigInt(weight) / TOKEN}`;
}

function sameMembers(a: MembershipConfig, b: MembershipConfig): boolean {
  const key = (c: MembershipConfig) => `${[...c.voters].sort().join(",")}|${[...c.learners].sort().join(",")}`;
  return key(a) === key(b);
}

/** A failed run, readably: its violations, how to replay it, and the last `traceLines` events. */
export function describeFailure(r: RunResult, traceLines: number, maxViolations = 10): string {
  const v = r.violations.slice(0, maxViolations).map((x) => `  [${x.time.toFixed(1)}ms] ${x.property} @${x.node ?? "-"}: ${x.detail}`);
  const trace = (r.trace ?? "").split("\n").slice(-traceLines).join("\n");
  return `FAIL seed ${r.seed} (${r.nodes} nodes, stakes ${r.stakes}):\n${v.join("\n")}\n  replay: npm run sim -- --seed ${r.seed} --nodes ${r.nodes}\n--- last events ---\n${trace}\n`;
}
