/**
 * Public types of the commitment-aware Raft core.
 *
 * The core is a pure state machine in the style of etcd's raft: inputs are ticks,
 * messages and proposals; outputs are collected in a `Ready` (state to persist,
 * messages to send after persisting, entries to apply, per-proposal outcomes,
 * events). No I/O, no clocks, no randomness of its own (see `RaftOptions.random`).
 */

export type NodeId = string;

/** An opaque client transaction. `hash` is 0x-prefixed lowercase hex and identifies it. */
export interface Tx {
  readonly hash: string;
  readonly data: Uint8Array;
}

/**
 * A voter's weight (its stake): a positive decimal integer without leading zeros, in token base
 * units (18-decimal amounts exceed 2^53). A string keeps it exact and JSON-safe in logs and
 * status; the quorum math works on bigint.
 */
export type Weight = string;

/**
 * Membership. A quorum is a set of voters holding more than half of the total weight; joint
 * consensus: while `outgoing` is set, decisions need a quorum of `voters` (by `weights`) AND a
 * quorum of `outgoing` (by `outgoingWeights`). Absent weights count every voter as 1 (a
 * head-count majority). Learners receive the log but never vote, count, or carry a weight.
 */
export interface MembershipConfig {
  readonly voters: readonly NodeId[];
  /** weights[i] is the weight of voters[i]. */
  readonly weights?: readonly Weight[];
  readonly outgoing?: readonly NodeId[];
  /** outgoingWeights[i] is the weight of outgoing[i] (only with `outgoing`). */
  readonly outgoingWeights?: readonly Weight[];
  readonly learners: readonly NodeId[];
}

export type EntryKind = "noop" | "txs" | "config" | "app";

/**
 * One log entry. Transactions are grouped: a `txs` entry carries many, and each gets
 * the position `firstPosition + i`. Other kinds carry no transaction and have
 * `firstPosition` equal to the next free position. Positions start at 0 and are gap-free.
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly firstPosition: number;
  readonly txs?: readonly Tx[];
  readonly config?: MembershipConfig;
  /** Opaque application record (e.g. "batch n posted on L1"), replicated like any entry. */
  readonly app?: Uint8Array;
}

