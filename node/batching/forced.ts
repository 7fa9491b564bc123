/**
 * Forced inclusion on the node (docs/forced-inclusion.md): follows the ForcedInclusionQueue and
 * the inbox's cursor at the confirmation depth; while this node leads, orders every uncovered
 * item it has not ordered yet through the normal propose path (so its sender gets an order
 * commitment like for any transaction), as soon as it is confirmed, well ahead of its deadline;
 * and gives the batch being posted the coverage proofs the inbox checks (each item from the
 * cursor on, proven against the posted batch's positional root or an accepted batch's).
 *
 * An item's bytes are ordered as they are, valid transaction or not: execution skips an invalid
 * one, and nothing the queue holds can stall the stream.
 */
import { type Address, type Hash, type Hex, type PublicClient, zeroHash } from "viem";
import { buildPositionalTree, merkleProof } from "../commitments/merkle.js";
import type { StoredBatchHeader } from "../domain/index.js";
import { readForcedCursor, readForcedItems, type ForcedItem } from "../l1/forced-queue.js";
import type { ForcedCoverageArg, InboxWriter } from "../l1/inbox-writer.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import type { NodeStore } from "../storage/index.js";
import { BatchHistoryMissingError } from "./header.js";

/** Most L1 blocks of queue events read in one poll. */
const MAX_BLOCK_RANGE = 5_000n;

export interface ForcedInclusionOptions {
  readonly client: PublicClient;
  readonly inbox: InboxWriter;
  readonly inboxAddress: Address;
  readonly queue: Address;
  /** First L1 block to read the queue from (the deployment block). */
  readonly fromBlock: bigint;
  readonly confirmations: number;
  readonly pollMs: number;
  readonly store: NodeStore;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
  /** True while this node leads and may propose. */
  readonly isLeader: () => boolean;
  /** Orders raw bytes without the intake's checks; resolves once committed (or fails, retried on a later poll). */
  readonly order: (raw: Hex) => Promise<unknown>;
  /** Items whose deadline is this close (in L1 blocks) and still uncovered are logged as alarms (default: a fifth of the delay). */
  readonly alarmMarginBlocks?: number;
}

/** What `seq_status.forced` shows. */
export interface ForcedStatus {
  /** Items before it are covered on L1 (at the confirmed block). */
  readonly cursor: number;
  /** Items ever enqueued, and those not covered yet. */
  readonly queued: number;
  readonly pending: number;
  readonly inclusionDelay: number;
  readonly confirmedBlock: number;
  /** The oldest uncovered item: its index, age and deadline in L1 blocks, and whether this log orders it already. */
  readonly oldestPending: { readonly index: number; readonly txHash: Hash; readonly ageBlocks: number; readonly deadlineBlock: number; readonly ordered: boolean } | null;
  readonly lastError: string | null;
}

export class ForcedInclusion {
  /** Uncovered items (index >= cursor) in queue order. */
  private items: ForcedItem[] = [];
  private scannedTo: bigint;
  private lastChainHash: Hash = zeroHash;
  private cursor = 0n;
  private queued = 0n;
  private inclusionDelay = 0n;
  private confirmed = 0n;
  /** Hashes of items this leader is ordering now. */
  private readonly ordering = new Set<string>();
  /** Positions of pending items known to this log (by tx hash). */
  private readonly ordered = new Set<string>();
  private readonly alarmed = new Set<bigint>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private lastError: string | null = null;

  constructor(private readonly opts: ForcedInclusionOptions) {
    this.scannedTo = opts.fromBlock - 1n;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  /** Stops polling; resolves once a poll in progress is done (the store stays usable until then). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  status(): ForcedStatus {
    const oldest = this.items[0];
    return {
      cursor: Number(this.cursor),
      queued: Number(this.queued),
      pending: this.items.length,
      inclusionDelay: Number(this.inclusionDelay),
      confirmedBlock: Number(this.confirmed),
      oldestPending:
        oldest === undefined
          ? null
          : {
              index: Number(oldest.index),
              txHash: oldest.txHash,
              ageBlocks: Number(this.confirmed - oldest.l1Block),
              deadlineBlock: Number(oldest.l1Block + this.inclusionDelay),
              ordered: this.ordered.has(oldest.txHash),
            },
      lastError: this.lastError,
    };
  }

  /** One poll: new items and the cursor at the confirmed block, then ordering (leader) and alarms. Exposed for tests. */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    try {
      const head = await this.opts.client.getBlockNumber({ cacheTime: 0 });
      const buried = head - BigInt(Math.max(0, this.opts.confirmations - 1));
      // At most MAX_BLOCK_RANGE blocks of logs per poll (providers cap eth_getLogs): a node far behind catches up over a few polls.
      const confirmed = buried - this.scannedTo > MAX_BLOCK_RANGE ? this.scannedTo + MAX_BLOCK_RANGE : buried;
      if (confirmed > this.scannedTo) {
        const fresh = await readForcedItems(this.opts.client, this.opts.queue, this.scannedTo + 1n, confirmed, this.lastChainHash);
        const view = await readForcedCursor(this.opts.client, this.opts.inboxAddress, this.opts.queue, confirmed);
        this.items.push(...fresh);
        if (fresh.length > 0) this.lastChainHash = fresh[fresh.length - 1]!.chainHash;
        this.scannedTo = confirmed;
        this.confirmed = confirmed;
        this.cursor = view.cursor;
        this.queued = view.length;
        this.inclusionDelay = view.inclusionDelay;
        this.items = this.items.filter((i) => i.index >= view.cursor);
      }
      // Still catching up: what is pending at an old block may be covered since.
      if (confirmed < buried) return;
      await this.refreshOrdered();
      if (this.opts.isLeader()) this.orderPending();
      this.report();
      this.lastError = null;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.opts.metrics?.l1Errors.inc({ operation: "follow" });
      this.opts.logger.warn({ err: this.lastError }, "following the forced-inclusion queue failed; retrying");
    }
  }

