/**
 * The commitment-aware Raft core: a deterministic state machine in the style of
 * etcd's raft. Inputs: tick(), step(), propose*(), admin calls. Outputs: a Ready
 * (see types.ts for the order in which the driver must handle it).
 *
 * Invariants worth knowing before reading:
 * - An entry counts toward commitment only once durable: the leader's own copy
 *   after advance() for the Ready that carried it (`log.stableIndex`), a follower's
 *   copy via its appendResp, which is sent only after the Ready holding the entries
 *   was persisted.
 * - Entries of term T are created only by the leader of term T, so a leader owns
 *   (owes outcomes for) exactly the txs entries of its own term.
 * - Every transaction proposed to a leader gets exactly one outcome on it.
 */
import { ConfigHistory } from "./configs.js";
import {
  CompactionError,
  InvalidOptionsError,
  InvalidPersistedStateError,
  LeadershipTransferError,
  MembershipChangeInProgressError,
  NotLeaderError,
  ReadyProtocolError,
} from "./errors.js";
import { RaftLog } from "./log.js";
import {
  allVoters,
  configProblem,
  finalConfig,
  isJoint,
  isVoter,
  jointConfig,
  replicationTargets,
  sameVoters,
  validateVoters,
  withLearners,
  type WeightedVoters,
} from "./membership.js";
import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, voteResult } from "./quorum.js";
import { TxIndex } from "./txindex.js";
import type {
  BasicStatus,
  CampaignCause,
  Entry,
  HardState,
  MembershipConfig,
  Message,
  NodeId,
  ProposalOutcome,
  RaftEvent,
  RaftOptions,
  RaftStatus,
  Ready,
  Role,
  Snapshot,
  Tx,
  Weight,
} from "./types.js";
import { isWellFormedMessage } from "./validate.js";


/**
 * The vote rule: a voter grants its vote only to a candidate whose last entry is at
 * least as complete as its own (higher last term, or same last term and an index at
 * least as high). See docs/consensus.md for why this replaces "equal state".
 */
export function isAtLeastAsComplete(
  candidate: { lastTerm: number; lastIndex: number },
  voter: { lastTerm: number; lastIndex: number },
): boolean {
  return (
    candidate.lastTerm > voter.lastTerm ||
    (candidate.lastTerm === voter.lastTerm && candidate.lastIndex >= voter.lastIndex)
  );
}

type FailReason = "lost-leadership" | "no-quorum";
type Msg<T extends Message["type"]> = Extract<Message, { type: T }>;

/** A membership change waiting for its new nodes (learners) to catch up before C(old,new). */
interface StagedChange {
  readonly next: WeightedVoters;
  readonly added: readonly NodeId[];
}

const DEFAULT_MAX_TXS_PER_ENTRY = 4096;
const DEFAULT_MAX_INFLIGHT = 8;
const DEFAULT_MAX_ENTRIES_PER_MESSAGE = 64;
const EMPTY = new Uint8Array(0);

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidOptionsError(`${name} must be a positive integer, got ${String(value)}`);
  return v;
}

export class RaftCore {
  private readonly id: NodeId;
  private readonly random: () => number;
  private readonly electionTicks: number;
  private readonly electionJitterTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxTxsPerEntry: number;
  private readonly maxInflight: number;
  private readonly maxEntriesPerMessage: number;
  private readonly lookupCommittedTx: RaftOptions["lookupCommittedTx"];
  private readonly acceptConfig: (config: MembershipConfig, current: MembershipConfig) => boolean;

  private term: number;
  private vote: NodeId | null;
  private role: Role = "follower";
  private leader: NodeId | null = null;
  private readonly log: RaftLog;
  private readonly configs: ConfigHistory;
  private readonly txIndex = new TxIndex();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private rank = 0;
  /** The leader's connection was reported lost and this (ranked) node's campaign is due in a few ticks. */
  private leaderLostPending = false;
  /** The last pre-vote ignored inside the lease since the leader was last heard (answered if the leader's connection is lost). */
  private heldPreVote: Msg<"preVote"> | null = null;
  /** The leader of this term that members holding a majority of stake reported (see depose): no lease, no timer reset. */
  private deposed: { readonly leader: NodeId; readonly term: number } | null = null;
  private votes = new Map<NodeId, boolean>();

  // Leader state.
  private readonly progress = new Map<NodeId, Progress>();
  /** Proposed, not yet in the log: becomes one txs entry at the next ready(). */
  private pendingTxs: Tx[] = [];
  /** Duplicate proposals waiting for the entry holding their position: position -> waiter. */
  private readonly dupWaiters = new Map<number, { hash: string; count: number }>();
  private transferee: NodeId | null = null;
  private transferElapsed = 0;
  private stagedChange: StagedChange | null = null;

  // Output collected for the next Ready.
  private msgs: Message[] = [];
  private outcomes: ProposalOutcome[] = [];
  private events: RaftEvent[] = [];
  private prevHardState: HardState;
  private reportedCommit: number;
  private readyOutstanding = false;
  private applyingTo = 0;

