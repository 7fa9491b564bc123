/**
 * The leader's batching loop: cuts committed positions into batches (size, bytes or age), up to
 * `maxInFlight` unposted cuts at once, each chaining to the one before; moves every unposted cut
 * through signing and posting (`BatchPoster`) in batch-number order, sending batch n+1 while
 * batch n still waits in the mempool; waits for confirmations and records `batchPosted` in order.
 *
 * Every step starts from what L1 holds (the inbox's count and its BatchAccepted events), never
 * from what this leader remembers sending, so a new leader reconciles every in-flight cut the
 * same way: a batch L1 accepted is marked (never sent again), one L1 accepted under another
 * epoch is adopted by a re-cut, and the others are sent in order from the first L1 lacks.
 */
import { formatGwei, hexToBytes, keccak256, type Hash, type Hex } from "viem";
import type { NodeStore } from "../storage/index.js";
import { encodeAppRecord, sameBatchHeader, type BatchPostedRecord, type StoredBatchHeader } from "../domain/index.js";
import { FeeCapExceededError } from "../l1/fees.js";
import { BatchL1Error, MAX_ACTIVE_CAP, submitBatchTxBytes, type ForcedCoverageArg, type InboxWriter } from "../l1/inbox-writer.js";
import type { SentTx } from "../l1/tx-sender.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { BatchChainConflictError, QuorumNotReachedError, TransactionTooLargeForL1Error } from "./errors.js";
import { encodedBatchSize, encodedTxSize } from "./format.js";
import { BatchHistoryMissingError, CALLDATA_V1, batchPayload, buildBatch, deriveBatch, nextPrevHash, storedBatchHash, type BatchEncoding } from "./header.js";
import { BLOB_PAYLOAD_BYTES, blobCapacity } from "../l1/blobs.js";
import type { BatchPoster } from "./poster.js";
import type { BatchState } from "./state.js";

export interface BatchLimits {
  readonly maxTxs: number;
  readonly maxBytes: number;
  /** Most bytes of one L1 transaction carrying a batch (header, data and signatures included). */
  readonly maxL1TxBytes: number;
  readonly intervalMs: number;
  readonly deadlineMs: number;
  /** Most unposted cuts at once. */
  readonly maxInFlight: number;
  readonly maxUnpostedTxs: number;
  readonly maxUnpostedBytes: number;
  readonly l1Confirmations: number;
  /** A batch transaction still in the mempool this many L1 blocks after it was sent is replaced with a fee bump. */
  readonly replaceAfterBlocks: number;
  /** How cuts are encoded (default: v1 calldata). */
  readonly encoding?: BatchEncoding;
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
  /** The forced items a batch covers, with their proofs (node/batching/forced.ts); none without. */
  readonly forcedCoverage?: (h: StoredBatchHeader, held: readonly StoredBatchHeader[]) => Promise<ForcedCoverageArg[]>;
  /** Escape batch `n` as L1 holds it (undefined when batch `n` is no escape batch), for `adoptEscape`. */
  readonly readEscapeBatch?: (n: number) => Promise<{ header: StoredBatchHeader; raws: readonly Hex[]; l1Block: number; l1TxHash: Hex } | undefined>;
  /** Proposes transactions as one group (consecutive positions); false when no longer the leader. */
  readonly proposeTxs?: (txs: { hash: string; data: Uint8Array }[]) => boolean;
  /** How long a sent batch transaction the L1 node no longer knows (or one pending elsewhere) is waited for before sending again (default 60 s). */
  readonly resendAfterMs?: number;
  readonly now?: () => number;
}

/** A batch this term sent (or found pending in the mempool, `tx` null) and L1 has not accepted yet. */
interface Submission {
  readonly batchHash: Hex;
  readonly tx: SentTx | null;
  readonly sentAt: number;
  checkedAt: number;
  /** L1 held it once: if the L1 node then no longer knows it, a reorg dropped it. */
  seenOnL1: boolean;
  /** Its replacement waits for fees within the caps (why). */
  replacementCapped?: string;
  /** Another transaction of the account (a previous run of this node, an operator tool) took its nonce: it can never be mined. */
  nonceTaken?: boolean;
}