  private async refreshOrdered(): Promise<void> {
    this.ordered.clear();
    for (const item of this.items) {
      if ((await this.opts.store.getTxLocation(item.txHash)) !== undefined) this.ordered.add(item.txHash);
    }
  }

  /** Proposes every pending item this log lacks (a transaction the cluster already ordered keeps its one position). */
  private orderPending(): void {
    for (const item of this.items) {
      if (this.ordered.has(item.txHash) || this.ordering.has(item.txHash)) continue;
      this.ordering.add(item.txHash);
      this.opts.logger.info({ item: Number(item.index), txHash: item.txHash, enqueuedAt: Number(item.l1Block) }, "ordering a forced transaction from the L1 queue");
      void this.opts
        .order(item.rawTx)
        .catch((error: Error) => this.opts.logger.warn({ item: Number(item.index), err: error.message }, "ordering a forced transaction failed; retrying on the next poll"))
        .finally(() => this.ordering.delete(item.txHash));
    }
  }

  private report(): void {
    const oldest = this.items[0];
    const delay = Number(this.inclusionDelay);
    const margin = oldest === undefined ? delay : Number(oldest.l1Block + this.inclusionDelay - this.confirmed);
    const m = this.opts.metrics;
    m?.forcedPending.set(this.items.length);
    m?.forcedOldestPendingAgeBlocks.set(oldest === undefined ? 0 : Number(this.confirmed - oldest.l1Block));
    m?.forcedDeadlineMarginBlocks.set(margin);
    const alarmAt = this.opts.alarmMarginBlocks ?? Math.max(1, Math.floor(delay / 5));
    if (oldest !== undefined && margin <= alarmAt && !this.alarmed.has(oldest.index)) {
      this.alarmed.add(oldest.index);
      this.opts.logger.error(
        { item: Number(oldest.index), txHash: oldest.txHash, deadlineBlock: Number(oldest.l1Block + this.inclusionDelay), marginBlocks: margin, ordered: this.ordered.has(oldest.txHash) },
        "a forced transaction's inclusion deadline is near and no accepted batch covers it",
      );
    }
    for (const index of this.alarmed) if (index < this.cursor) this.alarmed.delete(index);
  }

  /**
   * The coverage to post with batch `h`: for each uncovered item from the inbox's cursor (as the
   * L1 node's pending state has it, where the submission is simulated) on, while this log holds
   * its transaction at a position up to `h.lastPosition`, a proof against `h`, against a cut
   * before it still on its way (`held`: L1 accepts it first), or against the accepted batch that
   * holds that position. Stops at the first item that none holds.
   */
  async coverageFor(h: StoredBatchHeader, held: readonly StoredBatchHeader[] = []): Promise<ForcedCoverageArg[]> {
    if (this.items.length === 0) return [];
    const cursor = await this.opts.inbox.forcedCursor();
    const out: ForcedCoverageArg[] = [];
    const trees = new Map<number, { first: number; tree: ReturnType<typeof buildPositionalTree> }>();
    const treeOf = async (batchNumber: number, first: number, last: number) => {
      let t = trees.get(batchNumber);
      if (t === undefined) {
        const txs = await this.opts.store.getTxRange(first, last - first + 1);
        if (txs.length !== last - first + 1) throw new BatchHistoryMissingError(first, last, first + txs.length);
        t = { first, tree: buildPositionalTree(first, txs.map((tx) => tx.hash)) };
        trees.set(batchNumber, t);
      }
      return t;
    };
    for (const item of this.items) {
      if (item.index < cursor) continue;
      const location = await this.opts.store.getTxLocation(item.txHash);
      if (location === undefined || location.position > h.lastPosition) break;
      const p = location.position;
      const cut = [h, ...held].find((c) => c.firstPosition <= p && p <= c.lastPosition);
      const target = cut !== undefined ? { batchNumber: cut.batchNumber, first: cut.firstPosition, last: cut.lastPosition } : await this.opts.inbox.batchCoveringPosition(p);
      const { first, tree } = await treeOf(target.batchNumber, target.first, target.last);
      out.push({ item: item.index, batchNumber: BigInt(target.batchNumber), position: BigInt(p), proof: merkleProof(tree, p - first) });
    }
    return out;
  }
}
