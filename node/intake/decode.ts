/**
 * Decoding and validation of raw signed transactions as users submit them
 * (`eth_sendRawTransaction`): envelope type, canonical encoding, chain id, the static checks an
 * execution client applies (field widths, fees, intrinsic gas: `rules.ts`), signature ranges,
 * sender recovery. Everything a sequencer must know before it assigns a position.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import {
  BaseError,
  InvalidChainIdError,
  InvalidLegacyVError,
  InvalidYParityError,
  bytesToHex,
  fromRlp,
  hexToBigInt,
  hexToBytes,
  keccak256,
  parseTransaction,
  serializeTransaction,
  type AccessList,
  type Address,
  type Hex,
  type Signature,
  type SignedAuthorizationList,
  type TransactionSerializable,
} from "viem";

import {
  InvalidSignatureError,
  IntakeError,
  MalformedTransactionError,
  TransactionTooLargeError,
  UnsupportedTransactionTypeError,
  WrongChainIdError,
} from "./errors.js";
import { getDefaultBackend, recoverSignerAddress, type RecoveryBackend } from "./recover.js";
import { checkExecutable, checkFeeOrder, checkNumericField, type NumericField } from "./rules.js";

export type TransactionType = "legacy" | "eip2930" | "eip1559" | "eip7702";

export type DecodedTransaction = {
  /** keccak256 of the raw envelope: the Ethereum transaction hash. */
  hash: Hex;
  /** The submitted bytes, lower-case hex. */
  raw: Hex;
  /** Byte length of `raw`. */
  size: number;
  type: TransactionType;
  chainId: number;
  nonce: number;
  from: Address;
  /** `null` for contract creation. */
  to: Address | null;
  value: bigint;
  gas: bigint;
  data: Hex;
  /** legacy and eip2930 */
  gasPrice?: bigint;
  /** eip1559 and eip7702 */
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  accessList?: AccessList;
  /** eip7702; authority signatures are not checked here (the executor does that per tuple). */
  authorizationList?: SignedAuthorizationList;
  /** Hash the sender signed (keccak of the unsigned serialization). */
  signingHash: Hex;
  signature: { r: Hex; s: Hex; yParity: 0 | 1 };
};

export type DecodeOptions = {
  /** The rollup's chain id: transactions for any other chain are rejected. */
  chainId: bigint | number;
  /** Largest accepted raw transaction, in bytes. */
  maxBytes: number;
  /** Defaults to the native backend (noble fallback). */
  backend?: RecoveryBackend;
};

export type DecodeResult = { ok: true; tx: DecodedTransaction } | { ok: false; error: IntakeError };

const SECP256K1_N = secp256k1.Point.CURVE().n;
const SECP256K1_HALF_N = SECP256K1_N >> 1n;
const HEX_BODY = /^0x(?:[0-9a-fA-F]{2})*$/;

const TYPE_BY_BYTE: Record<number, TransactionType> = { 1: "eip2930", 2: "eip1559", 4: "eip7702" };

/**
 * Decodes a raw signed transaction, checks it is acceptable for this chain and recovers its
 * sender. Throws an {@link IntakeError} subclass saying exactly what is wrong.
 */