  constructor(opts: RaftOptions) {
    if (typeof opts.id !== "string" || opts.id.length === 0) throw new InvalidOptionsError("id must be a non-empty string");
    if (typeof opts.random !== "function") throw new InvalidOptionsError("random must be a function returning [0, 1)");
    this.id = opts.id;
    this.random = opts.random;
    this.electionTicks = positiveInt("electionTicks", opts.electionTicks, 0);
    this.electionJitterTicks = positiveInt("electionJitterTicks", opts.electionJitterTicks, this.electionTicks);
    this.heartbeatTicks = positiveInt("heartbeatTicks", opts.heartbeatTicks, 0);
    if (this.heartbeatTicks >= this.electionTicks) {
      throw new InvalidOptionsError(`heartbeatTicks (${this.heartbeatTicks}) must be below electionTicks (${this.electionTicks})`);
    }
    this.preVote = opts.preVote ?? true;
    this.checkQuorum = opts.checkQuorum ?? true;
    this.maxTxsPerEntry = positiveInt("maxTxsPerEntry", opts.maxTxsPerEntry, DEFAULT_MAX_TXS_PER_ENTRY);
    this.maxInflight = positiveInt("maxInflight", opts.maxInflight, DEFAULT_MAX_INFLIGHT);
    this.maxEntriesPerMessage = positiveInt("maxEntriesPerMessage", opts.maxEntriesPerMessage, DEFAULT_MAX_ENTRIES_PER_MESSAGE);
    this.lookupCommittedTx = opts.lookupCommittedTx;
    this.acceptConfig = opts.acceptConfig ?? (() => true);
    const initialProblem = configProblem(opts.initialConfig);
    if (initialProblem !== undefined) throw new InvalidOptionsError(`initialConfig: ${initialProblem}`);

    const p = opts.persisted;
    const snapshot: Snapshot = p?.snapshot ?? {
      meta: { index: 0, term: 0, config: opts.initialConfig, nextPosition: 0 },
      data: EMPTY,
    };
    const hard: HardState = p?.hardState ?? { term: 0, vote: null, commit: 0 };
    const entries = p?.entries ?? [];
    validatePersisted(snapshot, hard, entries, p?.applied ?? 0);

    const commit = Math.max(hard.commit, snapshot.meta.index);
    const applied = Math.max(p?.applied ?? 0, snapshot.meta.index);
    this.log = new RaftLog(snapshot, entries, commit, applied);
    this.configs = new ConfigHistory(snapshot.meta.config, snapshot.meta.index);
    this.configs.onAppend(entries);
    this.txIndex.addEntries(entries);
    this.term = hard.term;
    this.vote = hard.vote;
    this.prevHardState = { term: hard.term, vote: hard.vote, commit };
    this.reportedCommit = commit;
    this.resetElectionTimeout();
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  step(msg: Message): void {
    if (!isWellFormedMessage(msg, this.id)) return;
    const m = msg;
    if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        const transfer = m.type === "vote" && m.transfer;
        // Leader lease: while we heard from a leader within the minimum election timeout,
        // a (pre)vote cannot be legitimate unless the leader itself asked for it. One tick
        // short of it: members that heard the same heartbeat count ticks up to one apart, and
        // a candidate whose timer ran out first (the rank-0 fallback, narrow jitter) must not
        // find its peers still in lease and lose its turn to the next rank.
        // A leader is always in its own lease: it is alive, and check-quorum deposes it when cut off.
        const inLease =
          this.checkQuorum &&
          this.leader !== null &&
          !this.isDeposed(this.leader) &&
          (this.role === "leader" || this.electionElapsed < this.electionTicks - 1);
        if (!transfer && inLease) {
          // Kept, not answered: if this node loses the leader's connection too, it answers then.
          if (m.type === "preVote") this.heldPreVote = m;
          return;
        }
      }
      if (m.type === "preVote" || (m.type === "preVoteResp" && m.granted)) {
        // Pre-vote never changes terms: the request carries the term the candidate would use.
      } else {
        const fromLeader = m.type === "append" || m.type === "snapshot" || m.type === "timeoutNow";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      if (m.type === "append" && (this.checkQuorum || this.preVote)) {
        // A stale leader (e.g. back from a partition) learns our term and steps down.
        this.send({ type: "appendResp", from: this.id, to: m.from, term: this.term, success: false, matchIndex: m.prevIndex, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", from: this.id, to: m.from, term: this.term, granted: false });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  propose(txs: readonly Tx[]): void {
    if (this.role !== "leader" || this.transferee !== null) {
      const reason = this.role !== "leader" ? "not-leader" : "transferring";
      const hint = this.role !== "leader" ? this.leader : this.transferee;
      for (let i = 0; i < txs.length; i++) {
        this.outcomes.push({ txHash: txs[i]!.hash, status: "failed", reason, leader: hint });
      }
      return;
    }
    const base = this.log.nextPosition();
    const index = this.txIndex;
    const lookup = this.lookupCommittedTx;
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i]!;
      const hash = tx.hash;
      const known = index.position(hash);
      if (known !== undefined) {
        this.attachDuplicate(hash, known);
        continue;
      }
      const compacted = lookup?.(hash);
      if (compacted !== undefined) {
        this.outcomes.push({ txHash: hash, status: "committed", position: compacted.position, index: compacted.index, term: compacted.term });
        continue;
      }
      index.set(hash, base + this.pendingTxs.length);
      this.pendingTxs.push(tx);
    }
  }

  proposeApp(data: Uint8Array): boolean {
    if (this.role !== "leader" || this.transferee !== null) return false;
    this.flushProposals();
    this.appendAsLeader({ kind: "app", app: data });
    this.bcastAppend();
    return true;
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== "leader") throw new NotLeaderError("transferLeadership", this.leader);
    if (to === this.id) return;
    if (!isVoter(this.config(), to)) {
      throw new LeadershipTransferError(`transferLeadership: ${to} is not a voter of the current configuration`);
    }
    if (this.transferee === to) return;
    if (this.transferee !== null) this.abortTransfer();
    this.flushProposals();
    this.transferee = to;
    this.transferElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(to);
    } else {
      // Catch the target up now rather than waiting for lost appends to be detected.
      if (pr.state === "replicate") pr.becomeProbe();
      if (pr.state === "probe") pr.paused = false;
      this.sendAppend(to, pr);
    }
  }

