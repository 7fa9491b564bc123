/**
 * The batcher. Every node applies `batchCut` / `batchPosted` records from the replicated log
 * into its store and signs, on request, only a header equal to an applied cut that its own log
 * reproduces. The leader cuts committed positions into batches (size, bytes or age), gathers a
 * strict majority of the header epoch's set, submits to the BatchInbox, waits for confirmations
 * and records `batchPosted`. One batch is in flight at a time, so the backlog is simply the
 * committed positions after the last cut, and a new leader only ever has to finish that one
 * cut: it reads the inbox first, so a batch L1 already accepted is marked, never posted twice.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import type { Entry, NodeId, Snapshot } from "../consensus/index.js";
import { Reader, Writer, bytesToHex } from "../codec/index.js";
import { domain, recoverBatchHeaderSigner, signBatchHeader, type SequencerDomain } from "../commitments/typed-data.js";
import { batchInboxAbi } from "../l1/generated/abi.js";
import { ConflictingBatchHeaderError, type NodeStore } from "../storage/index.js";
import { sameBatchContent, sameBatchHeader, type StoredBatch, type StoredBatchHeader } from "../domain/index.js";
import { readStoredBatch, writeStoredBatch } from "../domain/types.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { decodeAppRecord, encodeAppRecord, type BatchPostedRecord } from "../domain/records.js";
import { encodedBatchSize, encodedTxSize } from "./format.js";
import { BatchHistoryMissingError, buildBatch, deriveBatch, nextPrevHash, storedBatchHash, toBatchHeader, type BatchTx } from "./header.js";
import { BatchChainConflictError, BatchL1Error, BatchSigningRefusedError, QuorumNotReachedError } from "./errors.js";
import { decodeSignatureRequest, decodeSignatureResponse, encodeSignatureRequest, encodeSignatureResponse } from "./wire.js";

/** The members of an epoch's active set that may sign its headers. */
export interface BatchEpochView {
  readonly members: readonly { readonly nodeId: NodeId; readonly signer: Address }[];
}

export interface BatchLimits {
  readonly maxTxs: number;
  readonly maxBytes: number;
  readonly intervalMs: number;
  readonly deadlineMs: number;
  readonly maxUnpostedTxs: number;
  readonly l1Confirmations: number;
}

export interface BatchServiceOptions {
  readonly store: NodeStore;
  /** The node's signing key: signs batch headers (EIP-712, registry domain). */
  readonly signer: LocalAccount;
  readonly chainId: number;
  readonly registry: Address;
  readonly inbox: Address;
  /** First L1 block worth searching for inbox events (the deployment block). */
  readonly inboxFromBlock: bigint;
  readonly publicClient: PublicClient;
  /** Pays for `submitBatch` (batcherKeyFile, or the signer key). */
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly limits: BatchLimits;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
  readonly selfId: NodeId;
  /** True while this node leads and may propose (history complete). */
  readonly isLeader: () => boolean;
  /** The current L1 epoch as the node follows it. */
  readonly epoch: () => number;
  readonly epochView: (epoch: number) => Promise<BatchEpochView>;
  /** Sends a `batchSignature` request to a member; resolves with its response payload. */
  readonly request: (nodeId: NodeId, payload: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  /** Replicates an app record (false when this node is no longer the leader). */
  readonly proposeApp: (data: Uint8Array) => boolean;
  /** How often the leader loop runs (default 200 ms). */
  readonly pollMs?: number;
  readonly signatureTimeoutMs?: number;
  /** How long a member waits for a requested header's cut to be applied (default 2 s). */
  readonly cutWaitMs?: number;
  /** Back-off after a failure: base doubling up to the cap (defaults 500 ms, 30 s). */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly now?: () => number;
}

/** What `status()` reports (also under `batches` in the node's status). */
export interface BatchStatus {
  readonly lastCut: { batchNumber: number; epoch: number; firstPosition: number; lastPosition: number; posted: boolean } | null;
  readonly lastPosted: { batchNumber: number; lastPosition: number; l1Block: number; l1TxHash: Hex } | null;
  /** Committed positions not yet in a batch accepted on L1. */
  readonly unpostedTxs: number;
  readonly overloaded: boolean;
  readonly missedDeadline: boolean;
  /** Failures since the leader's last progress, and in total. */
  readonly consecutiveFailures: number;
  readonly retries: number;
  readonly lastError: string | null;
  readonly mismatchedCuts: number;
}

const SNAPSHOT_VERSION = 1;

interface LeaderState {
  readonly since: number;
  /** A record proposed and not applied yet: wait for it (or for the deadline) before acting again. */
  awaiting?: { readonly what: string; readonly done: () => boolean; readonly until: number };
  /** Valid signatures gathered for one header (by batch hash), kept across retries. */
  signatures?: { readonly hash: Hex; readonly bySigner: Map<Address, Hex> };
  maxEpochLag?: number | null;
}

export class BatchService {
  private readonly store: NodeStore;
  private readonly opts: BatchServiceOptions;
  private readonly domain: SequencerDomain;
  private readonly now: () => number;
  private lastCut: StoredBatch | undefined;
  private lastPosted: StoredBatch | undefined;
  /** When the last cut was applied here (its posting deadline runs from then). */
  private cutAppliedAt = 0;
  /** When the oldest committed-but-uncut transaction was applied, and a byte estimate of them. */
  private uncutSince: number | undefined;
  private uncutBytes = 0;
  private mismatchedCuts = 0;
  private readonly cutWaiters = new Set<() => void>();
  private readonly views = new Map<number, Promise<BatchEpochView>>();
  private leader: LeaderState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private consecutiveFailures = 0;
  private retries = 0;
  private lastError: string | null = null;
  private nextAttemptAt = 0;

