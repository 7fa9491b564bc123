/**
 * The replicated batch state every node holds: the last posted batch and every cut after it that
 * L1 has not accepted yet (several may be in flight, each chaining to the one before), applied
 * from `batchCut` / `batchPosted` / `batchSigned` records in log order by the application state
 * machine, and what a snapshot carries of it. Applying is deterministic on every node: a
 * structurally invalid cut or an unmatched posted mark changes nothing. Also the local
 * bookkeeping the leader's triggers and the node's admission control read (backlog in
 * transactions and bytes, age of the oldest unposted work).
 */
import type { Hex } from "viem";
import type { Entry, Snapshot } from "../consensus/index.js";
import { Reader, Writer } from "../codec/index.js";
import type { NodeStore } from "../storage/index.js";
import { sameBatchContent, sameBatchHeader, type AppliedRecord, type BatchPostedRecord, type StoredBatch, type StoredBatchHeader } from "../domain/index.js";
import { readStoredBatch, writeStoredBatch } from "../domain/types.js";
import type { Logger } from "../ops/logger.js";
import { encodedTxSize } from "./format.js";
import { BatchHistoryMissingError, deriveBatch, nextPrevHash, storedBatchHash, type BatchTx } from "./header.js";

/**
 * Version 3 carries every unposted cut after the last posted batch (version 2: at most one, with
 * the quorum's signatures; version 1: without them). Versions 1 and 2 are still read.
 */
const SNAPSHOT_VERSION = 3;
/** Most batches a version 3 snapshot holds: the last posted one and the cuts in flight after it. */
const MAX_SNAPSHOT_BATCHES = 1 + 256;
/** Transactions read from the store at a time when measuring the unposted bytes. */
const MEASURE_CHUNK = 1_000;

export interface BatchStateOptions {
  readonly store: NodeStore;
  readonly logger: Logger;
  /** Called for each batch that became posted while this node leads (the posted-batches metric). */
  readonly onPosted?: () => void;
  readonly now?: () => number;
}

/** A cut L1 has not accepted yet, with what this node knows about it locally. */
interface InFlightCut {
  batch: StoredBatch;
  /** When the first cut of this number was applied here (its posting deadline runs from then). */
  readonly appliedAtMs: number;
  /** Sum of the encoded sizes of its transactions (from this node's log; 0 while unknown). */
  readonly txBytes: number;
}

export class BatchState {
  private readonly store: NodeStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private posted: StoredBatch | undefined;
  /** The unposted cuts in batch-number order: the first follows `posted`, each chains to the one before. */
  private inFlight: InFlightCut[] = [];
  /** When the oldest committed-but-uncut transaction was applied, and the encoded bytes of them. */
  private uncutSinceMs: number | undefined;
  private uncutBytesCount = 0;
  /** Cuts this node's own log does not reproduce (never signed here). */
  mismatchedCuts = 0;
  private readonly cutWaiters = new Set<() => void>();

  constructor(private readonly opts: BatchStateOptions) {
    this.store = opts.store;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
  }

  /** The newest cut: the last unposted one, else the last posted batch. */
  get lastCut(): StoredBatch | undefined {
    return this.inFlight.at(-1)?.batch ?? this.posted;
  }

  get lastPosted(): StoredBatch | undefined {
    return this.posted;
  }

  /** The cuts L1 has not accepted yet, oldest first. */
  get unpostedCuts(): readonly StoredBatch[] {
    return this.inFlight.map((c) => c.batch);
  }

  /** When the oldest unposted cut was applied here; undefined when none is in flight. */
  get oldestCutAppliedAt(): number | undefined {
    return this.inFlight[0]?.appliedAtMs;
  }

  get uncutSince(): number | undefined {
    return this.uncutSinceMs;
  }

  /** Encoded bytes of the committed transactions after the last cut. */
  get uncutBytes(): number {
    return this.uncutBytesCount;
  }

  /** Encoded bytes of the committed transactions not yet in a batch posted on L1. */
  unpostedBytes(): number {
    return this.inFlight.reduce((sum, c) => sum + c.txBytes, this.uncutBytesCount);
  }

