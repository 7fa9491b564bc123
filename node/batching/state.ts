/**
 * The replicated batch state every node holds: the last cut and the last posted batch, applied
 * from `batchCut` / `batchPosted` records in log order by the application state machine, and
 * what a snapshot carries of it. Applying is deterministic on every node: a structurally invalid
 * cut or an unmatched posted mark changes nothing. Also the local bookkeeping the leader's
 * triggers and the node's admission control read (backlog, age of the uncut tail).
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

/** Version 2 added the quorum's signatures of each batch; version 1 is still read. */
const SNAPSHOT_VERSION = 2;

export interface BatchStateOptions {
  readonly store: NodeStore;
  readonly logger: Logger;
  /** Called for each batch that became posted while this node leads (the posted-batches metric). */
  readonly onPosted?: () => void;
  readonly now?: () => number;
}

export class BatchState {
  private readonly store: NodeStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private cut: StoredBatch | undefined;
  private posted: StoredBatch | undefined;
  /** When the last cut was applied here (its posting deadline runs from then). */
  private cutAppliedAtMs = 0;
  /** When the oldest committed-but-uncut transaction was applied, and a byte estimate of them. */
  private uncutSinceMs: number | undefined;
  private uncutBytesEstimate = 0;
  /** Cuts this node's own log does not reproduce (never signed here). */
  mismatchedCuts = 0;
  private readonly cutWaiters = new Set<() => void>();

  constructor(private readonly opts: BatchStateOptions) {
    this.store = opts.store;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
  }

  get lastCut(): StoredBatch | undefined {
    return this.cut;
  }

  get lastPosted(): StoredBatch | undefined {
    return this.posted;
  }

  get cutAppliedAt(): number {
    return this.cutAppliedAtMs;
  }

  get uncutSince(): number | undefined {
    return this.uncutSinceMs;
  }

  get uncutBytes(): number {
    return this.uncutBytesEstimate;
  }

