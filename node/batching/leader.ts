/**
 * The leader's batching loop: cuts committed positions into batches (size, bytes or age), moves
 * the unposted cut through signing and posting (`BatchPoster`), waits for confirmations and
 * records `batchPosted`. One batch is in flight at a time, so the backlog is simply the committed
 * positions after the last cut, and a new leader only ever has to finish that one cut: it reads
 * the inbox first, so a batch L1 already accepted is marked, never posted twice.
 */
import type { Hex } from "viem";
import type { NodeStore } from "../storage/index.js";
import { encodeAppRecord, sameBatchHeader, type BatchPostedRecord, type StoredBatchHeader } from "../domain/index.js";
import { BatchL1Error, type InboxWriter } from "../l1/inbox-writer.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { BatchChainConflictError, QuorumNotReachedError } from "./errors.js";
import { encodedBatchSize, encodedTxSize } from "./format.js";
import { BatchHistoryMissingError, buildBatch, deriveBatch, nextPrevHash, storedBatchHash } from "./header.js";
import type { BatchPoster } from "./poster.js";
import type { BatchState } from "./state.js";

export interface BatchLimits {
  readonly maxTxs: number;
  readonly maxBytes: number;
  readonly intervalMs: number;
  readonly deadlineMs: number;
  readonly maxUnpostedTxs: number;
  readonly l1Confirmations: number;
}

export interface BatchLeaderOptions {
  readonly store: NodeStore;
  readonly state: BatchState;
  readonly poster: BatchPoster;
  readonly inbox: InboxWriter;
  /** First L1 block worth searching for inbox events (the deployment block). */
  readonly inboxFromBlock: bigint;
  readonly limits: BatchLimits;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
  /** True while this node leads and may propose (history complete). */
  readonly isLeader: () => boolean;
  /** The current L1 epoch as the node follows it. */
  readonly epoch: () => number;
  /** Replicates an app record (false when this node is no longer the leader). */
  readonly proposeApp: (data: Uint8Array) => boolean;
  /** Back-off after a failure: base doubling up to the cap (defaults 500 ms, 30 s). */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly now?: () => number;
}

interface LeaderTerm {
  readonly since: number;
  /** A record proposed and not applied yet: wait for it (or for the deadline) before acting again. */
  awaiting?: { readonly what: string; readonly done: () => boolean; readonly until: number };
  maxEpochLag?: number | null;
}

export class BatchLeader {
  private readonly opts: BatchLeaderOptions;
  private readonly state: BatchState;
  private readonly now: () => number;
  private term: LeaderTerm | undefined;
  consecutiveFailures = 0;
  retries = 0;
  lastError: string | null = null;
  private nextAttemptAt = 0;

  constructor(opts: BatchLeaderOptions) {
    this.opts = opts;
    this.state = opts.state;
    this.now = opts.now ?? Date.now;
  }

  /** True while this node runs the loop as leader (it has stepped at least once since leading). */
  get active(): boolean {
    return this.term !== undefined;
  }

  /** This leader's oldest unposted work is older than batchDeadlineMs: leadership should move on. */
  missedDeadline(): boolean {
    if (this.term === undefined || !this.opts.isLeader()) return false;
    const cut = this.state.lastCut;
    const pending = cut !== undefined && cut.posted === undefined;
    const oldest = pending ? this.state.cutAppliedAt : this.state.uncutSince;
    if (oldest === undefined) return false;
    return this.now() - Math.max(oldest, this.term.since) > this.opts.limits.deadlineMs;
  }

