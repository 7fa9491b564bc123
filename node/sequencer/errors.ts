import type { SubmitFailure } from "../codec/index.js";
import { BaseError } from "../errors/index.js";

/** The node itself failed: start-up, configuration or a submission. */
export class SequencerError extends BaseError {
  override readonly name: string = "SequencerError";
}

/** The node cannot start (not a member, unreadable key, corrupt store...). */
export class NodeStartError extends SequencerError {
  override readonly name = "NodeStartError";
}

/**
 * A submission was not sequenced (yet): `failure` says why in terms of the sequencer, and the
 * JSON-RPC API maps it to its error code (`api.ts`). Only "rejected" is final; every other
 * failure may be retried with the same bytes, which never take a second position.
 */
export class SubmissionError extends SequencerError {
  override readonly name = "SubmissionError";
  constructor(
    readonly failure: SubmitFailure,
    message: string,
    /** For "rejected": the intake's reason code (e.g. `wrong_chain_id`); for "overloaded" at a budget: which (e.g. `sender-bytes`). */
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** A censorship setting or report is invalid (docs/censorship.md); nothing was changed or counted. */
export class CensorshipError extends SequencerError {
  override readonly name = "CensorshipError";
}
