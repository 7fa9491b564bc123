/**
 * The batcher of one node, composed of its parts: the replicated batch state (`state.ts`, applied
 * by the application state machine), the member signer (`signer.ts`), and, while the node leads,
 * the leader loop (`leader.ts`) posting through a `BatchPoster` (`poster.ts`) whose L1 calls live
 * in `node/l1/inbox-writer.ts`.
 */
import type { Account, Address, Chain, Hex, LocalAccount, PublicClient, Transport, WalletClient } from "viem";
import type { Entry, NodeId, Snapshot } from "../consensus/index.js";
import { domain } from "../commitments/typed-data.js";
import type { NodeStore } from "../storage/index.js";
import type { AppliedRecord, StoredBatchHeader } from "../domain/index.js";
import type { FeeCaps } from "../l1/fees.js";
import { InboxWriter } from "../l1/inbox-writer.js";
import type { TxSender } from "../l1/tx-sender.js";
import { readAcceptedBatches } from "../l1/inbox.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { ForcedInclusion } from "./forced.js";
import { BatchLeader, type BatchLimits, type FeeCapWait, type PendingBatchTx } from "./leader.js";
import { QuorumPoster, type BatchEpochView, type BatchPoster } from "./poster.js";
import { BatchSigner } from "./signer.js";
import { BatchState } from "./state.js";

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
  /** The most the batcher offers for its L1 transactions. */
  readonly feeCaps: FeeCaps;
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
  /** Proposes transactions as one group (an escape batch's, when the set resumes on top of one); false when not the leader. */
  readonly proposeTxs?: (txs: { hash: string; data: Uint8Array }[]) => boolean;
  /** The forced-inclusion queue to follow and cover (undefined in records written before it existed). */
  readonly forcedQueue?: { readonly address: Address; readonly confirmations: number; readonly pollMs: number; readonly order: (raw: Hex) => Promise<unknown> };
  /** Fault runs only (a programmatic option of SequencerNode.start): wraps the honest poster. */
  readonly wrapPoster?: (honest: BatchPoster) => BatchPoster;
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
  /** Cuts L1 has not accepted yet, and how many of them this leader has sent. */
  readonly inFlight: number;
  readonly submitted: number;
  /** This leader's batch transactions on their way (nonce, fees, replacements), in batch-number order. */
  readonly pendingTransactions: PendingBatchTx[];
  /** Batch transactions replaced with a fee bump, and sent again (dropped, reverted, reorged out), by this node in all. */
  readonly replacements: number;
  readonly resent: number;
  /** Set while new batch transactions wait for the L1's fees to fall within the caps. */
  readonly feeCapWait: FeeCapWait | null;
  /** Committed positions not yet in a batch accepted on L1, and their encoded bytes. */
  readonly unpostedTxs: number;
  readonly unpostedBytes: number;
  readonly overloaded: boolean;
  readonly missedDeadline: boolean;
  /** Failures since the leader's last progress, and in total. */
  readonly consecutiveFailures: number;
  readonly retries: number;
  readonly lastError: string | null;
  readonly mismatchedCuts: number;
}

/** Escape batch `n` as L1 holds it (undefined when batch `n` is no escape batch or not accepted yet). */
async function readEscapeBatch(client: PublicClient, inbox: InboxWriter, address: Address, fromBlock: bigint, n: number) {
  const event = (await inbox.acceptedEvents([n], fromBlock)).get(n);
  if (event === undefined) return undefined;
  const batch = (await readAcceptedBatches(client, address, event.blockNumber, event.blockNumber)).find((b) => b.batchNumber === BigInt(n));
  if (batch === undefined || !batch.readable || batch.escape === undefined) return undefined;
  const h = batch.header;
  const header: StoredBatchHeader = {
    epoch: Number(h.epoch),
    batchNumber: n,
    prevBatchHash: h.prevBatchHash,
    firstPosition: Number(h.firstPosition),
    lastPosition: Number(h.lastPosition),
    merkleRoot: h.merkleRoot,
    dataHash: h.dataHash,
  };
  return { header, raws: batch.escape.raws, l1Block: Number(event.blockNumber), l1TxHash: event.transactionHash };
}

