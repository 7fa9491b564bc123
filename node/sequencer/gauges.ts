/** The node's gauges and transport counters on /metrics, refreshed once a second. */
import type { NodeId } from "../consensus/index.js";
import type { NodeMetrics } from "../ops/metrics.js";
import type { RaftNode } from "../raftnode/index.js";
import type { NodeStore } from "../storage/index.js";
import type { Transport, TransportStats } from "../transport/index.js";

type DropCounter = keyof TransportStats & `dropped${string}`;
/** The transport's drop counters and the `reason` label each one is exported under. */
const DROP_REASONS: readonly (readonly [DropCounter, string])[] = [
  ["droppedQueueOverflow", "queue_overflow"],
  ["droppedOversized", "oversized"],
  ["droppedNotAllowed", "not_allowed"],
  ["droppedUnknownPeer", "unknown_peer"],
  ["droppedForgedFrom", "forged_from"],
  ["droppedMisrouted", "misrouted"],
  ["droppedByFault", "fault_injection"],
];

export class GaugeExporter {
  /** Transport counters as last exported, so /metrics counts each drop or denial once. */
  private readonly seen: Partial<Record<DropCounter | "connectionsDenied", number>> = {};

  constructor(private readonly parts: { readonly self: NodeId; readonly metrics: NodeMetrics; readonly transport: Transport; readonly raft: RaftNode; readonly store: NodeStore }) {}

  /** Replication lag per peer (leader only), the applied position and transport drops. */
  update(): void {
    const { self, metrics, transport, raft, store } = this.parts;
    const stats = transport.stats();
    const sinceLast = (key: DropCounter | "connectionsDenied"): number => {
      const delta = stats[key] - (this.seen[key] ?? 0);
      this.seen[key] = stats[key];
      return delta;
    };
    for (const [key, reason] of DROP_REASONS) metrics.transportDropped.inc({ reason }, sinceLast(key));
    metrics.transportConnectionsDenied.inc(sinceLast("connectionsDenied"));
    const s = raft.status();
    metrics.appliedPosition.set(store.status().nextPosition);
    metrics.replicationLag.reset();
    for (const [id, p] of Object.entries(s.progress ?? {})) {
      if (id !== self) metrics.replicationLag.set({ peer: id }, Math.max(0, s.lastIndex - p.match));
    }
  }
}
