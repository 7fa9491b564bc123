/**
 * The slashing watchtower: follows the batches the BatchInbox accepts (a confirmation depth
 * behind the L1 head, by polling), checks each against the node's own log and the order
 * commitments it holds, and submits the slashing proof when
 * - a certificate the node holds puts transaction X at position p, the accepted batch has
 *   another transaction there, and the certificate's signer is among the batch's signers
 *   (broken order commitment). A batch signed only by others proves nothing against the
 *   certificate's signer (a colluding majority could frame an honest leader); it is reported;
 * - a header the node holds for the batch number (its own signature, or the quorum's that the
 *   leader gathered) differs from the accepted one and a signer signed both: batch
 *   equivocation for the same epoch, conflicting batches when they put different transactions
 *   at a position.
 * The node runs it in-process (`watchtower: true`); `seq watch` runs it standalone.
 *
 * Checking is idempotent: offences already punished are skipped (the contract's `isSlashed`),
 * and the cursor (last checked L1 block) is persisted only after the blocks up to it were
 * checked. A batch whose positions the node's log does not hold yet is waited for: the cursor
 * stops before it and the next poll tries again. L1 failures are retried with back-off.
 *
 * A batch that cannot be read from L1 (its transaction is no direct submitBatch call, or its
 * data does not decode to the header's root) is flagged, never waited on: counted in
 * `unreadableBatches` and `seq_watchtower_unreadable_batches_total`, logged with whether its
 * root is the one this node's log gives for the range, and the batches after it are checked.
 */
import { type Address, type Hex, type PublicClient, getAddress } from "viem";
import type { NodeDeployment } from "../l1/deployment.js";
import { readAcceptedBatches, type AcceptedBatch, type UnreadableBatch } from "../l1/inbox.js";
import { oldestUncovered } from "../l1/forced-queue.js";
import type { NodeMetrics } from "../ops/metrics.js";
import type { OrderCommitmentProof } from "../commitments/certificate.js";
import { buildPositionalTree, merkleProof, merkleRoot } from "../commitments/merkle.js";
import { type BatchHeader, type SequencerDomain, batchHash, domain, orderCommitmentHash } from "../commitments/typed-data.js";
import { verifyOrderCommitment } from "../commitments/verify.js";
import { commitmentOfSignature } from "../commitments/quorum-commitment.js";
import type { Logger } from "../ops/logger.js";
import type { WatchtowerEvidence } from "./evidence.js";
import {
  BatchDataError,
  BatchLeaves,
  SlashRejectedError,
  SlashSubmitter,
  batchEquivocationOffenceId,
  brokenCommitmentArgs,
  brokenCommitmentOffenceId,
  conflictingBatchesArgs,
  conflictingBatchesOffenceId,
  signedBatchLeaf,
  signersOf,
  type SlashOutcome,
  type SlashWallet,
} from "./slashing.js";
import { type CursorScope, loadCursor, saveCursor } from "./state.js";

export interface WatchtowerOptions {
  readonly publicClient: PublicClient;
  /** Pays for slashing transactions and receives the reporter's share (the node's batcher or signer key). */
  readonly wallet: SlashWallet;
  readonly deployment: Pick<NodeDeployment, "chainId" | "sequencerRegistry" | "batchInbox" | "slashing" | "deploymentBlock">;
  readonly evidence: WatchtowerEvidence;
  /** The cursor file, e.g. `<dataDir>/watchtower.json`. */
  readonly stateFile: string;
  /** A component logger (`componentLogger(root, "watchtower")`). */
  readonly logger: Logger;
  /** L1 blocks a block must be buried under before its batches are checked. */
  readonly confirmations: number;
  /** Poll interval while caught up. */
  readonly pollMs: number;
  /** Longest wait between retries after L1 or evidence failures (default 60 s). */
  readonly maxBackoffMs?: number;
  /** Most L1 blocks scanned per run; a run that stops short is followed at once (default 5,000). */
  readonly blocksPerRun?: bigint;
  /** The forced-inclusion queue: the watchtower alarms when an uncovered item nears its deadline (docs/forced-inclusion.md). */
  readonly forcedQueue?: Address;
  /** Blocks before a forced item's deadline at which it alarms (default 10). */
  readonly forcedAlarmMarginBlocks?: number;
  /** Where unreadable batches are counted (the node's /metrics). */
  readonly metrics?: Pick<NodeMetrics, "watchtowerUnreadableBatches">;
}

