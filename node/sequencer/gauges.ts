/** The node's gauges and transport counters on /metrics, refreshed once a second. */
import { statfs } from "node:fs/promises";
import type { BatchService } from "../batching/index.js";
import type { L1Follower } from "../l1/follower.js";
import type { RegistryReader } from "../l1/registry.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import type { RaftNode } from "../raftnode/index.js";
import type { NodeStore } from "../storage/index.js";
import type { Transport, TransportStats } from "../transport/index.js";
import type { ClusterMember } from "./members.js";

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

export interface GaugeSources {
  readonly self: ClusterMember;
  readonly metrics: NodeMetrics;
  readonly transport: Transport;
  readonly raft: RaftNode;
  readonly store: NodeStore;
  readonly batches: BatchService;
  readonly follower: L1Follower;
  readonly registry: RegistryReader;
  readonly dataDir: string;
  readonly logger: Logger;
}

export class GaugeExporter {
  /** Transport counters as last exported, so /metrics counts each drop or denial once. */
  private readonly seen: Partial<Record<DropCounter | "connectionsDenied", number>> = {};
  /** The confirmed L1 block at which the operator's standing was last read, and whether a read is under way. */
  private standingReadAt = -1n;
  private readingStanding = false;

  constructor(private readonly p: GaugeSources) {}

  /**
   * Replication lag per peer (leader only), leader, applied and posted positions, the batch transactions on their way, transport drops,
   * data dir space and the operator's standing on L1.
   */
  update(): void {
    const { self, metrics, transport, raft, store, batches } = this.p;
    const stats = transport.stats();
    const sinceLast = (key: DropCounter | "connectionsDenied"): number => {
      const delta = stats[key] - (this.seen[key] ?? 0);
      this.seen[key] = stats[key];
      return delta;
    };
    for (const [key, reason] of DROP_REASONS) metrics.transportDropped.inc({ reason }, sinceLast(key));
    metrics.transportConnectionsDenied.inc(sinceLast("connectionsDenied"));
    const s = raft.status();
    metrics.hasLeader.set(s.leader === null ? 0 : 1);
    metrics.appliedPosition.set(store.status().nextPosition);
    metrics.replicationLag.reset();
    for (const [id, pr] of Object.entries(s.progress ?? {})) {
      if (id !== self.nodeId) metrics.replicationLag.set({ peer: id }, Math.max(0, s.lastIndex - pr.match));
    }
    const b = batches.status();
    metrics.unpostedTransactions.set(b.unpostedTxs);
    metrics.postedPosition.set(b.lastPosted === null ? 0 : b.lastPosted.lastPosition + 1);
    metrics.batchTxsPending.set(b.pendingTransactions.length);
    metrics.batchTxMaxReplacements.set(Math.max(0, ...b.pendingTransactions.map((t) => t.replacements)));
    void this.exportDataDirSpace();
    void this.exportOperatorStanding();
  }

  private async exportDataDirSpace(): Promise<void> {
    try {
      const fs = await statfs(this.p.dataDir);
      this.p.metrics.dataDirAvailableBytes.set(fs.bavail * fs.bsize);
      this.p.metrics.dataDirSizeBytes.set(fs.blocks * fs.bsize);
    } catch (error) {
      this.p.logger.warn({ err: (error as Error).message, dataDir: this.p.dataDir }, "cannot read the data dir's free space");
    }
  }

  /** Reads whether the registry jailed (so slashed) this node's operator, once per newly confirmed L1 block. */
  private async exportOperatorStanding(): Promise<void> {
    const at = this.p.follower.confirmedBlock;
    if (this.readingStanding || at === this.standingReadAt) return;
    this.readingStanding = true;
    try {
      this.p.metrics.operatorJailed.set((await this.p.registry.operatorJailed(this.p.self.operator, at)) ? 1 : 0);
      this.standingReadAt = at;
    } catch (error) {
      this.p.metrics.l1Errors.inc({ operation: "operator" });
      this.p.logger.warn({ err: (error as Error).message }, "cannot read the operator's standing from L1; retrying");
    } finally {
      this.readingStanding = false;
    }
  }
}
