/**
 * Idempotency index: transaction hash -> position, for every transaction in the
 * in-memory log (committed or not) and, on the leader, in the pending batch.
 * Compacted transactions are answered by the application (`lookupCommittedTx`).
 */
import type { Entry } from "./types.js";

export class TxIndex {
  private readonly byHash = new Map<string, number>();

  get size(): number {
    return this.byHash.size;
  }

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

  clear(): void {
    this.byHash.clear();
  }
}
