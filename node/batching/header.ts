/**
 * Batch headers as the node derives them from its own log: positions [first, last], the
 * positional Merkle root over leaf(position, txHash), `dataHash = keccak256(data)` of the batch
 * data in one of its encodings (v1, compressed v2, or v3 referencing blobs that carry v1 or v2),
 * chained to the previous header by its batch hash (docs/protocol.md, docs/batch-format.md).
 */
import { keccak256, type Hex } from "viem";
import { buildPositionalTree, merkleRoot } from "../commitments/merkle.js";
import { ZERO_HASH, batchHash, type BatchHeader } from "../commitments/typed-data.js";
import type { NodeStore } from "../storage/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import { MAX_BLOBS_PER_TX, blobCapacity, toBlobCarrier, type BlobCarrier } from "../l1/blobs.js";
import { encodeBatchData, encodedTxSize } from "./format.js";
import { compressBatchData } from "./compression.js";
import { BatchError } from "./errors.js";

/** How the leader encodes the batches it cuts (config batchDataMode, batchCompression, batchMaxBlobs). */
export interface BatchEncoding {
  /** v2 instead of v1 wherever it is smaller. */
  readonly compress: boolean;
  /** Carry the payload in blobs (at most this many), referenced by v3 calldata; undefined: calldata. */
  readonly maxBlobs?: number;
}

/** Format v1 in calldata: what every chain takes. */
export const CALLDATA_V1: BatchEncoding = { compress: false };

/** A batch as posted: its header, the `data` argument of submitBatch, the payload of v1 or v2 bytes, and the blobs carrying it (blob mode). */
export interface BuiltBatch {
  readonly header: StoredBatchHeader;
  readonly data: Uint8Array;
  readonly payload: Uint8Array;
  readonly blobs?: BlobCarrier;
  /** Encoded bytes of its transactions in v1 (what the unposted-bytes bound counts, whatever the encoding). */
  readonly txBytes: number;
}

/** A header's place in the chain; the rest follows from the transactions it covers. */
export interface BatchSlot {
  readonly epoch: number;
  readonly batchNumber: number;
  readonly prevBatchHash: Hex;
  readonly firstPosition: number;
}

export interface BatchTx {
  readonly hash: Hex;
  readonly data: Uint8Array;
}

/** This node does not hold every transaction of a range (e.g. still backfilling after a snapshot). */
export class BatchHistoryMissingError extends BatchError {
  override readonly name = "BatchHistoryMissingError";
  constructor(
    readonly firstPosition: number,
    readonly lastPosition: number,
    readonly missingFrom: number,
  ) {
    super(`positions [${firstPosition}, ${lastPosition}] are not all stored here (missing from ${missingFrom})`);
  }
}

/** The batch over `txs` (positions slot.firstPosition...) in `encoding`. */
export function buildBatch(slot: BatchSlot, txs: readonly BatchTx[], encoding: BatchEncoding = CALLDATA_V1): BuiltBatch {
  const payload = batchPayload(txs, encoding);
  const blobs = encoding.maxBlobs === undefined ? undefined : toBlobCarrier(payload, encoding.maxBlobs);
  return withData(slot, txs, payload, blobs);
}

/** The payload (v1, or v2 where compression is on and makes it smaller) of a batch over `txs`. */
export function batchPayload(txs: readonly BatchTx[], encoding: BatchEncoding): Uint8Array {
  const v1 = encodeBatchData(txs.map((t) => t.data));
  if (!encoding.compress) return v1;
  const v2 = compressBatchData(v1);
  return v2.length < v1.length ? v2 : v1;
}

function withData(slot: BatchSlot, txs: readonly BatchTx[], payload: Uint8Array, blobs: BlobCarrier | undefined): BuiltBatch {
  const data = blobs?.data ?? payload;
  const tree = buildPositionalTree(slot.firstPosition, txs.map((t) => t.hash));
  const header: StoredBatchHeader = {
    epoch: slot.epoch,
    batchNumber: slot.batchNumber,
    prevBatchHash: slot.prevBatchHash,
    firstPosition: slot.firstPosition,
    lastPosition: slot.firstPosition + txs.length - 1,
    merkleRoot: merkleRoot(tree),
    dataHash: keccak256(data),
  };
  const txBytes = txs.reduce((sum, t) => sum + encodedTxSize(t.data), 0);
  return { header, data, payload, txBytes, ...(blobs === undefined ? {} : { blobs }) };
}

/**
 * The batch over `txs` in whichever encoding gives `dataHash`: v1, v2, or blobs carrying either
 * (cheapest first; a member does not know the leader's settings, only the hash it signs). The
 * v1 batch when none does (its header then differs from the claimed one).
 */
export function batchMatching(slot: BatchSlot, txs: readonly BatchTx[], dataHash: Hex): BuiltBatch {
  const v1 = encodeBatchData(txs.map((t) => t.data));
  if (keccak256(v1) === dataHash) return withData(slot, txs, v1, undefined);
  const v2 = compressBatchData(v1);
  const payloads = v2.length < v1.length ? [v2, v1] : [v1];
  if (payloads[0] === v2 && keccak256(v2) === dataHash) return withData(slot, txs, v2, undefined);
  for (const payload of payloads) {
    // No transaction carries more than MAX_BLOBS_PER_TX blobs: a larger payload is no candidate.
    if (payload.length > blobCapacity(MAX_BLOBS_PER_TX)) continue;
    const blobs = toBlobCarrier(payload);
    if (keccak256(blobs.data) === dataHash) return withData(slot, txs, payload, blobs);
  }
  return withData(slot, txs, v1, undefined);
}

/**
 * Rebuilds the batch a header claims from transactions this node holds: `extra` (entries being
 * applied, not yet in the store) first, then the store, in the encoding its dataHash names.
 * @throws BatchHistoryMissingError when a position of the range is not available here
 */
export async function deriveBatch(store: NodeStore, claimed: StoredBatchHeader, extra?: ReadonlyMap<number, BatchTx>): Promise<BuiltBatch> {
  const first = claimed.firstPosition;
  const count = claimed.lastPosition - first + 1;
  const txs: BatchTx[] = new Array(count);
  const stored = await store.getTxRange(first, count);
  for (const tx of stored) txs[tx.position - first] = tx;
  for (let i = stored.length; i < count; i++) {
    const tx = extra?.get(first + i);
    if (tx === undefined) throw new BatchHistoryMissingError(first, claimed.lastPosition, first + i);
    txs[i] = tx;
  }
  return batchMatching(claimed, txs, claimed.dataHash);
}

/** The viem/EIP-712 form of a stored header. */
export function toBatchHeader(h: StoredBatchHeader): BatchHeader {
  return {
    epoch: BigInt(h.epoch),
    batchNumber: BigInt(h.batchNumber),
    prevBatchHash: h.prevBatchHash,
    firstPosition: BigInt(h.firstPosition),
    lastPosition: BigInt(h.lastPosition),
    merkleRoot: h.merkleRoot,
    dataHash: h.dataHash,
  };
}

/** batchHash (EIP-712 struct hash) of a stored header. */
export function storedBatchHash(h: StoredBatchHeader): Hex {
  return batchHash(toBatchHeader(h));
}

/** `prevBatchHash` of the batch after `prev` (bytes32(0) before batch 1). */
export function nextPrevHash(prev: StoredBatchHeader | undefined): Hex {
  return prev === undefined ? ZERO_HASH : storedBatchHash(prev);
}

