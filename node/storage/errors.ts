import { BaseError } from "../errors/index.js";

/** The node store failed or refused an operation. */
export class StorageError extends BaseError {
  override readonly name: string = "StorageError";
}

/**
 * Stored bytes that fail their checksum, do not decode, or break an invariant that an atomic
 * write could never produce (a gap in the log, commit beyond the log...). The store refuses to
 * open or serve once it has seen one: a wrong answer is worse than none.
 */
export class StorageCorruptionError extends StorageError {
  override readonly name = "StorageCorruptionError";
  constructor(
    /** Hex of the offending key, with a readable description. */
    readonly key: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`storage corruption at ${key}: ${reason}`, options);
  }
}

/** A write that would break the log's invariants (gap, overwrite of compacted entries...): nothing was written. */
export class StorageInvariantError extends StorageError {
  override readonly name = "StorageInvariantError";
}

/** The store was closed (or never opened) when an operation was attempted. */
export class StorageClosedError extends StorageError {
  override readonly name = "StorageClosedError";
  constructor() {
    super("the node store is closed");
  }
}

/**
 * Refusal to record (and so to sign) a second, different batch header for a (batch number,
 * epoch) this member already signed: signing both is slashable equivocation.
 */
export class ConflictingBatchHeaderError extends StorageError {
  override readonly name = "ConflictingBatchHeaderError";
  constructor(
    readonly batchNumber: number,
    readonly epoch: number,
  ) {
    super(`a different header for batch ${batchNumber} in epoch ${epoch} was already signed by this member`);
  }
}