  /**
   * Moves the membership to `voters`, weighted by `weights` (weights[i] is the stake of
   * voters[i]; without it every voter counts 1). New weights for the same voters are a change
   * like any other: it goes through C(old,new), since quorums of the old and of the new weights
   * need not intersect.
   */
  changeMembership(voters: readonly NodeId[], weights?: readonly Weight[]): void {
    if (this.role !== "leader") throw new NotLeaderError("changeMembership", this.leader);
    validateVoters(voters, weights);
    if (this.transferee !== null) {
      throw new LeadershipTransferError(`changeMembership: a leadership transfer to ${this.transferee} is in progress`);
    }
    if (this.isChangeInProgress()) {
      throw new MembershipChangeInProgressError(
        "changeMembership: the previous membership change has not finished (learner catch-up, joint or final configuration not committed)",
      );
    }
    const current = this.config();
    const next: WeightedVoters = weights === undefined ? { voters: [...voters] } : { voters: [...voters], weights: [...weights] };
    if (sameVoters(current, next)) return;
    this.flushProposals();
    const added = voters.filter((id) => !current.voters.includes(id));
    const newLearners = added.filter((id) => !current.learners.includes(id));
    if (newLearners.length > 0) this.appendAsLeader({ kind: "config", config: withLearners(current, newLearners) });
    this.stagedChange = { next, added };
    this.maybeEnterJoint();
    this.bcastAppend();
  }

  /**
   * Records an application snapshot taken at `index` (<= applied) and drops the log up
   * to it. Returns the snapshot (meta filled in by the core) for the driver to persist
   * before it deletes its own stored entries <= index. Compacting to the current
   * snapshot index is a no-op.
   */
  compact(index: number, data: Uint8Array): Snapshot {
    const snapIndex = this.log.snapshot.meta.index;
    if (index === snapIndex) return this.log.snapshot;
    const applied = this.readyOutstanding ? Math.max(this.log.applied, this.applyingTo) : this.log.applied;
    if (!Number.isSafeInteger(index) || index < snapIndex || index > applied) {
      throw new CompactionError(`compact: index ${index} outside (${snapIndex}, ${applied}] (snapshot index, applied index)`);
    }
    const meta = {
      index,
      term: this.log.term(index)!,
      config: this.configs.at(index),
      nextPosition: this.log.positionAfter(index),
    };
    const snapshot: Snapshot = { meta, data };
    this.log.compact(snapshot);
    this.txIndex.rebuild(this.log.slice(index + 1, this.log.lastIndex() + 1), this.pendingTxs, this.log.nextPosition());
    this.configs.onCompact(index);
    return snapshot;
  }