export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers, and its term. */
  readonly index: number;
  readonly term: number;
  readonly config: MembershipConfig;
  /** First position not covered by the snapshot (= number of transactions it covers). */
  readonly nextPosition: number;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** Opaque application state produced by the application at `meta.index`. */
  readonly data: Uint8Array;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export type Message =
  | (MessageBase & { readonly type: "preVote"; readonly lastIndex: number; readonly lastTerm: number })
  | (MessageBase & { readonly type: "preVoteResp"; readonly granted: boolean })
  | (MessageBase & {
      readonly type: "vote";
      readonly lastIndex: number;
      readonly lastTerm: number;
      /** Set when the campaign was started by a leadership transfer (TimeoutNow). */
      readonly transfer: boolean;
    })
  | (MessageBase & { readonly type: "voteResp"; readonly granted: boolean })
  | (MessageBase & {
      readonly type: "append";
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (MessageBase & {
      readonly type: "appendResp";
      readonly success: boolean;
      /**
       * On success: highest index known to match the leader (durable on the sender).
       * On rejection: the `prevIndex` of the rejected append (lets the leader drop stale rejections).
       */
      readonly matchIndex: number;
      /** On rejection: where the leader should probe next (fast back-off). */
      readonly hintIndex: number;
      readonly hintTerm: number;
    })
  | (MessageBase & { readonly type: "snapshot"; readonly snapshot: Snapshot })
  | (MessageBase & { readonly type: "snapshotResp"; readonly success: boolean; readonly matchIndex: number })
  | (MessageBase & { readonly type: "timeoutNow" });

export type MessageType = Message["type"];

/** What became of a proposed transaction, as seen by the node it was proposed to. */
export type ProposalOutcome =
  | {
      readonly txHash: string;
      readonly status: "committed";
      readonly position: number;
      readonly index: number;
      readonly term: number;
    }
  | {
      readonly txHash: string;
      readonly status: "failed";
      /**
       * not-leader: this node is not the leader (hint in `leader`);
       * lost-leadership: this leader stepped down before the entry committed (a later
       *   leader may still commit it; its commitment is then retrievable);
       * transferring: a leadership transfer is in progress;
       * no-quorum: check-quorum failed, leader stepped down.
       */
      readonly reason: "not-leader" | "lost-leadership" | "transferring" | "no-quorum";
      readonly leader: NodeId | null;
    };

export type RaftEvent =
  | { readonly type: "becameLeader"; readonly term: number }
  | { readonly type: "lostLeadership"; readonly term: number }
  | { readonly type: "leaderChanged"; readonly leader: NodeId | null; readonly term: number }
  | { readonly type: "commitAdvanced"; readonly commit: number }
  | { readonly type: "configChanged"; readonly config: MembershipConfig; readonly index: number }
  | { readonly type: "transferAborted"; readonly to: NodeId }
  /**
   * This node began a campaign (pre-vote first unless a transfer): `cause` says what started it,
   * the election timer running out, the driver reporting the leader's connection lost, or a
   * leadership transfer (`timeoutNow`). `term` is the term before the campaign.
   */
  | { readonly type: "campaignStarted"; readonly term: number; readonly cause: CampaignCause };

export type CampaignCause = "timeout" | "leaderLost" | "transfer" | "deposed";

/**
 * Everything the driver must do, in this order:
 * 1. persist `snapshot` (if any; it replaces the whole stored log and the application
 *    state), then `entries` (entries[0].index may overwrite a conflicting suffix: drop
 *    every stored entry at or above it first), then `hardState`; all durably (fsync)
 *    before step 2;
 * 2. send `messages`;
 * 3. apply `committedEntries` (all are already durable locally);
 * 4. deliver `outcomes` to waiting clients, handle `events`;
 * 5. call `advance()`.
 */
export interface Ready {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly outcomes: readonly ProposalOutcome[];
  readonly events: readonly RaftEvent[];
}

/** State a restarting node hands back to the core: exactly what it persisted. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot?: Snapshot;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
  /** Highest index the application has applied (committedEntries resume after it). */
  readonly applied: number;
}

export interface RaftOptions {
  readonly id: NodeId;
  /** Membership used when there is no persisted state (a fresh cluster). */
  readonly initialConfig: MembershipConfig;
  readonly persisted?: PersistedState;
  /** Seeded uniform generator in [0, 1): the core's only source of randomness. */
  readonly random: () => number;
  /**
   * Base election timeout in ticks; the effective one is base * (1 + rank) plus a random
   * part in [0, electionJitterTicks), so [base, 2*base) for an unranked node by default.
   */
  readonly electionTicks: number;
  /**
   * Width of the random part of the election timeout (default: electionTicks, as in etcd).
   * Distinct election ranks already separate candidates by a whole base each, so a cluster
   * whose members have distinct ranks can narrow it and fail over sooner.
   */
  readonly electionJitterTicks?: number;
  readonly heartbeatTicks: number;
  readonly preVote?: boolean; // default true
  readonly checkQuorum?: boolean; // default true
  /** Most transactions per `txs` entry (batching). */
  readonly maxTxsPerEntry?: number;
  /** Most unacknowledged append messages in flight per follower (pipelining). */
  readonly maxInflight?: number;
  /** Most entries per append message. */
  readonly maxEntriesPerMessage?: number;
  /**
   * Idempotency for transactions no longer in the in-memory log (compacted): returns
   * the committed position of a hash if the application knows it. Must be a pure
   * function of the applied state.
   */
  readonly lookupCommittedTx?: (hash: string) => { position: number; index: number; term: number } | undefined;
  /**
   * A follower's veto over membership it is asked to adopt (config entries in an append that
   * the leader does not report committed): when it returns false the message is dropped
   * unanswered, as if lost, so the change cannot commit without a quorum that accepts it. The
   * sequencer checks configurations against its own reading of L1. `current` is the
   * configuration this node is in. Default: accept.
   */
  readonly acceptConfig?: (config: MembershipConfig, current: MembershipConfig) => boolean;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

export interface PeerProgress {
  readonly match: number;
  readonly next: number;
  readonly inflight: number;
  readonly recentActive: boolean;
  readonly snapshotting: boolean;
}

/** Role, term and leader: what per-request checks need, without per-peer progress. */
export interface BasicStatus {
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly nextPosition: number;
  readonly config: MembershipConfig;
  readonly progress?: Readonly<Record<NodeId, PeerProgress>>;
  readonly transferringTo: NodeId | null;
}