  /** Batch `n` as this state holds it: an unposted cut or the last posted batch. */
  held(n: number): StoredBatch | undefined {
    if (this.posted?.header.batchNumber === n) return this.posted;
    const first = this.inFlight[0]?.batch.header.batchNumber;
    return first === undefined ? undefined : this.inFlight[n - first]?.batch;
  }

  /** Loads the batch state from the store after a restart: the last posted batch and every cut after it. */
  async recover(): Promise<void> {
    let limit = 16;
    for (;;) {
      const last = await this.store.lastBatches(limit); // highest first
      const postedAt = last.findIndex((b) => b.posted !== undefined);
      if (postedAt >= 0 || last.length < limit) {
        const unposted = (postedAt >= 0 ? last.slice(0, postedAt) : last).reverse();
        this.posted = postedAt >= 0 ? last[postedAt] : undefined;
        await this.resume(unposted);
        return;
      }
      limit *= 4;
    }
  }

  /** Takes `unposted` as the cuts in flight after `this.posted` and measures the backlog from the store. */
  private async resume(unposted: readonly StoredBatch[]): Promise<void> {
    const at = this.now();
    this.inFlight = [];
    for (const batch of unposted) {
      const { firstPosition, lastPosition } = batch.header;
      this.inFlight.push({ batch, appliedAtMs: at, txBytes: await this.storedTxBytes(firstPosition, lastPosition + 1) });
    }
    const next = this.store.status().nextPosition;
    const uncutFrom = this.lastCut === undefined ? 0 : this.lastCut.header.lastPosition + 1;
    this.uncutBytesCount = await this.storedTxBytes(uncutFrom, next);
    this.uncutSinceMs = next > uncutFrom ? at : undefined;
  }

  /** Encoded bytes of the stored transactions at positions [from, to) (those this node holds). */
  private async storedTxBytes(from: number, to: number): Promise<number> {
    let bytes = 0;
    for (let p = from; p < to; ) {
      const txs = await this.store.getTxRange(p, Math.min(MEASURE_CHUNK, to - p));
      for (const tx of txs) bytes += encodedTxSize(tx.data);
      if (txs.length === 0) break; // history still backfilling: the count is a lower bound
      p += txs.length;
    }
    return bytes;
  }

  /**
   * Applies the batch records among `records` (the app records of `entries`). The state machine
   * calls it BEFORE the store's `applyCommitted` of the same entries (see NodeStore.putBatches
   * for why that order is crash-safe).
   */
  async apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void> {
    const applied = this.store.status().applied;
    const updates = new Map<number, StoredBatch>();
    let overlay: Map<number, BatchTx> | undefined;
    const recordAt = new Map(records.map((r) => [r.entry.index, r.record]));
    for (const e of entries) {
      if (e.index <= applied) continue;
      const txs = e.txs ?? [];
      if (txs.length > 0) {
        overlay ??= new Map();
        for (let i = 0; i < txs.length; i++) {
          overlay.set(e.firstPosition + i, { hash: txs[i]!.hash as Hex, data: txs[i]!.data });
          this.uncutBytesCount += encodedTxSize(txs[i]!.data);
        }
        this.uncutSinceMs ??= this.now();
      }
      const record = recordAt.get(e.index);
      if (record?.kind === "batchCut") {
        const cut = await this.applyCut(record.header, e.firstPosition, overlay);
        if (cut !== undefined) updates.set(cut.header.batchNumber, cut);
      } else if (record?.kind === "batchPosted") {
        const posted = this.applyPosted(record.posted);
        if (posted !== undefined) updates.set(posted.header.batchNumber, posted);
      } else if (record?.kind === "batchAdopted") {
        const adopted = await this.applyAdopted(record.header, record.posted, e.firstPosition, overlay);
        if (adopted !== undefined) updates.set(adopted.header.batchNumber, adopted);
      } else if (record?.kind === "batchSigned") {
        const signed = this.applySigned(record.batchNumber, record.batchHash, record.signatures);
        if (signed !== undefined) updates.set(signed.header.batchNumber, signed);
      }
    }
    if (updates.size > 0) await this.store.putBatches([...updates.values()]);
    this.wakeCutWaiters();
  }

