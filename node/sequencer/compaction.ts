/**
 * When to snapshot and drop applied log entries. Entries carry up to thousands of transactions
 * each, and the in-memory log (with the core's idempotency index over it) is what a busy
 * leader's memory grows with, so the trigger counts transactions as well as entries.
 */
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
