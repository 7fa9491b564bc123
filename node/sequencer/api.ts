/**
 * The node's JSON-RPC API: `eth_sendRawTransaction` and `eth_chainId` for wallets and
 * libraries, and the `seq_*` namespace for full commitments, reads and status.
 */
import { isHex, numberToHex, type Hex } from "viem";
import type { OrderCommitmentProofJson } from "../commitments/index.js";
import { bytesToHex } from "../codec/index.js";
import type { NodeStore } from "../storage/index.js";
import { storedBatchHash } from "../batching/header.js";
import { MAX_RANGE } from "../domain/index.js";
import { InvalidParamsError, NOT_FOUND, NO_LEADER, OVERLOADED, RpcError, SHUTTING_DOWN, TIMEOUT, TX_REJECTED } from "../rpc/errors.js";
import type { SubmitFailure } from "../codec/index.js";
import { SubmissionError } from "./errors.js";
import { defineMethod, noParams, positionalParams, subscriptionMethods, type RpcMethods } from "../rpc/methods.js";
import type { CommitmentService } from "../app/commitments.js";
import type { SubmissionService } from "./submissions.js";
import type { ActivitySample } from "./activity.js";
import type { EncryptedSlots } from "../app/encrypted-slots.js";

/** WebSocket topic: every applied group of committed transactions. */
export const COMMITMENTS_TOPIC = "commitments";

export interface SequencerApiDeps {
  readonly rollupChainId: number;
  readonly submissions: SubmissionService;
  readonly commitments: CommitmentService;
  readonly store: NodeStore;
  readonly status: () => unknown;
  /** The recent activity samples taken after `sinceMs` (all kept ones when undefined). */
  readonly activity: (sinceMs: number | undefined) => readonly ActivitySample[];
  readonly encrypted?: EncryptedSlots;
}

function rawTxParam(raw: unknown): Hex {
  const [tx] = positionalParams(raw, 1);
  if (typeof tx !== "string" || !isHex(tx) || tx.length < 4 || tx.length % 2 !== 0) {
    throw new InvalidParamsError("invalid params: expected the signed transaction as 0x-prefixed hex bytes");
  }
  return tx;
}

function txHashParam(raw: unknown): Hex {
  const [hash] = positionalParams(raw, 1);
  if (typeof hash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(hash)) {
    throw new InvalidParamsError("invalid params: expected a 32-byte transaction hash as 0x-prefixed hex");
  }
  return hash.toLowerCase() as Hex;
}

function quantity(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^0x[0-9a-fA-F]{1,13}$/.test(value)) return Number.parseInt(value.slice(2), 16);
  throw new InvalidParamsError(`invalid params: ${what} must be a non-negative integer or hex quantity`);
}

/** Transactions read from the store at a time while a range is answered. */
const RANGE_READ_CHUNK = 64;
/** JSON of one range entry beside its raw hex (position, hash, log index, term, keys). */
const TX_VIEW_OVERHEAD_BYTES = 200;

/** The JSON-RPC code of each way a submission can fail (codes and their retry rules: rpc/errors.ts). */
const SUBMISSION_CODES: Readonly<Record<SubmitFailure, number>> = {
  rejected: TX_REJECTED,
  "no-leader": NO_LEADER,
  timeout: TIMEOUT,
  overloaded: OVERLOADED,
  "shutting-down": SHUTTING_DOWN,
};

