/**
 * Durable node state on classic-level (LevelDB).
 *
 * Durability argument — which writes are synced and why:
 * - `persistReady(s)`: hard state, log entries and snapshots are what Raft's safety rests on
 *   (a vote or an acknowledged entry must survive a crash), so they go in ONE atomic batch with
 *   `sync: true` before the driver sends any message (a batch that only moves the commit index
 *   is written unsynced, like etcd's MustSync). Several pending Readys can be merged into
 *   one batch (group commit: one fsync for all of them).
 * - `applyCommitted`: the tx/position indexes and the applied index are derived from the
 *   committed log and written in one atomic batch together, unsynced by default. A crash may
 *   lose a suffix of them, never a middle: LevelDB appends every write to one log file in order,
 *   and a later synced write flushes all earlier ones. Recovery re-applies committed entries
 *   after the durable applied index, which are still in the log because `compact` only drops
 *   entries at or below the applied index and is itself synced.
 * - certificates and quorum certificates ride with `applyCommitted` (unsynced): one lost in a
 *   crash is re-signed by the next leader over the same transactions, which contradicts no
 *   certificate a user holds.
 * - batch cuts and posted marks (`putBatches`) are unsynced and written just before the
 *   `applyCommitted` of their entries, so they are lost only together with it and re-applied.
 * - signed batch headers, local snapshots and compaction are synced: forgetting a signed batch
 *   header could lead this member to sign a conflicting one (slashable).
 *
 * Every record carries a checksum (see records.ts) verified on every read; the whole log and
 * the metadata are verified and cross-checked when the store opens.
 */
import { ClassicLevel } from "classic-level";
import type { Entry, HardState, PersistedState, Snapshot, SnapshotMeta } from "../consensus/types.js";
import { Reader, Writer, decodeEntry, decodeHardState, decodeSnapshot, encodeHardState, hexToBytes, writeEntry, writeSnapshot } from "../codec/index.js";
import { ConflictingBatchHeaderError, StorageClosedError, StorageCorruptionError, StorageInvariantError } from "./errors.js";
import {
  FORMAT,
  KEY_APPLIED,
  KEY_HISTORY_GAP,
  KEY_FORMAT,
  KEY_HARD_STATE,
  KEY_SNAPSHOT,
  PREFIX,
  decodeRecord,
  describeKey,
  prefixEnd,
  seal,
  sealBytes,
  signedHeaderKey,
  txHashKey,
  u64FromKey,
  u64Key,
} from "./records.js";
import {
  readBatchHeader,
  readCertificate,
  readCommittedTx,
  readQuorumCertificate,
  readStoredBatch,
  readTxLocation,
  sameBatchHeader,
  writeBatchHeader,
  writeCertificate,
  writeQuorumCertificate,
  writeStoredBatch,
  writeTxLocation,
  type AppliedState,
  type CommittedTx,
  type Hex,
  type SignedBatchHeader,
  type StoredBatch,
  type StoredCertificate,
  type StoredQuorumCertificate,
  type TxLocation,
} from "../domain/types.js";

type Db = ClassicLevel<Uint8Array, Uint8Array>;
type BatchOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** The persist part of a Ready. */
export interface PersistRequest {
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
}

export interface StoreStatus {
  /** First stored log index (= snapshot index + 1; greater than lastIndex when the log is empty). */
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly applied: number;
  readonly nextPosition: number;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function put(key: Uint8Array, value: Uint8Array): BatchOp {
  return { type: "put", key, value };
}

function appliedRecord(a: AppliedState): Uint8Array {
  const w = new Writer(24);
  w.varint(a.applied, "applied");
  w.varint(a.nextPosition, "nextPosition");
  return seal(KEY_APPLIED, w);
}

/** The position-keyspace record of a committed transaction (read back by readCommittedTx). */
function positionOp(position: number, index: number, term: number, hash: string, data: Uint8Array): BatchOp {
  const key = u64Key(PREFIX.position, position);
  const w = new Writer(data.length + 52);
  w.varint(index);
  w.varint(term);
  w.hex(hash, 32, "tx hash");
  w.raw(data);
  return put(key, seal(key, w));
}

function historyGapRecord(gap: { from: number; to: number }): Uint8Array {
  const w = new Writer(24);
  w.varint(gap.from, "from");
  w.varint(gap.to, "to");
  return seal(KEY_HISTORY_GAP, w);
}

function nextPositionAfter(e: Entry): number {
  return e.firstPosition + (e.txs?.length ?? 0);
}

export class NodeStore {
  private readonly db: Db;
  private closed = false;
  /** Latched on the first corruption seen: the store then refuses every operation. */
  private corruption: StorageCorruptionError | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private recovered: PersistedState | undefined;

