/**
 * Order-commitment certificates: the leader signs ONE OrderCommitment per committed group
 * (a contiguous range of positions and the Merkle root of their leaves) and hands every
 * transaction of the group an {@link OrderCommitmentProof}: the certificate, the signature,
 * the transaction's position and its Merkle proof. Signing is off the per-transaction path;
 * a proof is a few array lookups in the already-built tree.
 *
 * JSON encoding (what `seq_sendRawTransaction` returns, {@link OrderCommitmentProofJson}):
 * integers (epoch, term, positions, chainId) are Ethereum JSON-RPC QUANTITY strings, i.e.
 * 0x-prefixed hex without leading zeros ("0x0", "0x2a"), like `eth_chainId` and block
 * numbers; hashes and the signature are 0x-prefixed hex bytes; `registry` is a checksummed
 * address. Decoding accepts exactly that and nothing looser.
 */
import { getAddress, isAddress, type Address, type Hex } from "viem";

import { buildPositionalTree, merkleProof, merkleRoot, type MerkleTree } from "./merkle.js";
import type { StoredCertificate } from "../domain/types.js";
import {
  domain,
  signOrderCommitment,
  type OrderCommitment,
  type SequencerDomain,
  type TypedDataSigner,
} from "./typed-data.js";
import { CommitmentError } from "./errors.js";

/** A group the log has committed (durable on a majority): positions firstPosition.. in order. */
export type CommittedGroup = {
  readonly epoch: bigint;
  readonly term: bigint;
  readonly firstPosition: bigint;
  readonly txHashes: readonly Hex[];
};

/** One transaction's order commitment, as a user receives it. */
export type OrderCommitmentProof = {
  readonly certificate: OrderCommitment;
  /** 65-byte r ‖ s ‖ v EIP-712 signature of `certificate` under the registry's domain. */
  readonly signature: Hex;
  readonly position: bigint;
  readonly txHash: Hex;
  /** Merkle proof of leaf(position, txHash) at index `position - firstPosition` (docs/protocol.md). */
  readonly proof: readonly Hex[];
  /** EIP-712 domain: the L1 chain and registry the signature is bound to. */
  readonly chainId: number;
  readonly registry: Address;
};

/** Hex QUANTITY: "0x0", "0x1f", no leading zeros. */
export type Quantity = `0x${string}`;

export type OrderCommitmentProofJson = {
  certificate: {
    epoch: Quantity;
    term: Quantity;
    firstPosition: Quantity;
    lastPosition: Quantity;
    merkleRoot: Hex;
  };
  signature: Hex;
  position: Quantity;
  txHash: Hex;
  proof: Hex[];
  chainId: Quantity;
  registry: Address;
};

/** Where a certificate is valid: the L1 chain and the registry (EIP-712 verifying contract). */
export type CertificateDomain = { readonly chainId: number | bigint; readonly registry: Address };

/** The input is not a well-formed order commitment (JSON shape, field encoding, range). */
export class InvalidOrderCommitmentError extends CommitmentError {
  override readonly name = "InvalidOrderCommitmentError";
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}

/** A position outside the certificate's range was asked for. */
export class PositionNotCertifiedError extends CommitmentError {
  override readonly name = "PositionNotCertifiedError";
  constructor(
    readonly position: bigint,
    readonly firstPosition: bigint,
    readonly lastPosition: bigint,
  ) {
    super(`position ${position} is not in the certificate's range [${firstPosition}, ${lastPosition}]`);
  }
}

/** A signed certificate with its tree: source of every per-transaction proof of the group. */
export class SignedCertificate {
  readonly registry: Address;
  readonly chainId: number;

  constructor(
    readonly certificate: OrderCommitment,
    readonly signature: Hex,
    readonly domain: SequencerDomain,
    private readonly tree: MerkleTree,
    private readonly txHashes: readonly Hex[],
  ) {
    this.chainId = domain.chainId;
    this.registry = domain.verifyingContract;
  }

  get size(): number {
    return this.txHashes.length;
  }

  /** Proof for the `index`-th transaction of the group (position firstPosition + index). */
  proofAt(index: number): OrderCommitmentProof {
    const proof = merkleProof(this.tree, index); // throws LeafIndexOutOfRangeError for a bad index
    return {
      certificate: this.certificate,
      signature: this.signature,
      position: this.certificate.firstPosition + BigInt(index),
      txHash: this.txHashes[index]!,
      proof,
      chainId: this.chainId,
      registry: this.registry,
    };
  }

  /** Proof for the transaction at global `position`. */
  proofFor(position: bigint): OrderCommitmentProof {
    const { firstPosition, lastPosition } = this.certificate;
    if (position < firstPosition || position > lastPosition) {
      throw new PositionNotCertifiedError(position, firstPosition, lastPosition);
    }
    return this.proofAt(Number(position - firstPosition));
  }

  /** Proofs of every transaction of the group, in position order. */
  proofs(): OrderCommitmentProof[] {
    return Array.from({ length: this.size }, (_, i) => this.proofAt(i));
  }
}

/**
 * A certificate as a node stores it (numbers, signature) with the transaction hashes of its
 * range, in position order, turned back into a SignedCertificate that proves any of them.
 */
export function signedCertificateFromStore(stored: StoredCertificate, txHashes: readonly Hex[], d: SequencerDomain): SignedCertificate {
  const certificate: OrderCommitment = {
    epoch: BigInt(stored.epoch),
    term: BigInt(stored.term),
    firstPosition: BigInt(stored.firstPosition),
    lastPosition: BigInt(stored.lastPosition),
    merkleRoot: stored.merkleRoot,
  };
  return new SignedCertificate(certificate, stored.signature, d, buildPositionalTree(stored.firstPosition, txHashes), txHashes);
}

