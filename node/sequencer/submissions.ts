/**
 * Transaction submission: decode and check the raw transaction, answer resubmissions with
 * the existing commitment, propose on the leader and wait for the outcome, or forward to
 * the leader over libp2p and relay its answer. A user is answered only once the
 * transaction is durable on a majority and its group's certificate is signed.
 */
import { hexToBytes, keccak256, type Hex } from "viem";
import type { NodeId, ProposalOutcome } from "../consensus/index.js";
import { ADMISSION_BUDGETS, decodeTransactions, type Admission, type AdmissionRefusal, type DecodeOptions, type DecodedTransaction, type DecodePool } from "../intake/index.js";
import type { OrderCommitmentProofJson } from "../commitments/index.js";
import { decodeSubmitRequest, decodeSubmitResponse, encodeSubmitRequest, encodeSubmitResponse } from "../codec/index.js";
import type { NodeStore } from "../storage/index.js";
import { RpcTimeoutError } from "../transport/index.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import type { CommitmentService } from "../app/commitments.js";
import { EncryptedTransactionError, positionHash } from "../app/encrypted-slots.js";
import { ThresholdError, ciphertextOverhead, decodeCiphertext, type Ciphertext } from "../threshold/index.js";
import { POSITION_TAG, encodePositionRecord } from "../domain/index.js";
import { SubmissionError } from "./errors.js";

export interface SubmissionOptions {
  readonly store: NodeStore;
  readonly commitments: CommitmentService;
  readonly intake: DecodeOptions;
  /** Worker threads for decode + sender recovery, keeping the event loop for consensus and RPC; inline without. */
  readonly decodePool?: DecodePool;
  /** How long a submission waits for its commitment before a retryable TIMEOUT. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
  /** Too many committed transactions or bytes wait for L1 (the batcher's backlog bounds): refuse new ones. */
  readonly overloaded?: () => boolean;
  /**
   * Budgets per client, charged where a submission arrives (before it is decoded), and per
   * sender, charged by the leader before it proposes (forwarded submissions included).
   */
  readonly admission?: { readonly client?: Admission; readonly sender?: Admission };
  readonly isLeader: () => boolean;
  readonly leader: () => NodeId | null;
  readonly propose: ProposeSubmission;
  /** Told of every forward to the leader and of its outcome: the censorship watch (docs/censorship.md). */
  readonly forwards?: ForwardObserver;
  /** Whether an encrypted transaction may be ordered now (its slot open): throws EncryptedTransactionError if not. */
  readonly admitCiphertext?: (ciphertext: Ciphertext) => void;
  /** Forwards an encoded submit request to a member; resolves with the encoded response. */
  readonly forward: (to: NodeId, payload: Uint8Array, timeoutMs: number, signal: AbortSignal) => Promise<Uint8Array>;
}

/** How the leader hands a submission to the Raft core (wrapped only by test/fixtures/censoring-node.ts). */
export type ProposeSubmission = (tx: { hash: string; data: Uint8Array }) => void;

/**
 * What a follower learns of its forwards: sent to `leader`, then answered, with the commitment or a
 * refusal (the leader did not take the transaction). A `timeout` answer is no answer here: the
 * leader took the transaction and did not commit it in time.
 */
export interface ForwardObserver {
  forwarded(hash: string, raw: Uint8Array, leader: NodeId): void;
  answered(hash: string): void;
}

interface Waiter {
  readonly promise: Promise<OrderCommitmentProofJson>;
  resolve(c: OrderCommitmentProofJson): void;
  reject(e: Error): void;
  readonly started: number;
  /** Date.now() by which the client must be answered. */
  readonly deadline: number;
  readonly raw: Uint8Array;
}

/** How long a forward waits for this node's view of the leader to change before asking again. */
const RETRY_MS = 50;