export function sequencerMethods(deps: SequencerApiDeps): RpcMethods {

  /** A lookup of a committed transaction's commitment by hash: null if unknown, a retryable error while pending. */
  const commitmentMethod = <T>(lookup: (position: number) => Promise<{ status: "certified"; commitment: T } | { status: string }>, pending: string, status: string) =>
    defineMethod({
      params: txHashParam,
      handler: async (hash: Hex): Promise<T | null> => {
        const location = await store.getTxLocation(hash);
        if (location === undefined) return null;
        const found = await lookup(location.position);
        if (found.status === "certified") return (found as { commitment: T }).commitment;
        throw new RpcError(NOT_FOUND, `${hash} is committed at position ${location.position}; ${pending}, retry shortly`, { position: location.position, status, retryable: true });
      },
    });
  const { submissions, commitments, store } = deps;
  const submit = async (raw: Hex, client: string, encrypted = false): Promise<OrderCommitmentProofJson> => {
    try {
      return await (encrypted ? submissions.submitEncrypted(raw, client) : submissions.submit(raw, client));
    } catch (error) {
      if (!(error instanceof SubmissionError)) throw error;
      throw new RpcError(SUBMISSION_CODES[error.failure], error.message, error.reason === undefined ? undefined : { reason: error.reason }, { cause: error });
    }
  };

  const txView = (tx: { position: number; hash: Hex; data: Uint8Array; index: number; term: number }) => ({
    position: tx.position,
    txHash: tx.hash,
    raw: bytesToHex(tx.data),
    logIndex: tx.index,
    term: tx.term,
  });

  return {
    eth_chainId: defineMethod({ params: noParams, handler: () => numberToHex(deps.rollupChainId) }),

    /** Answers the hash once the transaction is durable on a majority (as an acknowledgement must). */
    eth_sendRawTransaction: defineMethod({
      params: rawTxParam,
      handler: async (raw, ctx) => (await submit(raw, ctx.client)).txHash,
    }),

    seq_sendRawTransaction: defineMethod({
      params: rawTxParam,
      handler: (raw, ctx): Promise<OrderCommitmentProofJson> => submit(raw, ctx.client),
    }),

    /** An encrypted transaction (hex of node/threshold/ibe.ts's ciphertext encoding): its order commitment, over keccak256(0xb1 ‖ ciphertext). */
    seq_sendEncryptedTransaction: defineMethod({
      params: (raw) => {
        const [ct] = positionalParams(raw, 1);
        if (typeof ct !== "string" || !isHex(ct) || ct.length < 4 || ct.length % 2 !== 0) throw new InvalidParamsError("invalid params: expected the ciphertext as 0x-prefixed hex bytes");
        return ct;
      },
      handler: (ct, ctx): Promise<OrderCommitmentProofJson> => submit(ct, ctx.client, true),
    }),

    /** What a client encrypts to now: chain id, epoch, the first open slot, the epoch key (check it against L1's EpochKeys). Null without an epoch key. */
    seq_getEncryptionTarget: defineMethod({ params: noParams, handler: () => deps.encrypted?.target() ?? null }),

    /**
     * An encrypted transaction's outcome, by the hash its commitment names or by position: null for an
     * unknown one; `status` pending / decrypted (with the plaintext transaction) / invalid / undecryptable / late / malformed.
     */
    seq_getDecryptedTransaction: defineMethod({
      params: (raw): { hash: Hex } | { position: number } => {
        const [key] = positionalParams(raw, 1);
        if (typeof key === "string" && /^0x[0-9a-fA-F]{64}$/.test(key)) return { hash: key.toLowerCase() as Hex };
        return { position: quantity(key, "the hash or position") };
      },
      handler: async (key) => {
        let position: number;
        if ("hash" in key) {
          const location = await store.getTxLocation(key.hash);
          if (location === undefined) return null;
          position = location.position;
        } else position = key.position;
        const outcome = deps.encrypted?.outcomeAt(position);
        if (outcome === undefined) {
          const tx = await store.getTxByPosition(position);
          if (tx === undefined) return null;
          throw new RpcError(NOT_FOUND, `position ${position} holds no encrypted transaction this node knows of`, { position, status: "not-encrypted" });
        }
        return { ...outcome, ciphertextHash: (await store.getTxByPosition(position))?.hash ?? null };
      },
    }),

    seq_getOrderCommitment: commitmentMethod((position) => commitments.commitmentAt(position), "its certificate is not signed yet", "pending-certificate"),

    /**
     * The transaction's quorum commitment: a certificate co-signed by members holding more than
     * half of its epoch's stake, accountable against any majority (node/app/quorum-certificates.ts).
     */
    seq_getQuorumCommitment: commitmentMethod((position) => commitments.quorumCommitmentAt(position), "no quorum certificate covers it yet", "pending-quorum-certificate"),

    seq_getTransactionByPosition: defineMethod({
      params: (raw) => quantity(positionalParams(raw, 1)[0], "position"),
      handler: async (position) => {
        const tx = await store.getTxByPosition(position);
        return tx === undefined ? null : txView(tx);
      },
    }),

    seq_getRange: defineMethod({
      params: (raw) => {
        const [from, count] = positionalParams(raw, 2);
        const n = quantity(count, "count");
        if (n === 0 || n > MAX_RANGE) throw new InvalidParamsError(`invalid params: count must be 1..${MAX_RANGE}`);
        return { from: quantity(from, "from"), count: n };
      },
      // Read in small chunks against the message's response budget: a full range of large
      // transactions (or many ranges in one batch) is answered short, never held whole.
      handler: async ({ from, count }, ctx) => {
        const out: ReturnType<typeof txView>[] = [];
        while (out.length < count) {
          const want = Math.min(RANGE_READ_CHUNK, count - out.length);
          const chunk = await store.getTxRange(from + out.length, want);
          for (const tx of chunk) {
            if (!ctx.budget.reserve(2 * tx.data.length + TX_VIEW_OVERHEAD_BYTES)) {
              if (out.length === 0) throw new RpcError(OVERLOADED, "no transaction of this range fits the response budget: ask again with fewer calls in the batch");
              return out;
            }
            out.push(txView(tx));
          }
          if (chunk.length < want) break; // the log ends here
        }
        return out;
      },
    }),

    /**
     * A batch as the replicated log cut it (latest cut of that number), the quorum's signatures
     * once the leader gathered them, and, once accepted on L1, where.
     */
    seq_getBatch: defineMethod({
      params: (raw) => {
        const n = quantity(positionalParams(raw, 1)[0], "batch number");
        if (n === 0) throw new InvalidParamsError("invalid params: batch numbers start at 1");
        return n;
      },
      handler: async (batchNumber) => {
        const b = await store.getBatch(batchNumber);
        if (b === undefined) return null;
        return { ...b.header, batchHash: storedBatchHash(b.header), posted: b.posted ?? null, signatures: b.signatures ?? [] };
      },
    }),

    seq_status: defineMethod({ params: noParams, handler: () => deps.status() }),

    /** The last ten minutes' samples (`activity.ts`), or those taken after `[sinceMs]` (ms since the Unix epoch). */
    seq_activity: defineMethod({
      params: (raw) => {
        const [since] = positionalParams(raw, 0, 1);
        if (since === undefined) return undefined;
        if (typeof since !== "number" || !Number.isFinite(since) || since < 0) {
          throw new InvalidParamsError("invalid params: sinceMs must be a non-negative number of ms since the Unix epoch");
        }
        return since;
      },
      handler: (since) => deps.activity(since),
    }),

    ...subscriptionMethods([COMMITMENTS_TOPIC]),
  };
}