  /**
   * A cut either continues the last cut (the next batch number, chained to it, from the position
   * after it), or re-cuts an unposted one: same number, range, root and data under another epoch
   * and/or chained to its predecessor as that now stands (after the predecessor's own re-cut).
   */
  private async applyCut(h: StoredBatchHeader, nextPosition: number, overlay: ReadonlyMap<number, BatchTx> | undefined): Promise<StoredBatch | undefined> {
    const n = h.batchNumber;
    const held = this.held(n);
    if (held !== undefined && sameBatchHeader(held.header, h)) return undefined; // a duplicate proposal
    const postedNumber = this.posted?.header.batchNumber ?? 0;
    const lastNumber = this.lastCut?.header.batchNumber ?? 0;
    const prev = n > 1 ? this.held(n - 1) : undefined;
    const expectedFirst = prev === undefined ? 0 : prev.header.lastPosition + 1;
    const recut = held !== undefined && held.posted === undefined;
    const problem =
      n <= postedNumber
        ? `batch ${n} is already posted`
        : n > lastNumber + 1
          ? `batch number ${n}, expected at most ${lastNumber + 1}`
          : recut && !sameBatchContent(held.header, { ...h, prevBatchHash: held.header.prevBatchHash })
            ? `a re-cut of batch ${n} must keep its range, root and data`
            : h.prevBatchHash !== nextPrevHash(prev?.header)
              ? `prevBatchHash ${h.prevBatchHash} does not chain to batch ${n - 1}`
              : h.firstPosition !== expectedFirst
                ? `firstPosition ${h.firstPosition}, expected ${expectedFirst}`
                : h.lastPosition < h.firstPosition || h.lastPosition >= nextPosition
                  ? `range [${h.firstPosition}, ${h.lastPosition}] is not committed before the cut (next position ${nextPosition})`
                  : undefined;
    if (problem !== undefined) {
      this.logger.error({ batchNumber: n, epoch: h.epoch, problem }, "ignoring an invalid batch cut from the replicated log");
      return undefined;
    }
    const batch: StoredBatch = { header: h };
    if (recut) {
      const at = n - this.inFlight[0]!.batch.header.batchNumber;
      this.inFlight[at] = { ...this.inFlight[at]!, batch };
      this.logger.info({ batchNumber: n, epoch: h.epoch, previousEpoch: held.header.epoch, rechained: h.prevBatchHash !== held.header.prevBatchHash }, "batch re-cut");
      return batch;
    }
    const txBytes = await this.checkAgainstLog(h, overlay);
    this.inFlight.push({ batch, appliedAtMs: this.now(), txBytes });
    // An estimate while history backfills (txBytes 0 then); exact otherwise.
    this.uncutBytesCount = Math.max(0, this.uncutBytesCount - txBytes);
    this.uncutSinceMs = nextPosition > h.lastPosition + 1 ? this.now() : undefined;
    if (this.uncutSinceMs === undefined) this.uncutBytesCount = 0;
    return batch;
  }