  /**
   * The driver saw its connection to `id` close (a crashed process, a reset): when `id` is the
   * leader this follower stops waiting for the election timeout. Rank 0 campaigns at once, rank r
   * after at least r whole ticks, so members with distinct ranks do not split the vote; the lease is dropped, so
   * this node answers the others' (pre-)votes. Pre-vote keeps a live leader in place: members that
   * still hear it are in their lease and ignore the request, and its next append (electionElapsed
   * back to 0) makes this node a follower again at the same term. The vote rule is unchanged.
   */
  leaderConnectionLost(id: NodeId): void {
    if (this.role !== "follower" || this.leader !== id || !this.promotable()) return;
    // A peer that lost the leader first asked for a pre-vote while this node was still in its lease:
    // answer it now, so the first campaign wins instead of a second one splitting the vote.
    const held = this.heldPreVote;
    this.heldPreVote = null;
    // rank r > 0 waits r + 1 tick boundaries: at least r whole ticks, whatever the phase of its timer.
    const wait = this.rank === 0 ? 0 : this.rank + 1;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - wait);
    if (held !== null) this.step(held);
    if (this.role !== "follower") return;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign("leaderLost");
    } else {
      this.leaderLostPending = true;
    }
  }

  /**
   * Members holding more than half of the stake reported `leader`, the leader of `term`, for
   * censorship (the node layer verified and tallied the signed reports; docs/censorship.md). A
   * follower of that leader in that term stops granting it the lease and stops resetting its
   * election timer on its appends, so the next election can happen without the leader's consent;
   * with `campaign` (this node is next in the epoch's schedule) it campaigns at once. The vote rule
   * is unchanged (one vote per term, the candidate's log at least as complete), so safety is too:
   * only liveness-guarding rules are waived. Anything else (another term, another leader, this node
   * leading) is ignored: a stale report cannot unseat a later leader.
   */
  depose(leader: NodeId, term: number, campaign: boolean): void {
    if (term !== this.term || this.leader !== leader || this.role !== "follower" || leader === this.id) return;
    this.deposed = { leader, term };
    // A pre-vote held inside the lease is now answerable (as after a lost connection).
    const held = this.heldPreVote;
    this.heldPreVote = null;
    if (held !== null) this.step(held);
    if (campaign && this.role === "follower" && this.promotable()) {
      this.electionElapsed = 0;
      this.campaign("deposed");
    }
  }

  private isDeposed(leader: NodeId): boolean {
    return this.deposed !== null && this.deposed.term === this.term && this.deposed.leader === leader;
  }

  setElectionRank(rank: number): void {
    if (!Number.isSafeInteger(rank) || rank < 0) throw new InvalidOptionsError(`election rank must be a non-negative integer, got ${rank}`);
    this.rank = rank;
    this.resetElectionTimeout();
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    return (
      (this.pendingTxs.length > 0 && this.role === "leader") ||
      this.log.hasUnstable() ||
      this.msgs.length > 0 ||
      this.outcomes.length > 0 ||
      this.events.length > 0 ||
      this.log.commit > this.log.applied ||
      this.log.commit > this.reportedCommit ||
      this.hardStateChanged()
    );
  }

  ready(): Ready {
    if (this.readyOutstanding) throw new ReadyProtocolError("ready() called again before advance() for the previous Ready");
    this.flushProposals();
    const { entries, snapshot } = this.log.takeUnstable();
    const commit = this.log.commit;
    const hardState = this.hardStateChanged() ? { term: this.term, vote: this.vote, commit } : undefined;
    if (hardState) this.prevHardState = hardState;
    if (commit > this.reportedCommit) {
      this.reportedCommit = commit;
      this.events.push({ type: "commitAdvanced", commit });
    }
    const committedEntries = this.log.committedAfterApplied(commit);
    this.applyingTo = commit;
    const rd: Ready = {
      ...(hardState ? { hardState } : {}),
      entries,
      ...(snapshot ? { snapshot } : {}),
      messages: this.msgs,
      committedEntries,
      outcomes: this.outcomes,
      events: this.events,
    };
    this.msgs = [];
    this.outcomes = [];
    this.events = [];
    this.readyOutstanding = true;
    return rd;
  }

  advance(): void {
    if (!this.readyOutstanding) throw new ReadyProtocolError("advance() called without an outstanding Ready");
    this.readyOutstanding = false;
    this.log.markInProgressStable();
    if (this.applyingTo > this.log.applied) this.log.applied = this.applyingTo;
    // The leader's own copy is durable now: it may complete a majority.
    if (this.role === "leader" && this.maybeCommit() && this.role === "leader") this.bcastCommit();
  }

  /** Cheap status for hot paths (as etcd's BasicStatus): no allocation of progress views. */
  basicStatus(): BasicStatus {
    return { role: this.role, term: this.term, leader: this.leader };
  }

  status(): RaftStatus {
    let progress: Record<NodeId, ReturnType<Progress["view"]>> | undefined;
    if (this.role === "leader") {
      progress = {};
      for (const [id, pr] of this.progress) progress[id] = pr.view();
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leader,
      commit: this.log.commit,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      nextPosition: this.log.nextPosition(),
      config: this.config(),
      ...(progress ? { progress } : {}),
      transferringTo: this.transferee,
    };
  }

  // ---------------------------------------------------------------- roles

  private config(): MembershipConfig {
    return this.configs.current();
  }

  /**
   * May campaign: a voter of the current configuration, or of the last committed one while a
   * newer one is uncommitted. A node its newest configuration removes may still be needed until
   * that configuration commits (Raft thesis §4.2.2): e.g. a removed leader that crashed holding
   * the only copy of C(new), whose stake the old half of C(old,new) cannot do without, and which
   * refuses its less complete peers. It tallies votes by its newest configuration, which does
   * not count its own; pre-vote and the lease keep it from disrupting once it is really out.
   */
  private promotable(): boolean {
    return isVoter(this.config(), this.id) || (this.configUncommitted() && isVoter(this.configs.at(this.log.commit), this.id));
  }

  private resetElectionTimeout(): void {
    const r = Math.min(Math.max(this.random(), 0), 0.999999999);
    this.randomizedElectionTimeout = this.electionTicks * (1 + this.rank) + Math.floor(r * this.electionJitterTicks);
  }

  private setLeader(leader: NodeId | null): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.events.push({ type: "leaderChanged", leader, term: this.term });
  }

  private becomeFollower(term: number, leader: NodeId | null, reason: FailReason = "lost-leadership"): void {
    if (this.role === "leader") this.stepDownLeader(reason, leader);
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = "follower";
    this.setLeader(leader);
    this.votes.clear();
    this.electionElapsed = 0;
    this.leaderLostPending = false;
    this.heldPreVote = null;
    this.resetElectionTimeout();
  }

  private stepDownLeader(reason: FailReason, hint: NodeId | null): void {
    this.failInFlight(reason, hint);
    this.progress.clear();
    this.transferee = null;
    this.stagedChange = null;
    this.events.push({ type: "lostLeadership", term: this.term });
  }

  private campaign(cause: Exclude<CampaignCause, "transfer">): void {
    if (!this.promotable()) return;
    this.events.push({ type: "campaignStarted", term: this.term, cause });
    if (this.preVote) this.becomePreCandidate();
    else this.becomeCandidate(false);
  }

  private becomePreCandidate(): void {
    this.role = "preCandidate";
    this.setLeader(null);
    this.startElection();
    for (const to of allVoters(this.config())) {
      if (to === this.id) continue;
      this.send({ type: "preVote", from: this.id, to, term: this.term + 1, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() });
    }
    this.pollVotes();
  }

  private becomeCandidate(transfer: boolean): void {
    this.term += 1;
    this.vote = this.id;
    this.role = "candidate";
    this.setLeader(null);
    this.startElection();
    for (const to of allVoters(this.config())) {
      if (to === this.id) continue;
      this.send({ type: "vote", from: this.id, to, term: this.term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer });
    }
    this.pollVotes();
  }

  private startElection(): void {
    this.votes = new Map([[this.id, true]]);
    this.electionElapsed = 0;
    this.leaderLostPending = false;
    this.resetElectionTimeout();
  }

  private pollVotes(): void {
    const result = voteResult(this.config(), this.votes);
    if (result === "won") {
      if (this.role === "preCandidate") this.becomeCandidate(false);
      else this.becomeLeader();
    } else if (result === "lost") {
      this.becomeFollower(this.term, null);
    }
  }

  private becomeLeader(): void {
    this.role = "leader";
    this.setLeader(this.id);
    this.votes.clear();
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.transferee = null;
    this.stagedChange = null;
    this.syncProgress(true);
    this.events.push({ type: "becameLeader", term: this.term });
    // A no-op of the new term: earlier-term entries commit only through a current-term entry.
    this.appendAsLeader({ kind: "noop" });
    this.maybeLeaveJoint();
    this.bcastAppend();
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.promotable()) {
      this.electionElapsed = 0;
      this.campaign(this.leaderLostPending ? "leaderLost" : "timeout");
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        const active = hasQuorum(this.config(), (id) => id === this.id || this.progress.get(id)?.recentActive === true);
        if (!active) {
          this.becomeFollower(this.term, null, "no-quorum");
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
    }
    if (this.transferee !== null && ++this.transferElapsed >= this.electionTicks) this.abortTransfer();
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private abortTransfer(): void {
    const to = this.transferee!;
    this.transferee = null;
    this.events.push({ type: "transferAborted", to });
  }

  // ---------------------------------------------------------------- votes

  private handleVoteRequest(m: Msg<"vote"> | Msg<"preVote">): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      (m.type === "preVote" && m.term > this.term);
    const complete = isAtLeastAsComplete(
      { lastTerm: m.lastTerm, lastIndex: m.lastIndex },
      { lastTerm: this.log.lastTerm(), lastIndex: this.log.lastIndex() },
    );
    const type = m.type === "vote" ? "voteResp" : "preVoteResp";
    if (canVote && complete) {
      // The vote is recorded in hard state now; the driver persists it before sending this reply.
      if (m.type === "vote") {
        this.vote = m.from;
        this.electionElapsed = 0;
      }
      this.send({ type, from: this.id, to: m.from, term: m.term, granted: true });
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, granted: false });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "snapshot":
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "preVoteResp":
        if (this.role !== "preCandidate") return;
        if (m.granted && m.term !== this.term + 1) return; // answer to an older pre-campaign
        this.votes.set(m.from, m.granted);
        this.pollVotes();
        return;
      case "voteResp":
        if (this.role !== "candidate") return;
        this.votes.set(m.from, m.granted);
        this.pollVotes();
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        // A deposed leader's appends are still taken (its entries may be committed) but no longer keep it in office.
        if (!this.isDeposed(m.from)) {
          this.electionElapsed = 0;
          this.leaderLostPending = false;
          this.heldPreVote = null;
        }
        this.setLeader(m.from);
        this.handleAppend(m);
        return;
      case "snapshot":
        this.electionElapsed = 0;
        this.leaderLostPending = false;
        this.heldPreVote = null;
        this.setLeader(m.from);
        this.handleSnapshot(m);
        return;
      case "timeoutNow":
        // Leadership transfer: campaign at once, skipping pre-vote; voters waive the lease.
        if (this.promotable()) {
          this.events.push({ type: "campaignStarted", term: this.term, cause: "transfer" });
          this.becomeCandidate(true);
        }
        return;
      default:
        return;
    }
  }

  private handleAppend(m: Msg<"append">): void {
    let prevIndex = m.prevIndex;
    let prevTerm = m.prevTerm;
    let entries = m.entries;
    const commit = this.log.commit;
    if (prevIndex < commit) {
      // Our committed prefix matches every legitimate leader: skip the part of the message it covers.
      const skip = commit - prevIndex;
      if (skip >= entries.length) {
        this.replyAppend(m.from, true, commit);
        return;
      }
      const commitTerm = this.log.term(commit);
      if (entries[skip - 1]!.term !== commitTerm) return; // contradicts our committed log: not a real leader
      entries = entries.slice(skip);
      prevIndex = commit;
      prevTerm = commitTerm;
    }
    if (!this.log.matchTerm(prevIndex, prevTerm)) {
      // Conflict-term hint: skip every entry of ours whose term exceeds the leader's prevTerm.
      const hint = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), prevTerm);
      this.send({ type: "appendResp", from: this.id, to: m.from, term: this.term, success: false, matchIndex: m.prevIndex, hintIndex: hint.index, hintTerm: hint.term });
      return;
    }
    if (entries.length > 0 && entries[0]!.firstPosition !== this.log.positionAfter(prevIndex)) return; // position gap: malformed
    const last = this.log.lastIndex();
    let i = 0;
    while (i < entries.length && entries[i]!.index <= last && this.log.term(entries[i]!.index) === entries[i]!.term) i++;
    if (i < entries.length) {
      for (let k = i; k < entries.length; k++) {
        const e = entries[k]!;
        // Only a change still open to a vote can be vetoed: a committed one was accepted by a quorum.
        if (e.kind === "config" && e.index > m.commit && !this.acceptConfig(e.config!, this.config())) return;
      }
      const from = entries[i]!.index;
      if (from <= last) this.truncateFrom(from);
      this.appendEntries(i === 0 ? entries : entries.slice(i));
    }
    const lastNew = prevIndex + entries.length;
    const newCommit = Math.min(m.commit, lastNew);
    if (newCommit > this.log.commit) this.log.commit = newCommit;
    this.replyAppend(m.from, true, lastNew);
  }

  private replyAppend(to: NodeId, success: boolean, matchIndex: number): void {
    this.send({ type: "appendResp", from: this.id, to, term: this.term, success, matchIndex, hintIndex: 0, hintTerm: 0 });
  }

  private handleSnapshot(m: Msg<"snapshot">): void {
    const meta = m.snapshot.meta;
    const reply = (matchIndex: number) =>
      this.send({ type: "snapshotResp", from: this.id, to: m.from, term: this.term, success: true, matchIndex });
    if (meta.index <= this.log.commit) {
      reply(this.log.commit);
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We already hold the snapshot's last entry: it is committed, keep our log.
      this.log.commit = meta.index;
      reply(meta.index);
      return;
    }
    this.log.restore(m.snapshot);
    this.txIndex.clear();
    this.configs.reset(meta.config, meta.index);
    this.events.push({ type: "configChanged", config: meta.config, index: meta.index });
    reply(meta.index);
  }

  private truncateFrom(index: number): void {
    const removed = this.log.truncateFrom(index);
    this.txIndex.removeEntries(removed);
    if (this.configs.onTruncate(index)) this.onConfigChanged();
  }

  private appendEntries(entries: readonly Entry[]): void {
    this.log.append(entries);
    this.txIndex.addEntries(entries);
    if (this.configs.onAppend(entries)) this.onConfigChanged();
  }

  private onConfigChanged(): void {
    this.events.push({ type: "configChanged", config: this.config(), index: this.configs.currentIndex() });
    if (this.role === "leader") this.syncProgress(false);
  }

  // ---------------------------------------------------------------- leader

  /**
   * Makes `progress` track the replication targets of the current configuration and,
   * while that configuration is uncommitted, of the previous one: nodes being removed
   * keep receiving the log until they hold the configuration that removes them, so
   * they know to stop campaigning. Only the current configuration's voters count.
   */
  private syncProgress(reset: boolean): void {
    if (reset) this.progress.clear();
    const current = this.configs.currentIndex();
    const targets = replicationTargets(this.config());
    if (current > this.log.commit) {
      for (const id of replicationTargets(this.configs.at(current - 1))) if (!targets.includes(id)) targets.push(id);
    }
    const keep = new Set(targets);
    keep.delete(this.id);
    for (const id of [...this.progress.keys()]) if (!keep.has(id)) this.progress.delete(id);
    for (const id of keep) {
      if (!this.progress.has(id)) this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.maxInflight));
    }
  }

  /**
   * The current configuration just committed: the previous one's extra targets retire, each
   * told the commit first (a heartbeat at the configuration entry, which a node holding it
   * accepts), so a node the configuration removes learns that it is out and stops campaigning
   * (see promotable()).
   */
  private retirePreviousTargets(): void {
    const targets = new Set(replicationTargets(this.config()));
    const at = this.configs.currentIndex();
    for (const id of this.progress.keys()) if (!targets.has(id)) this.sendHeartbeat(id, at);
    this.syncProgress(false);
  }

  private appendAsLeader(body: Pick<Entry, "kind"> & Partial<Pick<Entry, "txs" | "config" | "app">>): void {
    const e: Entry = { index: this.log.lastIndex() + 1, term: this.term, firstPosition: this.log.nextPosition(), ...body };
    this.log.appendOne(e);
    if (e.kind === "config" && this.configs.onAppend([e])) this.onConfigChanged();
  }

  /** Turns the pending proposals into (normally one) txs entry and sends it. */
  private flushProposals(): void {
    if (this.role !== "leader" || this.pendingTxs.length === 0) return;
    const txs = this.pendingTxs;
    this.pendingTxs = [];
    // The txs are already in the idempotency index at these positions (assigned at propose time).
    if (txs.length <= this.maxTxsPerEntry) {
      this.appendAsLeader({ kind: "txs", txs });
    } else {
      for (let i = 0; i < txs.length; i += this.maxTxsPerEntry) {
        this.appendAsLeader({ kind: "txs", txs: txs.slice(i, i + this.maxTxsPerEntry) });
      }
    }
    this.bcastAppend();
  }

  private attachDuplicate(hash: string, position: number): void {
    if (position < this.log.positionAfter(this.log.commit)) {
      const e = this.log.entryAtPosition(position);
      if (e) {
        this.outcomes.push({ txHash: hash, status: "committed", position, index: e.index, term: e.term });
        return;
      }
    }
    const w = this.dupWaiters.get(position);
    if (w) w.count++;
    else this.dupWaiters.set(position, { hash, count: 1 });
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.type === "appendResp") {
      if (m.success) this.handleAppendSuccess(m.from, pr, m.matchIndex);
      else this.handleAppendReject(m.from, pr, m);
    } else if (m.type === "snapshotResp") {
      if (m.success) {
        this.handleAppendSuccess(m.from, pr, m.matchIndex);
      } else if (pr.state === "snapshot") {
        pr.snapshotFailed();
        this.sendAppend(m.from, pr);
      }
    }
  }

  private handleAppendReject(from: NodeId, pr: Progress, m: Msg<"appendResp">): void {
    const probeFrom = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
    if (pr.maybeDecrTo(m.matchIndex, probeFrom)) this.sendAppend(from, pr);
  }

  private handleAppendSuccess(from: NodeId, pr: Progress, matchIndex: number): void {
    if (matchIndex > this.log.lastIndex()) return; // acknowledges entries we never had: malformed
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(matchIndex) || (pr.match === matchIndex && pr.state === "probe")) {
      if (pr.state === "probe") pr.becomeReplicate();
      else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
      else if (pr.state === "replicate") pr.inflights.freeTo(matchIndex);
      if (this.maybeCommit()) {
        if (this.role !== "leader") return;
        this.bcastCommit();
      } else {
        this.sendAppend(from, pr);
      }
      if (from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(from);
      if (this.stagedChange) {
        this.maybeEnterJoint();
        this.bcastAppend();
      }
    } else if (pr.state === "probe" && wasPaused) {
      this.sendAppend(from, pr);
    }
  }

  /** Commits the highest index a quorum holds durably, if it is of the current term. */
  private maybeCommit(): boolean {
    const stable = this.log.stableIndex;
    const idx = committedIndex(this.config(), (id) => (id === this.id ? stable : (this.progress.get(id)?.match ?? 0)));
    // Current-term rule (Raft §5.4.2): earlier-term entries commit only beneath a current-term one.
    if (idx <= this.log.commit || this.log.term(idx) !== this.term) return false;
    const old = this.log.commit;
    this.log.commit = idx;
    this.emitCommitted(old, idx);
    const configIndex = this.configs.currentIndex();
    if (configIndex > old && configIndex <= idx) this.retirePreviousTargets();
    this.maybeEnterJoint();
    this.maybeLeaveJoint();
    this.maybeStepDownRemoved();
    return true;
  }

  private emitCommitted(from: number, to: number): void {
    for (let i = from + 1; i <= to; i++) {
      const e = this.log.entry(i)!;
      if (e.kind !== "txs" || e.term !== this.term) continue;
      const txs = e.txs!;
      const first = e.firstPosition;
      for (let j = 0; j < txs.length; j++) {
        this.outcomes.push({ txHash: txs[j]!.hash, status: "committed", position: first + j, index: e.index, term: e.term });
      }
    }
    if (this.dupWaiters.size === 0) return;
    const limit = this.log.positionAfter(to);
    for (const [position, w] of this.dupWaiters) {
      if (position >= limit) continue;
      const e = this.log.entryAtPosition(position)!;
      for (let k = 0; k < w.count; k++) {
        this.outcomes.push({ txHash: w.hash, status: "committed", position, index: e.index, term: e.term });
      }
      this.dupWaiters.delete(position);
    }
  }

  /** On step-down: every proposal this leader still owes an outcome fails (never silence). */
  private failInFlight(reason: FailReason, hint: NodeId | null): void {
    const fail = (txHash: string) => this.outcomes.push({ txHash, status: "failed", reason, leader: hint });
    for (const w of this.dupWaiters.values()) for (let k = 0; k < w.count; k++) fail(w.hash);
    this.dupWaiters.clear();
    for (let i = this.log.commit + 1; i <= this.log.lastIndex(); i++) {
      const e = this.log.entry(i)!;
      if (e.kind !== "txs" || e.term !== this.term) continue;
      const txs = e.txs!;
      for (let j = 0; j < txs.length; j++) fail(txs[j]!.hash);
    }
    const base = this.log.nextPosition();
    for (let j = 0; j < this.pendingTxs.length; j++) {
      const hash = this.pendingTxs[j]!.hash;
      this.txIndex.delete(hash, base + j);
      fail(hash);
    }
    this.pendingTxs = [];
  }

  /** The latest configuration entry is not committed yet (one change at a time). */
  private configUncommitted(): boolean {
    return this.configs.currentIndex() > this.log.commit;
  }

  private isChangeInProgress(): boolean {
    return this.stagedChange !== null || isJoint(this.config()) || this.configUncommitted();
  }

  /** Appends C(old,new) once the learner stage is committed and every new node has caught up. */
  private maybeEnterJoint(): void {
    const staged = this.stagedChange;
    if (!staged || this.role !== "leader" || this.configUncommitted()) return;
    for (const id of staged.added) {
      const pr = this.progress.get(id);
      if (!pr || pr.match < this.log.commit) return;
    }
    this.stagedChange = null;
    this.appendAsLeader({ kind: "config", config: jointConfig(this.config(), staged.next) });
  }

  /** Appends C(new) once C(old,new) is committed (also finishes a joint change a previous leader began). */
  private maybeLeaveJoint(): void {
    const cfg = this.config();
    if (this.role !== "leader" || !isJoint(cfg) || this.configUncommitted()) return;
    this.appendAsLeader({ kind: "config", config: finalConfig(cfg) });
  }

  /** A leader outside a committed C(new) hands over to the most up-to-date new voter and steps down. */
  private maybeStepDownRemoved(): void {
    const cfg = this.config();
    if (this.role !== "leader" || isJoint(cfg) || cfg.voters.includes(this.id)) return;
    if (this.configUncommitted()) return;
    const last = this.log.lastIndex();
    const successor = cfg.voters.find((id) => this.progress.get(id)?.match === last);
    if (successor !== undefined) this.sendTimeoutNow(successor);
    this.becomeFollower(this.term, null);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
  }

  private bcastAppend(): void {
    for (const [id, pr] of this.progress) this.sendAppend(id, pr);
  }

  /** After the commit index moved: peers that get no new entries get a commit-carrying heartbeat. */
  private bcastCommit(): void {
    for (const [id, pr] of this.progress) {
      if (this.sendAppend(id, pr)) continue;
      if (pr.state === "replicate") this.sendHeartbeat(id, pr.match);
    }
  }

  private bcastHeartbeat(): void {
    const roundTicks = this.heartbeatTicks;
    for (const [id, pr] of this.progress) {
      // An append or snapshot unanswered for an election timeout was probably lost: probe again.
      const waiting = (pr.state === "replicate" && pr.inflights.count > 0) || pr.state === "snapshot";
      if (waiting && pr.match === pr.matchAtLastRound) {
        if (++pr.stalledRounds * roundTicks >= this.electionTicks) {
          if (pr.state === "snapshot") pr.snapshotFailed();
          else pr.becomeProbe();
          this.sendAppend(id, pr);
        }
      } else {
        pr.stalledRounds = 0;
      }
      pr.matchAtLastRound = pr.match;
      this.sendHeartbeat(id, pr.match);
    }
  }

  /** An empty append at `at` (normally the peer's match, a point it is known to hold): liveness + commit up to it. */
  private sendHeartbeat(to: NodeId, at: number): void {
    const t = this.log.term(at);
    const prevIndex = t === undefined ? 0 : at;
    this.send({ type: "append", from: this.id, to, term: this.term, prevIndex, prevTerm: t ?? 0, entries: [], commit: this.log.commit });
  }

  /** Sends what the peer's state allows; returns true if anything was sent. */
  private sendAppend(to: NodeId, pr: Progress): boolean {
    let sent = false;
    const last = this.log.lastIndex();
    while (!pr.isPaused()) {
      const prevIndex = pr.next - 1;
      const prevTerm = this.log.term(prevIndex);
      if (prevTerm === undefined) {
        this.sendSnapshot(to, pr);
        return true;
      }
      // Probes go out even when empty (they locate the match point); replicate sends only new entries.
      if (pr.next > last && pr.state === "replicate") break;
      const entries = this.log.slice(pr.next, Math.min(last + 1, pr.next + this.maxEntriesPerMessage));
      this.send({ type: "append", from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.commit });
      sent = true;
      if (pr.state === "probe") {
        pr.paused = true;
        break;
      }
      const lastSent = entries[entries.length - 1]!.index;
      pr.next = lastSent + 1;
      pr.inflights.add(lastSent);
    }
    return sent;
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snapshot = this.log.snapshot;
    this.send({ type: "snapshot", from: this.id, to, term: this.term, snapshot });
    pr.becomeSnapshot(snapshot.meta.index);
  }

  // ---------------------------------------------------------------- misc

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private hardStateChanged(): boolean {
    const p = this.prevHardState;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.commit;
  }
}