export class SubmissionService {
  private readonly waiters = new Map<string, Waiter>();
  /** Forwards in flight, so a leader change can cut them short. */
  private readonly forwards = new Set<AbortController>();
  /** Woken at every leadership event (leader changed, transfer aborted). */
  private readonly leaderWatchers = new Set<() => void>();
  /** Submissions being completed elsewhere after this leader failed them (transfer, step-down). */
  private readonly relocating = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: SubmissionOptions) {
    for (const budget of ADMISSION_BUDGETS) opts.metrics?.admissionRefusals.inc({ budget }, 0);
  }

  /** Submits a raw transaction, from `client` (its per-client key) if it came from one; resolves with its order commitment. */
  async submit(raw: Hex | Uint8Array, client?: string): Promise<OrderCommitmentProofJson> {
    if (this.closed) throw new SubmissionError("shutting-down", "the node is shutting down; retry on another node");
    const clients = this.opts.admission?.client;
    if (client !== undefined && clients !== undefined) {
      this.admitted(clients.admit(client, typeof raw === "string" ? (raw.length - 2) / 2 : raw.length));
    }
    const decoded = await this.decode(raw);
    const hash = decoded.hash.toLowerCase();
    const inFlight = this.waiters.get(hash);
    if (inFlight !== undefined) return inFlight.promise;
    if (this.opts.overloaded?.() === true) {
      throw new SubmissionError("overloaded", "too many committed transactions (or bytes of them) are waiting to be posted to L1; retry later");
    }
    const bytes = typeof raw === "string" ? hexToBytes(decoded.raw) : raw;
    // On the leader the core's idempotency index answers a known transaction with its
    // existing position; a follower answers from its own store rather than forward it.
    if (this.opts.isLeader()) {
      const senders = this.opts.admission?.sender;
      if (senders !== undefined) this.admitted(senders.admit(decoded.from.toLowerCase(), bytes.length));
      return this.proposeAndWait(hash, bytes);
    }
    const known = await this.existing(hash);
    return known ?? this.forwardToLeader(hash, bytes, Date.now() + this.opts.timeoutMs);
  }

  /**
   * Orders a forced transaction from the L1 queue (docs/forced-inclusion.md) on the leader: its
   * bytes as they are, valid or not (execution skips an invalid one), with no budget and no
   * overload refusal, since the inbox will refuse every batch that leaves it out past its
   * deadline. A transaction already in the log keeps its position (the core's idempotency index).
   */
  async submitForced(raw: Hex): Promise<OrderCommitmentProofJson> {
    if (this.closed) throw new SubmissionError("shutting-down", "the node is shutting down");
    if (!this.opts.isLeader()) throw noLeader("only the leader orders forced transactions");
    const hash = keccak256(raw).toLowerCase();
    return this.waiters.get(hash)?.promise ?? this.proposeAndWait(hash, hexToBytes(raw));
  }

  /**
   * Submits an encrypted transaction (node/threshold/ibe.ts's encoding): refused unless it decodes
   * and names an open slot of the current epoch, then ordered as a `0xb1` position exactly like a
   * transaction (forwarded to the leader, committed, certified); the commitment covers
   * keccak256(0xb1 ‖ ciphertext).
   */
  async submitEncrypted(raw: Hex | Uint8Array, client?: string): Promise<OrderCommitmentProofJson> {
    if (this.closed) throw new SubmissionError("shutting-down", "the node is shutting down; retry on another node");
    const bytes = typeof raw === "string" ? hexToBytes(raw) : raw;
    const clients = this.opts.admission?.client;
    if (client !== undefined && clients !== undefined) this.admitted(clients.admit(client, bytes.length));
    const admit = this.opts.admitCiphertext;
    if (admit === undefined) throw new SubmissionError("rejected", "this node does not take encrypted transactions", "encryption-unavailable");
    const limit = ciphertextOverhead(25) + this.opts.intake.maxBytes;
    if (bytes.length > limit) throw new SubmissionError("rejected", `the ciphertext is ${bytes.length} bytes, the limit is ${limit} (a ${this.opts.intake.maxBytes}-byte transaction)`, "ciphertext-too-large");
    let ciphertext: Ciphertext;
    try {
      ciphertext = decodeCiphertext(bytes);
    } catch (error) {
      if (!(error instanceof ThresholdError)) throw error;
      throw new SubmissionError("rejected", `malformed ciphertext: ${error.message}`, "malformed-ciphertext");
    }
    try {
      admit(ciphertext);
    } catch (error) {
      if (!(error instanceof EncryptedTransactionError)) throw error;
      throw new SubmissionError("rejected", error.message, error.reason);
    }
    const data = encodePositionRecord({ kind: "ciphertext", ciphertext: bytes });
    const hash = positionHash(data);
    const inFlight = this.waiters.get(hash);
    if (inFlight !== undefined) return inFlight.promise;
    if (this.opts.overloaded?.() === true) {
      throw new SubmissionError("overloaded", "too many committed transactions (or bytes of them) are waiting to be posted to L1; retry later");
    }
    if (this.opts.isLeader()) return this.proposeAndWait(hash, data);
    const known = await this.existing(hash);
    return known ?? this.forwardToLeader(hash, data, Date.now() + this.opts.timeoutMs);
  }

  /** Throws the retryable refusal when a budget ran out; its reason names the budget. */
  private admitted(refusal: AdmissionRefusal | undefined): void {
    if (refusal === undefined) return;
    this.opts.metrics?.admissionRefusals.inc({ budget: refusal.budget });
    throw new SubmissionError("overloaded", refusal.message, refusal.budget);
  }

  /** Decodes and recovers the sender on the pool's workers if there is one, else inline. */
  private async decode(raw: Hex | Uint8Array): Promise<DecodedTransaction> {
    const pool = this.opts.decodePool;
    const result = pool ? await pool.decodeOne(raw) : decodeTransactions([raw], this.opts.intake)[0]!;
    if (result.ok) return result.tx;
    throw new SubmissionError("rejected", result.error.message, result.error.code);
  }

  /** Handles a submission forwarded by another member (this node should be the leader). */
  async handleForwarded(payload: Uint8Array): Promise<Uint8Array> {
    const { rawTx } = decodeSubmitRequest(payload);
    try {
      const commitment = await this.submitAsLeader(rawTx);
      return encodeSubmitResponse({ ok: true, result: new TextEncoder().encode(JSON.stringify(commitment)) });
    } catch (error) {
      const e = error instanceof SubmissionError ? error : new SubmissionError("rejected", (error as Error).message);
      return encodeSubmitResponse({ ok: false, failure: e.failure, message: e.message, ...(e.reason === undefined ? {} : { reason: e.reason }) });
    }
  }

  /** A forwarded transaction must not be forwarded again: only the leader proposes it. An encrypted one travels as its 0xb1 record. */
  private async submitAsLeader(rawTx: Uint8Array): Promise<OrderCommitmentProofJson> {
    if (!this.opts.isLeader()) throw noLeader("this node is no longer the leader");
    return rawTx[0] === POSITION_TAG.ciphertext ? this.submitEncrypted(rawTx.subarray(1)) : this.submit(rawTx);
  }

  private async existing(hash: string): Promise<OrderCommitmentProofJson | undefined> {
    const location = await this.opts.store.getTxLocation(hash);
    if (location === undefined) return undefined;
    const found = await this.opts.commitments.commitmentAt(location.position);
    if (found.status === "certified") return found.commitment;
    // Committed, certificate not yet replicated: wait for it like a fresh submission.
    return undefined;
  }

  private proposeAndWait(hash: string, raw: Uint8Array, deadline = Date.now() + this.opts.timeoutMs): Promise<OrderCommitmentProofJson> {
    let resolve!: (c: OrderCommitmentProofJson) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<OrderCommitmentProofJson>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = { promise, resolve, reject, started: performance.now(), deadline, raw };
    this.waiters.set(hash, waiter);
    const timer = setTimeout(() => {
      if (this.waiters.get(hash) === waiter) this.waiters.delete(hash);
      reject(new SubmissionError("timeout", `no commitment for ${hash} within ${this.opts.timeoutMs} ms; it may still commit: query seq_getOrderCommitment`));
    }, Math.max(1, deadline - Date.now()));
    promise.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    this.opts.metrics?.proposals.inc();
    this.opts.propose({ hash, data: raw });
    return promise;
  }

  /**
   * This leader failed a submission it held (a transfer in progress, a step-down): the entry may
   * still commit under the next leader, or never reached the log. Either way the same bytes go to
   * whoever leads next, within the client's deadline: proposing or forwarding a known hash attaches
   * to its existing entry (the core's idempotency index), so nothing takes a second position.
   */
  private relocate(hash: string, waiter: Waiter, waitForChange: boolean): void {
    const done = (async () => {
      if (waitForChange) await this.nextLeaderEvent(waiter.deadline);
      return this.forwardToLeader(hash, waiter.raw, waiter.deadline);
    })().then(
      (commitment) => waiter.resolve(commitment),
      (error: Error) => waiter.reject(error),
    );
    this.relocating.add(done);
    void done.finally(() => this.relocating.delete(done));
  }

  /** Resolves at the next leadership event, or at `deadline`. */
  private nextLeaderEvent(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.leaderWatchers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
      this.leaderWatchers.add(wake);
    });
  }

  /**
   * Sends the submission to the leader and relays its answer, following leader changes until
   * `deadline`: a forward cut short by a leader change goes to the new leader, a member that
   * answers it is not (or no longer) the leader is asked again once this node's view moved on, and
   * while no leader is known the forward waits for one. When this node becomes the leader itself
   * it proposes. Sending twice is safe: the leader answers a known transaction with its existing
   * commitment. Only a deadline reached with the outcome unknown is an error (retryable).
   */
  private async forwardToLeader(hash: string, raw: Uint8Array, deadline: number): Promise<OrderCommitmentProofJson> {
    const payload = encodeSubmitRequest({ rawTx: raw });
    let last = "no leader was known";
    for (;;) {
      if (Date.now() >= deadline) {
        throw new SubmissionError("timeout", `no commitment for ${hash} before the deadline (${last}); it may still commit: resubmit or query seq_getOrderCommitment`);
      }
      if (this.opts.isLeader()) return this.waiters.get(hash)?.promise ?? this.proposeAndWait(hash, raw, deadline);
      const leader = this.opts.leader();
      if (leader === null) {
        await this.nextLeaderEvent(deadline);
        continue;
      }
      const abort = new AbortController();
      this.forwards.add(abort);
      this.opts.forwards?.forwarded(hash, raw, leader);
      let response;
      try {
        response = decodeSubmitResponse(await this.opts.forward(leader, payload, Math.max(1, deadline - Date.now()), abort.signal));
      } catch (cause) {
        last = `forwarding to the leader ${leader} did not complete: ${(cause as Error).message}`;
        // Cut short by a leader change: resend at once. Otherwise (a closed connection, the leader
        // gone) wait for this node's view to move on, briefly, and ask again.
        if (!abort.signal.aborted && !(cause instanceof RpcTimeoutError)) await this.nextLeaderEvent(Math.min(deadline, Date.now() + RETRY_MS));
        continue;
      } finally {
        this.forwards.delete(abort);
      }
      if (response.ok || response.failure !== "timeout") this.opts.forwards?.answered(hash);
      if (response.ok) return JSON.parse(new TextDecoder().decode(response.result)) as OrderCommitmentProofJson;
      if (response.failure !== "no-leader" && response.failure !== "shutting-down") throw new SubmissionError(response.failure, response.message, response.reason);
      last = `${leader} answered: ${response.message}`;
      await this.nextLeaderEvent(Math.min(deadline, Date.now() + RETRY_MS));
    }
  }

  /** The leader changed (or a transfer was aborted): forwards in flight to the previous one are re-sent, held submissions move on. */
  leaderChanged(): void {
    for (const abort of this.forwards) abort.abort(new Error("the leader changed"));
    for (const wake of [...this.leaderWatchers]) wake();
  }

  /** Delivers the core's per-proposal outcomes (called after the group was certified). */
  outcomes(outcomes: readonly ProposalOutcome[]): void {
    for (const o of outcomes) {
      const waiter = this.waiters.get(o.txHash);
      if (waiter === undefined) continue;
      this.waiters.delete(o.txHash);
      if (o.status === "failed") {
        // During a transfer the next leader is not known yet: wait for the change.
        this.relocate(o.txHash, waiter, o.reason === "transferring");
        continue;
      }
      this.opts.metrics?.commitLatencySeconds.observe((performance.now() - waiter.started) / 1000);
      this.answerCommitted(o.txHash, o.position, waiter).catch((error: Error) => waiter.reject(error));
    }
  }

  /**
   * Answers a committed submission with its commitment. A leader that lost its term between
   * committing and certifying leaves the certificate to the next leader: the user waits for it
   * (until the submission's deadline) instead of seeing an error for a committed transaction.
   */
  private async answerCommitted(hash: string, position: number, waiter: Waiter): Promise<void> {
    let found = await this.opts.commitments.commitmentAt(position);
    if (found.status !== "certified" && (await this.opts.commitments.whenCertified(position, waiter.deadline))) {
      found = await this.opts.commitments.commitmentAt(position);
    }
    if (found.status !== "certified") {
      throw new SubmissionError("timeout", `${hash} is committed at position ${position} but its certificate is pending; query seq_getOrderCommitment`);
    }
    this.opts.metrics?.commitments.inc();
    waiter.resolve(found.commitment);
  }

  /**
   * Graceful stop: no new submissions; those already held get up to `timeoutMs` to be answered
   * (after a leadership hand-off they are completed through the new leader), then the rest fail.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.waiters.size > 0 || this.relocating.size > 0 || this.forwards.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.close();
  }

  /** Fails every waiting submission (shutdown): clients retry elsewhere. */
  close(): void {
    this.closed = true;
    for (const [hash, waiter] of this.waiters) {
      waiter.reject(new SubmissionError("shutting-down", `the node is shutting down before ${hash} committed; retry on another node`));
    }
    this.waiters.clear();
  }
}

function noLeader(message: string): SubmissionError {
  return new SubmissionError("no-leader", message);
}