/** Counters for metrics and status. */
export interface WatchtowerStats {
  readonly batchesChecked: number;
  /** Positions where an accepted batch differs from this node's log. */
  readonly mismatches: number;
  readonly slashesSubmitted: number;
  /** Accepted batches that could not be read from L1, flagged and skipped. */
  readonly unreadableBatches: number;
  /** Last L1 block whose batches are all checked (null before the first run). */
  readonly lastCheckedBlock: bigint | null;
  /** The latest failure or refused proof, with its time. */
  readonly lastError: { readonly message: string; readonly at: string } | null;
  /** First position of the accepted batch waiting for this node's log to reach it. */
  readonly waitingForPosition: bigint | null;
  /** The offences this process found, newest last (at most {@link KEPT_SLASH_REPORTS}), with when. */
  readonly recentSlashes: readonly (SlashReport & { readonly at: string })[];
}

export type SlashReport = {
  readonly offence: "broken-commitment" | "batch-equivocation" | "conflicting-batches";
  readonly batchNumber: bigint;
  readonly signer: Address;
  /** The contradicted position (not for batch equivocation). */
  readonly position?: bigint;
  readonly outcome: SlashOutcome;
};

/** An accepted batch the watchtower could not read from L1. */
export type UnreadableReport = {
  readonly batchNumber: bigint;
  readonly l1TxHash: Hex;
  readonly reason: string;
  /** Whether the header's root is the root of this node's log over the range; null when the log does not hold it yet. */
  readonly matchesOurLog: boolean | null;
};
/** A slash report as JSON has it: numbers for batch and position, the amount in decimal. */
export function slashReportView(r: SlashReport & { readonly at: string }) {
  return {
    offence: r.offence,
    batchNumber: Number(r.batchNumber),
    signer: r.signer,
    position: r.position === undefined ? null : Number(r.position),
    outcome: r.outcome.status,
    offenceId: r.outcome.offenceId,
    l1TxHash: r.outcome.status === "already-slashed" ? null : r.outcome.txHash,
    slashedOperator: r.outcome.status === "slashed" ? r.outcome.operator : null,
    amount: r.outcome.status === "slashed" ? r.outcome.amount.toString() : null,
    at: r.at,
  };
}

/** What one run did. */
export type WatchtowerRun = {
  readonly fromBlock: bigint;
  readonly toBlock: bigint;
  readonly batchesChecked: number;
  readonly slashes: readonly SlashReport[];
  /** Batches of this run that could not be read from L1, flagged and skipped. */
  readonly unreadable: readonly UnreadableReport[];
  /** True when the run reached the confirmed head (false: more blocks are waiting, or a batch is). */
  readonly caughtUp: boolean;
};

/** Slash reports kept for the node's status. */
export const KEPT_SLASH_REPORTS = 20;
const DEFAULT_MAX_BACKOFF_MS = 60_000;
const DEFAULT_BLOCKS_PER_RUN = 5_000n;

export class Watchtower {
  private readonly opts: WatchtowerOptions;
  private readonly log: Logger;
  private readonly submitter: SlashSubmitter;
  private readonly domain: SequencerDomain;
  private readonly scope: CursorScope;
  private cursor: bigint | undefined;
  /** Highest batch number fully checked by this process (a waiting run re-reads its block). */
  private checkedBatch = 0n;
  /** The forced item last alarmed about (each alarms once). */
  private forcedAlarmed: bigint | undefined;
  private counters = { batchesChecked: 0, mismatches: 0, slashesSubmitted: 0, unreadableBatches: 0 };
  private lastError: WatchtowerStats["lastError"] = null;
  private waitingFor: bigint | null = null;
  private recentSlashes: (SlashReport & { readonly at: string })[] = [];
  private running = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Runs are serialised: the poll loop and direct `runOnce` callers never interleave. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(opts: WatchtowerOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.submitter = new SlashSubmitter(opts.publicClient, opts.wallet, opts.deployment.slashing);
    this.domain = domain(opts.deployment.chainId, opts.deployment.sequencerRegistry);
    this.scope = { chainId: opts.deployment.chainId, batchInbox: opts.deployment.batchInbox };
  }