  /** Loads the batch state from the store after a restart. */
  async recover(): Promise<void> {
    const [last, before] = await this.store.lastBatches(2);
    this.cut = last;
    this.posted = last?.posted !== undefined ? last : before?.posted !== undefined ? before : undefined;
    this.cutAppliedAtMs = this.now();
    this.uncutSinceMs = this.backlog() > 0 ? this.now() : undefined;
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
          this.uncutBytesEstimate += encodedTxSize(txs[i]!.data);
        }
        this.uncutSinceMs ??= this.now();
      }
      const record = recordAt.get(e.index);
      if (record?.kind === "batchCut") {
        const cut = this.applyCut(record.header, e.firstPosition);
        if (cut !== undefined) {
          updates.set(cut.header.batchNumber, cut);
          await this.checkAgainstLog(cut.header, overlay);
        }
      } else if (record?.kind === "batchPosted") {
        const posted = this.applyPosted(record.posted);
        if (posted !== undefined) updates.set(posted.header.batchNumber, posted);
      } else if (record?.kind === "batchSigned") {
        const signed = this.applySigned(record.batchNumber, record.batchHash, record.signatures);
        if (signed !== undefined) updates.set(signed.header.batchNumber, signed);
      }
    }
    if (updates.size > 0) await this.store.putBatches([...updates.values()]);
    this.wakeCutWaiters();
  }

  private applyCut(h: StoredBatchHeader, nextPosition: number): StoredBatch | undefined {
    const last = this.cut;
    if (last !== undefined && sameBatchHeader(last.header, h)) return undefined; // a duplicate proposal
    if (last !== undefined && last.posted === undefined && sameBatchContent(last.header, h)) {
      // Re-cut of the unposted batch under another epoch (old set out of reach, or L1's epoch).
      this.cut = { header: h };
      this.cutAppliedAtMs = this.now();
      this.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, previousEpoch: last.header.epoch }, "batch re-cut under another epoch");
      return this.cut;
    }
    const expectedNumber = (last?.header.batchNumber ?? 0) + 1;
    const expectedFirst = last === undefined ? 0 : last.header.lastPosition + 1;
    const problem =
      last !== undefined && last.posted === undefined
        ? `batch ${last.header.batchNumber} is not posted yet`
        : h.batchNumber !== expectedNumber
          ? `batch number ${h.batchNumber}, expected ${expectedNumber}`
          : h.prevBatchHash !== nextPrevHash(last?.header)
            ? `prevBatchHash ${h.prevBatchHash} does not chain to batch ${expectedNumber - 1}`
            : h.firstPosition !== expectedFirst
              ? `firstPosition ${h.firstPosition}, expected ${expectedFirst}`
              : h.lastPosition < h.firstPosition || h.lastPosition >= nextPosition
                ? `range [${h.firstPosition}, ${h.lastPosition}] is not committed before the cut (next position ${nextPosition})`
                : undefined;
    if (problem !== undefined) {
      this.logger.error({ batchNumber: h.batchNumber, epoch: h.epoch, problem }, "ignoring an invalid batch cut from the replicated log");
      return undefined;
    }
    this.cut = { header: h };
    this.cutAppliedAtMs = this.now();
    this.uncutBytesEstimate = 0; // an estimate: only a trigger; the cut itself is bounded exactly
    this.uncutSinceMs = undefined;
    if (nextPosition > h.lastPosition + 1) this.uncutSinceMs = this.now();
    return this.cut;
  }

  private applyPosted(p: BatchPostedRecord): StoredBatch | undefined {
    const last = this.cut;
    if (last === undefined || last.header.batchNumber !== p.batchNumber || storedBatchHash(last.header) !== p.batchHash) {
      if (this.posted?.header.batchNumber === p.batchNumber && this.posted.posted?.batchHash === p.batchHash) return undefined;
      this.logger.error({ batchNumber: p.batchNumber, batchHash: p.batchHash }, "ignoring a batchPosted record that matches no applied cut");
      return undefined;
    }
    if (last.posted !== undefined) return undefined; // a duplicate proposal
    const posted: StoredBatch = { ...last, posted: { batchHash: p.batchHash, l1Block: p.l1Block, l1TxHash: p.l1TxHash } };
    this.cut = posted;
    this.posted = posted;
    this.opts.onPosted?.();
    return posted;
  }

  /**
   * Records the quorum's signatures of the last cut. Nothing checks them here (which stake
   * signed depends on each node's view of L1): whoever relies on them verifies them
   * (node/commitments/batch-commitment.ts). A record for another header changes nothing.
   */
  private applySigned(batchNumber: number, batchHash: Hex, signatures: readonly Hex[]): StoredBatch | undefined {
    const last = this.cut;
    if (last === undefined || last.header.batchNumber !== batchNumber || storedBatchHash(last.header) !== batchHash) {
      this.logger.info({ batchNumber, batchHash }, "ignoring batch signatures for a header that is not the last cut");
      return undefined;
    }
    this.cut = { ...last, signatures };
    if (this.posted === last) this.posted = this.cut;
    return this.cut;
  }

  /** A local check (never part of the replicated state): does this node's log give the same header? */
  private async checkAgainstLog(h: StoredBatchHeader, overlay: ReadonlyMap<number, BatchTx> | undefined): Promise<void> {
    try {
      const derived = await deriveBatch(this.store, h, overlay);
      if (sameBatchHeader(derived.header, h)) return;
      this.mismatchedCuts++;
      this.logger.error({ batchNumber: h.batchNumber, epoch: h.epoch, cut: h, ownLog: derived.header }, "BATCH CUT DOES NOT MATCH THIS NODE'S LOG: it will never be signed here");
    } catch (error) {
      if (!(error instanceof BatchHistoryMissingError)) throw error;
      this.logger.info({ batchNumber: h.batchNumber, err: error.message }, "batch cut not checked yet: history still backfilling");
    }
  }

  /** The batch part of a snapshot: last posted and last cut. */
  snapshotData(): Uint8Array {
    const w = new Writer(400);
    w.u8(SNAPSHOT_VERSION);
    const batches = [this.posted, this.cut].filter((b): b is StoredBatch => b !== undefined);
    const distinct = batches.filter((b, i) => i === 0 || b.header.batchNumber !== batches[0]!.header.batchNumber);
    w.varint(distinct.length);
    for (const b of distinct) writeStoredBatch(w, b);
    return w.finish();
  }

  /** Restores the batch part of an installed snapshot (before its applied index moves). */
  async restore(data: Uint8Array, meta: Snapshot["meta"]): Promise<void> {
    if (data.length === 0) return;
    const r = new Reader(data, "batch snapshot state");
    const version = r.u8("version");
    if (version !== SNAPSHOT_VERSION && version !== 1) throw new Error(`batch snapshot state version ${version} is not supported`);
    const n = r.count(2, 10, "batch");
    const batches: StoredBatch[] = [];
    for (let i = 0; i < n; i++) batches.push(readStoredBatch(r, version === 1));
    r.end();
    await this.store.putBatches(batches, { sync: true });
    const last = batches.at(-1);
    this.cut = last;
    this.posted = [...batches].reverse().find((b) => b.posted !== undefined);
    this.cutAppliedAtMs = this.now();
    this.uncutSinceMs = meta.nextPosition > (last === undefined ? 0 : last.header.lastPosition + 1) ? this.now() : undefined;
    this.wakeCutWaiters();
  }

  /** Committed positions after the last cut. */
  backlog(): number {
    const next = this.cut === undefined ? 0 : this.cut.header.lastPosition + 1;
    return Math.max(0, this.store.status().nextPosition - next);
  }

  /** Committed positions not yet in a batch posted on L1. */
  unposted(): number {
    const next = this.posted === undefined ? 0 : this.posted.header.lastPosition + 1;
    return Math.max(0, this.store.status().nextPosition - next);
  }

  /**
   * The applied cut for `h`'s batch number, waiting up to `waitMs` when a request for a newer
   * cut (or the same cut under a later epoch) outran this node's log.
   */
  async appliedCut(h: StoredBatchHeader, waitMs: number, stopped: () => boolean): Promise<StoredBatch | undefined> {
    const lookup = async () => {
      if (this.cut?.header.batchNumber === h.batchNumber) return this.cut;
      return this.store.getBatch(h.batchNumber);
    };
    const deadline = this.now() + waitMs;
    for (;;) {
      const found = await lookup();
      if (found !== undefined && sameBatchHeader(found.header, h)) return found;
      const ahead = found === undefined || (found.posted === undefined && found.header.epoch < h.epoch);
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
