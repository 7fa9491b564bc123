/**
 * Epochs drive the cluster: the leader moves the Raft membership to each confirmed epoch's
 * active set, then hands leadership to the epoch's primary (or the first reachable fallback
 * in schedule order), and records the outcome in the log so later leaders of the epoch leave
 * it alone. Followers veto membership that does not match their own reading of L1, and run
 * election timeouts by schedule rank so failover also prefers schedule order.
 */
import {
  LeadershipTransferError,
  MembershipChangeInProgressError,
  NotLeaderError,
  type MembershipConfig,
  type NodeId,
  type Weight,
} from "../consensus/index.js";
import type { RaftControl } from "../raftnode/index.js";
import { sameVoters } from "../consensus/membership.js";
import type { Logger } from "../ops/logger.js";
import { encodeAppRecord } from "../domain/records.js";

/** An epoch as the cluster uses it: node ids (lower-case operator addresses). */
export interface EpochPlan {
  readonly epoch: number;
  readonly voters: readonly NodeId[];
  /** weights[i] is the stake of voters[i] (token base units): quorums are by stake. */
  readonly weights?: readonly Weight[];
  /** Schedule order: primary first, then the fallbacks. */
  readonly schedule: readonly NodeId[];
}

/**
 * The confirmed epochs this node read on L1 itself, newest first: what the membership veto
 * (the core's `acceptConfig`, needed before the core exists) and the EpochManager both read.
 */
export class EpochPlans {
  private list: EpochPlan[] = [];
  /** The configuration last refused, so that a leader's resends are logged once. */
  private lastRefused: string | undefined;

  constructor(private readonly logger: Logger) {}

  /** The latest confirmed epoch, if any. */
  get latest(): EpochPlan | undefined {
    return this.list[0];
  }

  get all(): readonly EpochPlan[] {
    return this.list;
  }

  set(plans: readonly EpochPlan[]): void {
    this.list = [...plans].sort((a, b) => b.epoch - a.epoch);
  }

  /**
   * A follower accepts a membership change only toward a set it read on L1 itself: the incoming
   * voters with their stakes are one of its known epochs' sets (or its `current` voters, which a
   * learner stage keeps), and every node named is a member of one of them.
   */
  accepts(config: MembershipConfig, current: MembershipConfig): boolean {
    const known = new Set(this.list.flatMap((p) => p.voters));
    const named = [...config.voters, ...(config.outgoing ?? []), ...config.learners];
    const ok = named.every((id) => known.has(id)) && (this.list.some((p) => sameVoters(p, config)) || sameVoters(current, config));
    // Expected while this node's reading of L1 lags the leader's (a joining or restarting node, or
    // the first blocks of an epoch): the entries are not appended, the leader sends them again, and
    // they are accepted once this node has read that epoch. Once per configuration, not per resend.
    const key = JSON.stringify(config);
    if (!ok && key !== this.lastRefused) {
      this.logger.info(
        { config, epochs: this.list.map((p) => p.epoch) },
        "not yet accepting a membership change for a set this node has not read on L1: the leader resends it, and it is accepted once this node's L1 reading catches up (expected while joining)",
      );
    }
    this.lastRefused = ok ? undefined : key;
    return ok;
  }
}

export interface EpochManagerOptions {
  readonly self: NodeId;
  /** The epochs read on L1, shared with the membership veto. */
  readonly plans: EpochPlans;
  /** The node's one door into the core (it wakes itself after each call). */
  readonly raft: RaftControl;
  /** When this node last heard from a peer (ms since epoch), from the transport. */
  readonly lastHeard: (id: NodeId) => number | undefined;
  /** A peer counts as reachable if heard from within this window. */
  readonly reachableWithinMs: number;
  /** Time one candidate gets to take over before the next in schedule order is tried. */
  readonly takeoverMs: number;
  /** A fresh leader waits this long before judging reachability (its peers have to answer first). */
  readonly settleMs: number;
  /** The leader is not producing (its oldest unposted batch is overdue). */
  readonly missedDeadline: () => boolean;
  /** The latest epoch whose rotation the replicated log settled (`epochLeader` records), and its leader. */
  readonly settled: () => { readonly epoch: number; readonly leader: NodeId } | undefined;
  /** Members ejected for censorship in an epoch (docs/censorship.md): not handed leadership again in it. */
  readonly ejected?: (epoch: number) => ReadonlySet<NodeId>;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Rotation {
  readonly epoch: number;
  readonly tried: Set<NodeId>;
  attempt?: { readonly to: NodeId; readonly since: number };
  proposedAt?: number;
}

export class EpochManager {
  private rotation: Rotation | undefined;
  private leaderSince: number | undefined;
  private lastHandOff = 0;
  private changeSince: number | undefined;
  private leader: NodeId | null = null;
  private rank = -1;
  private readonly now: () => number;