  constructor(opts: BatchServiceOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.domain = domain(opts.chainId, opts.registry);
    this.now = opts.now ?? Date.now;
  }

  // ------------------------------------------------------------ state (every node)

  /** Loads the batch state from the store after a restart. */
  async recover(): Promise<void> {
    const [last, before] = await this.store.lastBatches(2);
    this.lastCut = last;
    this.lastPosted = last?.posted !== undefined ? last : before?.posted !== undefined ? before : undefined;
    this.cutAppliedAt = this.now();
    this.uncutSince = this.backlog() > 0 ? this.now() : undefined;
  }

  /**
   * Applies the batch records of committed entries. Call BEFORE the store's `applyCommitted`
   * of the same entries (see NodeStore.putBatches for why that order is crash-safe).
   */
  async apply(entries: readonly Entry[]): Promise<void> {
    const applied = this.store.status().applied;
    const updates = new Map<number, StoredBatch>();
    let overlay: Map<number, BatchTx> | undefined;
    for (const e of entries) {
      if (e.index <= applied) continue;
      const txs = e.txs ?? [];
      if (txs.length > 0) {
        overlay ??= new Map();
        for (let i = 0; i < txs.length; i++) {
          overlay.set(e.firstPosition + i, { hash: txs[i]!.hash as Hex, data: txs[i]!.data });
          this.uncutBytes += encodedTxSize(txs[i]!.data);
        }
        this.uncutSince ??= this.now();
      }
      if (e.kind !== "app" || e.app === undefined) continue;
      const record = decodeAppRecord(e.app);
      if (record.kind === "batchCut") {
        const cut = this.applyCut(record.header, e.firstPosition);
        if (cut !== undefined) {
          updates.set(cut.header.batchNumber, cut);
          await this.checkAgainstLog(cut.header, overlay);
        }
      } else if (record.kind === "batchPosted") {
        const posted = this.applyPosted(record.posted);
        if (posted !== undefined) updates.set(posted.header.batchNumber, posted);
      }
    }
    if (updates.size > 0) await this.store.putBatches([...updates.values()]);
    for (const wake of this.cutWaiters) wake();
  }