  /**
   * A batch L1 holds that the set never cut (an escape batch): taken as posted when no cut is in
   * flight, it continues the last posted batch, its range is committed and this log's positional
   * root over it is the header's (its dataHash is the queue's chain hash, not this log's data).
   */
  private async applyAdopted(h: StoredBatchHeader, p: BatchPostedRecord, nextPosition: number, overlay: ReadonlyMap<number, BatchTx> | undefined): Promise<StoredBatch | undefined> {
    const prev = this.posted;
    const expectedFirst = prev === undefined ? 0 : prev.header.lastPosition + 1;
    let problem =
      this.inFlight.length > 0
        ? "cuts are in flight"
        : h.batchNumber !== (prev?.header.batchNumber ?? 0) + 1 || p.batchNumber !== h.batchNumber
          ? `batch number ${h.batchNumber} does not follow the last posted one`
          : h.prevBatchHash !== nextPrevHash(prev?.header) || h.firstPosition !== expectedFirst
            ? "it does not continue the last posted batch"
            : h.lastPosition < h.firstPosition || h.lastPosition >= nextPosition
              ? `range [${h.firstPosition}, ${h.lastPosition}] is not committed (next position ${nextPosition})`
              : storedBatchHash(h) !== p.batchHash
                ? "its hash is not the posted one"
                : undefined;
    let txBytes = 0;
    if (problem === undefined) {
      try {
        const derived = await deriveBatch(this.store, h, overlay);
        if (derived.header.merkleRoot !== h.merkleRoot) problem = "this log's transactions over its range have another root";
        txBytes = derived.txBytes;
      } catch (error) {
        if (!(error instanceof BatchHistoryMissingError)) throw error;
        problem = error.message;
      }
    }
    if (problem !== undefined) {
      this.logger.error({ batchNumber: h.batchNumber, problem }, "ignoring an adopted L1 batch from the replicated log");
      return undefined;
    }
    const posted: StoredBatch = { header: h, posted: { batchHash: p.batchHash, l1Block: p.l1Block, l1TxHash: p.l1TxHash } };
    this.posted = posted;
    this.uncutBytesCount = Math.max(0, this.uncutBytesCount - txBytes);
    this.uncutSinceMs = nextPosition > h.lastPosition + 1 ? this.now() : undefined;
    this.logger.info({ batchNumber: h.batchNumber, firstPosition: h.firstPosition, lastPosition: h.lastPosition }, "adopted an escape batch from L1 as posted");
    return posted;
  }

  /** Batches become posted in number order: the mark must name the oldest unposted cut. */
  private applyPosted(p: BatchPostedRecord): StoredBatch | undefined {
    const oldest = this.inFlight[0]?.batch;
    if (oldest === undefined || oldest.header.batchNumber !== p.batchNumber || storedBatchHash(oldest.header) !== p.batchHash) {
      if (this.posted?.header.batchNumber === p.batchNumber && this.posted.posted?.batchHash === p.batchHash) return undefined; // a duplicate proposal
      this.logger.error({ batchNumber: p.batchNumber, batchHash: p.batchHash }, "ignoring a batchPosted record that matches no unposted cut");
      return undefined;
    }
    const posted: StoredBatch = { ...oldest, posted: { batchHash: p.batchHash, l1Block: p.l1Block, l1TxHash: p.l1TxHash } };
    this.inFlight.shift();
    this.posted = posted;
    this.opts.onPosted?.();
    return posted;
  }

  /**
   * Records the quorum's signatures of a cut (any one in flight, or the last posted). Nothing
   * checks them here (which stake signed depends on each node's view of L1): whoever relies on
   * them verifies them (node/commitments/batch-commitment.ts). A record for another header
   * changes nothing.
   */
  private applySigned(batchNumber: number, batchHash: Hex, signatures: readonly Hex[]): StoredBatch | undefined {
    const held = this.held(batchNumber);
    if (held === undefined || storedBatchHash(held.header) !== batchHash) {
      this.logger.info({ batchNumber, batchHash }, "ignoring batch signatures for a header that is not a current cut");
      return undefined;
    }
    const signed: StoredBatch = { ...held, signatures };
    if (held === this.posted) this.posted = signed;
    else {
      const at = batchNumber - this.inFlight[0]!.batch.header.batchNumber;
      this.inFlight[at] = { ...this.inFlight[at]!, batch: signed };
    }
    return signed;
  }

  /**
   * A local check (never part of the replicated state): does this node's log give the same
   * header? Returns the encoded bytes of the cut's transactions (0 while history backfills).
   */
  private async checkAgainstLog(h: StoredBatchHeader, overlay: ReadonlyMap<number, BatchTx> | undefined): Promise<number> {
    try {
      const derived = await deriveBatch(this.store, h, overlay);
      if (!sameBatchHeader(derived.header, h)) {
        this.mismatchedCuts++;
        this.logger.error({ batchNumber: h.batchNumber, epoch: h.epoch, cut: h, ownLog: derived.header }, "BATCH CUT DOES NOT MATCH THIS NODE'S LOG: it will never be signed here");
      }
      return derived.txBytes;
    } catch (error) {
      if (!(error instanceof BatchHistoryMissingError)) throw error;
      this.logger.info({ batchNumber: h.batchNumber, err: error.message }, "batch cut not checked yet: history still backfilling");
      return 0;
    }
  }