/** A batch transaction on its way, as `seq_status` shows it. */
export interface PendingBatchTx {
  readonly batchNumber: number;
  readonly nonce: number;
  readonly kind: string;
  readonly txHash: Hash;
  readonly maxFeePerGasGwei: string;
  readonly maxPriorityFeePerGasGwei: string;
  readonly maxFeePerBlobGasGwei?: string;
  readonly sentBlock: number;
  /** Mined, waiting for l1Confirmations (false: in the mempool). */
  readonly onL1: boolean;
  readonly replacements: number;
  readonly replacementCapped?: string;
}

/** New batch transactions wait: the L1 asks more than the caps allow. */
export interface FeeCapWait {
  readonly field: string;
  readonly neededGwei: string;
  readonly capGwei: string;
  readonly since: number;
}

interface LeaderTerm {
  readonly since: number;
  /** A record proposed and not applied yet: wait for it (or for the deadline) before acting again. */
  awaiting?: { readonly what: string; readonly done: () => boolean; readonly until: number };
  maxEpochLag?: number | null;
  /** By batch number. */
  readonly sent: Map<number, Submission>;
  /** The L1 head at the last look for stuck transactions. */
  stuckCheckedAt?: bigint;
}

/** How often the first batch on its way is checked with the L1 node (receipt, pool). */
const FATE_CHECK_MS = 1_000;

/** Reverts of a pipelined submission that only say its predecessor is not in the node's pending state yet. */
const PREDECESSOR_MISSING = new Set(["UnexpectedBatchNumber", "PrevBatchHashMismatch", "UnexpectedFirstPosition", "EpochBeforePreviousBatch"]);

export class BatchLeader {
  private readonly opts: BatchLeaderOptions;
  private readonly state: BatchState;
  private readonly now: () => number;
  private term: LeaderTerm | undefined;
  consecutiveFailures = 0;
  retries = 0;
  lastError: string | null = null;
  /** Batch transactions replaced (fee bumps) and sent again (dropped, reverted, reorged out), in total. */
  replacements = 0;
  resent = 0;
  /** Set while this leader takes an escape batch into the log: new submissions wait (they would take its positions). */
  adopting = false;
  /** Set while the first unsent cut waits for the L1's fees to fall within the caps. */
  feeCapWait: FeeCapWait | null = null;
  private nextAttemptAt = 0;
  /** The most signatures a batch may carry, as read in `epoch` (the room a cut leaves for them). */
  private signerRoom: { readonly epoch: number; readonly value: number } | undefined;

  constructor(opts: BatchLeaderOptions) {
    this.opts = opts;
    this.state = opts.state;
    this.now = opts.now ?? Date.now;
  }

  /** True while this node runs the loop as leader (it has stepped at least once since leading). */
  get active(): boolean {
    return this.term !== undefined;
  }

  /** Batches this leader has on their way to L1 (sent, not yet accepted). */
  get submitted(): number {
    return this.term?.sent.size ?? 0;
  }

  /** The transactions of the batches on their way that this leader sent, in batch-number order. */
  pendingTransactions(): PendingBatchTx[] {
    const out: PendingBatchTx[] = [];
    for (const [batchNumber, sub] of [...(this.term?.sent ?? [])].sort(([a], [b]) => a - b)) {
      if (sub.tx === null) continue;
      const { tx } = sub;
      out.push({
        batchNumber,
        nonce: tx.nonce,
        kind: tx.kind,
        txHash: tx.hashes[tx.hashes.length - 1]!,
        maxFeePerGasGwei: formatGwei(tx.fees.maxFeePerGas),
        maxPriorityFeePerGasGwei: formatGwei(tx.fees.maxPriorityFeePerGas),
        ...(tx.fees.maxFeePerBlobGas === undefined ? {} : { maxFeePerBlobGasGwei: formatGwei(tx.fees.maxFeePerBlobGas) }),
        sentBlock: Number(tx.sentBlock),
        onL1: sub.seenOnL1,
        replacements: tx.replacements,
        ...(sub.replacementCapped === undefined ? {} : { replacementCapped: sub.replacementCapped }),
      });
    }
    return out;
  }

