/**
 * Idempotency index: transaction hash -> position, for every transaction in the
 * in-memory log (committed or not) and, on the leader, in the pending batch.
 * Compacted transactions are answered by the application (`lookupCommittedTx`).
 *
 * Compaction does not delete hashes one by one (a Map delete per transaction
 * dominated the profile): it rebuilds the index from the short uncompacted tail and
 * drops the old Map whole.
 */
import type { Entry, Tx } from "./types.js";

export class TxIndex {
  private byHash = new Map<string, number>();

  position(hash: string): number | undefined {
    return this.byHash.get(hash);
  }

  set(hash: string, position: number): void {
    this.byHash.set(hash, position);
  }

  /** Removes `hash` only if it still maps to `position` (a later copy keeps its own). */
  delete(hash: string, position: number): void {
    if (this.byHash.get(hash) === position) this.byHash.delete(hash);
  }

  addEntries(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) this.addEntry(entries[i]!);
  }

  addEntry(e: Entry): void {
    const txs = e.txs;
    if (!txs) return;
    const map = this.byHash;
    const first = e.firstPosition;
    for (let j = 0; j < txs.length; j++) map.set(txs[j]!.hash, first + j);
  }

  removeEntries(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const txs = e.txs;
      if (!txs) continue;
      for (let j = 0; j < txs.length; j++) this.delete(txs[j]!.hash, e.firstPosition + j);
    }
  }

  /** After compaction: index exactly the remaining log `tail` and the leader's `pending` txs from `pendingBase`. */
  rebuild(tail: readonly Entry[], pending: readonly Tx[], pendingBase: number): void {
    this.byHash = new Map();
    this.addEntries(tail);
    for (let j = 0; j < pending.length; j++) this.byHash.set(pending[j]!.hash, pendingBase + j);
  }

  clear(): void {
    this.byHash = new Map();
  }
}
