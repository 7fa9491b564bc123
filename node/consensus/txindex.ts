/**
 * Idempotency index: transaction hash -> position, for every transaction in the
 * in-memory log (committed or not) and, on the leader, in the pending batch.
 *
 * Compaction must not cost a Map delete per transaction (it dominated the profile),
 * so hashes live in generations: a new generation starts at each compaction, and a
 * whole generation is dropped once every position it holds is compacted. Between
 * the two, a retained generation may still answer hashes below the compaction
 * point; `retiredEntryAt` gives their entry (one record per compacted txs entry).
 * Older transactions are answered by the application (`lookupCommittedTx`).
 */
import type { Entry } from "./types.js";

interface Generation {
  readonly map: Map<string, number>;
  maxPosition: number;
  minPosition: number;
}

interface Retired {
  readonly firstPosition: number;
  readonly end: number;
  readonly index: number;
  readonly term: number;
}

const newGeneration = (): Generation => ({ map: new Map(), maxPosition: -1, minPosition: Number.POSITIVE_INFINITY });

export class TxIndex {
  /** Oldest first; the last one receives inserts. */
  private gens: Generation[] = [newGeneration()];
  private current: Generation = this.gens[0]!;
  private retired: Retired[] = [];

  get size(): number {
    let n = 0;
    for (const g of this.gens) n += g.map.size;
    return n;
  }

  position(hash: string): number | undefined {
    for (let i = this.gens.length - 1; i >= 0; i--) {
      const p = this.gens[i]!.map.get(hash);
      if (p !== undefined) return p;
    }
    return undefined;
  }

  set(hash: string, position: number): void {
    const g = this.current;
    g.map.set(hash, position);
    if (position > g.maxPosition) g.maxPosition = position;
    if (position < g.minPosition) g.minPosition = position;
  }

  /** Removes `hash` only where it still maps to `position` (a later copy keeps its own). */
  delete(hash: string, position: number): void {
    for (const g of this.gens) if (g.map.get(hash) === position) g.map.delete(hash);
  }

  addEntries(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) this.addEntry(entries[i]!);
  }

  addEntry(e: Entry): void {
    const txs = e.txs;
    if (!txs || txs.length === 0) return;
    const g = this.current;
    const map = g.map;
    const first = e.firstPosition;
    for (let j = 0; j < txs.length; j++) map.set(txs[j]!.hash, first + j);
    if (first + txs.length - 1 > g.maxPosition) g.maxPosition = first + txs.length - 1;
    if (first < g.minPosition) g.minPosition = first;
  }

  removeEntries(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const txs = e.txs;
      if (!txs) continue;
      for (let j = 0; j < txs.length; j++) this.delete(txs[j]!.hash, e.firstPosition + j);
    }
  }

  /** `removed` were compacted; every position below `nextPosition` is now covered by the snapshot. */
  compact(removed: readonly Entry[], nextPosition: number): void {
    for (const e of removed) {
      const n = e.txs?.length ?? 0;
      if (n > 0) this.retired.push({ firstPosition: e.firstPosition, end: e.firstPosition + n, index: e.index, term: e.term });
    }
    this.gens = this.gens.filter((g) => g === this.current || g.maxPosition >= nextPosition);
    if (this.current.map.size > 0) {
      this.current = newGeneration();
      this.gens.push(this.current);
    }
    let lowest = Number.POSITIVE_INFINITY;
    for (const g of this.gens) if (g.map.size > 0 && g.minPosition < lowest) lowest = g.minPosition;
    let drop = 0;
    while (drop < this.retired.length && this.retired[drop]!.end <= lowest) drop++;
    if (drop > 0) this.retired = this.retired.slice(drop);
  }

  /** Entry (index, term) of a compacted position still answered by a retained generation. */
  retiredEntryAt(position: number): { index: number; term: number } | undefined {
    let lo = 0;
    let hi = this.retired.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.retired[mid]!;
      if (position < r.firstPosition) hi = mid - 1;
      else if (position >= r.end) lo = mid + 1;
      else return { index: r.index, term: r.term };
    }
    return undefined;
  }

  clear(): void {
    this.gens = [newGeneration()];
    this.current = this.gens[0]!;
    this.retired = [];
  }
}
