import { BaseError } from "../errors/index.js";

/** Batching failed: a cut, signature, quorum or batch format problem. */
export class BatchError extends BaseError {
  override readonly name: string = "BatchError";
}

/** A member refuses to sign a batch header; `reason` says why (never signing is the safe default). */
export class BatchSigningRefusedError extends BatchError {
  override readonly name = "BatchSigningRefusedError";
  constructor(
    readonly batchNumber: number,
    readonly epoch: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`refusing to sign batch ${batchNumber} (epoch ${epoch}): ${reason}`, options);
  }
}

/** The valid signatures that came back hold no more than half of the header epoch's stake. */
export class QuorumNotReachedError extends BatchError {
  override readonly name = "QuorumNotReachedError";
  constructor(
    readonly batchNumber: number,
    readonly epoch: number,
    /** Stake of the members that signed, and the epoch's whole active stake (token base units). */
    readonly signedStake: bigint,
    readonly activeStake: bigint,
    /** Why each missing member did not count, by node id. */
    readonly failures: Readonly<Record<string, string>>,
  ) {
    super(
      `batch ${batchNumber} (epoch ${epoch}): signers hold ${signedStake} of ${activeStake} stake, more than half is needed (${Object.entries(failures)
        .map(([id, why]) => `${id}: ${why}`)
        .join("; ")})`,
    );
  }
}

/** L1 holds a batch this node's replicated log contradicts: posting cannot continue on its own. */
export class BatchChainConflictError extends BatchError {
  override readonly name = "BatchChainConflictError";
  constructor(message: string) {
    super(message);
  }
}

/** A committed transaction is too large for any batch the L1 accepts (admitted under an older, larger maxTxBytes). */
export class TransactionTooLargeForL1Error extends BatchError {
  override readonly name = "TransactionTooLargeForL1Error";
  constructor(
    readonly position: number,
    readonly size: number,
    /** The encoded size of the one-transaction batch's L1 transaction, and the limit it exceeds. */
    readonly l1TxBytes: number,
    readonly maxL1TxBytes: number,
  ) {
    super(
      `the transaction at position ${position} (${size} bytes) alone makes an L1 transaction of up to ${l1TxBytes} bytes, over the limit of ${maxL1TxBytes}: it can never be posted (lower maxTxBytes so intake refuses such transactions)`,
    );
  }
}
