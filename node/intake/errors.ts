/**
 * Typed intake errors. Each class carries a stable `code` that the JSON-RPC layer maps to a
 * JSON-RPC error; messages are meant to be shown to the submitter as they are.
 */
import { BaseError } from "../errors/index.js";

export type IntakeErrorCode =
  | "MALFORMED_TRANSACTION"
  | "UNSUPPORTED_TRANSACTION_TYPE"
  | "WRONG_CHAIN_ID"
  | "TRANSACTION_TOO_LARGE"
  | "INVALID_SIGNATURE"
  | "INVALID_TRANSACTION"
  | "UNDECRYPTABLE_CIPHERTEXT";

export abstract class IntakeError extends BaseError {
  abstract readonly code: IntakeErrorCode;
}

/** The bytes are not a well-formed, canonically encoded EIP-2718 / legacy transaction. */
export class MalformedTransactionError extends IntakeError {
  override readonly name = "MalformedTransactionError";
  readonly code = "MALFORMED_TRANSACTION" as const;
}

/** A well-formed envelope of a type this sequencer does not accept (blob or unknown). */
export class UnsupportedTransactionTypeError extends IntakeError {
  override readonly name = "UnsupportedTransactionTypeError";
  readonly code = "UNSUPPORTED_TRANSACTION_TYPE" as const;
  constructor(
    /** The EIP-2718 type byte. */
    readonly txType: number,
    message: string,
  ) {
    super(message);
  }
}

export class WrongChainIdError extends IntakeError {
  override readonly name = "WrongChainIdError";
  readonly code = "WRONG_CHAIN_ID" as const;
  constructor(
    /** Chain id the transaction is bound to; `undefined` for pre-EIP-155 legacy transactions. */
    readonly got: bigint | undefined,
    readonly expected: bigint,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class TransactionTooLargeError extends IntakeError {
  override readonly name = "TransactionTooLargeError";
  readonly code = "TRANSACTION_TOO_LARGE" as const;
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`transaction is ${size} bytes, the limit is ${maxBytes} bytes`);
  }
}

export type InvalidSignatureReason =
  | "missing"
  | "r-out-of-range"
  | "s-out-of-range"
  | "high-s"
  | "v-out-of-range"
  | "recovery-failed";

export class InvalidSignatureError extends IntakeError {
  override readonly name = "InvalidSignatureError";
  readonly code = "INVALID_SIGNATURE" as const;
  constructor(
    readonly reason: InvalidSignatureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type InvalidTransactionReason =
  | "field-too-large"
  | "tip-above-fee-cap"
  | "initcode-too-large"
  | "intrinsic-gas-too-low"
  | "floor-data-gas-too-low";

/** Well-formed and signed, but an execution client would refuse it (node/intake/rules.ts). */
export class InvalidTransactionError extends IntakeError {
  override readonly name = "InvalidTransactionError";
  readonly code = "INVALID_TRANSACTION" as const;
  constructor(
    readonly reason: InvalidTransactionReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An encrypted transaction whose ciphertext does not open under its slot's key (malformed, tampered or for another slot). */
export class UndecryptableCiphertextError extends IntakeError {
  override readonly name = "UndecryptableCiphertextError";
  readonly code = "UNDECRYPTABLE_CIPHERTEXT" as const;
}

/** Structured-clone-safe form of an {@link IntakeError}, for crossing a worker boundary. */
export type IntakeErrorWire =
  | { code: "MALFORMED_TRANSACTION"; message: string }
  | { code: "UNSUPPORTED_TRANSACTION_TYPE"; message: string; txType: number }
  | { code: "WRONG_CHAIN_ID"; message: string; got: bigint | undefined; expected: bigint }
  | { code: "TRANSACTION_TOO_LARGE"; message: string; size: number; maxBytes: number }
  | { code: "INVALID_SIGNATURE"; message: string; reason: InvalidSignatureReason }
  | { code: "INVALID_TRANSACTION"; message: string; reason: InvalidTransactionReason }
  | { code: "UNDECRYPTABLE_CIPHERTEXT"; message: string };

export function intakeErrorToWire(error: IntakeError): IntakeErrorWire {
  if (error instanceof UnsupportedTransactionTypeError) return { code: error.code, message: error.message, txType: error.txType };
  if (error instanceof WrongChainIdError) {
    return { code: error.code, message: error.message, got: error.got, expected: error.expected };
  }
  if (error instanceof TransactionTooLargeError) {
    return { code: error.code, message: error.message, size: error.size, maxBytes: error.maxBytes };
  }
  if (error instanceof InvalidSignatureError) return { code: error.code, message: error.message, reason: error.reason };
  if (error instanceof InvalidTransactionError) return { code: error.code, message: error.message, reason: error.reason };
  if (error instanceof UndecryptableCiphertextError) return { code: error.code, message: error.message };
  return { code: "MALFORMED_TRANSACTION", message: error.message };
}

export function intakeErrorFromWire(wire: IntakeErrorWire): IntakeError {
  switch (wire.code) {
    case "MALFORMED_TRANSACTION":
      return new MalformedTransactionError(wire.message);
    case "UNSUPPORTED_TRANSACTION_TYPE":
      return new UnsupportedTransactionTypeError(wire.txType, wire.message);
    case "WRONG_CHAIN_ID":
      return new WrongChainIdError(wire.got, wire.expected, wire.message);
    case "TRANSACTION_TOO_LARGE":
      return new TransactionTooLargeError(wire.size, wire.maxBytes);
    case "INVALID_SIGNATURE":
      return new InvalidSignatureError(wire.reason, wire.message);
    case "INVALID_TRANSACTION":
      return new InvalidTransactionError(wire.reason, wire.message);
    case "UNDECRYPTABLE_CIPHERTEXT":
      return new UndecryptableCiphertextError(wire.message);
  }
}