  stats(): WatchtowerStats {
    return { ...this.counters, lastCheckedBlock: this.cursor ?? null, lastError: this.lastError, waitingForPosition: this.waitingFor, recentSlashes: [...this.recentSlashes] };
  }

  /** Starts polling (first run at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.log.info({ reporter: this.submitter.reporter, confirmations: this.opts.confirmations }, "watchtower started");
    this.schedule(0);
  }

  /** Stops polling and waits for a run in progress (stop it before closing the evidence's store). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tail;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    let delay = this.opts.pollMs;
    try {
      const run = await this.runOnce();
      this.failures = 0;
      if (!run.caughtUp && this.waitingFor === null) delay = 0;
    } catch (error) {
      this.failures++;
      delay = Math.min(this.opts.pollMs * 2 ** this.failures, this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
      this.recordError(error);
      this.log.warn({ err: (error as Error).message, failures: this.failures, retryInMs: delay }, "watchtower run failed; retrying");
    }
    if (this.running) this.schedule(delay);
  }

  /**
   * Checks the accepted batches of the next confirmed blocks (up to `blocksPerRun` of them).
   * @throws on L1 or evidence failures (nothing is skipped: the next run retries the same blocks)
   */
  runOnce(): Promise<WatchtowerRun> {
    const run = this.tail.then(() => this.run());
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run(): Promise<WatchtowerRun> {
    const { publicClient, deployment } = this.opts;
    this.cursor ??= (await loadCursor(this.opts.stateFile, this.scope)) ?? deployment.deploymentBlock - 1n;
    // Rewards of earlier slashes whose claim window has closed (the contract keeps the list).
    for (const r of await this.submitter.claimRewards()) this.log.info({ offenceId: r.offenceId, amount: r.amount.toString(), l1TxHash: r.txHash }, "reporter reward paid");
    const fromBlock = this.cursor + 1n;
    // cacheTime 0: viem otherwise serves a block number up to its polling interval old.
    const safe = (await publicClient.getBlockNumber({ cacheTime: 0 })) - BigInt(this.opts.confirmations);
    await this.checkForcedDeadline(safe);
    const toBlock = minBig(safe, fromBlock + (this.opts.blocksPerRun ?? DEFAULT_BLOCKS_PER_RUN) - 1n);
    if (toBlock < fromBlock) return { fromBlock, toBlock, batchesChecked: 0, slashes: [], unreadable: [], caughtUp: true };

    const batches = await readAcceptedBatches(publicClient, deployment.batchInbox, fromBlock, toBlock);
    const slashes: SlashReport[] = [];
    const unreadable: UnreadableReport[] = [];
    let checkedTo = toBlock;
    let checked = 0;
    this.waitingFor = null;
    for (const batch of batches) {
      if (batch.batchNumber <= this.checkedBatch) continue;
      if (!batch.readable) {
        unreadable.push(await this.flagUnreadable(batch.accepted, batch.l1TxHash, batch.error));
        this.checkedBatch = batch.batchNumber;
        continue;
      }
      if (!(await this.checkBatch(batch, slashes, unreadable))) {
        checkedTo = batch.l1BlockNumber - 1n;
        this.waitingFor = batch.header.firstPosition;
        this.log.info({ batchNumber: String(batch.batchNumber), firstPosition: String(batch.header.firstPosition) }, "waiting for this node's log to reach an accepted batch");
        break;
      }
      this.checkedBatch = batch.batchNumber;
      checked++;
    }
    const at = new Date().toISOString();
    this.recentSlashes = [...this.recentSlashes, ...slashes.map((r) => ({ ...r, at }))].slice(-KEPT_SLASH_REPORTS);
    if (checkedTo > this.cursor) {
      await saveCursor(this.opts.stateFile, this.scope, checkedTo);
      this.cursor = checkedTo;
    }
    return { fromBlock, toBlock, batchesChecked: checked, slashes, unreadable, caughtUp: checkedTo === safe };
  }

  /**
   * Alarms (an error log, once per item) when the oldest forced item no accepted batch covers is
   * `forcedAlarmMarginBlocks` or fewer blocks from its deadline at the confirmed block: past it,
   * the inbox accepts no batch until one proves the item's position.
   */
  private async checkForcedDeadline(confirmed: bigint): Promise<void> {
    const queue = this.opts.forcedQueue;
    if (queue === undefined || confirmed < 0n) return;
    const oldest = await oldestUncovered(this.opts.publicClient, this.opts.deployment.batchInbox, queue, confirmed);
    if (oldest === null || oldest.index === this.forcedAlarmed) return;
    const margin = oldest.deadlineBlock - confirmed;
    if (margin > BigInt(this.opts.forcedAlarmMarginBlocks ?? 10)) return;
    this.forcedAlarmed = oldest.index;
    this.log.error({ item: String(oldest.index), deadlineBlock: String(oldest.deadlineBlock), marginBlocks: String(margin) }, "a forced transaction's inclusion deadline is near and no accepted batch covers it");
  }

  /**
   * Counts, records and logs an accepted batch whose transactions L1 does not give: no leaf of it
   * can be proven, and its positions cannot be derived from L1. Says whether its root is the
   * one this node's log gives for the range, which tells a harmless relay from a contradiction.
   */
  private async flagUnreadable(h: UnreadableBatch["accepted"], l1TxHash: Hex, error: Error): Promise<UnreadableReport> {
    this.counters.unreadableBatches++;
    this.opts.metrics?.watchtowerUnreadableBatches.inc();
    this.recordError(error);
    const count = Number(h.lastPosition - h.firstPosition + 1n);
    const mine = await this.opts.evidence.committedTxHashes(h.firstPosition, count);
    const matchesOurLog = mine.length < count ? null : merkleRoot(buildPositionalTree(h.firstPosition, mine)) === h.merkleRoot.toLowerCase();
    const report = { batchNumber: h.batchNumber, l1TxHash, reason: error.message, matchesOurLog };
    this.log.error(
      { batchNumber: String(h.batchNumber), l1TxHash, firstPosition: String(h.firstPosition), lastPosition: String(h.lastPosition), matchesOurLog, err: error.message },
      "accepted batch is unreadable from L1: flagged and skipped (its positions cannot be derived from L1, nothing can be proven against it)",
    );
    return report;
  }

  /** Checks one batch; false when the node's log does not cover its positions yet. */
  private async checkBatch(batch: AcceptedBatch, slashes: SlashReport[], unreadable: UnreadableReport[]): Promise<boolean> {
    const h = batch.header;
    const count = Number(h.lastPosition - h.firstPosition + 1n);
    const mine = await this.opts.evidence.committedTxHashes(h.firstPosition, count);
    if (mine.length < count) return false;

    let leaves: BatchLeaves | undefined;
    try {
      leaves = BatchLeaves.of(batch);
    } catch (error) {
      if (!(error instanceof BatchDataError)) throw error;
      // A quorum signed a header its data does not match (an inbox before S6 accepted that).
      unreadable.push(await this.flagUnreadable({ ...h, batchHash: batchHash(h) }, batch.l1TxHash, error));
    }
    // The inbox checked these signatures: every one recovers to a member of the epoch's set.
    const acceptedBy = await signersOf(this.domain, h, batch.signatures);
    if (leaves !== undefined) await this.checkLeaves(batch, leaves, acceptedBy, mine, slashes);
    await this.checkHeldHeaders(batch, leaves, acceptedBy, mine, slashes);
    this.counters.batchesChecked++;
    return true;
  }

  private async checkLeaves(batch: AcceptedBatch, leaves: BatchLeaves, acceptedBy: ReadonlyMap<string, Hex>, mine: readonly Hex[], slashes: SlashReport[]): Promise<void> {
    const first = batch.header.firstPosition;
    // Certificates already examined (their other positions prove nothing new), and the signers
    // already proven: the contract punishes a signer once per batch.
    const examined: { first: bigint; last: bigint }[] = [];
    const covered = (p: bigint) => examined.some((r) => p >= r.first && p <= r.last);
    const punished = new Set<string>();
    for (let i = 0; i < mine.length; i++) {
      if (mine[i]!.toLowerCase() === leaves.txHashes[i]!.toLowerCase()) continue;
      const position = first + BigInt(i);
      this.counters.mismatches++;
      if (covered(position)) continue;
      const context = { batchNumber: String(batch.batchNumber), position: String(position), ours: mine[i], batch: leaves.txHashes[i] };
      const candidates = await this.commitmentsAt(position, mine[i]!, context);
      if (candidates.length === 0) {
        this.log.warn(context, "accepted batch differs from this node's log at a position no certificate of ours covers");
        continue;
      }
      for (const c of candidates) examined.push({ first: c.leaf.certificate.firstPosition, last: c.leaf.certificate.lastPosition });
      const provable = candidates.filter((c) => acceptedBy.has(c.signer.toLowerCase()));
      if (provable.length === 0) {
        this.log.error(
          { ...context, certificateSigners: candidates.map((c) => c.signer), batchSigners: [...acceptedBy.keys()] },
          "ACCEPTED BATCH BREAKS AN ORDER COMMITMENT none of whose signers signed the batch: nobody signed both, nobody is slashable with it",
        );
        continue;
      }
      for (const { leaf, signer } of provable) {
        const key = signer.toLowerCase();
        if (punished.has(key)) continue;
        punished.add(key);
        this.log.warn({ ...context, certificate: orderCommitmentHash(leaf.certificate), signer }, "accepted batch breaks an order commitment its signer also signed");
        const outcome = await this.submit(brokenCommitmentOffenceId(signer, batch.header.batchNumber), {
          functionName: "slashBrokenCommitment",
          args: brokenCommitmentArgs(leaf, signedBatchLeaf(leaves, position, acceptedBy.get(key)!)),
        });
        if (outcome) slashes.push({ offence: "broken-commitment", batchNumber: batch.batchNumber, signer, position, outcome });
      }
    }
  }

  /**
   * Every signed statement this node holds that puts `ours` at `position`: the leader's
   * certificate and each signature of the quorum certificate, one signer each, verified offline.
   */
  private async commitmentsAt(position: bigint, ours: Hex, context: Record<string, unknown>): Promise<{ leaf: OrderCommitmentProof; signer: Address }[]> {
    const leaves: OrderCommitmentProof[] = [];
    const leader = await this.opts.evidence.certifiedLeaf(position);
    if (leader !== undefined && leader.txHash.toLowerCase() === ours.toLowerCase()) leaves.push(leader);
    const quorum = await this.opts.evidence.quorumLeaf(position);
    if (quorum !== undefined && quorum.txHash.toLowerCase() === ours.toLowerCase()) leaves.push(...quorum.signatures.map((sig) => commitmentOfSignature(quorum, sig)));
    const out: { leaf: OrderCommitmentProof; signer: Address }[] = [];
    for (const leaf of leaves) {
      const verified = await verifyOrderCommitment(leaf, { chainId: this.domain.chainId, registry: this.domain.verifyingContract });
      if (verified.valid && verified.signer !== null) {
        if (!out.some((o) => o.signer === verified.signer)) out.push({ leaf, signer: verified.signer });
        continue;
      }
      this.recordError(new Error(`a certificate covering position ${position} does not verify: ${verified.reasons.map((r) => r.message).join("; ")}`));
      this.log.error({ ...context, reasons: verified.reasons }, "accepted batch contradicts our log, but a certificate we hold for it does not verify");
    }
    return out;
  }

  /**
   * Compares the accepted header with the ones this node holds for its batch number: a common
   * signer of two headers of one epoch equivocated; of two headers that put different
   * transactions at a position, signed conflicting batches. A re-cut (same content, later epoch)
   * is no offence.
   */
  private async checkHeldHeaders(batch: AcceptedBatch, leaves: BatchLeaves | undefined, acceptedBy: ReadonlyMap<string, Hex>, mine: readonly Hex[], slashes: SlashReport[]): Promise<void> {
    const h = batch.header;
    const accepted = batchHash(h);
    const held = (await this.opts.evidence.heldBatchHeaders(h.batchNumber, h.epoch)).filter((x) => x.header.batchNumber === h.batchNumber && batchHash(x.header) !== accepted);
    for (const other of held) {
      const sameEpoch = other.header.epoch === h.epoch;
      const conflict = sameEpoch ? undefined : leaves === undefined ? undefined : await this.firstConflict(leaves, other.header, mine);
      if (!sameEpoch && conflict === undefined) continue;
      for (const [signer, sig] of await signersOf(this.domain, other.header, other.signatures)) {
        const acceptedSig = acceptedBy.get(signer);
        if (acceptedSig === undefined) continue;
        const who = getAddress(signer);
        if (conflict === undefined) {
          this.log.warn({ batchNumber: String(h.batchNumber), epoch: String(h.epoch), signer: who, accepted, other: batchHash(other.header) }, "batch equivocation: a signer signed two headers for one batch and epoch");
          const outcome = await this.submit(batchEquivocationOffenceId(who, h.batchNumber, h.epoch), {
            functionName: "slashBatchEquivocation",
            args: [h, acceptedSig, other.header, sig],
          });
          if (outcome) slashes.push({ offence: "batch-equivocation", batchNumber: h.batchNumber, signer: who, outcome });
          continue;
        }
        this.log.warn({ batchNumber: String(h.batchNumber), position: String(conflict.position), signer: who, accepted, other: batchHash(other.header) }, "conflicting batches: a signer signed two headers that disagree at a position");
        const outcome = await this.submit(conflictingBatchesOffenceId(who, h, other.header), {
          functionName: "slashConflictingBatches",
          args: conflictingBatchesArgs(conflict.position, signedBatchLeaf(leaves!, conflict.position, acceptedSig), { header: other.header, signature: sig, ...conflict.leaf }),
        });
        if (outcome) slashes.push({ offence: "conflicting-batches", batchNumber: h.batchNumber, signer: who, position: conflict.position, outcome });
      }
    }
  }

  /** The first position where `other` (a header over this node's log) disagrees with the accepted leaves, with `other`'s leaf there. */
  private async firstConflict(leaves: BatchLeaves, other: BatchHeader, mine: readonly Hex[]): Promise<{ position: bigint; leaf: { txHash: Hex; proof: Hex[] } } | undefined> {
    const count = Number(other.lastPosition - other.firstPosition + 1n);
    // `mine` is this node's log over the accepted batch's range: the usual case (a re-cut keeps the range).
    const sameRange = other.firstPosition === leaves.header.firstPosition && count === mine.length;
    const ours = sameRange ? mine : await this.opts.evidence.committedTxHashes(other.firstPosition, count);
    if (ours.length < count) return undefined;
    const tree = buildPositionalTree(other.firstPosition, ours);
    if (merkleRoot(tree) !== other.merkleRoot.toLowerCase()) return undefined; // not a header over our log: nothing we can prove with
    const from = maxBig(leaves.header.firstPosition, other.firstPosition);
    const to = minBig(leaves.header.lastPosition, other.lastPosition);
    for (let p = from; p <= to; p++) {
      const i = Number(p - other.firstPosition);
      if (ours[i]!.toLowerCase() !== leaves.at(p).txHash.toLowerCase()) return { position: p, leaf: { txHash: ours[i]!, proof: merkleProof(tree, i) } };
    }
    return undefined;
  }

  /** Submits one proof; a refused proof is logged and skipped (resending cannot help), L1 failures propagate. */
  private async submit(offenceId: Hex, call: Parameters<SlashSubmitter["submit"]>[1]): Promise<SlashOutcome | undefined> {
    try {
      const outcome = await this.submitter.submit(offenceId, call);
      if (outcome.status === "slashed" || outcome.status === "reward-taken-over") {
        this.counters.slashesSubmitted++;
        const slashed = outcome.status === "slashed" ? { operator: outcome.operator, amount: outcome.amount.toString() } : {};
        this.log.warn(
          { offenceId, call: call.functionName, ...slashed, l1TxHash: outcome.txHash, gasUsed: outcome.gasUsed.toString(), rewardClaimableFrom: outcome.rewardClaimableFrom.toString() },
          outcome.status === "slashed" ? "slashed" : "an earlier commitment of ours took the reporter reward over",
        );
      } else {
        this.log.info({ offenceId, call: call.functionName }, "offence already punished");
      }
      return outcome;
    } catch (error) {
      if (!(error instanceof SlashRejectedError)) throw error;
      this.recordError(error);
      this.log.error({ offenceId, call: call.functionName, reason: error.reason }, "the Slashing contract refused our proof");
      return undefined;
    }
  }

  private recordError(error: unknown): void {
    this.lastError = { message: (error as Error).message ?? String(error), at: new Date().toISOString() };
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
