/**
 * Batch data format v1 (docs/batch-format.md): the calldata payload of `submitBatch`, from
 * which a rollup's derivation pipeline rebuilds the ordered transaction list using L1 alone.
 *
 *   byte 0          version (0x01)
 *   varint          count
 *   count times     varint byteLength, then the raw EIP-2718 transaction bytes as submitted
 *
 * Varints are canonical unsigned LEB128 (node/codec). Positions are implicit (tx i sits at
 * header.firstPosition + i). No compression: every member recomputes `dataHash` from its own
 * log, so the encoding must be a pure function of the transactions.
 */
import { keccak256, type Hex } from "viem";
import { CodecError, Reader, Writer } from "../codec/index.js";
import { BatchError } from "./errors.js";

export const BATCH_FORMAT_VERSION = 1;

/** Batch data that is not a well-formed v1 payload (or not the expected number of transactions). */
export class BatchFormatError extends BatchError {
  override readonly name = "BatchFormatError";
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** Encoded size of one transaction inside a batch (length prefix + bytes). */
export function encodedTxSize(tx: Uint8Array): number {
  return encodedTxLength(tx.length);
}

/** Encoded size inside a batch of a transaction of `byteLength` bytes. */
export function encodedTxLength(byteLength: number): number {
  return varintLength(byteLength) + byteLength;
}

/** Encoded size of a batch of `count` transactions whose `encodedTxSize`s sum to `txBytes`. */
export function encodedBatchSize(count: number, txBytes: number): number {
  return 1 + varintLength(count) + txBytes;
}

/**
 * Encodes transactions as v1 batch data.
 * @throws BatchFormatError for an empty batch or an empty transaction
 */
export function encodeBatchData(txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length === 0) throw new BatchFormatError("a batch holds at least one transaction");
  let size = 0;
  for (let i = 0; i < txs.length; i++) {
    if (txs[i]!.length === 0) throw new BatchFormatError(`transaction ${i} is empty`);
    size += encodedTxSize(txs[i]!);
  }
  const w = new Writer(encodedBatchSize(txs.length, size));
  w.u8(BATCH_FORMAT_VERSION);
  w.varint(txs.length, "transaction count");
  for (const tx of txs) {
    w.varint(tx.length, "transaction length");
    w.raw(tx);
  }
  return w.finish();
}

/**
 * Decodes v1 batch data into the raw transactions (views into `data`, no copies).
 * @param expectedCount when given, the header's `lastPosition - firstPosition + 1`
 * @throws BatchFormatError naming what is wrong: unknown version, truncation, trailing bytes,
 *   an empty transaction, a count that differs from `expectedCount`
 */
export function decodeBatchData(data: Uint8Array, expectedCount?: number): Uint8Array[] {
  if (data.length === 0) throw new BatchFormatError("batch data is empty");
  const version = data[0]!;
  if (version !== BATCH_FORMAT_VERSION) {
    throw new BatchFormatError(`batch data version ${version} is not supported (this decoder reads version ${BATCH_FORMAT_VERSION})`);
  }
  const r = new Reader(data, "batch data");
  r.u8("version");
  try {
    // Every transaction takes at least 2 bytes (length prefix + one byte).
    const count = r.count(Number.MAX_SAFE_INTEGER, 2, "transaction");
    if (count === 0) throw new BatchFormatError("batch data holds no transactions");
    if (expectedCount !== undefined && count !== expectedCount) {
      throw new BatchFormatError(`batch data holds ${count} transactions, the header covers ${expectedCount} positions`);
    }
    const txs: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const length = r.varint(`transaction ${i} length`);
      if (length === 0) throw new BatchFormatError(`transaction ${i} is empty`);
      txs[i] = r.raw(length, `transaction ${i}`);
    }
    r.end();
    return txs;
  } catch (cause) {
    if (cause instanceof CodecError) throw new BatchFormatError(`malformed batch data: ${cause.message}`, { cause });
    throw cause;
  }
}

/** Transaction hashes (keccak256 of the raw envelope) of decoded batch transactions. */
export function batchTxHashes(txs: readonly Uint8Array[]): Hex[] {
  return txs.map((tx) => keccak256(tx));
}
