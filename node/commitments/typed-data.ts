/**
 * EIP-712 definitions shared with the contracts (`docs/protocol.md`,
 * `contracts/libraries/SequencerTypes.sol`): the registry's domain, the OrderCommitment
 * certificate and the BatchHeader, their struct hashes, signing with a viem account and
 * signer recovery. Signatures are 65-byte r ‖ s ‖ v with v ∈ {27, 28} and low s, which
 * is what OpenZeppelin's `ECDSA.recover` accepts on chain; recovery here rejects anything
 * else so that a signature valid off-chain is valid on L1 and vice versa.
 */
import {
  type Address,
  type Hex,
  type LocalAccount,
  getAddress,
  hashStruct,
  hashTypedData,
  isAddress,
  recoverTypedDataAddress,
} from "viem";
import { CommitmentError } from "./errors.js";

export const DOMAIN_NAME = "StakedSequencer";
export const DOMAIN_VERSION = "1";

const MAX_UINT64 = (1n << 64n) - 1n;
// secp256k1 group order / 2: OpenZeppelin rejects s above it (malleability).
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** The EIP-712 domain of every signed message: the registry's. */
export type SequencerDomain = {
  readonly name: typeof DOMAIN_NAME;
  readonly version: typeof DOMAIN_VERSION;
  readonly chainId: number;
  readonly verifyingContract: Address;
};

/** Leader-signed promise that positions [firstPosition, lastPosition] hold the leaves under merkleRoot. */
export type OrderCommitment = {
  readonly epoch: bigint;
  readonly term: bigint;
  readonly firstPosition: bigint;
  readonly lastPosition: bigint;
  readonly merkleRoot: Hex;
};

/** Quorum-signed header of an L1 batch; `prevBatchHash` chains it to the previous one. */
export type BatchHeader = {
  readonly epoch: bigint;
  readonly batchNumber: bigint;
  readonly prevBatchHash: Hex;
  readonly firstPosition: bigint;
  readonly lastPosition: bigint;
  readonly merkleRoot: Hex;
  readonly dataHash: Hex;
};

/** EIP-712 types of both structs (viem `types` format; EIP712Domain is implied by viem). */
export const types = {
  OrderCommitment: [
    { name: "epoch", type: "uint64" },
    { name: "term", type: "uint64" },
    { name: "firstPosition", type: "uint64" },
    { name: "lastPosition", type: "uint64" },
    { name: "merkleRoot", type: "bytes32" },
  ],
  BatchHeader: [
    { name: "epoch", type: "uint64" },
    { name: "batchNumber", type: "uint64" },
    { name: "prevBatchHash", type: "bytes32" },
    { name: "firstPosition", type: "uint64" },
    { name: "lastPosition", type: "uint64" },
    { name: "merkleRoot", type: "bytes32" },
    { name: "dataHash", type: "bytes32" },
  ],
  EpochKey: [
    { name: "epoch", type: "uint64" },
    { name: "publicKey", type: "bytes" },
  ],
} as const;

/** An epoch's threshold-encryption key as its set signs it for L1 (contracts/EpochKeys.sol). */
export type EpochKeyStatement = { readonly epoch: bigint; readonly publicKey: Hex };

/** The genesis `prevBatchHash`. */
export const ZERO_HASH: Hex = `0x${"00".repeat(32)}`;

/** Something that signs EIP-712 data: a viem local account (privateKeyToAccount, HD, ...). */
export type TypedDataSigner = Pick<LocalAccount, "signTypedData">;

/** A struct field or the domain is not what the protocol allows. */
export class InvalidTypedDataError extends CommitmentError {
  override name = "InvalidTypedDataError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${field} must be ${expected}, got ${typeof value === "bigint" ? `${value}n` : JSON.stringify(value)}`);
  }
}

/** A signature is not 65-byte r ‖ s ‖ v with v ∈ {27, 28} and low s (L1 would reject it). */
export class MalformedSignatureError extends CommitmentError {
  override name = "MalformedSignatureError";
  constructor(
    readonly signature: unknown,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`malformed signature (${reason})`, options);
  }
}

/**
 * The registry's EIP-712 domain.
 * @throws InvalidTypedDataError for a non-positive chain id or a bad address
 */
export function domain(chainId: number | bigint, registry: Address): SequencerDomain {
  const id = Number(chainId);
  if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidTypedDataError("chainId", chainId, "a positive integer");
  if (!isAddress(registry, { strict: false })) throw new InvalidTypedDataError("registry", registry, "an address");
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: id, verifyingContract: getAddress(registry) };
}

function checkUint64(field: string, value: unknown): void {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT64) {
    throw new InvalidTypedDataError(field, value, "a bigint in [0, 2^64)");
  }
}

function checkBytes32(field: string, value: unknown): void {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new InvalidTypedDataError(field, value, "0x-prefixed 32-byte hex");
  }
}

/**
 * Checks every field of a certificate, including `firstPosition <= lastPosition`.
 * @throws InvalidTypedDataError
 */
export function validateOrderCommitment(c: OrderCommitment): void {
  checkUint64("epoch", c.epoch);
  checkUint64("term", c.term);
  checkUint64("firstPosition", c.firstPosition);
  checkUint64("lastPosition", c.lastPosition);
  checkBytes32("merkleRoot", c.merkleRoot);
  if (c.lastPosition < c.firstPosition) {
    throw new InvalidTypedDataError("lastPosition", c.lastPosition, `>= firstPosition (${c.firstPosition})`);
  }
}