  private lastIndex = 0;
  private snapshotMeta: SnapshotMeta | undefined;
  private lastEntry: Entry | undefined;
  private appliedState: AppliedState = { applied: 0, nextPosition: 0 };
  private commit = 0;
  /** Term and vote of the stored hard state (a change of either must be synced). */
  private hardTerm = 0;
  private hardVote: string | null = null;

  private constructor(db: Db) {
    this.db = db;
  }

  /**
   * Opens (creating if needed) the store at `path` and verifies everything recovery depends on:
   * throws StorageCorruptionError (after closing the database) if any record is damaged.
   */
  static async open(path: string): Promise<NodeStore> {
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    const store = new NodeStore(db);
    try {
      await store.checkFormat();
      store.recovered = await store.readPersistedState();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  get location(): string {
    return this.db.location;
  }

  /** First stored log index: everything at or below the snapshot is covered by it. */
  private get firstIndex(): number {
    return (this.snapshotMeta?.index ?? 0) + 1;
  }

  status(): StoreStatus {
    this.assertUsable();
    return {
      firstIndex: this.firstIndex,
      lastIndex: this.lastIndex,
      snapshotIndex: this.snapshotMeta?.index ?? 0,
      applied: this.appliedState.applied,
      nextPosition: this.appliedState.nextPosition,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.db.close();
  }

  // ------------------------------------------------------------ recovery

  /**
   * What the core needs to restart. If `applied` is below the snapshot index, the application
   * state must first be restored from `snapshot.data` (then `markSnapshotApplied`).
   */
  async loadPersistedState(): Promise<PersistedState> {
    this.assertUsable();
    if (this.recovered !== undefined) return this.recovered;
    return this.readPersistedState();
  }

  private async checkFormat(): Promise<void> {
    const value = await this.db.get(KEY_FORMAT);
    if (value === undefined) {
      for await (const _ of this.db.keys({ limit: 1 })) {
        throw this.corrupt(KEY_FORMAT, "format marker missing from a non-empty database");
      }
      await this.db.put(KEY_FORMAT, sealBytes(KEY_FORMAT, textEncoder.encode(FORMAT)), { sync: true });
      return;
    }
    const format = this.decode(KEY_FORMAT, value, (p) => textDecoder.decode(p));
    if (format !== FORMAT) throw this.corrupt(KEY_FORMAT, `unsupported store format ${JSON.stringify(format)}, expected ${FORMAT}`);
  }

  private async readPersistedState(): Promise<PersistedState> {
    const [hsValue, snapValue, appliedValue] = await this.db.getMany([KEY_HARD_STATE, KEY_SNAPSHOT, KEY_APPLIED]);
    const hardState = hsValue === undefined ? EMPTY_HARD_STATE : this.decode(KEY_HARD_STATE, hsValue, decodeHardState);
    const snapshot = snapValue === undefined ? undefined : this.decode(KEY_SNAPSHOT, snapValue, decodeSnapshot);
    const applied =
      appliedValue === undefined
        ? { applied: 0, nextPosition: 0 }
        : this.decode(KEY_APPLIED, appliedValue, (p) => {
            const r = new Reader(p, "applied");
            const a = { applied: r.varint("applied"), nextPosition: r.varint("nextPosition") };
            r.end();
            return a;
          });

    const snapIndex = snapshot?.meta.index ?? 0;
    const entries: Entry[] = [];
    let expectIndex = snapIndex + 1;
    let expectPosition = snapshot?.meta.nextPosition ?? 0;
    let prevTerm = snapshot?.meta.term ?? 0;
    for await (const [key, value] of this.db.iterator({ gte: Uint8Array.of(PREFIX.log), lt: prefixEnd(PREFIX.log), highWaterMarkBytes: 4 * 1_048_576 })) {
      const e = this.decode(key, value, decodeEntry);
      const keyIndex = u64FromKey(key);
      if (e.index !== keyIndex) throw this.corrupt(key, `holds entry ${e.index}`);
      if (e.index <= snapIndex) continue; // covered by the snapshot, awaiting compaction
      if (e.index !== expectIndex) {
        throw this.corrupt(key, e.index < expectIndex ? `entry at or below snapshot index ${snapIndex}` : `gap in the log: expected entry ${expectIndex}`);
      }
      if (e.term < prevTerm) throw this.corrupt(key, `term ${e.term} below previous term ${prevTerm}`);
      if (e.term > hardState.term) throw this.corrupt(key, `term ${e.term} above the hard state term ${hardState.term}`);
      if (e.firstPosition !== expectPosition) throw this.corrupt(key, `firstPosition ${e.firstPosition}, expected ${expectPosition}`);
      entries.push(e);
      expectIndex++;
      expectPosition = nextPositionAfter(e);
      prevTerm = e.term;
    }
    const lastIndex = expectIndex - 1;
    if (hardState.commit > lastIndex) throw this.corrupt(KEY_HARD_STATE, `commit ${hardState.commit} beyond the last stored index ${lastIndex}`);
    if (snapIndex > hardState.commit) throw this.corrupt(KEY_SNAPSHOT, `snapshot index ${snapIndex} beyond commit ${hardState.commit}`);
    if (applied.applied > hardState.commit) throw this.corrupt(KEY_APPLIED, `applied ${applied.applied} beyond commit ${hardState.commit}`);

    this.snapshotMeta = snapshot?.meta;
    this.lastIndex = lastIndex;
    this.lastEntry = entries.at(-1);
    this.appliedState = applied;
    this.commit = hardState.commit;
    this.hardTerm = hardState.term;
    this.hardVote = hardState.vote;
    const state: { -readonly [K in keyof PersistedState]: PersistedState[K] } = { hardState, entries, applied: applied.applied };
    if (snapshot !== undefined) state.snapshot = snapshot;
    return state;
  }

  // ------------------------------------------------------------ Raft persistence

  /** Persists one Ready's snapshot, entries and hard state atomically and durably. */
  persistReady(ready: PersistRequest): Promise<void> {
    return this.persistReadies([ready]);
  }

  /**
   * Group commit: persists several Readys, in order, as ONE atomic synced batch. Validates the
   * whole list first; on StorageInvariantError nothing is written.
   */
  persistReadies(readies: readonly PersistRequest[]): Promise<void> {
    return this.exclusive(async () => {
      let first = this.firstIndex;
      let last = this.lastIndex;
      let lastEntry = this.lastEntry;
      let snap = this.snapshotMeta;
      let snapshot: Snapshot | undefined;
      let hardState: HardState | undefined;
      let commit = this.commit;
      // index -> entry to put, or null to delete; later Readys override earlier ones.
      const log = new Map<number, Entry | null>();
      // The entry currently at index - 1, as staged by earlier Readys of this group or stored.
      const entryBefore = async (index: number): Promise<Entry | undefined> => {
        if (log.has(index - 1)) return log.get(index - 1) ?? undefined;
        if (index - 1 === this.lastIndex && this.lastEntry !== undefined) return this.lastEntry;
        return (await this.getEntries(index - 1, index - 1))[0];
      };

      for (const ready of readies) {
        if (ready.snapshot !== undefined) {
          const meta = ready.snapshot.meta;
          if (snap !== undefined && meta.index < snap.index) {
            throw new StorageInvariantError(`snapshot at index ${meta.index} is older than the stored one at ${snap.index}`);
          }
          // Like etcd's ApplySnapshot: an installed snapshot replaces the whole log.
          for (let i = first; i <= last; i++) log.set(i, null);
          snapshot = ready.snapshot;
          snap = meta;
          first = meta.index + 1;
          last = meta.index;
          lastEntry = undefined;
        }
        const entries = ready.entries;
        if (entries.length > 0) {
          const start = entries[0]!.index;
          const snapIndex = snap?.index ?? 0;
          if (start <= snapIndex) throw new StorageInvariantError(`entry ${start} is at or below the snapshot index ${snapIndex}`);
          // Rewriting a committed entry is only tolerated if it is the same entry (same term).
          for (let i = start; i <= Math.min(commit, entries.at(-1)!.index); i++) {
            const stored = await entryBefore(i + 1);
            if (stored?.term !== entries[i - start]!.term) {
              throw new StorageInvariantError(`entry ${i} would overwrite a committed entry (commit ${commit}) with a different term`);
            }
          }
          if (start > last + 1) throw new StorageInvariantError(`entry ${start} would leave a gap after the last index ${last}`);
          for (let k = 1; k < entries.length; k++) {
            if (entries[k]!.index !== start + k) throw new StorageInvariantError(`entries are not contiguous at ${entries[k]!.index}`);
          }
          const prev = start === first ? undefined : await entryBefore(start);
          const expected = prev === undefined ? (snap?.nextPosition ?? 0) : nextPositionAfter(prev);
          if (entries[0]!.firstPosition !== expected) {
            throw new StorageInvariantError(`entry ${start} has firstPosition ${entries[0]!.firstPosition}, expected ${expected}`);
          }
          for (let i = start; i <= last; i++) log.set(i, null);
          for (const e of entries) log.set(e.index, e);
          last = entries.at(-1)!.index;
          lastEntry = entries.at(-1);
        }
        if (ready.hardState !== undefined) {
          hardState = ready.hardState;
          commit = hardState.commit;
        }
      }
      if (commit > Math.max(last, snap?.index ?? 0)) {
        throw new StorageInvariantError(`commit ${commit} is beyond the last index ${last}`);
      }

      const ops: BatchOp[] = [];
      if (snapshot !== undefined) {
        const w = new Writer(64 + snapshot.data.length);
        writeSnapshot(w, snapshot);
        ops.push(put(KEY_SNAPSHOT, seal(KEY_SNAPSHOT, w)));
      }
      for (const [index, e] of log) {
        const key = u64Key(PREFIX.log, index);
        if (e === null) {
          ops.push({ type: "del", key });
        } else {
          const w = new Writer(256);
          writeEntry(w, e);
          ops.push(put(key, seal(key, w)));
        }
      }
      if (hardState !== undefined) ops.push(put(KEY_HARD_STATE, sealBytes(KEY_HARD_STATE, encodeHardState(hardState))));
      if (ops.length === 0) return;
      // etcd's MustSync: a term, a vote, an entry or a snapshot must be durable before anyone
      // hears of it; a commit index alone need not (losing it only makes recovery re-learn it,
      // and the next synced write flushes it anyway: level's log is written in order).
      const termOrVote = hardState !== undefined && (hardState.term !== this.hardTerm || hardState.vote !== this.hardVote);
      const mustSync = snapshot !== undefined || log.size > 0 || termOrVote;
      await this.db.batch(ops, { sync: mustSync });
      if (hardState !== undefined) {
        this.hardTerm = hardState.term;
        this.hardVote = hardState.vote;
      }

      this.recovered = undefined;
      this.lastIndex = last;
      this.lastEntry = lastEntry;
      this.snapshotMeta = snap;
      this.commit = commit;
    });
  }

  /** Reads stored log entries in [from, to] (inclusive); missing ones are simply absent. */
  async getEntries(from: number, to: number): Promise<Entry[]> {
    this.assertUsable();
    const out: Entry[] = [];
    for await (const [key, value] of this.db.iterator({ gte: u64Key(PREFIX.log, from), lte: u64Key(PREFIX.log, to) })) {
      out.push(this.decode(key, value, decodeEntry));
    }
    return out;
  }

  /** Stores a snapshot the application took locally; the log is left alone (see `compact`). */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.exclusive(async () => {
      const meta = snapshot.meta;
      if (this.snapshotMeta !== undefined && meta.index < this.snapshotMeta.index) {
        throw new StorageInvariantError(`snapshot at index ${meta.index} is older than the stored one at ${this.snapshotMeta.index}`);
      }
      if (meta.index > this.appliedState.applied) {
        throw new StorageInvariantError(`snapshot at index ${meta.index} is beyond the applied index ${this.appliedState.applied}`);
      }
      const w = new Writer(64 + snapshot.data.length);
      writeSnapshot(w, snapshot);
      await this.db.put(KEY_SNAPSHOT, seal(KEY_SNAPSHOT, w), { sync: true });
      this.recovered = undefined;
      this.snapshotMeta = meta;
    });
  }

  /**
   * Drops log entries at or below `index`. Requires a stored snapshot covering `index` and the
   * entries to be applied (their txs then live in the position keyspace).
   */
  compact(index: number): Promise<void> {
    return this.exclusive(async () => {
      const snapIndex = this.snapshotMeta?.index ?? 0;
      if (index > snapIndex) throw new StorageInvariantError(`cannot compact to ${index}: the stored snapshot only covers ${snapIndex}`);
      if (index > this.appliedState.applied) throw new StorageInvariantError(`cannot compact to ${index}: only ${this.appliedState.applied} is applied`);
      const ops: BatchOp[] = [];
      for await (const key of this.db.keys({ gte: Uint8Array.of(PREFIX.log), lte: u64Key(PREFIX.log, index) })) ops.push({ type: "del", key });
      if (ops.length > 0) await this.db.batch(ops, { sync: true });
      this.recovered = undefined;
    });
  }

  // ------------------------------------------------------------ application indexes

  /**
   * Records committed entries in the position and tx-hash keyspaces and advances the applied
   * index, in one atomic batch (see the durability note at the top for why `sync` defaults to
   * false). Entries at or below the applied index are skipped, so re-applying after a crash is
   * harmless. Certificates given here are stored in the same batch.
   */
  applyCommitted(
    entries: readonly Entry[],
    options: { readonly certificates?: readonly StoredCertificate[]; readonly quorumCertificates?: readonly StoredQuorumCertificate[]; readonly sync?: boolean } = {},
  ): Promise<void> {
    return this.exclusive(async () => {
      let { applied, nextPosition } = this.appliedState;
      const fresh = entries.filter((e) => e.index > applied);
      const ops: BatchOp[] = [];
      const hashes: string[] = [];
      const locations: TxLocation[] = [];
      for (const e of fresh) {
        if (e.index !== applied + 1) throw new StorageInvariantError(`entry ${e.index} applied after ${applied}: not contiguous`);
        if (e.index > this.commit) throw new StorageInvariantError(`entry ${e.index} is not durably committed (commit ${this.commit})`);
        if (e.firstPosition !== nextPosition) {
          throw new StorageInvariantError(`entry ${e.index} starts at position ${e.firstPosition}, expected ${nextPosition}`);
        }
        const txs = e.txs ?? [];
        for (let i = 0; i < txs.length; i++) {
          const tx = txs[i]!;
          const position = e.firstPosition + i;
          ops.push(positionOp(position, e.index, e.term, tx.hash, tx.data));
          hashes.push(tx.hash);
          locations.push({ position, index: e.index, term: e.term });
        }
        applied = e.index;
        nextPosition = nextPositionAfter(e);
      }
      ops.push(...(await this.hashIndexOps(hashes, locations)));
      for (const c of options.certificates ?? []) ops.push(this.certificateOp(c));
      for (const c of options.quorumCertificates ?? []) {
        const key = u64Key(PREFIX.quorumCertificate, c.firstPosition);
        const w = new Writer(100 + 66 * c.signatures.length);
        writeQuorumCertificate(w, c);
        ops.push(put(key, seal(key, w)));
      }
      if (fresh.length > 0) ops.push(put(KEY_APPLIED, appliedRecord({ applied, nextPosition })));
      if (ops.length === 0) return;
      await this.db.batch(ops, { sync: options.sync ?? false });
      this.appliedState = { applied, nextPosition };
    });
  }

  /**
   * tx-hash index records for newly stored transactions. First position wins: a transaction
   * stored again later (in the same batch or after) never moves an existing commitment.
   */
  private async hashIndexOps(hashes: readonly string[], locations: readonly TxLocation[]): Promise<BatchOp[]> {
    const hashKeys = hashes.map((h) => txHashKey(hexToBytes(h, 32, "tx hash")));
    const existing = hashKeys.length > 0 ? await this.db.getMany(hashKeys) : [];
    const seen = new Set<string>();
    const ops: BatchOp[] = [];
    for (let i = 0; i < hashKeys.length; i++) {
      if (existing[i] !== undefined || seen.has(hashes[i]!)) continue;
      seen.add(hashes[i]!);
      const w = new Writer(24);
      writeTxLocation(w, locations[i]!);
      ops.push(put(hashKeys[i]!, seal(hashKeys[i]!, w)));
    }
    return ops;
  }

  /**
   * After installing a leader's snapshot: applied jumps to the snapshot, and the positions it
   * covers that this node never applied are recorded as a history gap to backfill. Synced.
   */
  markSnapshotApplied(meta: SnapshotMeta): Promise<void> {
    return this.exclusive(async () => {
      if (meta.index < this.appliedState.applied) return;
      const next = { applied: meta.index, nextPosition: meta.nextPosition };
      const ops: BatchOp[] = [put(KEY_APPLIED, appliedRecord(next))];
      if (meta.nextPosition > this.appliedState.nextPosition) {
        const gap = await this.readHistoryGap();
        ops.push(put(KEY_HISTORY_GAP, historyGapRecord({ from: gap?.from ?? this.appliedState.nextPosition, to: meta.nextPosition })));
      }
      await this.db.batch(ops, { sync: true });
      this.appliedState = next;
    });
  }

  /** Positions below the applied state that this node does not hold yet (after a snapshot install). */
  historyGap(): Promise<{ from: number; to: number } | undefined> {
    this.assertUsable();
    return this.readHistoryGap();
  }

  private async readHistoryGap(): Promise<{ from: number; to: number } | undefined> {
    const value = await this.db.get(KEY_HISTORY_GAP);
    if (value === undefined) return undefined;
    return this.decode(KEY_HISTORY_GAP, value, (p) => {
      const r = new Reader(p, "history gap");
      const gap = { from: r.varint("from"), to: r.varint("to") };
      r.end();
      return gap;
    });
  }

  /**
   * Stores committed transactions fetched from a member to fill the history gap. They must
   * start exactly at the gap's first position and be contiguous; the gap shrinks accordingly.
   */
  backfillHistory(txs: readonly CommittedTx[]): Promise<void> {
    return this.exclusive(async () => {
      const gap = await this.readHistoryGap();
      if (gap === undefined || txs.length === 0) return;
      if (txs[0]!.position !== gap.from) throw new StorageInvariantError(`history starts at ${txs[0]!.position}, the gap starts at ${gap.from}`);
      const ops: BatchOp[] = [];
      const hashes: string[] = [];
      const locations: TxLocation[] = [];
      let position = gap.from;
      for (const tx of txs) {
        if (tx.position !== position) throw new StorageInvariantError(`history is not contiguous at position ${tx.position}`);
        if (position >= gap.to) break;
        ops.push(positionOp(position, tx.index, tx.term, tx.hash, tx.data));
        hashes.push(tx.hash);
        locations.push({ position, index: tx.index, term: tx.term });
        position++;
      }
      ops.push(...(await this.hashIndexOps(hashes, locations)));
      ops.push(position >= gap.to ? { type: "del", key: KEY_HISTORY_GAP } : put(KEY_HISTORY_GAP, historyGapRecord({ from: position, to: gap.to })));
      await this.db.batch(ops, { sync: true });
    });
  }

  /** Idempotency lookup for the core (`RaftOptions.lookupCommittedTx`): synchronous by contract. */
  lookupCommittedTx(hash: string): TxLocation | undefined {
    this.assertUsable();
    const key = txHashKey(hexToBytes(hash, 32, "tx hash"));
    const value = this.db.getSync(key);
    return value === undefined ? undefined : this.decode(key, value, (p) => this.readStrict(p, "tx location", readTxLocation));
  }

  async getTxLocation(hash: string): Promise<TxLocation | undefined> {
    this.assertUsable();
    const key = txHashKey(hexToBytes(hash, 32, "tx hash"));
    const value = await this.db.get(key);
    return value === undefined ? undefined : this.decode(key, value, (p) => this.readStrict(p, "tx location", readTxLocation));
  }

  async getTxByPosition(position: number): Promise<CommittedTx | undefined> {
    this.assertUsable();
    const key = u64Key(PREFIX.position, position);
    const value = await this.db.get(key);
    return value === undefined ? undefined : this.decode(key, value, (p) => readCommittedTx(new Reader(p, "committed tx"), position));
  }

  /** Committed txs at positions [from, from + limit), in order, stopping at the first missing one. */
  async getTxRange(from: number, limit: number): Promise<CommittedTx[]> {
    this.assertUsable();
    const out: CommittedTx[] = [];
    if (limit <= 0) return out;
    for await (const [key, value] of this.db.iterator({ gte: u64Key(PREFIX.position, from), lt: u64Key(PREFIX.position, from + limit) })) {
      const position = u64FromKey(key);
      if (position !== from + out.length) break;
      out.push(this.decode(key, value, (p) => readCommittedTx(new Reader(p, "committed tx"), position)));
    }
    return out;
  }

  /** Tx hashes of positions [from, from + count), in order; undefined when one of them is not stored here (a history gap). */
  async getTxHashes(from: number, count: number): Promise<Hex[] | undefined> {
    const txs = await this.getTxRange(from, count);
    return txs.length === count ? txs.map((t) => t.hash) : undefined;
  }

  // ------------------------------------------------------------ certificates and signed headers

  private certificateOp(c: StoredCertificate): BatchOp {
    if (c.lastPosition < c.firstPosition) throw new StorageInvariantError(`certificate range [${c.firstPosition}, ${c.lastPosition}] is empty`);
    const key = u64Key(PREFIX.certificate, c.firstPosition);
    const w = new Writer(128);
    writeCertificate(w, c);
    return put(key, seal(key, w));
  }

  /** The certificate covering `position`, if this node has one. */
  /** The certificate that starts last (the end of the certified positions), if any. */
  async lastCertificate(): Promise<StoredCertificate | undefined> {
    this.assertUsable();
    const iterator = this.db.iterator({ gte: Uint8Array.of(PREFIX.certificate), lt: prefixEnd(PREFIX.certificate), reverse: true, limit: 1 });
    for await (const [key, value] of iterator) return this.decode(key, value, (p) => this.readStrict(p, "certificate", readCertificate));
    return undefined;
  }

  async getCertificateForPosition(position: number): Promise<StoredCertificate | undefined> {
    this.assertUsable();
    // Certificates do not overlap in practice; walk back a little in case an older one spans further.
    const iterator = this.db.iterator({ gte: Uint8Array.of(PREFIX.certificate), lte: u64Key(PREFIX.certificate, position), reverse: true, limit: 16 });
    for await (const [key, value] of iterator) {
      const c = this.decode(key, value, (p) => this.readStrict(p, "certificate", readCertificate));
      if (c.firstPosition !== u64FromKey(key)) throw this.corrupt(key, `holds a certificate starting at ${c.firstPosition}`);
      if (c.lastPosition >= position) return c;
    }
    return undefined;
  }

  /** The quorum certificate covering `position` with the highest first position (they may overlap). */
  async getQuorumCertificateForPosition(position: number): Promise<StoredQuorumCertificate | undefined> {
    this.assertUsable();
    const iterator = this.db.iterator({ gte: Uint8Array.of(PREFIX.quorumCertificate), lte: u64Key(PREFIX.quorumCertificate, position), reverse: true, limit: 16 });
    for await (const [key, value] of iterator) {
      const c = this.decode(key, value, (p) => this.readStrict(p, "quorum certificate", readQuorumCertificate));
      if (c.firstPosition !== u64FromKey(key)) throw this.corrupt(key, `holds a quorum certificate starting at ${c.firstPosition}`);
      if (c.lastPosition >= position) return c;
    }
    return undefined;
  }

  /** The quorum certificate with the highest first position. */
  async lastQuorumCertificate(): Promise<StoredQuorumCertificate | undefined> {
    this.assertUsable();
    const iterator = this.db.iterator({ gte: Uint8Array.of(PREFIX.quorumCertificate), lt: prefixEnd(PREFIX.quorumCertificate), reverse: true, limit: 1 });
    for await (const [key, value] of iterator) return this.decode(key, value, (p) => this.readStrict(p, "quorum certificate", readQuorumCertificate));
    return undefined;
  }

  /**
   * Durably records a batch header this member is about to sign, BEFORE the signature leaves the
   * node. Keyed by (batchNumber, epoch): re-signing a batch number under a later epoch is allowed
   * (its old set may no longer reach a quorum), two headers for one pair never are. Recording
   * the same header again is a no-op returning the stored one; a different header for the same
   * pair throws ConflictingBatchHeaderError.
   */
  recordSignedBatchHeader(h: SignedBatchHeader): Promise<SignedBatchHeader> {
    return this.exclusive(async () => {
      const key = signedHeaderKey(h.batchNumber, h.epoch);
      const existing = await this.db.get(key);
      if (existing !== undefined) {
        const stored = this.decode(key, existing, (p) => this.readStrict(p, "batch header", readBatchHeader));
        if (!sameBatchHeader(stored, h)) throw new ConflictingBatchHeaderError(h.batchNumber, h.epoch);
        return stored;
      }
      const w = new Writer(256);
      writeBatchHeader(w, h);
      await this.db.put(key, seal(key, w), { sync: true });
      return h;
    });
  }

  async getSignedBatchHeader(batchNumber: number, epoch: number): Promise<SignedBatchHeader | undefined> {
    this.assertUsable();
    const key = signedHeaderKey(batchNumber, epoch);
    const value = await this.db.get(key);
    return value === undefined ? undefined : this.decode(key, value, (p) => this.readStrict(p, "batch header", readBatchHeader));
  }

  // ------------------------------------------------------------ batch state

  /**
   * Stores batch cuts / posted marks applied from the replicated log (one record per batch
   * number, overwritten by a re-cut or its posted mark). Unsynced by default and written BEFORE
   * the `applyCommitted` of the same entries: LevelDB keeps write order, so a crash can only lose
   * them together with the applied index, and re-applying the entries rewrites them identically.
   */
  putBatches(batches: readonly StoredBatch[], options: { readonly sync?: boolean } = {}): Promise<void> {
    return this.exclusive(async () => {
      if (batches.length === 0) return;
      const ops: BatchOp[] = batches.map((b) => {
        const key = u64Key(PREFIX.batch, b.header.batchNumber);
        const w = new Writer(200);
        writeStoredBatch(w, b);
        return put(key, seal(key, w));
      });
      await this.db.batch(ops, { sync: options.sync ?? false });
    });
  }

  async getBatch(batchNumber: number): Promise<StoredBatch | undefined> {
    this.assertUsable();
    const key = u64Key(PREFIX.batch, batchNumber);
    const value = await this.db.get(key);
    return value === undefined ? undefined : this.decodeBatch(key, value);
  }

  /** The `limit` highest-numbered stored batches, highest first. */
  async lastBatches(limit: number): Promise<StoredBatch[]> {
    this.assertUsable();
    const out: StoredBatch[] = [];
    for await (const [key, value] of this.db.iterator({ gte: Uint8Array.of(PREFIX.batch), lt: prefixEnd(PREFIX.batch), reverse: true, limit })) {
      out.push(this.decodeBatch(key, value));
    }
    return out;
  }

  private decodeBatch(key: Uint8Array, value: Uint8Array): StoredBatch {
    const b = this.decode(key, value, (p) => this.readStrict(p, "batch", readStoredBatch));
    if (b.header.batchNumber !== u64FromKey(key)) throw this.corrupt(key, `holds batch ${b.header.batchNumber}`);
    return b;
  }

  // ------------------------------------------------------------ internals

  private assertUsable(): void {
    if (this.corruption !== undefined) throw this.corruption;
    if (this.closed) throw new StorageClosedError();
  }

  /** Runs writes one at a time, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      this.assertUsable();
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private corrupt(key: Uint8Array, reason: string): StorageCorruptionError {
    this.corruption ??= new StorageCorruptionError(describeKey(key), reason);
    return this.corruption;
  }

  private decode<T>(key: Uint8Array, value: Uint8Array, decode: (payload: Uint8Array) => T): T {
    try {
      return decodeRecord(key, value, decode);
    } catch (err) {
      if (err instanceof StorageCorruptionError) this.corruption ??= err;
      throw err;
    }
  }

  private readStrict<T>(payload: Uint8Array, what: string, read: (r: Reader) => T): T {
    const r = new Reader(payload, what);
    const v = read(r);
    r.end();
    return v;
  }
}
