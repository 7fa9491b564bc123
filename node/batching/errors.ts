/** A member refuses to sign a batch header; `reason` says why (never signing is the safe default). */
export class BatchSigningRefusedError extends Error {
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

/** Fewer valid signatures than a strict majority of the header's epoch set came back. */
export class QuorumNotReachedError extends Error {
  override readonly name = "QuorumNotReachedError";
  constructor(
    readonly batchNumber: number,
    readonly epoch: number,
    readonly got: number,
    readonly needed: number,
    /** Why each missing member did not count, by node id. */
    readonly failures: Readonly<Record<string, string>>,
  ) {
    super(
      `batch ${batchNumber} (epoch ${epoch}): ${got} of ${needed} signatures needed (${Object.entries(failures)
        .map(([id, why]) => `${id}: ${why}`)
        .join("; ")})`,
    );
  }
}

/** L1 holds a batch this node's replicated log contradicts: posting cannot continue on its own. */
export class BatchChainConflictError extends Error {
  override readonly name = "BatchChainConflictError";
  constructor(message: string) {
    super(message);
  }
}