export class BatchService {
  readonly state: BatchState;
  /** Forced inclusion, when the deployment has a queue. */
  readonly forced: ForcedInclusion | undefined;
  private readonly inbox: InboxWriter;
  /** How many batches L1 held when this node started (see `recover`). */
  private l1BatchesAtStart = 0;
  private readonly signer: BatchSigner;
  private readonly leader: BatchLeader;
  private readonly opts: BatchServiceOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: BatchServiceOptions) {
    this.opts = opts;
    const now = opts.now;
    const inbox = new InboxWriter({ publicClient: opts.publicClient, wallet: opts.wallet, inbox: opts.inbox, feeCaps: opts.feeCaps });
    this.inbox = inbox;
    this.state = new BatchState({
      store: opts.store,
      logger: opts.logger,
      onPosted: () => {
        if (this.leader.active) opts.metrics?.batchesPosted.inc();
      },
      ...(now ? { now } : {}),
    });
    this.signer = new BatchSigner({
      store: opts.store,
      state: this.state,
      signer: opts.signer,
      domain: domain(opts.chainId, opts.registry),
      stopped: () => this.stopped,
      ...(opts.cutWaitMs === undefined ? {} : { cutWaitMs: opts.cutWaitMs }),
    });
    const honest = new QuorumPoster({
      selfId: opts.selfId,
      signer: this.signer,
      inbox,
      epochView: opts.epochView,
      request: opts.request,
      ...(opts.signatureTimeoutMs === undefined ? {} : { signatureTimeoutMs: opts.signatureTimeoutMs }),
    });
    const q = opts.forcedQueue;
    this.forced =
      q === undefined
        ? undefined
        : new ForcedInclusion({
            client: opts.publicClient,
            inbox,
            inboxAddress: opts.inbox,
            queue: q.address,
            fromBlock: opts.inboxFromBlock,
            confirmations: q.confirmations,
            pollMs: q.pollMs,
            store: opts.store,
            logger: opts.logger,
            ...(opts.metrics ? { metrics: opts.metrics } : {}),
            // No forced ordering while the leader takes an escape batch into the log (its positions come first).
            isLeader: () => opts.isLeader() && !this.adoptingEscapes(),
            order: q.order,
          });
    const forced = this.forced;
    this.leader = new BatchLeader({
      store: opts.store,
      state: this.state,
      poster: opts.wrapPoster ? opts.wrapPoster(honest) : honest,
      inbox,
      inboxFromBlock: opts.inboxFromBlock,
      limits: opts.limits,
      logger: opts.logger,
      isLeader: opts.isLeader,
      epoch: opts.epoch,
      proposeApp: opts.proposeApp,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(forced ? { forcedCoverage: (h: StoredBatchHeader, held: readonly StoredBatchHeader[]) => forced.coverageFor(h, held) } : {}),
      ...(opts.proposeTxs ? { proposeTxs: opts.proposeTxs, readEscapeBatch: (n: number) => readEscapeBatch(opts.publicClient, inbox, opts.inbox, opts.inboxFromBlock, n) } : {}),
      ...(now ? { now } : {}),
    });
  }

  /**
   * Loads the batch state from the store after a restart, and reads how many batches L1 holds: if
   * more than this log cut (escape batches, made while the set was stopped), submissions wait
   * until the leader has taken them into the log, so that nothing takes their positions first.
   */
  async recover(): Promise<void> {
    await this.state.recover();
    if (this.opts.proposeTxs === undefined) return;
    try {
      const count = await this.inbox.batchCount();
      const next = (this.state.lastCut?.header.batchNumber ?? 0) + 1;
      // Only escape batches: a log merely behind the set catches up through Raft as always.
      if (count >= next && (await readEscapeBatch(this.opts.publicClient, this.inbox, this.opts.inbox, this.opts.inboxFromBlock, next)) !== undefined) this.l1BatchesAtStart = count;
    } catch (error) {
      this.opts.logger.warn({ err: (error as Error).message }, "could not read the inbox's batch count at start");
    }
  }

  /** True while batches L1 holds and this log never cut (escape batches) are being taken in. */
  private adoptingEscapes(): boolean {
    return this.leader.adopting || (this.state.lastCut?.header.batchNumber ?? 0) < this.l1BatchesAtStart;
  }

  /** Applies the batch records among `records` (see BatchState.apply for the order it needs). */
  apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void> {
    return this.state.apply(entries, records);
  }

  snapshotData(): Uint8Array {
    return this.state.snapshotData();
  }

  installSnapshot(snapshot: Snapshot): Promise<void> {
    return this.state.restore(snapshot.data, snapshot.meta);
  }

  /** The batcher account's one nonce manager: every other transaction from that account goes through it. */
  get l1Sender(): TxSender {
    return this.inbox.sender;
  }

  handleSignatureRequest(payload: Uint8Array): Promise<Uint8Array> {
    return this.signer.handleSignatureRequest(payload);
  }

  sign(h: StoredBatchHeader): Promise<Hex> {
    return this.signer.sign(h);
  }

  /** Too many committed transactions, or bytes of them, wait for L1: new submissions should be refused. */
  overloaded(): boolean {
    const { maxUnpostedTxs, maxUnpostedBytes } = this.opts.limits;
    return this.adoptingEscapes() || this.state.unposted() > maxUnpostedTxs || this.state.unpostedBytes() > maxUnpostedBytes;
  }

  missedDeadline(): boolean {
    return this.leader.missedDeadline();
  }

  status(): BatchStatus {
    const c = this.state.lastCut;
    const p = this.state.lastPosted;
    return {
      lastCut: c
        ? { batchNumber: c.header.batchNumber, epoch: c.header.epoch, firstPosition: c.header.firstPosition, lastPosition: c.header.lastPosition, posted: c.posted !== undefined }
        : null,
      lastPosted: p?.posted ? { batchNumber: p.header.batchNumber, lastPosition: p.header.lastPosition, l1Block: p.posted.l1Block, l1TxHash: p.posted.l1TxHash } : null,
      inFlight: this.state.unpostedCuts.length,
      submitted: this.leader.submitted,
      pendingTransactions: this.leader.pendingTransactions(),
      replacements: this.leader.replacements,
      resent: this.leader.resent,
      feeCapWait: this.leader.feeCapWait,
      unpostedTxs: this.state.unposted(),
      unpostedBytes: this.state.unpostedBytes(),
      overloaded: this.overloaded(),
      missedDeadline: this.missedDeadline(),
      consecutiveFailures: this.leader.consecutiveFailures,
      retries: this.leader.retries,
      lastError: this.leader.lastError,
      mismatchedCuts: this.state.mismatchedCuts,
    };
  }

  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs ?? 200);
    this.timer.unref();
    this.forced?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.state.wakeCutWaiters();
    await Promise.all([this.running, this.forced?.stop()]);
  }

  /** One step of the leader loop; never runs twice at once. Exposed for tests. */
  tick(): Promise<void> {
    if (this.running !== undefined || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.leader.step().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