export function decodeTransaction(input: Hex | Uint8Array, opts: DecodeOptions): DecodedTransaction {
  const raw = normalize(input, opts.maxBytes);
  const size = (raw.length - 2) / 2;
  const type = envelopeType(raw);
  const expectedChainId = BigInt(opts.chainId);

  let parsed: TransactionSerializable;
  try {
    parsed = parseTransaction(raw);
  } catch (cause) {
    // viem refuses some fields without naming them (a chain id of 0, a nonce beyond 2^53, a fee
    // beyond 2^256): read the raw fields to say which one is wrong.
    throw fieldErrorOf(raw, type, expectedChainId, cause) ?? mapParseError(cause, type, expectedChainId);
  }

  // EIP-7702: the destination is not optional and the authorization list must not be empty.
  if (parsed.type === "eip7702") {
    if (parsed.to === undefined) throw new MalformedTransactionError("eip7702 transaction cannot create a contract (to is empty)");
    if (!parsed.authorizationList?.length) throw new MalformedTransactionError("eip7702 transaction has an empty authorization list");
  }

  const { r, s, v, yParity, ...unsigned } = parsed as TransactionSerializable & {
    r?: Hex;
    s?: Hex;
    v?: bigint;
    yParity?: number;
  };
  const signed = r !== undefined && s !== undefined;

  // Re-encoding must give back the submitted bytes: otherwise one transaction could be
  // submitted under many hashes (leading zeros, long-form RLP lengths, padded r/s).
  let canonical: Hex;
  try {
    canonical = serializeTransaction(unsigned as TransactionSerializable, signed ? ({ r, s, v, yParity } as Signature) : undefined);
  } catch (cause) {
    throw new MalformedTransactionError(`malformed ${type} transaction: ${describe(cause)}`, { cause });
  }
  if (canonical !== raw) {
    throw new MalformedTransactionError(
      `${type} transaction is not canonically encoded (re-encoding gives different bytes)`,
    );
  }

  if (!signed) {
    throw new InvalidSignatureError("missing", `${type} transaction is not signed`);
  }

  if (parsed.chainId === undefined) {
    throw new WrongChainIdError(
      undefined,
      expectedChainId,
      `pre-EIP-155 legacy transaction (v = ${v}) names no chain id, so it could be replayed on any ` +
        `chain; sign it with EIP-155 replay protection for chain ${expectedChainId}`,
    );
  }
  if (BigInt(parsed.chainId) !== expectedChainId) {
    throw new WrongChainIdError(
      BigInt(parsed.chainId),
      expectedChainId,
      `transaction is signed for chain ${parsed.chainId}, this sequencer serves chain ${expectedChainId}`,
    );
  }

  checkExecutable({
    to: parsed.to ?? null,
    data: parsed.data ?? "0x",
    gas: parsed.gas ?? 0n,
    value: parsed.value ?? 0n,
    ...(parsed.type === "legacy" || parsed.type === "eip2930" ? { gasPrice: parsed.gasPrice ?? 0n } : {}),
    ...(parsed.type === "eip1559" || parsed.type === "eip7702"
      ? { maxFeePerGas: parsed.maxFeePerGas ?? 0n, maxPriorityFeePerGas: parsed.maxPriorityFeePerGas ?? 0n }
      : {}),
    ...(parsed.type !== "legacy" ? { accessList: parsed.accessList ?? [] } : {}),
    ...(parsed.type === "eip7702" ? { authorizationList: parsed.authorizationList ?? [] } : {}),
  });

  const rValue = hexToBigInt(r);
  const sValue = hexToBigInt(s);
  if (rValue === 0n || rValue >= SECP256K1_N) {
    throw new InvalidSignatureError("r-out-of-range", "signature r must be in [1, n-1]");
  }
  if (sValue === 0n || sValue >= SECP256K1_N) {
    throw new InvalidSignatureError("s-out-of-range", "signature s must be in [1, n-1]");
  }
  if (sValue > SECP256K1_HALF_N) {
    throw new InvalidSignatureError("high-s", "signature s is in the upper half of the curve order (EIP-2 forbids it)");
  }
  if (yParity !== 0 && yParity !== 1) {
    throw new InvalidSignatureError("v-out-of-range", `signature recovery bit must be 0 or 1, got ${yParity}`);
  }

  const signingHash = keccak256(serializeTransaction(unsigned as TransactionSerializable));
  const compact = new Uint8Array(64);
  compact.set(hexToBytes(r), 0);
  compact.set(hexToBytes(s), 32);
  const from = recoverSignerAddress(hexToBytes(signingHash), compact, yParity, opts.backend ?? getDefaultBackend());

  const tx: DecodedTransaction = {
    hash: keccak256(raw),
    raw,
    size,
    type,
    chainId: parsed.chainId,
    nonce: parsed.nonce ?? 0,
    from,
    to: parsed.to ?? null,
    value: parsed.value ?? 0n,
    gas: parsed.gas ?? 0n,
    data: parsed.data ?? "0x",
    signingHash,
    signature: { r, s, yParity },
  };
  if (parsed.type === "legacy" || parsed.type === "eip2930") tx.gasPrice = parsed.gasPrice ?? 0n;
  if (parsed.type === "eip1559" || parsed.type === "eip7702") {
    tx.maxFeePerGas = parsed.maxFeePerGas ?? 0n;
    tx.maxPriorityFeePerGas = parsed.maxPriorityFeePerGas ?? 0n;
  }
  if (parsed.type !== "legacy") tx.accessList = parsed.accessList ?? [];
  if (parsed.type === "eip7702") tx.authorizationList = parsed.authorizationList ?? [];
  return tx;
}

/** Decodes many raw transactions; one failure does not affect the others. */
export function decodeTransactions(inputs: readonly (Hex | Uint8Array)[], opts: DecodeOptions): DecodeResult[] {
  return inputs.map((input) => {
    try {
      return { ok: true, tx: decodeTransaction(input, opts) };
    } catch (error) {
      if (error instanceof IntakeError) return { ok: false, error };
      throw error;
    }
  });
}

function normalize(input: Hex | Uint8Array, maxBytes: number): Hex {
  if (input instanceof Uint8Array) {
    if (input.length > maxBytes) throw new TransactionTooLargeError(input.length, maxBytes);
    if (input.length === 0) throw new MalformedTransactionError("transaction is empty");
    return bytesToHex(input);
  }
  if (typeof input !== "string") throw new MalformedTransactionError("transaction must be a hex string or bytes");
  // Size first, so an oversized string is rejected without scanning it.
  const size = Math.ceil((input.length - 2) / 2);
  if (size > maxBytes) throw new TransactionTooLargeError(size, maxBytes);
  if (!HEX_BODY.test(input)) {
    throw new MalformedTransactionError("transaction must be a 0x-prefixed hex string of whole bytes");
  }
  if (input.length === 2) throw new MalformedTransactionError("transaction is empty");
  return input.toLowerCase() as Hex;
}

