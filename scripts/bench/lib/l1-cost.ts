/**
 * What batch transactions cost on L1, per rollup transaction: execution gas (the receipt's
 * gasUsed), blob gas, the bytes the L1 carries (calldata, plus every blob whole: a blob is paid
 * for in full however little of it is used) and the transactions' own bytes. Shared by
 * `bench:l1-gas` (one batch per format) and `bench:l1` (every batch of a steady window).
 */

/** Bytes of one EIP-4844 blob (4,096 field elements of 32 bytes), as the L1 prices and carries it. */
export const BLOB_BYTES = 131_072;

/** One batch transaction as it landed. */
export interface BatchTxCost {
  readonly gasUsed: bigint;
  readonly blobGasUsed: bigint;
  /** Bytes of the L1 transaction's input (submitBatch calldata). */
  readonly calldataBytes: number;
  readonly blobs: number;
  /** Rollup transactions the batch carries. */
  readonly txs: number;
  /** Their bytes as signed (what they would take uncompressed, without framing). */
  readonly rawBytes: number;
}

export interface L1CostPerTx {
  readonly l1GasPerTx: number;
  readonly blobGasPerTx: number;
  readonly l1BytesPerTx: number;
  readonly rawBytesPerTx: number;
}

/** Per-transaction costs summed over `batches` (NaN when they carry no transaction). */
export function l1CostPerTx(batches: readonly BatchTxCost[]): L1CostPerTx {
  const sum = (f: (b: BatchTxCost) => number) => batches.reduce((s, b) => s + f(b), 0);
  const txs = sum((b) => b.txs);
  const per = (x: number) => (txs === 0 ? Number.NaN : Math.round((x / txs) * 10) / 10);
  return {
    l1GasPerTx: per(sum((b) => Number(b.gasUsed))),
    blobGasPerTx: per(sum((b) => Number(b.blobGasUsed))),
    l1BytesPerTx: per(sum((b) => b.calldataBytes + b.blobs * BLOB_BYTES)),
    rawBytesPerTx: per(sum((b) => b.rawBytes)),
  };
}