  /** Deterministic on every node: a structurally invalid cut changes nothing (and is logged). */
  private applyCut(h: StoredBatchHeader, nextPosition: number): StoredBatch | undefined {
    const last = this.lastCut;
    if (last !== undefined && sameBatchHeader(last.header, h)) return undefined; // a duplicate proposal
    if (last !== undefined && last.posted === undefined && sameBatchContent(last.header, h)) {
      // Re-cut of the unposted batch under another epoch (old set out of reach, or L1's epoch).
      this.lastCut = { header: h };
      this.cutAppliedAt = this.now();
      this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, previousEpoch: last.header.epoch }, "batch re-cut under another epoch");
      return this.lastCut;
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
      this.opts.logger.error({ batchNumber: h.batchNumber, epoch: h.epoch, problem }, "ignoring an invalid batch cut from the replicated log");
      return undefined;
    }
    this.lastCut = { header: h };
    this.cutAppliedAt = this.now();
    this.uncutBytes = 0; // an estimate: only a trigger; the cut itself is bounded exactly
    this.uncutSince = undefined;
    if (nextPosition > h.lastPosition + 1) this.uncutSince = this.now();
    return this.lastCut;
  }

  private applyPosted(p: BatchPostedRecord): StoredBatch | undefined {
    const last = this.lastCut;
    if (last === undefined || last.header.batchNumber !== p.batchNumber || storedBatchHash(last.header) !== p.batchHash) {
      if (this.lastPosted?.header.batchNumber === p.batchNumber && this.lastPosted.posted?.batchHash === p.batchHash) return undefined;
      this.opts.logger.error({ batchNumber: p.batchNumber, batchHash: p.batchHash }, "ignoring a batchPosted record that matches no applied cut");
      return undefined;
    }
    if (last.posted !== undefined) return undefined; // a duplicate proposal
    const posted: StoredBatch = { header: last.header, posted: { batchHash: p.batchHash, l1Block: p.l1Block, l1TxHash: p.l1TxHash } };
    this.lastCut = posted;
    this.lastPosted = posted;
    if (this.leader !== undefined) this.opts.metrics?.batchesPosted.inc();
    return posted;
  }

  /** A local check (never part of the replicated state): does this node's log give the same header? */
  private async checkAgainstLog(h: StoredBatchHeader, overlay: ReadonlyMap<number, BatchTx> | undefined): Promise<void> {
    try {
      const derived = await deriveBatch(this.store, h, overlay);
      if (sameBatchHeader(derived.header, h)) return;
      this.mismatchedCuts++;
      this.opts.logger.error(
        { batchNumber: h.batchNumber, epoch: h.epoch, cut: h, ownLog: derived.header },
        "BATCH CUT DOES NOT MATCH THIS NODE'S LOG: it will never be signed here",
      );
    } catch (error) {
      if (!(error instanceof BatchHistoryMissingError)) throw error;
      this.opts.logger.info({ batchNumber: h.batchNumber, err: error.message }, "batch cut not checked yet: history still backfilling");
    }
  }

  /** The small batch state a node needs after installing a snapshot: last posted and last cut. */
  snapshotData(): Uint8Array {
    const w = new Writer(400);
    w.u8(SNAPSHOT_VERSION);
    const batches = [this.lastPosted, this.lastCut].filter((b): b is StoredBatch => b !== undefined);
    const distinct = batches.filter((b, i) => i === 0 || b.header.batchNumber !== batches[0]!.header.batchNumber);
    w.varint(distinct.length);
    for (const b of distinct) writeStoredBatch(w, b);
    return w.finish();
  }

  /** Restores the batch state carried by an installed snapshot (before its applied index moves). */
  async installSnapshot(snapshot: Snapshot): Promise<void> {
    if (snapshot.data.length === 0) return;
    const r = new Reader(snapshot.data, "batch snapshot state");
    const version = r.u8("version");
    if (version !== SNAPSHOT_VERSION) throw new Error(`batch snapshot state version ${version} is not supported`);
    const n = r.count(2, 10, "batch");
    const batches: StoredBatch[] = [];
    for (let i = 0; i < n; i++) batches.push(readStoredBatch(r));
    r.end();
    await this.store.putBatches(batches, { sync: true });
    const last = batches.at(-1);
    this.lastCut = last;
    this.lastPosted = [...batches].reverse().find((b) => b.posted !== undefined);
    this.cutAppliedAt = this.now();
    this.uncutSince = snapshot.meta.nextPosition > (last === undefined ? 0 : last.header.lastPosition + 1) ? this.now() : undefined;
    for (const wake of this.cutWaiters) wake();
  }

  // ------------------------------------------------------------ member side

  /** Answers a `batchSignature` request: the encoded signature, or a BatchSigningRefusedError. */
  async handleSignatureRequest(payload: Uint8Array): Promise<Uint8Array> {
    return encodeSignatureResponse(await this.sign(decodeSignatureRequest(payload)));
  }

  /**
   * Signs `h` only if it equals an applied cut that this node's own log reproduces, and records
   * it durably before the signature is returned (one header per batch number and epoch).
   */
  async sign(h: StoredBatchHeader): Promise<Hex> {
    const refuse = (reason: string, cause?: unknown): never => {
      throw new BatchSigningRefusedError(h.batchNumber, h.epoch, reason, cause === undefined ? undefined : { cause });
    };
    const applied = await this.appliedCut(h);
    if (applied === undefined) refuse("no such batch cut has been applied from the replicated log");
    if (!sameBatchHeader(applied!.header, h)) refuse("the header differs from the batch cut applied from the replicated log");
    let derived;
    try {
      derived = await deriveBatch(this.store, h);
    } catch (error) {
      if (error instanceof BatchHistoryMissingError) refuse(error.message, error);
      throw error;
    }
    if (!sameBatchHeader(derived.header, h)) {
      this.mismatchedCuts++;
      refuse(`this node's log gives merkleRoot ${derived.header.merkleRoot} and dataHash ${derived.header.dataHash}`);
    }
    const signature = await signBatchHeader(this.opts.signer, this.domain, toBatchHeader(h));
    try {
      return (await this.store.recordSignedBatchHeader({ ...h, signature })).signature;
    } catch (error) {
      if (error instanceof ConflictingBatchHeaderError) refuse(error.message, error);
      throw error;
    }
  }

  /** The applied cut for h's batch number, waiting briefly when the request outran the log. */
  private async appliedCut(h: StoredBatchHeader): Promise<StoredBatch | undefined> {
    const lookup = async () => {
      if (this.lastCut?.header.batchNumber === h.batchNumber) return this.lastCut;
      return this.store.getBatch(h.batchNumber);
    };
    const deadline = this.now() + (this.opts.cutWaitMs ?? 2_000);
    for (;;) {
      const found = await lookup();
      if (found !== undefined && sameBatchHeader(found.header, h)) return found;
      const ahead = found === undefined || (found.posted === undefined && found.header.epoch < h.epoch);
      const left = deadline - this.now();
      if (!ahead || left <= 0 || this.stopped) return found;
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

  // ------------------------------------------------------------ reporting

  private backlog(): number {
    const next = this.lastCut === undefined ? 0 : this.lastCut.header.lastPosition + 1;
    return Math.max(0, this.store.status().nextPosition - next);
  }

  private unposted(): number {
    const next = this.lastPosted === undefined ? 0 : this.lastPosted.header.lastPosition + 1;
    return Math.max(0, this.store.status().nextPosition - next);
  }

  /** Too many committed transactions wait for L1: new submissions should be refused. */
  overloaded(): boolean {
    return this.unposted() > this.opts.limits.maxUnpostedTxs;
  }

  /** This leader's oldest unposted work is older than batchDeadlineMs: leadership should move on. */
  missedDeadline(): boolean {
    if (this.leader === undefined || !this.opts.isLeader()) return false;
    const pending = this.lastCut !== undefined && this.lastCut.posted === undefined;
    const oldest = pending ? this.cutAppliedAt : this.uncutSince;
    if (oldest === undefined) return false;
    return this.now() - Math.max(oldest, this.leader.since) > this.opts.limits.deadlineMs;
  }

  status(): BatchStatus {
    const c = this.lastCut;
    const p = this.lastPosted;
    return {
      lastCut: c
        ? { batchNumber: c.header.batchNumber, epoch: c.header.epoch, firstPosition: c.header.firstPosition, lastPosition: c.header.lastPosition, posted: c.posted !== undefined }
        : null,
      lastPosted: p?.posted ? { batchNumber: p.header.batchNumber, lastPosition: p.header.lastPosition, l1Block: p.posted.l1Block, l1TxHash: p.posted.l1TxHash } : null,
      unpostedTxs: this.unposted(),
      overloaded: this.overloaded(),
      missedDeadline: this.missedDeadline(),
      consecutiveFailures: this.consecutiveFailures,
      retries: this.retries,
      lastError: this.lastError,
      mismatchedCuts: this.mismatchedCuts,
    };
  }

  // ------------------------------------------------------------ leader side

  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs ?? 200);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const wake of this.cutWaiters) wake();
    await this.running;
  }

  /** One step of the leader loop; never runs twice at once. Exposed for tests. */
  tick(): Promise<void> {
    if (this.running !== undefined || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.step().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async step(): Promise<void> {
    if (!this.opts.isLeader()) {
      this.leader = undefined;
      return;
    }
    const leader = (this.leader ??= { since: this.now() });
    const now = this.now();
    if (leader.awaiting !== undefined) {
      if (!leader.awaiting.done() && now < leader.awaiting.until) return;
      if (!leader.awaiting.done()) this.opts.logger.warn({ what: leader.awaiting.what }, "proposed batch record not applied in time; retrying");
      leader.awaiting = undefined;
    }
    if (now < this.nextAttemptAt) return;
    try {
      const pending = this.lastCut !== undefined && this.lastCut.posted === undefined ? this.lastCut : undefined;
      if (pending !== undefined) await this.advance(leader, pending.header);
      else await this.maybeCut(leader);
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

  private propose(leader: LeaderState, what: string, data: Uint8Array, done: () => boolean): void {
    if (!this.opts.proposeApp(data)) throw new Error(`lost leadership before proposing ${what}`);
    leader.awaiting = { what, done, until: this.now() + 10_000 };
  }

  private proposeCut(leader: LeaderState, header: StoredBatchHeader): void {
    this.propose(leader, `batch ${header.batchNumber} cut`, encodeAppRecord({ kind: "batchCut", header }), () =>
      this.lastCut !== undefined && sameBatchHeader(this.lastCut.header, header),
    );
  }

  /** Cuts the committed backlog when it is big enough or old enough. */
  private async maybeCut(leader: LeaderState): Promise<void> {
    const backlog = this.backlog();
    if (backlog === 0) return;
    const { maxTxs, maxBytes, intervalMs } = this.opts.limits;
    const due = backlog >= maxTxs || this.uncutBytes >= maxBytes || this.now() - (this.uncutSince ?? this.now()) >= intervalMs;
    if (!due) return;
    const first = this.lastCut === undefined ? 0 : this.lastCut.header.lastPosition + 1;
    const txs = await this.store.getTxRange(first, Math.min(backlog, maxTxs));
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
      { epoch: this.opts.epoch(), batchNumber: (this.lastCut?.header.batchNumber ?? 0) + 1, prevBatchHash: nextPrevHash(this.lastCut?.header), firstPosition: first },
      txs.slice(0, count),
    );
    this.opts.logger.info({ batchNumber: header.batchNumber, epoch: header.epoch, firstPosition: first, lastPosition: header.lastPosition }, "cutting a batch");
    this.proposeCut(leader, header);
  }

  /** Moves the unposted cut one step: mark it if L1 has it, else re-cut, sign or submit. */
  private async advance(leader: LeaderState, h: StoredBatchHeader): Promise<void> {
    const hash = storedBatchHash(h);
    const count = Number(await this.l1("read", () => this.opts.publicClient.readContract({ address: this.opts.inbox, abi: batchInboxAbi, functionName: "batchCount" })));
    if (count >= h.batchNumber) return this.markAccepted(leader, h, hash);
    if (count < h.batchNumber - 1) {
      throw new BatchChainConflictError(`the inbox holds ${count} batches but this log's batch ${h.batchNumber - 1} is marked posted (an L1 reorg deeper than the confirmation depth?)`);
    }
    const current = this.opts.epoch();
    if (h.epoch < current) {
      leader.maxEpochLag ??= await this.readMaxEpochLag();
      if (leader.maxEpochLag !== null && h.epoch + leader.maxEpochLag < current) {
        this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, current }, "batch epoch too old for the inbox: re-cutting at the current epoch");
        return this.proposeCut(leader, { ...h, epoch: current });
      }
    }
    let signatures: Hex[];
    try {
      signatures = await this.gatherSignatures(leader, h, hash);
    } catch (error) {
      if (error instanceof QuorumNotReachedError && h.epoch < current) {
        this.opts.logger.warn({ batchNumber: h.batchNumber, err: error.message }, "the cut's epoch set gives no quorum: re-cutting at the current epoch");
        return this.proposeCut(leader, { ...h, epoch: current });
      }
      throw error;
    }
    if (!this.opts.isLeader()) return;
    const { data } = await deriveBatch(this.store, h);
    await this.submit(leader, h, data, signatures);
  }

  private async submit(leader: LeaderState, h: StoredBatchHeader, data: Uint8Array, signatures: Hex[]): Promise<void> {
    const { publicClient, wallet, inbox } = this.opts;
    const args = [toBatchHeader(h), bytesToHex(data), signatures] as const;
    let request;
    try {
      ({ request } = await publicClient.simulateContract({ address: inbox, abi: batchInboxAbi, functionName: "submitBatch", args, account: wallet.account, chain: wallet.chain }));
    } catch (error) {
      const revert = revertName(error);
      if (revert === "EpochTooOld") {
        this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch }, "inbox says the epoch is too old: re-cutting at the current epoch");
        if (this.opts.epoch() > h.epoch) return this.proposeCut(leader, { ...h, epoch: this.opts.epoch() });
      }
      throw new BatchL1Error("post_batch", revert !== undefined ? `submitBatch would revert with ${revert}` : shortMessage(error), { cause: error });
    }
    const txHash = await this.l1("post_batch", () => wallet.writeContract(request));
    this.opts.logger.info({ batchNumber: h.batchNumber, epoch: h.epoch, txHash, signatures: signatures.length }, "batch submitted to L1");
    const receipt = await this.l1("post_batch", () => publicClient.waitForTransactionReceipt({ hash: txHash, timeout: 60_000 }));
    if (receipt.status !== "success") throw new BatchL1Error("post_batch", `submitBatch transaction ${txHash} reverted`);
    // Confirmations and the batchPosted record follow on the next steps, through markAccepted.
  }

  /** L1 holds batch h.batchNumber: once it is the same header and buried deep enough, record it. */
  private async markAccepted(leader: LeaderState, h: StoredBatchHeader, hash: Hex): Promise<void> {
    const { publicClient, inbox } = this.opts;
    const onL1 = await this.l1("read", () => publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batch", args: [BigInt(h.batchNumber)] }));
    if (onL1.batchHash !== hash) {
      const asOnL1: StoredBatchHeader = { ...h, epoch: Number(onL1.epoch) };
      if (storedBatchHash(asOnL1) === onL1.batchHash) {
        // Another leader posted this same cut under its earlier epoch: adopt L1's epoch.
        return this.proposeCut(leader, asOnL1);
      }
      throw new BatchChainConflictError(`L1 batch ${h.batchNumber} has hash ${onL1.batchHash}, this log's cut ${hash}: the inbox holds a batch this log does not`);
    }
    const fromBlock = this.lastPosted?.posted !== undefined ? BigInt(this.lastPosted.posted.l1Block) : this.opts.inboxFromBlock;
    const [event] = await this.l1("read", () =>
      publicClient.getContractEvents({ address: inbox, abi: batchInboxAbi, eventName: "BatchAccepted", args: { batchNumber: BigInt(h.batchNumber) }, fromBlock, toBlock: "latest" }),
    );
    if (event === undefined) throw new BatchL1Error("read", `batch ${h.batchNumber} is accepted but its BatchAccepted event was not found from block ${fromBlock}`);
    const head = await this.l1("read", () => publicClient.getBlockNumber());
    const depth = Number(head - event.blockNumber) + 1;
    if (depth < this.opts.limits.l1Confirmations) return; // not buried deep enough yet: check again next step
    const posted: BatchPostedRecord = { batchNumber: h.batchNumber, batchHash: hash, l1Block: Number(event.blockNumber), l1TxHash: event.transactionHash };
    this.opts.logger.info({ ...posted, confirmations: depth }, "batch accepted on L1; recording it");
    this.propose(leader, `batch ${h.batchNumber} posted`, encodeAppRecord({ kind: "batchPosted", posted }), () => this.lastPosted?.header.batchNumber === h.batchNumber);
  }

  /** A strict majority of valid signatures of h from its epoch's set (own included when a member). */
  private async gatherSignatures(leader: LeaderState, h: StoredBatchHeader, hash: Hex): Promise<Hex[]> {
    const view = await this.epochViewOf(h.epoch);
    const needed = Math.floor(view.members.length / 2) + 1;
    if (leader.signatures?.hash !== hash) leader.signatures = { hash, bySigner: new Map() };
    const got = leader.signatures.bySigner;
    const failures: Record<string, string> = {};
    const enough = () => got.size >= needed;
    const typed = toBatchHeader(h);
    const ask = async (member: BatchEpochView["members"][number]): Promise<void> => {
      const signer = member.signer.toLowerCase() as Address;
      if (got.has(signer)) return;
      try {
        const signature =
          member.nodeId === this.opts.selfId
            ? await this.sign(h)
            : decodeSignatureResponse(await this.opts.request(member.nodeId, encodeSignatureRequest(h), this.opts.signatureTimeoutMs ?? 5_000));
        const recovered = (await recoverBatchHeaderSigner(this.domain, typed, signature)).toLowerCase();
        if (recovered !== signer) throw new Error(`signature recovers to ${recovered}, the set has ${signer} for this member`);
        got.set(signer, signature);
      } catch (error) {
        failures[member.nodeId] = (error as Error).message;
      }
    };
    if (!enough()) {
      // Everyone is asked at once; the answer is taken as soon as a majority has signed.
      await new Promise<void>((resolve) => {
        let left = view.members.length;
        if (left === 0) resolve();
        for (const m of view.members) {
          void ask(m).finally(() => {
            left--;
            if (enough() || left === 0) resolve();
          });
        }
      });
    }
    if (!enough()) throw new QuorumNotReachedError(h.batchNumber, h.epoch, got.size, needed, failures);
    return [...got.values()].slice(0, needed);
  }

  private epochViewOf(epoch: number): Promise<BatchEpochView> {
    let view = this.views.get(epoch);
    if (view === undefined) {
      view = this.opts.epochView(epoch);
      this.views.set(epoch, view);
      view.catch(() => this.views.delete(epoch));
      if (this.views.size > 8) this.views.delete(this.views.keys().next().value!);
    }
    return view;
  }

  /** The inbox's maxEpochLag, or null for an inbox without one. */
  private async readMaxEpochLag(): Promise<number | null> {
    try {
      return Number(await this.opts.publicClient.readContract({ address: this.opts.inbox, abi: batchInboxAbi, functionName: "maxEpochLag" }));
    } catch (error) {
      if (error instanceof BaseError && error.walk((e) => (e as Error).name === "ContractFunctionZeroDataError") !== null) return null;
      throw new BatchL1Error("read", shortMessage(error), { cause: error });
    }
  }

  private async l1<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new BatchL1Error(operation, shortMessage(error), { cause: error });
    }
  }
}

function shortMessage(error: unknown): string {
  return error instanceof BaseError ? error.shortMessage : (error as Error).message;
}

/** The custom error name of a contract revert, if that is what `error` is. */
function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}