  constructor(private readonly opts: EpochManagerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The latest confirmed epoch, if any. */
  get latest(): EpochPlan | undefined {
    return this.opts.plans.latest;
  }

  /** Replaces the known epochs and re-ranks this node's elections. */
  setPlans(plans: readonly EpochPlan[]): void {
    this.opts.plans.set(plans);
    this.rerank();
  }

  /**
   * The leader this node follows changed: ranks are counted among the others. Losing the leader
   * (null) keeps the ranks: they exist for exactly that moment.
   */
  onLeaderChanged(leader: NodeId | null): void {
    if (leader === null || leader === this.leader) return;
    this.leader = leader;
    this.rerank();
  }

  /**
   * Election rank = index in the latest schedule, not counting the current leader: when the
   * leader dies, the next node in schedule order times out first (rank 0) instead of waiting
   * out the dead leader's slot.
   */
  private rerank(): void {
    const latest = this.opts.plans.latest;
    if (latest === undefined) return;
    const order = latest.schedule.filter((id) => id !== this.leader);
    const index = order.indexOf(this.opts.self);
    const rank = index < 0 ? order.length : index;
    if (rank === this.rank) return; // setting it restarts the election timer
    this.rank = rank;
    this.opts.raft.setElectionRank(rank);
  }

  onLeadership(isLeader: boolean): void {
    this.leaderSince = isLeader ? this.now() : undefined;
    this.changeSince = undefined;
  }

  status(): { epoch: number | null; primary: NodeId | null; settledEpoch: number; settledLeader: NodeId | null } {
    const latest = this.opts.plans.latest;
    const settled = this.opts.settled();
    return { epoch: latest?.epoch ?? null, primary: latest?.schedule[0] ?? null, settledEpoch: settled?.epoch ?? -1, settledLeader: settled?.leader ?? null };
  }

  /** Called periodically; does nothing unless this node leads. */
  tick(): void {
    const latest = this.opts.plans.latest;
    const core = this.opts.raft;
    if (latest === undefined || core.basicStatus().role !== "leader") return;
    if (this.leaderSince === undefined || this.now() - this.leaderSince < this.opts.settleMs) return;
    const config = core.status().config;
    try {
      if (this.syncMembership(latest, config)) return;
      if ((this.opts.settled()?.epoch ?? -1) < latest.epoch) this.rotate(latest, config.voters);
      else this.handOffIfNotProducing(latest, config.voters);
    } catch (error) {
      // The core refused (a change or transfer already under way, lost leadership meanwhile): retry next tick.
      if (!(error instanceof MembershipChangeInProgressError || error instanceof LeadershipTransferError || error instanceof NotLeaderError)) throw error;
    }
  }

  /**
   * Moves the membership toward the epoch's set; true while rotation should wait for it. A new
   * leader adopts a change its predecessor left at the learner stage (the staged part of a change
   * lives only in the leader that started it). A change stuck on a learner that never catches up
   * holds rotation back for at most 2 * takeoverMs.
   */
  private syncMembership(latest: EpochPlan, config: MembershipConfig): boolean {
    if (latest.voters.length === 0) return false; // an empty set cannot run a cluster: keep the last one
    if (config.outgoing === undefined && config.learners.length === 0 && sameVoters(config, latest)) {
      this.changeSince = undefined;
      return false;
    }
    const now = this.now();
    if (this.changeSince === undefined) {
      this.changeSince = now;
      this.opts.logger.info({ epoch: latest.epoch, from: config.voters, to: latest.voters }, "moving membership to the epoch's active set");
    }
    if (config.outgoing === undefined) {
      try {
        this.opts.raft.changeMembership(latest.voters, latest.weights);
      } catch (error) {
        if (!(error instanceof MembershipChangeInProgressError || error instanceof LeadershipTransferError)) throw error;
      }
    }
    return now - this.changeSince < 2 * this.opts.takeoverMs;
  }

  private reachable(id: NodeId): boolean {
    if (id === this.opts.self) return true;
    const heard = this.opts.lastHeard(id);
    return heard !== undefined && this.now() - heard <= this.opts.reachableWithinMs;
  }

  /** Walks the schedule: the first reachable voter leads; this node records it when that is itself. */
  private rotate(latest: EpochPlan, voters: readonly NodeId[]): void {
    const now = this.now();
    if (this.rotation?.epoch !== latest.epoch) this.rotation = { epoch: latest.epoch, tried: new Set() };
    const r = this.rotation;
    if (r.attempt !== undefined) {
      if (now - r.attempt.since < this.opts.takeoverMs) return;
      this.opts.logger.warn({ epoch: latest.epoch, to: r.attempt.to }, "scheduled leader did not take over in time: trying the next in schedule order");
      r.tried.add(r.attempt.to);
      r.attempt = undefined;
    }
    const ejected = this.opts.ejected?.(latest.epoch);
    for (const id of latest.schedule) {
      if (r.tried.has(id) || ejected?.has(id) === true) continue;
      if (id === this.opts.self) {
        if (r.proposedAt === undefined || now - r.proposedAt >= this.opts.takeoverMs) {
          r.proposedAt = now;
          this.opts.raft.proposeApp(encodeAppRecord({ kind: "epochLeader", epoch: latest.epoch, leader: id }));
        }
        return;
      }
      if (!voters.includes(id) || !this.reachable(id)) {
        r.tried.add(id);
        continue;
      }
      this.opts.logger.info({ epoch: latest.epoch, to: id, rank: latest.schedule.indexOf(id) }, "handing leadership to the epoch's scheduled leader");
      r.attempt = { to: id, since: now };
      this.opts.raft.transferLeadership(id);
      return;
    }
  }

  /** A leader that misses its batch deadline gives way to the next reachable node in schedule order. */
  private handOffIfNotProducing(latest: EpochPlan, voters: readonly NodeId[]): void {
    const now = this.now();
    if (!this.opts.missedDeadline() || now - this.lastHandOff < 2 * this.opts.takeoverMs) return;
    const start = latest.schedule.indexOf(this.opts.self) + 1;
    const order = [...latest.schedule.slice(start), ...latest.schedule.slice(0, Math.max(0, start - 1))];
    const ejected = this.opts.ejected?.(latest.epoch);
    const next = order.find((id) => voters.includes(id) && this.reachable(id) && ejected?.has(id) !== true);
    if (next === undefined) return;
    this.lastHandOff = now;
    this.opts.logger.warn({ epoch: latest.epoch, to: next }, "missed the batch deadline: handing leadership to the next in schedule order");
    this.opts.raft.transferLeadership(next);
  }
}
