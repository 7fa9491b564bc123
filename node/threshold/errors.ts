import { BaseError } from "../errors/index.js";

/** The root of node/threshold's errors: threshold encryption, key shares, stake units and the DKG. */
export class ThresholdError extends BaseError {
  override readonly name: string = "ThresholdError";
}

/** Bytes that are not a valid encoding of a threshold message, ciphertext, point or scalar. */
export class MalformedThresholdDataError extends ThresholdError {
  override readonly name: string = "MalformedThresholdDataError";
}

/** A ciphertext that does not decrypt under the slot key it names: tampered, truncated or for another key. */
export class InvalidCiphertextError extends ThresholdError {
  override readonly name: string = "InvalidCiphertextError";
}

/** A slot key that is not `s·H(id)` for the epoch key: the combined shares or a claimed key are wrong. */
export class InvalidSlotKeyError extends ThresholdError {
  override readonly name: string = "InvalidSlotKeyError";
}

/** A key share that fails its pairing check against the member's public share: attributable to `member`. */
export class InvalidKeyShareError extends ThresholdError {
  override readonly name: string = "InvalidKeyShareError";
  constructor(
    readonly member: number,
    readonly shareIndices: readonly number[],
    details?: string,
  ) {
    super(`member ${member} released an invalid key share (unit indices ${shareIndices.join(", ")})`, details === undefined ? {} : { details });
  }
}

/** Fewer valid shares than the threshold: the members that released them hold at most half of the stake. */
export class InsufficientSharesError extends ThresholdError {
  override readonly name: string = "InsufficientSharesError";
}

/** Stakes that cannot be turned into share units (none, zero, negative or too many members). */
export class StakeUnitsError extends ThresholdError {
  override readonly name: string = "StakeUnitsError";
}

/** A DKG message the state machine refuses (wrong phase, unknown member, duplicate, inconsistent): nothing changed. */
export class DkgMessageError extends ThresholdError {
  override readonly name: string = "DkgMessageError";
}

/** The DKG ended without a key: the qualified dealers hold at most half of the stake. */
export class DkgFailedError extends ThresholdError {
  override readonly name: string = "DkgFailedError";
}