function envelopeType(raw: Hex): TransactionType {
  const first = Number.parseInt(raw.slice(2, 4), 16);
  if (first >= 0xc0) return "legacy";
  const typed = TYPE_BY_BYTE[first];
  if (typed) return typed;
  if (first === 3) {
    throw new UnsupportedTransactionTypeError(
      3,
      "blob transactions (EIP-4844, type 3) are not accepted: the sequencer carries no blob data; " +
        "use type 0, 1, 2 or 4",
    );
  }
  if (first <= 0x7f) {
    throw new UnsupportedTransactionTypeError(
      first,
      `unknown transaction type 0x${first.toString(16).padStart(2, "0")}; accepted types are 0 (legacy), 1, 2 and 4`,
    );
  }
  throw new MalformedTransactionError("transaction is neither an RLP list (legacy) nor an EIP-2718 typed envelope");
}

function mapParseError(cause: unknown, type: TransactionType, expectedChainId: bigint): IntakeError {
  if (cause instanceof InvalidChainIdError) {
    return new WrongChainIdError(
      undefined,
      expectedChainId,
      `${type} transaction has an invalid chain id; this sequencer serves chain ${expectedChainId}`,
      { cause },
    );
  }
  if (cause instanceof InvalidLegacyVError || cause instanceof InvalidYParityError) {
    return new InvalidSignatureError("v-out-of-range", `${type} transaction has an invalid signature v / y-parity`, {
      cause,
    });
  }
  return new MalformedTransactionError(`malformed ${type} transaction: ${describe(cause)}`, { cause });
}

/** Where each envelope's RLP list holds its width-bounded integers. */
const NUMERIC_FIELDS: Record<TransactionType, readonly (readonly [number, NumericField])[]> = {
  legacy: [[0, "nonce"], [1, "gas price"], [2, "gas"], [4, "value"]],
  eip2930: [[0, "chain id"], [1, "nonce"], [2, "gas price"], [3, "gas"], [5, "value"]],
  eip1559: [[0, "chain id"], [1, "nonce"], [2, "max priority fee per gas"], [3, "max fee per gas"], [4, "gas"], [6, "value"]],
  eip7702: [[0, "chain id"], [1, "nonce"], [2, "max priority fee per gas"], [3, "max fee per gas"], [4, "gas"], [6, "value"]],
};
/** EIP-7702: the authorization list's index, and the integers of each [chainId, address, nonce, yParity, r, s]. */
const AUTHORIZATION_LIST_INDEX = 9;
const AUTHORIZATION_FIELDS: readonly (readonly [number, NumericField])[] = [[0, "authorization chain id"], [2, "authorization nonce"]];

/**
 * The error a transaction viem could not parse deserves for one of its integers: a field wider
 * than an execution client accepts, a tip above the fee cap, a chain id other than ours (0
 * included). Undefined
 * when the raw fields show nothing of the kind (the parse error then speaks for itself).
 */
function fieldErrorOf(raw: Hex, type: TransactionType, expectedChainId: bigint, cause: unknown): IntakeError | undefined {
  let fields: unknown;
  try {
    fields = fromRlp(type === "legacy" ? raw : `0x${raw.slice(4)}`, "hex");
  } catch {
    return undefined;
  }
  if (!Array.isArray(fields)) return undefined;
  const integer = (item: unknown) => (typeof item === "string" ? (item === "0x" ? 0n : hexToBigInt(item as Hex)) : undefined);
  const check = (list: readonly unknown[], layout: readonly (readonly [number, NumericField])[]) => {
    for (const [index, field] of layout) {
      const value = integer(list[index]);
      if (value !== undefined) checkNumericField(field, value);
    }
  };
  try {
    check(fields, NUMERIC_FIELDS[type]);
    if (type === "eip1559" || type === "eip7702") {
      const [tip, fee] = [integer(fields[2]), integer(fields[3])];
      if (tip !== undefined && fee !== undefined) checkFeeOrder(tip, fee);
    }
    const authorizations = type === "eip7702" ? fields[AUTHORIZATION_LIST_INDEX] : undefined;
    if (Array.isArray(authorizations)) for (const a of authorizations) if (Array.isArray(a)) check(a, AUTHORIZATION_FIELDS);
  } catch (error) {
    if (error instanceof IntakeError) return error;
    throw error;
  }
  const chainId = type === "legacy" ? undefined : integer(fields[0]);
  if (chainId !== undefined && chainId !== expectedChainId) {
    return new WrongChainIdError(chainId, expectedChainId, `transaction is signed for chain ${chainId}, this sequencer serves chain ${expectedChainId}`, { cause });
  }
  return undefined;
}

function describe(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}
