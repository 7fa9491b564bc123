/**
 * In-memory Raft log: the latest snapshot, the entries after it, and bookkeeping of
 * which entries the driver has made durable (stable), has been handed but not yet
 * confirmed (in progress), or has not seen yet (unstable tail).
 *
 * Indexes start at 1; index `snapshot.meta.index` is the compaction point (index 0,
 * term 0 for a fresh log). Entries are stored as given and never copied.
 */
import type { Entry, Snapshot } from "./types.js";

export class RaftLog {
  private snap: Snapshot;
  private entries: Entry[];
  /** Offset of entries[0]: snapshot index + 1. */
  private offset: number;
  commit: number;
  applied: number;

  /** First index not yet handed to the driver. */
  private unstableFrom: number;
  /** Snapshot received from a leader and not yet handed to the driver. */
  private unstableSnapshot: Snapshot | undefined;
  /** Last index handed in the outstanding Ready, clamped down by truncations since. */
  private inProgressTo = -1;
  private inProgressSnapshot: Snapshot | undefined;
  /** Last index the driver confirmed durable (advance()). */
  stableIndex: number;

  constructor(snapshot: Snapshot, entries: readonly Entry[], commit: number, applied: number) {
    this.snap = snapshot;
    this.entries = entries.slice();
    this.offset = snapshot.meta.index + 1;
    this.commit = commit;
    this.applied = applied;
    this.unstableFrom = this.lastIndex() + 1;
    this.stableIndex = this.lastIndex();
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  lastIndex(): number {
    return this.offset + this.entries.length - 1;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.snap.meta.term : this.entries[n - 1]!.term;
  }

  /** Term at `index`, or undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.offset - 1) return this.snap.meta.term;
    const e = this.entries[index - this.offset];
    return e === undefined ? undefined : e.term;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - this.offset];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries in [lo, hi) (clamped to what is stored). */
  slice(lo: number, hi: number): Entry[] {
    const from = Math.max(lo, this.offset) - this.offset;
    const to = Math.min(hi, this.lastIndex() + 1) - this.offset;
    return to > from ? this.entries.slice(from, to) : [];
  }

  /** First position after the transactions of entries up to `index` (inclusive). */
  positionAfter(index: number): number {
    if (index === this.offset - 1) return this.snap.meta.nextPosition;
    const e = this.entries[index - this.offset];
    if (e === undefined) return index < this.offset ? this.snap.meta.nextPosition : this.nextPosition();
    return e.firstPosition + (e.txs?.length ?? 0);
  }

  /** Next free transaction position. */
  nextPosition(): number {
    return this.positionAfter(this.lastIndex());
  }

  /**
   * The entry holding the transaction at `position`: the last entry whose
   * firstPosition <= position (entries after a txs entry start past its end).
   */
  entryAtPosition(position: number): Entry | undefined {
    let lo = 0;
    let hi = this.entries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.firstPosition <= position) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const e = this.entries[found]!;
    return position < e.firstPosition + (e.txs?.length ?? 0) ? e : undefined;
  }

  /**
   * Largest index <= `index` whose term is <= `term` (conflict-term back-off). Stops at
   * the compaction point, whose term is returned as 0 when unknown relation.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    while (i >= this.offset) {
      const t = this.entries[i - this.offset]!.term;
      if (t <= term) return { index: i, term: t };
      i--;
    }
    return { index: this.offset - 1, term: this.snap.meta.term <= term ? this.snap.meta.term : 0 };
  }

  append(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) this.entries.push(entries[i]!);
  }

  appendOne(entry: Entry): void {
    this.entries.push(entry);
  }

  /** Drops entries at and above `index`; returns them (oldest first). */
  truncateFrom(index: number): Entry[] {
    const cut = index - this.offset;
    if (cut < 0 || cut >= this.entries.length) return [];
    const removed = this.entries.splice(cut);
    if (this.unstableFrom > index) this.unstableFrom = index;
    if (this.stableIndex >= index) this.stableIndex = index - 1;
    if (this.inProgressTo >= index) this.inProgressTo = index - 1;
    return removed;
  }

  /** Drops entries <= snapshot.meta.index and installs the snapshot as the compaction point. */
  compact(snapshot: Snapshot): Entry[] {
    const drop = snapshot.meta.index - this.offset + 1;
    const removed = this.entries.splice(0, drop);
    this.snap = snapshot;
    this.offset = snapshot.meta.index + 1;
    return removed;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restore(snapshot: Snapshot): Entry[] {
    const removed = this.entries;
    this.entries = [];
    this.snap = snapshot;
    this.offset = snapshot.meta.index + 1;
    this.commit = snapshot.meta.index;
    this.applied = Math.max(this.applied, snapshot.meta.index);
    this.unstableSnapshot = snapshot;
    this.unstableFrom = this.offset;
    this.stableIndex = Math.min(this.stableIndex, snapshot.meta.index);
    this.inProgressTo = -1;
    return removed;
  }

  hasUnstable(): boolean {
    return this.unstableSnapshot !== undefined || this.unstableFrom <= this.lastIndex();
  }

  /** Hands the unstable tail (and snapshot) to the driver; they become in progress. */
  takeUnstable(): { entries: Entry[]; snapshot: Snapshot | undefined } {
    const entries = this.unstableFrom <= this.lastIndex() ? this.entries.slice(this.unstableFrom - this.offset) : [];
    const snapshot = this.unstableSnapshot;
    this.inProgressSnapshot = snapshot;
    this.unstableSnapshot = undefined;
    this.inProgressTo = this.lastIndex();
    this.unstableFrom = this.inProgressTo + 1;
    return { entries, snapshot };
  }

  /** The driver persisted what takeUnstable() returned. */
  markInProgressStable(): void {
    if (this.inProgressSnapshot !== undefined && this.inProgressSnapshot === this.snap) {
      this.stableIndex = Math.max(this.stableIndex, this.snap.meta.index);
    }
    this.inProgressSnapshot = undefined;
    if (this.inProgressTo > this.stableIndex) this.stableIndex = this.inProgressTo;
    this.inProgressTo = -1;
  }

  /** Committed entries in (applied, upTo]. */
  committedAfterApplied(upTo: number): Entry[] {
    return upTo > this.applied ? this.slice(this.applied + 1, upTo + 1) : [];
  }
}