  /** One step of the loop (the caller makes sure steps never overlap). */
  async step(): Promise<void> {
    if (!this.opts.isLeader()) {
      this.term = undefined;
      return;
    }
    const term = (this.term ??= { since: this.now() });
    const now = this.now();
    if (term.awaiting !== undefined) {
      if (!term.awaiting.done() && now < term.awaiting.until) return;
      if (!term.awaiting.done()) this.opts.logger.warn({ what: term.awaiting.what }, "proposed batch record not applied in time; retrying");
      term.awaiting = undefined;
    }
    if (now < this.nextAttemptAt) return;
    try {
      const cut = this.state.lastCut;
      if (cut !== undefined && cut.posted === undefined) await this.advance(term, cut.header);
      else await this.maybeCut(term);
      this.consecutiveFailures = 0;
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private fail(error: Error): void {
    this.consecutiveFailures++;
    this.retries++;
    this.lastError = error.message;
    const { baseMs, maxMs } = this.opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const delay = Math.min(maxMs, baseMs * 2 ** Math.min(this.consecutiveFailures - 1, 30));
    this.nextAttemptAt = this.now() + delay;
    if (error instanceof BatchL1Error) this.opts.metrics?.l1Errors.inc({ operation: error.operation });
    this.opts.logger.warn({ err: error.message, retryInMs: delay, failures: this.consecutiveFailures }, "batch posting step failed");
  }

  private propose(term: LeaderTerm, what: string, data: Uint8Array, done: () => boolean): void {
    if (!this.opts.proposeApp(data)) throw new Error(`lost leadership before proposing ${what}`);
    term.awaiting = { what, done, until: this.now() + 10_000 };
  }

  private proposeCut(term: LeaderTerm, header: StoredBatchHeader): void {
    this.propose(term, `batch ${header.batchNumber} cut`, encodeAppRecord({ kind: "batchCut", header }), () => {
      const cut = this.state.lastCut;
      return cut !== undefined && sameBatchHeader(cut.header, header);
    });
  }

  /** Cuts the committed backlog when it is big enough or old enough. */
  private async maybeCut(term: LeaderTerm): Promise<void> {
    const backlog = this.state.backlog();
    if (backlog === 0) return;
    const { maxTxs, maxBytes, intervalMs } = this.opts.limits;
    const due = backlog >= maxTxs || this.state.uncutBytes >= maxBytes || this.now() - (this.state.uncutSince ?? this.now()) >= intervalMs;
    if (!due) return;
    const last = this.state.lastCut;
    const first = last === undefined ? 0 : last.header.lastPosition + 1;
    const txs = await this.opts.store.getTxRange(first, Math.min(backlog, maxTxs));
    if (txs.length === 0) throw new BatchHistoryMissingError(first, first + backlog - 1, first);
    let count = 0;
    let bytes = 0;
    for (const tx of txs) {
      const size = encodedTxSize(tx.data);
      if (count > 0 && encodedBatchSize(count + 1, bytes + size) > maxBytes) break;
      bytes += size;
      count++;
    }
    const { header } = buildBatch(
      { epoch: this.opts.epoch(), batchNumber: (last?.header.batchNumber ?? 0) + 1, prevBatchHash: nextPrevHash(last?.header), firstPosition: first },
      txs.slice(0, count),
    );
    this.opts.logger.info({ batchNumber: header.batchNumber, epoch: header.epoch, firstPosition: first, lastPosition: header.lastPosition }, "cutting a batch");
    this.proposeCut(term, header);
  }

  /** Moves the unposted cut one step: mark it if L1 has it, else re-cut, sign or submit. */
  private async advance(term: LeaderTerm, h: StoredBatchHeader): Promise<void> {
    const hash = storedBatchHash(h);
    const count = await this.opts.inbox.batchCount();
    if (count >= h.batchNumber) return this.markAccepted(term, h, hash);
    if (count < h.batchNumber - 1) {
      throw new BatchChainConflictError(`the inbox holds ${count} batches but this log's batch ${h.batchNumber - 1} is marked posted (an L1 reorg deeper than the confirmation depth?)`);
    }
    const current = this.opts.epoch();
    if (h.epoch < current) {
      term.maxEpochLag ??= await this.opts.inbox.maxEpochLag();
      if (term.maxEpochLag !== null && h.epoch + term.maxEpochLag < current) {
        this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, current }, "batch epoch too old for the inbox: re-cutting at the current epoch");
        return this.proposeCut(term, { ...h, epoch: current });
      }
    }
    let signatures: Hex[];
    try {
      signatures = await this.opts.poster.gatherSignatures(h, hash);
    } catch (error) {
      if (error instanceof QuorumNotReachedError && h.epoch < current) {
        this.opts.logger.warn({ batchNumber: h.batchNumber, err: error.message }, "the cut's epoch set gives no quorum: re-cutting at the current epoch");
        return this.proposeCut(term, { ...h, epoch: current });
      }
      throw error;
    }
    if (!this.opts.isLeader()) return;
    const { data } = await deriveBatch(this.opts.store, h);
    let outcome;
    try {
      outcome = await this.opts.poster.submit(h, data, signatures);
    } catch (error) {
      // Too old for the inbox, or this leader's batcher is no batcher of the cut's epoch (it
      // joined the set later): the current epoch's set signs it again.
      const recut = error instanceof BatchL1Error && (error.revert === "EpochTooOld" || error.revert === "NotBatcher") && this.opts.epoch() > h.epoch;
      if (recut) {
        this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, revert: error.revert }, "the inbox refuses the cut's epoch: re-cutting at the current epoch");
        return this.proposeCut(term, { ...h, epoch: this.opts.epoch() });
      }
      throw error;
    }
    if (outcome.status === "already-accepted") {
      // Posted by another batcher (a previous leader, any member): record it, never post it twice.
      this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, txHash: outcome.txHash }, "L1 already holds this batch: recording it once confirmed");
      return this.markAccepted(term, h, hash);
    }
    this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, txHash: outcome.txHash, signatures: signatures.length }, "batch submitted to L1");
    // Confirmations and the batchPosted record follow on the next steps, through markAccepted.
  }

  /** L1 holds batch h.batchNumber: once it is the same header and buried deep enough, record it. */
  private async markAccepted(term: LeaderTerm, h: StoredBatchHeader, hash: Hex): Promise<void> {
    const onL1 = await this.opts.inbox.batchAt(h.batchNumber);
    if (onL1.batchHash !== hash) {
      const asOnL1: StoredBatchHeader = { ...h, epoch: onL1.epoch };
      if (storedBatchHash(asOnL1) === onL1.batchHash) {
        // Another leader posted this same cut under its earlier epoch: adopt L1's epoch.
        return this.proposeCut(term, asOnL1);
      }
      throw new BatchChainConflictError(`L1 batch ${h.batchNumber} has hash ${onL1.batchHash}, this log's cut ${hash}: the inbox holds a batch this log does not`);
    }
    const lastPosted = this.state.lastPosted;
    const fromBlock = lastPosted?.posted !== undefined ? BigInt(lastPosted.posted.l1Block) : this.opts.inboxFromBlock;
    const event = await this.opts.inbox.acceptedEvent(h.batchNumber, fromBlock);
    if (event === undefined) throw new BatchL1Error("read", `batch ${h.batchNumber} is accepted but its BatchAccepted event was not found from block ${fromBlock}`);
    const head = await this.opts.inbox.headBlock();
    const depth = Number(head - event.blockNumber) + 1;
    if (depth < this.opts.limits.l1Confirmations) return; // not buried deep enough yet: check again next step
    const posted: BatchPostedRecord = { batchNumber: h.batchNumber, batchHash: hash, l1Block: Number(event.blockNumber), l1TxHash: event.transactionHash };
    this.opts.logger.info({ ...posted, confirmations: depth }, "batch accepted on L1; recording it");
    this.propose(term, `batch ${h.batchNumber} posted`, encodeAppRecord({ kind: "batchPosted", posted }), () => this.state.lastPosted?.header.batchNumber === h.batchNumber);
  }
}