  /** This leader's oldest unposted work is older than batchDeadlineMs: leadership should move on. */
  missedDeadline(): boolean {
    if (this.term === undefined || !this.opts.isLeader()) return false;
    const oldest = this.state.oldestCutAppliedAt ?? this.state.uncutSince;
    if (oldest === undefined) return false;
    return this.now() - Math.max(oldest, this.term.since) > this.opts.limits.deadlineMs;
  }

  /** One step of the loop (the caller makes sure steps never overlap). */
  async step(): Promise<void> {
    if (!this.opts.isLeader()) {
      this.term = undefined;
      this.setFeeCapWait(null);
      return;
    }
    if (this.term === undefined) {
      this.term = { since: this.now(), sent: new Map() };
      this.opts.inbox.resetNonce(); // another leader may have used this batcher account meanwhile
    }
    const term = this.term;
    const now = this.now();
    if (term.awaiting !== undefined) {
      if (!term.awaiting.done() && now < term.awaiting.until) return;
      if (!term.awaiting.done()) this.opts.logger.warn({ what: term.awaiting.what }, "proposed batch record not applied in time; retrying");
      term.awaiting = undefined;
    }
    if (now < this.nextAttemptAt) return;
    try {
      await this.advance(term);
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
      const held = this.state.held(header.batchNumber);
      return held !== undefined && sameBatchHeader(held.header, header);
    });
  }

  /**
   * Reconciles with L1 and moves every unposted cut a step, then cuts more while the window
   * allows: cutting (and so signing) goes on while L1 is unreachable.
   */
  private async advance(term: LeaderTerm): Promise<void> {
    let failure: unknown;
    try {
      if (await this.reconcile(term)) return;
    } catch (error) {
      failure = error;
    }
    if (this.state.unpostedCuts.length < this.opts.limits.maxInFlight) await this.maybeCut(term);
    if (failure !== undefined) throw failure;
  }

  /** What L1 holds decides every step: records, adopts and sends. True when it proposed a re-cut. */
  private async reconcile(term: LeaderTerm): Promise<boolean> {
    const count = await this.opts.inbox.batchCount();
    const postedNumber = this.state.lastPosted?.header.batchNumber ?? 0;
    if (count < postedNumber) {
      throw new BatchChainConflictError(`the inbox holds ${count} batches but this log's batch ${postedNumber} is marked posted (an L1 reorg deeper than the confirmation depth?)`);
    }
    if (await this.recordAccepted(term, count)) return true;
    const lastNumber = this.state.lastCut?.header.batchNumber ?? 0;
    if (count > lastNumber) {
      if (await this.adoptEscape(term, lastNumber + 1)) return true;
      throw new BatchChainConflictError(`the inbox holds ${count} batches, this node has applied cuts up to batch ${lastNumber} (its log is behind, or L1 holds batches this log never cut)`);
    }
    await this.replaceStuck(term, count);
    return this.sendInOrder(term, count);
  }

  /**
   * Takes escape batch `n` (made on L1 by `BatchInbox.escape` while the set was silent,
   * docs/forced-inclusion.md) into the log once it is `l1Confirmations` deep: first its
   * transactions, proposed as one group at the log's next positions, then a `batchAdopted`
   * record marking it posted. Only when no cut is in flight and nothing is committed after the
   * last posted batch (the log's next position is the escape batch's first); submissions wait
   * meanwhile (`adopting`). True while it is doing so; false when `n` is no escape batch this log
   * can take (the caller reports the conflict).
   */
  private async adoptEscape(term: LeaderTerm, n: number): Promise<boolean> {
    const { readEscapeBatch: read, proposeTxs } = this.opts;
    if (read === undefined || proposeTxs === undefined || this.state.unpostedCuts.length > 0) return false;
    const escape = await read(n);
    if (escape === undefined) return false;
    const { header: h, raws } = escape;
    const head = await this.opts.inbox.headBlock();
    this.adopting = true;
    if (Number(head - BigInt(escape.l1Block)) + 1 < this.opts.limits.l1Confirmations) return true; // not buried deep enough yet
    const next = this.opts.store.status().nextPosition;
    if (next === h.firstPosition) {
      this.opts.logger.warn({ batchNumber: n, firstPosition: h.firstPosition, lastPosition: h.lastPosition }, "L1 holds an escape batch after this log's last posted batch: taking its forced transactions into the log");
      if (!proposeTxs(raws.map((raw) => ({ hash: keccak256(raw).toLowerCase(), data: hexToBytes(raw) })))) throw new Error("lost leadership before proposing the escape batch's transactions");
      term.awaiting = { what: `escape batch ${n}'s transactions`, done: () => this.opts.store.status().nextPosition > h.lastPosition, until: this.now() + 10_000 };
      return true;
    }
    const held = next > h.lastPosition ? await this.opts.store.getTxRange(h.firstPosition, raws.length) : [];
    if (held.length !== raws.length || held.some((tx, i) => tx.hash.toLowerCase() !== keccak256(raws[i]!).toLowerCase())) {
      this.adopting = false;
      return false; // the log holds other transactions there: the set cannot resume on top of it
    }
    const posted: BatchPostedRecord = { batchNumber: n, batchHash: storedBatchHash(h), l1Block: escape.l1Block, l1TxHash: escape.l1TxHash };
    this.propose(term, `escape batch ${n} adopted`, encodeAppRecord({ kind: "batchAdopted", header: h, posted }), () => {
      const done = (this.state.lastPosted?.header.batchNumber ?? 0) >= n;
      if (done) this.adopting = false;
      return done;
    });
    return true;
  }

  /**
   * Once per L1 block: every batch transaction L1 lacks that is not mined `replaceAfterBlocks`
   * blocks after it was sent is sent again under its nonce with the bump the L1 node requires, as
   * far as the caps allow (all of them: a later nonce stuck at a low fee would hold the sequence
   * once the earlier lands).
   */
  private async replaceStuck(term: LeaderTerm, count: number): Promise<void> {
    const stuck = [...term.sent].filter(([n, sub]) => n > count && sub.tx !== null && !sub.seenOnL1);
    if (stuck.length === 0) return;
    const head = await this.opts.inbox.headBlock();
    if (term.stuckCheckedAt === head) return;
    term.stuckCheckedAt = head;
    for (const [n, sub] of stuck.sort(([a], [b]) => a - b)) {
      const tx = sub.tx!;
      if (head - tx.sentBlock < BigInt(this.opts.limits.replaceAfterBlocks)) continue;
      // Mined: the inbox count sees to it. Unknown to the L1 node after that long: evicted (Anvil
      // drops a transaction the base fee outgrew), sent again the same way.
      const fate = await this.opts.inbox.transactionFate(tx);
      if (fate === "included" || fate === "reverted") continue;
      const before = tx.hashes[tx.hashes.length - 1];
      try {
        const txHash = await this.opts.inbox.replace(tx);
        sub.replacementCapped = undefined;
        this.replacements++;
        this.opts.metrics?.batchTxReplacements.inc();
        this.opts.logger.warn(
          { batchNumber: n, nonce: tx.nonce, replaced: before, txHash, replacements: tx.replacements, maxFeePerGasGwei: formatGwei(tx.fees.maxFeePerGas), blocksWaited: Number(head - tx.sentBlock) },
          "batch transaction not mined in time: replaced it with a fee bump",
        );
      } catch (error) {
        if (error instanceof FeeCapExceededError) {
          if (sub.replacementCapped === undefined) this.opts.logger.warn({ batchNumber: n, nonce: tx.nonce, err: error.message }, "batch transaction stuck, and its replacement would exceed the fee caps: leaving it as sent");
          sub.replacementCapped = error.message;
          continue;
        }
        // Its nonce is spent and none of its hashes was mined (the fate above): another
        // transaction of this account took it, so it is sent again under a fresh nonce.
        if (/nonce.*(lower|too low)/i.test((error as Error).message)) sub.nonceTaken = true;
        // One of its hashes may have been mined meanwhile: the next look tells.
        if (error instanceof BatchL1Error) this.opts.metrics?.l1Errors.inc({ operation: error.operation });
        this.opts.logger.warn({ batchNumber: n, nonce: tx.nonce, err: (error as Error).message }, "replacing a stuck batch transaction failed");
      }
    }
  }

  /**
   * The unposted cuts L1 already accepted (numbers up to `count`): each one buried
   * `l1Confirmations` deep is recorded `batchPosted`, in order; one L1 holds under another epoch
   * (an earlier submission raced a re-cut) is adopted by a re-cut. True when it proposed a re-cut.
   */
  private async recordAccepted(term: LeaderTerm, count: number): Promise<boolean> {
    const onL1 = this.state.unpostedCuts.filter((c) => c.header.batchNumber <= count);
    if (onL1.length === 0) return false;
    for (const c of onL1) {
      const sub = term.sent.get(c.header.batchNumber);
      if (sub !== undefined) sub.seenOnL1 = true;
    }
    const lastPosted = this.state.lastPosted;
    const fromBlock = lastPosted?.posted !== undefined ? BigInt(lastPosted.posted.l1Block) : this.opts.inboxFromBlock;
    const events = await this.opts.inbox.acceptedEvents(
      onL1.map((c) => c.header.batchNumber),
      fromBlock,
    );
    const head = await this.opts.inbox.headBlock();
    const records: BatchPostedRecord[] = [];
    for (const { header: h } of onL1) {
      const n = h.batchNumber;
      const hash = storedBatchHash(h);
      const event = events.get(n);
      if (event === undefined) throw new BatchL1Error("read", `batch ${n} is accepted but its BatchAccepted event was not found from block ${fromBlock}`);
      if (event.batchHash !== hash) {
        if (records.length > 0) break; // record the batches before it first
        // Another submission of this cut won under its earlier epoch: adopt what L1 holds.
        const asOnL1: StoredBatchHeader = { ...h, epoch: event.epoch, prevBatchHash: nextPrevHash(this.state.held(n - 1)?.header) };
        if (storedBatchHash(asOnL1) !== event.batchHash) {
          throw new BatchChainConflictError(`L1 batch ${n} has hash ${event.batchHash}, this log's cut ${hash}: the inbox holds a batch this log does not`);
        }
        this.opts.logger.info({ batchNumber: n, epoch: event.epoch, cutEpoch: h.epoch }, "L1 accepted this batch under another epoch: adopting it");
        this.proposeCut(term, asOnL1);
        return true;
      }
      const depth = Number(head - event.blockNumber) + 1;
      if (depth < this.opts.limits.l1Confirmations) break; // not buried deep enough yet (nor is any later one)
      records.push({ batchNumber: n, batchHash: hash, l1Block: Number(event.blockNumber), l1TxHash: event.transactionHash });
    }
    for (const posted of records) {
      this.opts.logger.info({ ...posted, confirmations: Number(head) - posted.l1Block + 1 }, "batch accepted on L1; recording it");
      term.sent.delete(posted.batchNumber);
      this.propose(term, `batch ${posted.batchNumber} posted`, encodeAppRecord({ kind: "batchPosted", posted }), () => (this.state.lastPosted?.header.batchNumber ?? 0) >= posted.batchNumber);
    }
    return false; // sending the later cuts need not wait for these records
  }

  /**
   * Sends the unposted cuts L1 lacks, in batch-number order: the first once its predecessor is on
   * L1, each next one once its predecessor is on its way. A cut whose chain link went stale (its
   * predecessor was re-cut) or whose epoch is too old is re-cut first. True when it proposed one.
   */
  private async sendInOrder(term: LeaderTerm, count: number): Promise<boolean> {
    for (const cut of this.state.unpostedCuts) {
      const h = cut.header;
      const n = h.batchNumber;
      if (n <= count) continue;
      const hash = storedBatchHash(h);
      const sub = term.sent.get(n);
      if (sub !== undefined) {
        // Only the first one L1 lacks is looked after: every later one waits behind it.
        if (sub.batchHash === hash && (n > count + 1 || (await this.onItsWay(sub, n)))) continue;
        for (const k of [...term.sent.keys()]) if (k >= n) term.sent.delete(k);
        this.opts.inbox.resetNonce();
        this.resent++;
      }
      if (n > count + 1 && !term.sent.has(n - 1)) return false; // its predecessor is neither on L1 nor on its way
      const recut = await this.recutOf(term, h);
      if (recut !== undefined) {
        this.proposeCut(term, recut);
        return true;
      }
      const sent = await this.send(term, h, hash, n > count + 1);
      if (sent === "recut") return true;
      if (sent === "wait") return false;
    }
    return false;
  }

  /** Whether the first batch L1 lacks is still on its way (checked with the L1 node at most every FATE_CHECK_MS). */
  private async onItsWay(sub: Submission, n: number): Promise<boolean> {
    const now = this.now();
    // L1 held it and holds it no more (the inbox count fell behind it): look now.
    if (now - sub.checkedAt < FATE_CHECK_MS && !sub.seenOnL1) return true;
    sub.checkedAt = now;
    const resendAfter = this.opts.resendAfterMs ?? 60_000;
    const fate = sub.tx === null ? "unknown" : await this.opts.inbox.transactionFate(sub.tx);
    const txHash = sub.tx?.hashes[sub.tx.hashes.length - 1] ?? null;
    if (fate === "included") return true; // the inbox count catches up on the next step
    if (sub.seenOnL1) {
      // An L1 reorg took it out: still in the mempool (the L1 node put it back), or gone.
      sub.seenOnL1 = false;
      this.opts.logger.warn({ batchNumber: n, txHash, fate }, "an L1 reorg dropped the block holding this batch");
      this.opts.metrics?.batchTxsReorged.inc();
      if (fate === "pending") return true;
      this.opts.logger.warn({ batchNumber: n, txHash }, "sending it and every later one again");
      return false;
    }
    if (fate === "pending" || (fate === "unknown" && now - sub.sentAt < resendAfter && sub.nonceTaken !== true)) return true;
    this.opts.logger.warn({ batchNumber: n, txHash, fate }, "batch transaction did not make it: sending it and every later one again");
    return false;
  }

  /** The re-cut `h` needs before it is sent: chained to its re-cut predecessor, or out of its too-old epoch. */
  private async recutOf(term: LeaderTerm, h: StoredBatchHeader): Promise<StoredBatchHeader | undefined> {
    const current = this.opts.epoch();
    const prev = this.state.held(h.batchNumber - 1)?.header;
    const link = nextPrevHash(prev);
    if (h.prevBatchHash !== link || (prev !== undefined && h.epoch < prev.epoch)) {
      // Members may have signed the stale header under its epoch: the new one goes under the current one.
      this.opts.logger.info({ batchNumber: h.batchNumber, epoch: current }, "batch chained to a re-cut predecessor: re-cutting it");
      return { ...h, prevBatchHash: link, epoch: current };
    }
    if (h.epoch < current) {
      term.maxEpochLag ??= await this.opts.inbox.maxEpochLag();
      if (term.maxEpochLag !== null && h.epoch + term.maxEpochLag < current) {
        this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, current }, "batch epoch too old for the inbox: re-cutting at the current epoch");
        return { ...h, epoch: current };
      }
    }
    return undefined;
  }

  /** Signs and sends one cut; "recut" when it proposed a re-cut instead, "wait" when its predecessor must reach L1 first. */
  private async send(term: LeaderTerm, h: StoredBatchHeader, hash: Hex, pipelined: boolean): Promise<"sent" | "recut" | "wait"> {
    const current = this.opts.epoch();
    let signatures: Hex[];
    try {
      signatures = await this.opts.poster.gatherSignatures(h, hash);
    } catch (error) {
      if (error instanceof QuorumNotReachedError && h.epoch < current) {
        this.opts.logger.warn({ batchNumber: h.batchNumber, err: error.message }, "the cut's epoch set gives no quorum: re-cutting at the current epoch");
        this.proposeCut(term, { ...h, epoch: current });
        return "recut";
      }
      throw error;
    }
    if (!this.opts.isLeader()) return "wait";
    if (this.state.held(h.batchNumber)?.signatures === undefined) {
      // Every member then serves the quorum-signed header as the accountable commitment of its
      // positions (seq_getBatchCommitment) before L1 has it. Posting does not wait for it.
      this.opts.proposeApp(encodeAppRecord({ kind: "batchSigned", batchNumber: h.batchNumber, batchHash: hash, signatures }));
    }
    const { data, blobs } = await deriveBatch(this.opts.store, h);
    const held = this.state.unpostedCuts.map((c) => c.header);
    const coverage = (await this.opts.forcedCoverage?.(h, held)) ?? [];
    let tx: SentTx | null;
    try {
      tx = await this.opts.poster.submit(h, data, signatures, coverage, blobs);
    } catch (error) {
      if (error instanceof FeeCapExceededError) {
        this.setFeeCapWait(error, h.batchNumber);
        return "wait";
      }
      // Too old for the inbox, or this leader's batcher is no batcher of the cut's epoch (it
      // joined the set later): the current epoch's set signs it again.
      if (error instanceof BatchL1Error && (error.revert === "EpochTooOld" || error.revert === "NotBatcher") && this.opts.epoch() > h.epoch) {
        this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, revert: error.revert }, "the inbox refuses the cut's epoch: re-cutting at the current epoch");
        this.proposeCut(term, { ...h, epoch: this.opts.epoch() });
        return "recut";
      }
      // The L1 node's pending state does not show the predecessor (yet): send once it is included.
      if (pipelined && error instanceof BatchL1Error && error.revert !== undefined && PREDECESSOR_MISSING.has(error.revert)) return "wait";
      throw error;
    }
    this.setFeeCapWait(null);
    const now = this.now();
    term.sent.set(h.batchNumber, { batchHash: hash, tx, sentAt: now, checkedAt: now, seenOnL1: false });
    if (tx === null) this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch }, "batch already on its way to L1 in another transaction; waiting for it");
    else {
      this.opts.logger.info(
        { batchNumber: h.batchNumber, epoch: h.epoch, txHash: tx.hashes[0], nonce: tx.nonce, maxFeePerGasGwei: formatGwei(tx.fees.maxFeePerGas), signatures: signatures.length, forcedCovered: coverage.length, pipelined },
        "batch submitted to L1",
      );
    }
    return "sent";
  }

  /** Enters (with the error that says why) or leaves the fee cap wait; logged once on entering. */
  private setFeeCapWait(error: FeeCapExceededError | null, batchNumber?: number): void {
    if (error === null) {
      if (this.feeCapWait !== null) this.opts.logger.info({}, "the L1's fees are within the caps again: posting");
      this.feeCapWait = null;
    } else {
      if (this.feeCapWait === null) this.opts.logger.warn({ batchNumber, err: error.message }, "not posting: the L1's fees are above the caps");
      this.feeCapWait = { field: error.field, neededGwei: formatGwei(error.needed), capGwei: formatGwei(error.cap), since: this.feeCapWait?.since ?? this.now() };
    }
    this.opts.metrics?.l1FeeCapWaiting.set(this.feeCapWait === null ? 0 : 1);
  }

  /** The most signatures a cut must leave room for: re-read each epoch; while L1 is unreachable the last known, else the registry's cap. */
  private async maxSigners(): Promise<number> {
    const epoch = this.opts.epoch();
    if (this.signerRoom?.epoch === epoch) return this.signerRoom.value;
    try {
      this.signerRoom = { epoch, value: await this.opts.inbox.maxSigners() };
      return this.signerRoom.value;
    } catch (error) {
      if (!(error instanceof BatchL1Error)) throw error;
      return this.signerRoom?.value ?? MAX_ACTIVE_CAP;
    }
  }

  /**
   * Cuts the committed positions after the last cut when they are many, big or old enough: as
   * many as fit `maxTxs`, `maxBytes` of (uncompressed) data and one L1 transaction: in calldata
   * with a signature from every seat within `maxL1TxBytes`, in blob mode within `maxBlobs` blobs.
   * A compressed or blob cut is sized on its encoded bytes: fewer transactions while they do not fit.
   */
  private async maybeCut(term: LeaderTerm): Promise<void> {
    const backlog = this.state.backlog();
    if (backlog === 0) return;
    const { maxTxs, maxBytes, maxL1TxBytes, intervalMs } = this.opts.limits;
    const encoding = this.opts.limits.encoding ?? CALLDATA_V1;
    const due = backlog >= maxTxs || this.state.uncutBytes >= maxBytes || this.now() - (this.state.uncutSince ?? this.now()) >= intervalMs;
    if (!due) return;
    const last = this.state.lastCut;
    const first = last === undefined ? 0 : last.header.lastPosition + 1;
    const txs = await this.opts.store.getTxRange(first, Math.min(backlog, maxTxs));
    if (txs.length === 0) throw new BatchHistoryMissingError(first, first + backlog - 1, first);
    const signers = await this.maxSigners();
    // Plain v1 calldata is sized exactly as it goes; any other encoding after it is built.
    const exact = encoding.maxBlobs === undefined && !encoding.compress;
    let count = 0;
    let bytes = 0;
    for (const tx of txs) {
      const size = encodedTxSize(tx.data);
      const dataBytes = encodedBatchSize(count + 1, bytes + size);
      const l1Bytes = submitBatchTxBytes(dataBytes, signers);
      if (exact && l1Bytes > maxL1TxBytes) {
        if (count === 0) throw new TransactionTooLargeForL1Error(tx.position, tx.data.length, l1Bytes, maxL1TxBytes);
        break;
      }
      if (count > 0 && dataBytes > maxBytes) break;
      bytes += size;
      count++;
    }
    const slot = { epoch: this.opts.epoch(), batchNumber: (last?.header.batchNumber ?? 0) + 1, prevBatchHash: nextPrevHash(last?.header), firstPosition: first };
    const limit = encoding.maxBlobs === undefined ? maxL1TxBytes : blobCapacity(encoding.maxBlobs);
    const sizeOf = (payload: Uint8Array) => (encoding.maxBlobs === undefined ? submitBatchTxBytes(payload.length, signers) : payload.length);
    let payload = batchPayload(txs.slice(0, count), encoding);
    while (sizeOf(payload) > limit) {
      if (count === 1) throw new TransactionTooLargeForL1Error(txs[0]!.position, txs[0]!.data.length, sizeOf(payload), limit);
      // Shrink in proportion, with a margin: compression does not scale exactly.
      count = Math.max(1, Math.min(count - 1, Math.floor((count * limit * 0.95) / sizeOf(payload))));
      payload = batchPayload(txs.slice(0, count), encoding);
    }
    const { header } = buildBatch(slot, txs.slice(0, count), encoding);
    this.opts.logger.info(
      { batchNumber: header.batchNumber, epoch: header.epoch, firstPosition: first, lastPosition: header.lastPosition, inFlight: this.state.unpostedCuts.length + 1, payloadBytes: payload.length, blobs: encoding.maxBlobs === undefined ? 0 : Math.ceil((payload.length + 1) / BLOB_PAYLOAD_BYTES) },
      "cutting a batch",
    );
    this.proposeCut(term, header);
  }
}
