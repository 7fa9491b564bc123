/**
 * The simulated application: applies committed entries into an ordered
 * (position -> tx hash) list, answers idempotency lookups, and produces / restores
 * snapshots. Its durable part is modelled as an append-only list plus a checkpoint
 * (the prefix known to be on disk); a crash rolls back to the checkpoint.
 */
import type { Entry, MembershipConfig, Snapshot } from "../node/consensus/index.js";

export class AppStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AppStateError";
  }
}

export interface CommittedTx {
  readonly position: number;
  readonly index: number;
  readonly term: number;
}

export class AppState {
  /** position -> tx hash */
  hashes: string[] = [];
  /** position -> log index / term of the entry that carried it */
  indexes: number[] = [];
  terms: number[] = [];
  /** Number of `app` entries applied (replicated application records). */
  appRecords = 0;
  /** Highest log index applied. */
  applied = 0;
  /** Membership in force at `applied` (a snapshot's metadata needs it). */
  config: MembershipConfig;
  private byHash = new Map<string, number>();
  private durable: { positions: number; appRecords: number; applied: number; config: MembershipConfig };

  constructor(initialConfig: MembershipConfig) {
    this.config = initialConfig;
    this.durable = { positions: 0, appRecords: 0, applied: 0, config: initialConfig };
  }

  get nextPosition(): number {
    return this.hashes.length;
  }

  lookup(hash: string): CommittedTx | undefined {
    const p = this.byHash.get(hash);
    return p === undefined ? undefined : { position: p, index: this.indexes[p], term: this.terms[p] };
  }

  positionOf(hash: string): number | undefined {
    return this.byHash.get(hash);
  }

  /** Applies one committed entry; entries must arrive in index order with gap-free positions. */
  apply(entry: Entry): void {
    if (entry.index !== this.applied + 1) {
      throw new AppStateError(`apply: entry ${entry.index} does not follow applied index ${this.applied}`);
    }
    if (entry.firstPosition !== this.hashes.length) {
      throw new AppStateError(
        `apply: entry ${entry.index} starts at position ${entry.firstPosition}, expected ${this.hashes.length} (gap or overlap)`,
      );
    }
    if (entry.kind === "txs") {
      for (const tx of entry.txs ?? []) {
        this.byHash.set(tx.hash, this.hashes.length);
        this.hashes.push(tx.hash);
        this.indexes.push(entry.index);
        this.terms.push(entry.term);
      }
    } else if (entry.kind === "app") {
      this.appRecords++;
    } else if (entry.kind === "config" && entry.config) {
      this.config = entry.config;
    }
    this.applied = entry.index;
  }

  /** Marks the current state durable (the driver flushes the app's store). */
  checkpoint(): void {
    this.durable = { positions: this.hashes.length, appRecords: this.appRecords, applied: this.applied, config: this.config };
  }

  /** A crash: everything applied since the last checkpoint is lost. */
  rollback(): void {
    const { positions, appRecords, applied, config } = this.durable;
    for (let p = positions; p < this.hashes.length; p++) this.byHash.delete(this.hashes[p]);
    this.hashes.length = positions;
    this.indexes.length = positions;
    this.terms.length = positions;
    this.appRecords = appRecords;
    this.applied = applied;
    this.config = config;
  }

  encode(): Uint8Array {
    return new TextEncoder().encode(
      JSON.stringify({ h: this.hashes, i: this.indexes, t: this.terms, a: this.appRecords, applied: this.applied }),
    );
  }

  /** Replaces the state with a snapshot's (installed from the leader or read back at restart). */
  restore(snapshot: Snapshot): void {
    let decoded: { h: string[]; i: number[]; t: number[]; a: number; applied: number };
    try {
      decoded = JSON.parse(new TextDecoder().decode(snapshot.data));
    } catch (cause) {
      throw new AppStateError(`restore: snapshot at index ${snapshot.meta.index} is not decodable`, { cause });
    }
    if (decoded.h.length !== snapshot.meta.nextPosition) {
      throw new AppStateError(
        `restore: snapshot at index ${snapshot.meta.index} holds ${decoded.h.length} positions, meta says nextPosition ${snapshot.meta.nextPosition}`,
      );
    }
    if (decoded.applied !== snapshot.meta.index) {
      throw new AppStateError(
        `restore: snapshot data was taken at index ${decoded.applied}, meta says ${snapshot.meta.index}`,
      );
    }
    this.hashes = decoded.h;
    this.indexes = decoded.i;
    this.terms = decoded.t;
    this.appRecords = decoded.a;
    this.applied = snapshot.meta.index;
    this.config = snapshot.meta.config;
    this.byHash = new Map(this.hashes.map((h, p) => [h, p]));
    this.checkpoint();
  }
}
