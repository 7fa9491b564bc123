/**
 * Batch headers as the node derives them from its own log: positions [first, last], the
 * positional Merkle root over leaf(position, txHash), `dataHash = keccak256(data)` of the v1
 * payload, chained to the previous header by its batch hash (docs/protocol.md).
 */
import { keccak256, type Hex } from "viem";
import { buildPositionalTree, merkleRoot } from "../commitments/merkle.js";
import { ZERO_HASH, batchHash, type BatchHeader } from "../commitments/typed-data.js";
import type { NodeStore } from "../storage/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import { encodeBatchData } from "./format.js";
import { BatchError } from "./errors.js";

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

/** The header and payload of a batch over `txs` (positions slot.firstPosition...). */
export function buildBatch(slot: BatchSlot, txs: readonly BatchTx[]): { header: StoredBatchHeader; data: Uint8Array } {
  const data = encodeBatchData(txs.map((t) => t.data));
  const tree = buildPositionalTree(slot.firstPosition, txs.map((t) => t.hash));
  return {
    header: {
      epoch: slot.epoch,
      batchNumber: slot.batchNumber,
      prevBatchHash: slot.prevBatchHash,
      firstPosition: slot.firstPosition,
      lastPosition: slot.firstPosition + txs.length - 1,
      merkleRoot: merkleRoot(tree),
      dataHash: keccak256(data),
    },
    data,
  };
}

/**
 * Rebuilds the batch a header claims from transactions this node holds: `extra` (entries being
 * applied, not yet in the store) first, then the store.
 * @throws BatchHistoryMissingError when a position of the range is not available here
 */
export async function deriveBatch(
  store: NodeStore,
  claimed: StoredBatchHeader,
  extra?: ReadonlyMap<number, BatchTx>,
): Promise<{ header: StoredBatchHeader; data: Uint8Array }> {
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
  return buildBatch(claimed, txs);
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

