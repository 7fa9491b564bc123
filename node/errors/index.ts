/**
 * The root of every error the node throws (viem's BaseError is the model). `shortMessage` says
 * what went wrong in one sentence a person can act on, `details` what else is known, `cause` the
 * error underneath. Each layer derives one root from it (RaftError, CodecError, StorageError,
 * TransportError, CommitmentError, L1Error, BatchError, WatchtowerError, SequencerError, CliError,
 * ...), so a caller catches a layer's failures with one `instanceof`.
 */
export type BaseErrorOptions = {
  readonly cause?: unknown;
  /** What is known beyond the short message (appended to `message` after a blank line). */
  readonly details?: string;
};

export class BaseError extends Error {
  override readonly name: string = "BaseError";
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(shortMessage: string, options: BaseErrorOptions = {}) {
    super(options.details === undefined ? shortMessage : `${shortMessage}\n\nDetails: ${options.details}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = options.details;
  }

  /** This error or the first error of its cause chain that `match` accepts; the deepest one without `match`. */
  walk(match?: (error: unknown) => boolean): unknown {
    let error: unknown = this;
    for (let depth = 0; depth < 32; depth++) {
      if (match?.(error)) return error;
      const next = error instanceof Error ? error.cause : undefined;
      if (next === undefined) return match ? undefined : error;
      error = next;
    }
    return undefined;
  }
}
