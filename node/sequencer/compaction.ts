/**
 * When to snapshot and drop applied log entries. Entries carry up to thousands of transactions
 * each, and the in-memory log (with the core's idempotency index over it) is what a busy
 * leader's memory grows with, so the trigger counts transactions as well as entries.
 */
import type { AppStateMachine } from "../app/machine.js";
import type { RaftNode } from "../raftnode/index.js";
import type { NodeStore } from "../storage/index.js";

export interface CompactionPoint {
  /** Applied Raft index. */
  readonly applied: number;
  /** Next transaction position after the applied entries. */
  readonly nextPosition: number;
}

export interface CompactionPolicy {
  readonly compactEvery: number;
  readonly compactEveryTxs: number;
}

/** Whether enough has been applied since `last` (the latest snapshot) to compact at `now`. */
export function compactionDue(now: CompactionPoint, last: CompactionPoint, policy: CompactionPolicy): boolean {
  return now.applied - last.applied >= policy.compactEvery || now.nextPosition - last.nextPosition >= policy.compactEveryTxs;
}

/** Takes a snapshot of the application state and drops applied log entries once the policy says so. */
export class Compactor {
  private last: CompactionPoint;

  constructor(
    private readonly parts: {
      readonly store: NodeStore;
      readonly raft: Pick<RaftNode, "compact">;
      readonly machine: Pick<AppStateMachine, "snapshot">;
      readonly policy: CompactionPolicy;
    },
    /** Where the latest snapshot was taken (the persisted one, after a restart). */
    from: CompactionPoint,
  ) {
    this.last = from;
  }

  async maybeCompact(): Promise<void> {
    const { store, raft, machine, policy } = this.parts;
    const now = store.status();
    if (!compactionDue(now, this.last, policy)) return;
    // The sequencer's state lives in the store's keyspaces; the snapshot carries the small rest a
    // node installing it needs (batch state, epoch-leader settlements).
    const snapshot = raft.compact(now.applied, machine.snapshot());
    await store.saveSnapshot(snapshot);
    await store.compact(now.applied);
    this.last = { applied: now.applied, nextPosition: now.nextPosition };
  }
}