/**
 * Builds the group's positional Merkle tree and signs its one certificate with the leader's
 * signing key.
 * @throws EmptyTreeError, InvalidPositionError, InvalidHashError (merkle.ts) and
 *   InvalidTypedDataError (typed-data.ts) for a group or domain that cannot be certified
 */
export async function certifyGroup(
  group: CommittedGroup,
  options: CertificateDomain & { signer: TypedDataSigner },
): Promise<SignedCertificate> {
  const d = domain(options.chainId, options.registry);
  const tree = buildPositionalTree(group.firstPosition, group.txHashes);
  const certificate: OrderCommitment = {
    epoch: group.epoch,
    term: group.term,
    firstPosition: group.firstPosition,
    lastPosition: group.firstPosition + BigInt(group.txHashes.length - 1),
    merkleRoot: merkleRoot(tree),
  };
  const signature = await signOrderCommitment(options.signer, d, certificate);
  const txHashes = group.txHashes.map((h) => h.toLowerCase() as Hex);
  return new SignedCertificate(certificate, signature, d, tree, txHashes);
}

export function encodeOrderCommitmentProof(p: OrderCommitmentProof): OrderCommitmentProofJson {
  const { signature, ...rest } = p;
  return { ...encodeCommitmentBody(rest), signature };
}

/** A commitment without its signature(s): what a leader's and a quorum's commitment share. */
export type CommitmentBody = Omit<OrderCommitmentProof, "signature">;
export type CommitmentBodyJson = Omit<OrderCommitmentProofJson, "signature">;

export function encodeCommitmentBody(p: CommitmentBody): CommitmentBodyJson {
  const c = p.certificate;
  return {
    certificate: {
      epoch: quantity(c.epoch),
      term: quantity(c.term),
      firstPosition: quantity(c.firstPosition),
      lastPosition: quantity(c.lastPosition),
      merkleRoot: c.merkleRoot,
    },
    position: quantity(p.position),
    txHash: p.txHash,
    proof: [...p.proof],
    chainId: quantity(BigInt(p.chainId)),
    registry: p.registry,
  };
}

const MAX_UINT64 = (1n << 64n) - 1n;
const QUANTITY = /^0x(?:0|[1-9a-fA-F][0-9a-fA-F]*)$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;

/**
 * Parses the JSON form (e.g. a `seq_sendRawTransaction` result) back into a proof. It checks
 * encodings only; whether the commitment holds is {@link verifyOrderCommitment}'s job.
 * @throws InvalidOrderCommitmentError naming the offending field
 */
export function decodeOrderCommitmentProof(json: unknown): OrderCommitmentProof {
  const body = decodeCommitmentBody(json);
  return { ...body, signature: signatureField((json as Record<string, unknown>).signature, "signature") };
}

/** A 0x-prefixed hex signature field (its length and validity are the verifier's to judge). */
export function signatureField(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !BYTES.test(value)) throw new InvalidOrderCommitmentError(field, "must be 0x-prefixed hex bytes");
  return value.toLowerCase() as Hex;
}

/**
 * Parses everything of a commitment's JSON form but its signature(s).
 * @throws InvalidOrderCommitmentError naming the offending field
 */
export function decodeCommitmentBody(json: unknown): CommitmentBody {
  const o = object(json, "commitment");
  const c = object(o.certificate, "certificate");
  const proof = o.proof;
  if (!Array.isArray(proof)) throw new InvalidOrderCommitmentError("proof", "must be an array of 32-byte hashes");
  const chainId = uint(o.chainId, "chainId");
  if (chainId === 0n || chainId > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidOrderCommitmentError("chainId", "must be a positive safe integer");
  }
  if (typeof o.registry !== "string" || !isAddress(o.registry, { strict: false })) {
    throw new InvalidOrderCommitmentError("registry", "must be a 20-byte address");
  }
  return {
    certificate: {
      epoch: uint(c.epoch, "certificate.epoch"),
      term: uint(c.term, "certificate.term"),
      firstPosition: uint(c.firstPosition, "certificate.firstPosition"),
      lastPosition: uint(c.lastPosition, "certificate.lastPosition"),
      merkleRoot: bytes32(c.merkleRoot, "certificate.merkleRoot"),
    },
    position: uint(o.position, "position"),
    txHash: bytes32(o.txHash, "txHash"),
    proof: proof.map((h, i) => bytes32(h, `proof[${i}]`)),
    chainId: Number(chainId),
    registry: getAddress(o.registry),
  };
}

function quantity(value: bigint): Quantity {
  return `0x${value.toString(16)}`;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidOrderCommitmentError(field, "must be an object");
  }
  return value as Record<string, unknown>;
}

function uint(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !QUANTITY.test(value)) {
    throw new InvalidOrderCommitmentError(field, `must be a hex quantity ("0x0", "0x2a"), got ${JSON.stringify(value)}`);
  }
  const n = BigInt(value);
  if (n > MAX_UINT64) throw new InvalidOrderCommitmentError(field, "must fit in uint64");
  return n;
}

function bytes32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !BYTES32.test(value)) {
    throw new InvalidOrderCommitmentError(field, `must be a 0x-prefixed 32-byte hash, got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase() as Hex;
}
