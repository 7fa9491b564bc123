/**
 * Prometheus metrics of one node.
 *
 * Each node owns its own `Registry` (never prom-client's global one) so several nodes can
 * run in one process, as the multi-node tests do, without their series colliding.
 * Rates (proposals/s, commitments/s, ...) come from the counters via `rate()` in PromQL.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Raft roles, as named by the consensus core. */
export const NODE_ROLES = ["follower", "preCandidate", "candidate", "leader"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/**
 * The `operation` label values of `seq_l1_errors_total`. Each starts at 0, so the series exist
 * before the first failure and `increase()` in an alert sees that failure (a series that appears
 * with value 1 counts as no increase).
 */
export const L1_OPERATIONS = ["start", "follow", "read", "post_batch", "operator"] as const;

export interface NodeMetricsOptions {
  /** Labels on every series, e.g. `{ node: "seq-1" }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /**
   * Register prom-client's process metrics (CPU, memory, event loop lag, GC, fds). Default true.
   * Each registration starts an event-loop-delay monitor and a GC observer that live as long
   * as the process, so tests that build many throwaway nodes turn this off.
   */
  readonly processMetrics?: boolean;
}

/** Seconds; fsync on an SSD is sub-millisecond to tens of milliseconds. */
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Seconds; submission → commitment spans network round trips plus a group fsync. */
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RPC_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class NodeMetrics {
  readonly registry: Registry;

  /** 1 for the node's current role, 0 for the others (label `role`). Set through `setRole`. */
  readonly role: Gauge<"role">;
  readonly term: Gauge;
  /** Next position after the last committed transaction (= number of committed transactions). */
  readonly commitPosition: Gauge;
  /** Next position after the last applied transaction. */
  readonly appliedPosition: Gauge;
  /** Transactions proposed by this node while leader. */
  readonly proposals: Counter;
  /** Transactions that received an order commitment from this node while leader. */
  readonly commitments: Counter;
  /** Submissions refused at an admission budget (label `budget`: `sender-txs`, `sender-bytes`, `client-txs`, `client-bytes`). */
  readonly admissionRefusals: Counter<"budget">;
  /** 1 while this node knows a current leader, 0 during elections or when cut off. */
  readonly hasLeader: Gauge;
  /** Leader's view: log entries a peer is behind the leader's last index (label `peer`). */
  readonly replicationLag: Gauge<"peer">;
  readonly fsyncSeconds: Histogram;
  /** Campaigns this node began, by cause: `timeout` (election timer), `leaderLost` (the leader's connection closed), `transfer`. */
  readonly campaigns: Counter<"cause">;
  /** Election ticks withheld because this node's own event loop ran late (a starved loop does not count a peer's silence). */
  readonly ticksWithheld: Counter;
  /** Strikes this follower counted against a leader that skipped a transaction it forwarded (docs/censorship.md). */
  readonly censorshipStrikes: Counter;
  /** Censorship reports received or made, by outcome: counted, duplicate, stale, forged, not-a-member, self-report, unknown-epoch. */
  readonly censorshipReports: Counter<"outcome">;
  /** Leaders this node saw ejected by reports from more than half of the stake. */
  readonly censorshipEjections: Counter;
  /** From a submission reaching the leader to its order commitment being signed. */
  readonly commitLatencySeconds: Histogram;

  /** JSON-RPC calls by method (unknown methods are counted as `unknown` to bound cardinality). */
  readonly rpcRequests: Counter<"method">;
  /** JSON-RPC error responses by error code. */
  readonly rpcErrors: Counter<"code">;
  readonly rpcDurationSeconds: Histogram<"method">;
  readonly rpcInFlight: Gauge;
  /** Open RPC connections by kind (`http` keep-alive sockets, `ws`). */
  readonly rpcConnections: Gauge<"kind">;
  /** Connections refused at a limit (label `reason`: `connections`, `client_connections`, `ws_connections`, `origin`). */
  readonly rpcRejectedConnections: Counter<"reason">;

  /** Consensus/transport messages by message type. */
  readonly transportSent: Counter<"type">;
  readonly transportReceived: Counter<"type">;
  /** Messages dropped before delivery (label `reason`: queue full, unknown peer, decode error, ...). */
  readonly transportDropped: Counter<"reason">;
  /** Connections from peers outside the active set refused by the connection gater. */
  readonly transportConnectionsDenied: Counter;

  readonly batchesPosted: Counter;
  /** Next position after the last batch accepted on L1 (every node follows it through the log). */
  readonly postedPosition: Gauge;
  /** Committed transactions no accepted L1 batch holds yet. */
  readonly unpostedTransactions: Gauge;
  /** Failed L1 calls by operation (see {@link L1_OPERATIONS}). */
  readonly l1Errors: Counter<"operation">;
  /** Batch transactions replaced with a fee bump (stuck in the mempool). */
  readonly batchTxReplacements: Counter;
  /** Batch transactions an L1 reorg took out of the chain. */
  readonly batchTxsReorged: Counter;
  /** The leader's batch transactions on their way to L1, and the most replacements one of them has had. */
  readonly batchTxsPending: Gauge;
  readonly batchTxMaxReplacements: Gauge;
  /** 1 while new batch transactions wait for the L1's fees to fall within the caps. */
  readonly l1FeeCapWaiting: Gauge;
  /** Forced-inclusion queue items not covered by an accepted batch (at the confirmation depth). */
  readonly forcedPending: Gauge;
  /** L1 blocks since the oldest uncovered forced item was enqueued (0 when none). */
  readonly forcedOldestPendingAgeBlocks: Gauge;
  /** L1 blocks left before the oldest uncovered forced item's deadline (the queue's inclusionDelay when none). */
  readonly forcedDeadlineMarginBlocks: Gauge;
  /** 1 once the registry has jailed this node's operator: every slash jails, for good. */
  readonly operatorJailed: Gauge;
  /** Accepted L1 batches the watchtower could not read back from L1 (flagged and skipped). */
  readonly watchtowerUnreadableBatches: Counter;

  /** Bytes an unprivileged process may still write on the data dir's filesystem. */
  readonly dataDirAvailableBytes: Gauge;
  /** Size of the data dir's filesystem. */
  readonly dataDirSizeBytes: Gauge;

  constructor(options: NodeMetricsOptions = {}) {
    const registry = new Registry();
    if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
    this.registry = registry;
    const registers = [registry];

    this.role = new Gauge({ name: "seq_node_role", help: "1 for the node's current Raft role, 0 otherwise", labelNames: ["role"], registers });
    for (const role of NODE_ROLES) this.role.set({ role }, role === "follower" ? 1 : 0);
    this.term = new Gauge({ name: "seq_raft_term", help: "Current Raft term", registers });
    this.hasLeader = new Gauge({ name: "seq_raft_has_leader", help: "1 while this node knows a current leader", registers });
    this.commitPosition = new Gauge({ name: "seq_commit_position", help: "Next position after the last committed transaction", registers });
    this.appliedPosition = new Gauge({ name: "seq_applied_position", help: "Next position after the last applied transaction", registers });
    this.proposals = new Counter({ name: "seq_proposals_total", help: "Transactions proposed while leader", registers });
    this.commitments = new Counter({ name: "seq_commitments_total", help: "Order commitments issued while leader", registers });
    this.admissionRefusals = new Counter({ name: "seq_admission_refusals_total", help: "Submissions refused at an admission budget", labelNames: ["budget"], registers });
    this.replicationLag = new Gauge({
      name: "seq_replication_lag_entries",
      help: "Log entries a peer is behind the leader",
      labelNames: ["peer"],
      registers,
    });
    this.fsyncSeconds = new Histogram({ name: "seq_fsync_seconds", help: "Durable write (fsync) latency", buckets: FSYNC_BUCKETS, registers });
    this.campaigns = new Counter({ name: "seq_raft_campaigns_total", help: "Campaigns this node began, by cause", labelNames: ["cause"], registers });
    for (const cause of ["timeout", "leaderLost", "transfer", "deposed"]) this.campaigns.inc({ cause }, 0);
    this.censorshipStrikes = new Counter({ name: "seq_censorship_strikes_total", help: "Strikes this node counted against a leader that committed later transactions but not one it forwarded", registers });
    this.censorshipReports = new Counter({ name: "seq_censorship_reports_total", help: "Censorship reports received or made, by outcome", labelNames: ["outcome"], registers });
    for (const outcome of ["counted", "duplicate", "stale", "forged", "not-a-member", "self-report", "unknown-epoch"]) this.censorshipReports.inc({ outcome }, 0);
    this.censorshipEjections = new Counter({ name: "seq_censorship_ejections_total", help: "Leaders ejected by censorship reports from more than half of the stake", registers });
    this.ticksWithheld = new Counter({ name: "seq_raft_ticks_withheld_total", help: "Election ticks withheld because this node's event loop ran late", registers });
    this.commitLatencySeconds = new Histogram({
      name: "seq_commit_latency_seconds",
      help: "Submission to order commitment latency",
      buckets: COMMIT_BUCKETS,
      registers,
    });

    this.rpcRequests = new Counter({ name: "seq_rpc_requests_total", help: "JSON-RPC calls by method", labelNames: ["method"], registers });
    this.rpcErrors = new Counter({ name: "seq_rpc_errors_total", help: "JSON-RPC error responses by code", labelNames: ["code"], registers });
    this.rpcDurationSeconds = new Histogram({
      name: "seq_rpc_duration_seconds",
      help: "JSON-RPC call handling time by method",
      labelNames: ["method"],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.rpcInFlight = new Gauge({ name: "seq_rpc_in_flight", help: "JSON-RPC calls being handled", registers });
    this.rpcConnections = new Gauge({ name: "seq_rpc_connections", help: "Open RPC connections", labelNames: ["kind"], registers });
    this.rpcRejectedConnections = new Counter({
      name: "seq_rpc_rejected_connections_total",
      help: "RPC connections refused at a limit",
      labelNames: ["reason"],
      registers,
    });

    this.transportSent = new Counter({ name: "seq_transport_messages_sent_total", help: "Messages sent to peers", labelNames: ["type"], registers });
    this.transportReceived = new Counter({
      name: "seq_transport_messages_received_total",
      help: "Messages received from peers",
      labelNames: ["type"],
      registers,
    });
    this.transportDropped = new Counter({
      name: "seq_transport_messages_dropped_total",
      help: "Messages dropped before delivery",
      labelNames: ["reason"],
      registers,
    });
    this.transportConnectionsDenied = new Counter({
      name: "seq_transport_connections_denied_total",
      help: "Connections from peers outside the active set refused",
      registers,
    });

    this.batchesPosted = new Counter({ name: "seq_batches_posted_total", help: "Batches posted to L1", registers });
    this.postedPosition = new Gauge({ name: "seq_posted_position", help: "Next position after the last batch accepted on L1", registers });
    this.unpostedTransactions = new Gauge({ name: "seq_unposted_transactions", help: "Committed transactions not yet in an accepted L1 batch", registers });
    this.l1Errors = new Counter({ name: "seq_l1_errors_total", help: "Failed L1 calls", labelNames: ["operation"], registers });
    this.batchTxReplacements = new Counter({ name: "seq_batch_tx_replacements_total", help: "Batch transactions replaced with a fee bump after waiting in the mempool", registers });
    this.batchTxsReorged = new Counter({ name: "seq_batch_txs_reorged_total", help: "Batch transactions an L1 reorg took out of the chain", registers });
    this.batchTxsPending = new Gauge({ name: "seq_batch_txs_pending", help: "The leader's batch transactions on their way to L1 (sent, not yet confirmed)", registers });
    this.batchTxMaxReplacements = new Gauge({ name: "seq_batch_tx_max_replacements", help: "Most fee-bump replacements of one of the leader's pending batch transactions", registers });
    this.l1FeeCapWaiting = new Gauge({ name: "seq_l1_fee_cap_waiting", help: "1 while batch posting waits for the L1's fees to fall within the configured caps", registers });
    for (const operation of L1_OPERATIONS) this.l1Errors.inc({ operation }, 0);
    this.forcedPending = new Gauge({ name: "seq_forced_pending", help: "Forced-inclusion queue items no accepted batch covers yet (at the confirmation depth)", registers });
    this.forcedOldestPendingAgeBlocks = new Gauge({ name: "seq_forced_oldest_pending_age_blocks", help: "L1 blocks since the oldest uncovered forced item was enqueued (0 when none)", registers });
    this.forcedDeadlineMarginBlocks = new Gauge({
      name: "seq_forced_deadline_margin_blocks",
      help: "L1 blocks left before the oldest uncovered forced item must be covered (the inclusion delay when none; negative: overdue)",
      registers,
    });
    this.operatorJailed = new Gauge({ name: "seq_operator_jailed", help: "1 once the registry jailed this node's operator (every slash jails)", registers });
    this.watchtowerUnreadableBatches = new Counter({
      name: "seq_watchtower_unreadable_batches_total",
      help: "Accepted L1 batches the watchtower could not read back from L1 (flagged and skipped)",
      registers,
    });

    this.dataDirAvailableBytes = new Gauge({ name: "seq_data_dir_available_bytes", help: "Bytes still writable on the data dir's filesystem", registers });
    this.dataDirSizeBytes = new Gauge({ name: "seq_data_dir_size_bytes", help: "Size of the data dir's filesystem", registers });

    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  setRole(current: NodeRole): void {
    for (const role of NODE_ROLES) this.role.set({ role }, role === current ? 1 : 0);
  }

  /** Prometheus text exposition of every metric in this node's registry. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** One cumulative bucket of a histogram: how many observations were at most `le` (the last is +Infinity). */
export interface CumulativeBucket {
  readonly le: number;
  readonly count: number;
}

/** A histogram's cumulative buckets, upper bounds ascending, +Infinity last. */
export async function cumulativeBuckets(histogram: Histogram<string>): Promise<CumulativeBucket[]> {
  const { values } = await histogram.get();
  return values
    .filter((v) => v.metricName?.endsWith("_bucket") === true)
    .map((v) => ({ le: v.labels.le === "+Inf" ? Infinity : Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
}

/**
 * The `q`-quantile (0..1) of the observations counted in cumulative buckets, interpolated
 * linearly inside its bucket as Prometheus's `histogram_quantile` does (a quantile in the +Inf
 * bucket is the highest finite bound); null without observations.
 */
export function bucketQuantile(q: number, buckets: readonly CumulativeBucket[]): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  const i = buckets.findIndex((b) => b.count >= rank);
  const bucket = buckets[i]!;
  const lower = i === 0 ? 0 : buckets[i - 1]!.le;
  if (bucket.le === Infinity) return lower;
  const below = i === 0 ? 0 : buckets[i - 1]!.count;
  const inside = bucket.count - below;
  return inside === 0 ? bucket.le : lower + ((bucket.le - lower) * (rank - below)) / inside;
}
