/**
 * Transaction submission: decode and check the raw transaction, answer resubmissions with
 * the existing commitment, propose on the leader and wait for the outcome, or forward to
 * the leader over libp2p and relay its answer. A user is answered only once the
 * transaction is durable on a majority and its group's certificate is signed.
 */
import { hexToBytes, type Hex } from "viem";
import type { NodeId, ProposalOutcome } from "../consensus/index.js";
import { ADMISSION_BUDGETS, decodeTransactions, type Admission, type AdmissionRefusal, type DecodeOptions, type DecodedTransaction, type DecodePool } from "../intake/index.js";
import type { OrderCommitmentProofJson } from "../commitments/index.js";
import { decodeSubmitRequest, decodeSubmitResponse, encodeSubmitRequest, encodeSubmitResponse } from "../codec/index.js";
import type { NodeStore } from "../storage/index.js";
import { RpcTimeoutError } from "../transport/index.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import type { CommitmentService } from "../app/commitments.js";
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
  readonly propose: (tx: { hash: string; data: Uint8Array }) => void;
  /** Forwards an encoded submit request to a member; resolves with the encoded response. */
  readonly forward: (to: NodeId, payload: Uint8Array, timeoutMs: number, signal: AbortSignal) => Promise<Uint8Array>;
}

interface Waiter {
  readonly promise: Promise<OrderCommitmentProofJson>;
  resolve(c: OrderCommitmentProofJson): void;
  reject(e: Error): void;
  readonly started: number;
}

export class SubmissionService {
  private readonly waiters = new Map<string, Waiter>();
  /** Forwards in flight, so a leader change can cut them short. */
  private readonly forwards = new Set<AbortController>();
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
    return known ?? this.forwardToLeader(bytes);
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

  /** A forwarded transaction must not be forwarded again: only the leader proposes it. */
  private async submitAsLeader(rawTx: Uint8Array): Promise<OrderCommitmentProofJson> {
    if (!this.opts.isLeader()) throw noLeader("this node is no longer the leader");
    return this.submit(rawTx);
  }

  private async existing(hash: string): Promise<OrderCommitmentProofJson | undefined> {
    const location = await this.opts.store.getTxLocation(hash);
    if (location === undefined) return undefined;
    const found = await this.opts.commitments.commitmentAt(location.position);
    if (found.status === "certified") return found.commitment;
    // Committed, certificate not yet replicated: wait for it like a fresh submission.
    return undefined;
  }

  private proposeAndWait(hash: string, raw: Uint8Array): Promise<OrderCommitmentProofJson> {
    let resolve!: (c: OrderCommitmentProofJson) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<OrderCommitmentProofJson>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = { promise, resolve, reject, started: performance.now() };
    this.waiters.set(hash, waiter);
    const timer = setTimeout(() => {
      if (this.waiters.get(hash) === waiter) this.waiters.delete(hash);
      reject(new SubmissionError("timeout", `no commitment for ${hash} within ${this.opts.timeoutMs} ms; it may still commit: query seq_getOrderCommitment`));
    }, this.opts.timeoutMs);
    promise.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    this.opts.metrics?.proposals.inc();
    this.opts.propose({ hash, data: raw });
    return promise;
  }

  /**
   * Forwards to the leader; when the leader changes meanwhile (it was cut off or paused), the
   * forward is dropped and sent to the new leader within the same deadline instead of waiting
   * out the old one. Sending twice is safe: the leader answers a known transaction with its
   * existing commitment.
   */
  private async forwardToLeader(raw: Uint8Array): Promise<OrderCommitmentProofJson> {
    const deadline = Date.now() + this.opts.timeoutMs;
    const payload = encodeSubmitRequest({ rawTx: raw });
    let response;
    for (;;) {
      const leader = this.opts.leader();
      if (leader === null) throw noLeader("no leader is known right now (election in progress)");
      const abort = new AbortController();
      this.forwards.add(abort);
      try {
        response = decodeSubmitResponse(await this.opts.forward(leader, payload, Math.max(1, deadline - Date.now()), abort.signal));
        break;
      } catch (cause) {
        const next = this.opts.leader();
        if (abort.signal.aborted && next !== null && next !== leader && Date.now() < deadline) continue;
        // A forward cut short or timed out may have reached the leader: its outcome is unknown.
        if (abort.signal.aborted || cause instanceof RpcTimeoutError) {
          throw new SubmissionError("timeout", `forwarding to the leader ${leader} did not complete (${(cause as Error).message}); it may still commit: resubmit or query seq_getOrderCommitment`);
        }
        throw new SubmissionError("no-leader", `forwarding to the leader ${leader} failed: ${(cause as Error).message}`);
      } finally {
        this.forwards.delete(abort);
      }
    }
    if (!response.ok) throw new SubmissionError(response.failure, response.message, response.reason);
    return JSON.parse(new TextDecoder().decode(response.result)) as OrderCommitmentProofJson;
  }

  /** The leader changed: forwards in flight to the previous one are re-sent (or fail fast). */
  leaderChanged(): void {
    for (const abort of this.forwards) abort.abort(new Error("the leader changed"));
  }

  /** Delivers the core's per-proposal outcomes (called after the group was certified). */
  outcomes(outcomes: readonly ProposalOutcome[]): void {
    for (const o of outcomes) {
      const waiter = this.waiters.get(o.txHash);
      if (waiter === undefined) continue;
      this.waiters.delete(o.txHash);
      if (o.status === "failed") {
        waiter.reject(noLeader(`not committed by this leader (${o.reason}); retry: a resubmission never gets a second position`));
        continue;
      }
      this.opts.metrics?.commitLatencySeconds.observe((performance.now() - waiter.started) / 1000);
      this.opts.commitments.commitmentAt(o.position).then(
        (found) => {
          if (found.status === "certified") {
            this.opts.metrics?.commitments.inc();
            waiter.resolve(found.commitment);
          } else {
            waiter.reject(new SubmissionError("timeout", `${o.txHash} is committed at position ${o.position} but its certificate is pending; query seq_getOrderCommitment`));
          }
        },
        (error: Error) => waiter.reject(error),
      );
    }
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