function validatePersisted(snapshot: Snapshot, hard: HardState, entries: readonly Entry[], applied: number): void {
  const snapshotProblem = configProblem(snapshot.meta.config);
  if (snapshotProblem !== undefined) throw new InvalidPersistedStateError(`persisted snapshot configuration: ${snapshotProblem}`);
  const first = snapshot.meta.index + 1;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.index !== first + i) {
      throw new InvalidPersistedStateError(`persisted entries are not contiguous after the snapshot: expected index ${first + i}, found ${e.index}`);
    }
    const problem = e.kind === "config" ? configProblem(e.config) : undefined;
    if (problem !== undefined) throw new InvalidPersistedStateError(`persisted configuration entry ${e.index}: ${problem}`);
  }
  const last = snapshot.meta.index + entries.length;
  if (hard.commit > last) throw new InvalidPersistedStateError(`persisted commit ${hard.commit} is beyond the last persisted index ${last}`);
  if (applied > Math.max(hard.commit, snapshot.meta.index)) {
    throw new InvalidPersistedStateError(`persisted applied index ${applied} is beyond the commit index ${hard.commit}`);
  }
  const lastTerm = entries.length > 0 ? entries[entries.length - 1]!.term : snapshot.meta.term;
  if (lastTerm > hard.term) throw new InvalidPersistedStateError(`persisted log term ${lastTerm} is above the persisted term ${hard.term}`);
}