/**
 * Checks every field of a batch header, including `firstPosition <= lastPosition` and
 * `batchNumber >= 1`.
 * @throws InvalidTypedDataError
 */
export function validateBatchHeader(h: BatchHeader): void {
  checkUint64("epoch", h.epoch);
  checkUint64("batchNumber", h.batchNumber);
  if (h.batchNumber === 0n) throw new InvalidTypedDataError("batchNumber", h.batchNumber, ">= 1");
  checkBytes32("prevBatchHash", h.prevBatchHash);
  checkUint64("firstPosition", h.firstPosition);
  checkUint64("lastPosition", h.lastPosition);
  checkBytes32("merkleRoot", h.merkleRoot);
  checkBytes32("dataHash", h.dataHash);
  if (h.lastPosition < h.firstPosition) {
    throw new InvalidTypedDataError("lastPosition", h.lastPosition, `>= firstPosition (${h.firstPosition})`);
  }
}

/** EIP-712 struct hash of a certificate (what `SequencerTypes.hash(OrderCommitment)` returns). */
export function orderCommitmentHash(c: OrderCommitment): Hex {
  validateOrderCommitment(c);
  return hashStruct({ data: c, primaryType: "OrderCommitment", types });
}

/**
 * The batch hash: EIP-712 struct hash of the header (no domain). The next header's
 * `prevBatchHash` holds it, and the inbox stores it.
 */
export function batchHash(h: BatchHeader): Hex {
  validateBatchHeader(h);
  return hashStruct({ data: h, primaryType: "BatchHeader", types });
}

/** EIP-712 digest (`\x19\x01 ‖ domainSeparator ‖ structHash`) a certificate signature covers. */
export function orderCommitmentDigest(d: SequencerDomain, c: OrderCommitment): Hex {
  validateOrderCommitment(c);
  return hashTypedData({ domain: d, types, primaryType: "OrderCommitment", message: c });
}

/** EIP-712 digest a batch header signature covers. */
export function batchHeaderDigest(d: SequencerDomain, h: BatchHeader): Hex {
  validateBatchHeader(h);
  return hashTypedData({ domain: d, types, primaryType: "BatchHeader", message: h });
}

/** Signs a certificate with the leader's signing key. */
export async function signOrderCommitment(signer: TypedDataSigner, d: SequencerDomain, c: OrderCommitment): Promise<Hex> {
  validateOrderCommitment(c);
  return signer.signTypedData({ domain: d, types, primaryType: "OrderCommitment", message: c });
}

/** Signs a batch header with a member's signing key. */
export async function signBatchHeader(signer: TypedDataSigner, d: SequencerDomain, h: BatchHeader): Promise<Hex> {
  validateBatchHeader(h);
  return signer.signTypedData({ domain: d, types, primaryType: "BatchHeader", message: h });
}

/**
 * Checks the L1 signature format: 65 bytes, v ∈ {27, 28}, s <= n/2.
 * @throws MalformedSignatureError
 */
export function checkSignatureFormat(signature: Hex): void {
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new MalformedSignatureError(signature, "expected 0x + 65 bytes of hex");
  }
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  if (v !== 27 && v !== 28) throw new MalformedSignatureError(signature, `v must be 27 or 28, got ${v}`);
  if (s === 0n || s > SECP256K1_HALF_N) throw new MalformedSignatureError(signature, "s must be in [1, n/2] (low-s)");
}

function validateEpochKey(k: EpochKeyStatement): void {
  checkUint64("epoch", k.epoch);
  if (typeof k.publicKey !== "string" || !/^0x[0-9a-fA-F]{96}$/.test(k.publicKey)) throw new InvalidTypedDataError("publicKey", k.publicKey, "0x-prefixed 48-byte hex");
}

/** Signs an epoch key with a member's signing key (only a key its own log's DKG gave). */
export async function signEpochKey(signer: TypedDataSigner, d: SequencerDomain, k: EpochKeyStatement): Promise<Hex> {
  validateEpochKey(k);
  return signer.signTypedData({ domain: d, types, primaryType: "EpochKey", message: k });
}

/**
 * Address that signed an epoch key.
 * @throws InvalidTypedDataError, MalformedSignatureError
 */
export async function recoverEpochKeySigner(d: SequencerDomain, k: EpochKeyStatement, signature: Hex): Promise<Address> {
  validateEpochKey(k);
  return recover(d, "EpochKey", k, signature);
}

async function recover(d: SequencerDomain, primaryType: keyof typeof types, message: OrderCommitment | BatchHeader | EpochKeyStatement, signature: Hex): Promise<Address> {
  checkSignatureFormat(signature);
  try {
    return await recoverTypedDataAddress({ domain: d, types, primaryType, message, signature } as Parameters<typeof recoverTypedDataAddress>[0]);
  } catch (cause) {
    throw new MalformedSignatureError(signature, "no public key recovers from it", { cause });
  }
}

/**
 * Address that signed a certificate.
 * @throws InvalidTypedDataError, MalformedSignatureError
 */
export async function recoverOrderCommitmentSigner(d: SequencerDomain, c: OrderCommitment, signature: Hex): Promise<Address> {
  validateOrderCommitment(c);
  return recover(d, "OrderCommitment", c, signature);
}

/**
 * Address that signed a batch header.
 * @throws InvalidTypedDataError, MalformedSignatureError
 */
export async function recoverBatchHeaderSigner(d: SequencerDomain, h: BatchHeader, signature: Hex): Promise<Address> {
  validateBatchHeader(h);
  return recover(d, "BatchHeader", h, signature);
}