  /** The batch part of a snapshot: the last posted batch and every unposted cut after it. */
  snapshotData(): Uint8Array {
    const batches = [...(this.posted === undefined ? [] : [this.posted]), ...this.unpostedCuts];
    const w = new Writer(64 + 400 * batches.length);
    w.u8(SNAPSHOT_VERSION);
    w.varint(batches.length);
    for (const b of batches) writeStoredBatch(w, b);
    return w.finish();
  }

  /** Restores the batch part of an installed snapshot (before its applied index moves). */
  async restore(data: Uint8Array, meta: Snapshot["meta"]): Promise<void> {
    if (data.length === 0) return;
    const r = new Reader(data, "batch snapshot state");
    const version = r.u8("version");
    if (version !== SNAPSHOT_VERSION && version !== 2 && version !== 1) throw new Error(`batch snapshot state version ${version} is not supported`);
    // Versions 1 and 2 hold the last posted batch and the last cut, when distinct.
    const n = r.count(version === SNAPSHOT_VERSION ? MAX_SNAPSHOT_BATCHES : 2, 10, "batch");
    const batches: StoredBatch[] = [];
    for (let i = 0; i < n; i++) batches.push(readStoredBatch(r, version === 1));
    r.end();
    const postedAt = batches.findLastIndex((b) => b.posted !== undefined);
    const unposted = batches.slice(postedAt + 1);
    for (let i = 0; i < unposted.length; i++) {
      const expected = (i === 0 ? (batches[postedAt]?.header.batchNumber ?? 0) : unposted[i - 1]!.header.batchNumber) + 1;
      if (unposted[i]!.header.batchNumber !== expected || unposted[i]!.posted !== undefined) throw new Error(`batch snapshot state: unposted batch ${unposted[i]!.header.batchNumber} does not follow batch ${expected - 1}`);
    }
    await this.store.putBatches(batches, { sync: true });
    this.posted = batches[postedAt];
    await this.resume(unposted);
    // The snapshot's positions may not all be stored here yet: the uncut tail runs to its end.
    const uncutFrom = this.lastCut === undefined ? 0 : this.lastCut.header.lastPosition + 1;
    this.uncutSinceMs = meta.nextPosition > uncutFrom ? this.now() : undefined;
    this.wakeCutWaiters();
  }

  /** Committed positions after the last cut. */
  backlog(): number {
    const next = this.lastCut === undefined ? 0 : this.lastCut.header.lastPosition + 1;
    return Math.max(0, this.store.status().nextPosition - next);
  }

  /** Committed positions not yet in a batch posted on L1. */
  unposted(): number {
    const next = this.posted === undefined ? 0 : this.posted.header.lastPosition + 1;
    return Math.max(0, this.store.status().nextPosition - next);
  }

  /**
   * The applied cut for `h`'s batch number, waiting up to `waitMs` when a request for a newer
   * cut (or a re-cut of an unposted one) outran this node's log.
   */
  async appliedCut(h: StoredBatchHeader, waitMs: number, stopped: () => boolean): Promise<StoredBatch | undefined> {
    const lookup = async () => this.held(h.batchNumber) ?? this.store.getBatch(h.batchNumber);
    const deadline = this.now() + waitMs;
    for (;;) {
      const found = await lookup();
      if (found !== undefined && sameBatchHeader(found.header, h)) return found;
      const ahead = found === undefined || found.posted === undefined;
      const left = deadline - this.now();
      if (!ahead || left <= 0 || stopped()) return found;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.cutWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.cutWaiters.add(wake);
      });
    }
  }

  /** Releases every waiting `appliedCut` (the state changed, or the node stops). */
  wakeCutWaiters(): void {
    for (const wake of this.cutWaiters) wake();
  }
}
