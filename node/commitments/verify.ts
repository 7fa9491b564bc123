/**
 * Client-side verification of order commitments — what a user or wallet calls on the
 * object `seq_sendRawTransaction` returned.
 *
 * Offline ({@link verifyOrderCommitment}) proves the commitment is internally consistent:
 * the transaction's leaf is at its position under the certificate's root, and the
 * certificate was signed by the returned `signer` under the stated chain and registry.
 * It proves nothing about who that signer is unless `expectedSigner` is given;
 * {@link verifyOrderCommitmentOnL1} closes that gap by checking the signer against the
 * active set the registry froze for the certificate's epoch.
 */
import { getAddress, isAddressEqual, type Address, type PublicClient } from "viem";

import {
  decodeOrderCommitmentProof,
  type OrderCommitmentProof,
  type OrderCommitmentProofJson,
} from "./certificate.js";
import { leafHash, verifyMerkleProof } from "./merkle.js";
import { MalformedSignatureError, domain, recoverOrderCommitmentSigner } from "./typed-data.js";
import { CommitmentError } from "./errors.js";

export type VerificationFailureCode =
  /** The commitment is bound to another L1 chain than the one expected. */
  | "wrong-chain"
  /** The commitment is bound to another registry (EIP-712 verifying contract) than the one expected. */
  | "wrong-registry"
  /** lastPosition < firstPosition: no such certificate can be signed. */
  | "invalid-range"
  /** The position is not inside [firstPosition, lastPosition]. */
  | "position-out-of-range"
  /** leaf(position, txHash) is not at index position - firstPosition under merkleRoot. */
  | "invalid-merkle-proof"
  /** The signature is malformed (length, v, high s) or no key recovers from it. */
  | "invalid-signature"
  /** Someone other than `expectedSigner` signed the certificate. */
  | "unexpected-signer"
  /** The signer is not in the active set the registry froze for the certificate's epoch. */
  | "signer-not-active"
  /** The certificate names an epoch L1 has not reached: its active set is not frozen yet. */
  | "epoch-not-started"
  /** Two signatures of a quorum commitment come from one signer. */
  | "duplicate-signer"
  /** A quorum commitment's signers hold no more than half of its epoch's active stake. */
  | "insufficient-stake";

export type VerificationFailure = { readonly code: VerificationFailureCode; readonly message: string };

export type VerificationResult = {
  /** True only if no check failed. */
  readonly valid: boolean;
  /** Address the certificate's signature recovers to; null if it does not recover. */
  readonly signer: Address | null;
  readonly reasons: readonly VerificationFailure[];
};

export type OnL1VerificationResult = VerificationResult & {
  /** Operator the signer is bound to in the registry (null if none). */
  readonly operator: Address | null;
};

export type VerifyOptions = {
  /** The leader key you expect; without it `valid` does not say who signed. */
  readonly expectedSigner?: Address;
  /** L1 chain id the commitment must be bound to. */
  readonly chainId?: number | bigint;
  /** Registry address the commitment must be bound to. */
  readonly registry?: Address;
};

/** A registry read failed for another reason than the data (no contract there, RPC down). */
export class RegistryReadError extends CommitmentError {
  override readonly name = "RegistryReadError";
  constructor(
    readonly registry: Address,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The registry functions verification reads (from `contracts/interfaces/ISequencerRegistry.sol`). */
export const registryVerificationAbi = [
  { type: "function", name: "currentEpoch", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
  {
    type: "function",
    name: "activeSigners",
    stateMutability: "view",
    inputs: [{ name: "epoch", type: "uint64" }],
    outputs: [{ name: "", type: "address[]" }],
  },
  {
    type: "function",
    name: "operatorOfSigner",
    stateMutability: "view",
    inputs: [{ name: "signer", type: "address" }],
    outputs: [{ name: "", type: "address" }],
  },
] as const;

type CommitmentInput = OrderCommitmentProof | OrderCommitmentProofJson;

/**
 * Verifies a commitment offline: Merkle inclusion at its position, the EIP-712 signature,
 * and any expectations given in `options`. All failed checks are reported, not just the first.
 * @throws InvalidOrderCommitmentError for JSON that is not an order commitment at all,
 *   InvalidTypedDataError / InvalidHashError for such in-memory objects
 */
export async function verifyOrderCommitment(commitment: CommitmentInput, options: VerifyOptions = {}): Promise<VerificationResult> {
  const p = toProof(commitment);
  const c = p.certificate;
  const reasons: VerificationFailure[] = [];
  const fail = (code: VerificationFailureCode, message: string) => reasons.push({ code, message });

  if (options.chainId !== undefined && BigInt(p.chainId) !== BigInt(options.chainId)) {
    fail("wrong-chain", `commitment is for chain ${p.chainId}, expected chain ${options.chainId}`);
  }
  if (options.registry !== undefined && !isAddressEqual(p.registry, options.registry)) {
    fail("wrong-registry", `commitment is for registry ${p.registry}, expected ${getAddress(options.registry)}`);
  }

  const rangeValid = c.lastPosition >= c.firstPosition;
  if (!rangeValid) {
    fail("invalid-range", `certificate range [${c.firstPosition}, ${c.lastPosition}] is empty`);
  } else if (p.position < c.firstPosition || p.position > c.lastPosition) {
    fail("position-out-of-range", `position ${p.position} is outside [${c.firstPosition}, ${c.lastPosition}]`);
  } else {
    const included = verifyMerkleProof(
      leafHash(p.position, p.txHash),
      p.position - c.firstPosition,
      c.lastPosition - c.firstPosition + 1n,
      p.proof,
      c.merkleRoot,
    );
    if (!included) {
      fail("invalid-merkle-proof", `the proof does not put ${p.txHash} at position ${p.position} under ${c.merkleRoot}`);
    }
  }

  let signer: Address | null = null;
  // An empty range cannot be hashed as a certificate (typed-data rejects it): nothing was signed.
  if (rangeValid) {
    try {
      signer = await recoverOrderCommitmentSigner(domain(p.chainId, p.registry), c, p.signature);
    } catch (error) {
      if (!(error instanceof MalformedSignatureError)) throw error;
      fail("invalid-signature", error.message);
    }
  }
  if (signer && options.expectedSigner !== undefined && !isAddressEqual(signer, options.expectedSigner)) {
    fail("unexpected-signer", `certificate signed by ${signer}, expected ${getAddress(options.expectedSigner)}`);
  }
  return { valid: reasons.length === 0, signer, reasons };
}

/**
 * Verifies a commitment against L1: everything {@link verifyOrderCommitment} checks, with the
 * chain taken from `client` and the registry from `options`, plus that the signer belongs to
 * the active set the registry froze for `certificate.epoch`.
 * @throws RegistryReadError when the registry cannot be read; the errors of verifyOrderCommitment
 */
export async function verifyOrderCommitmentOnL1(
  commitment: CommitmentInput,
  options: { client: Pick<PublicClient, "readContract" | "getChainId">; registry: Address; expectedSigner?: Address },
): Promise<OnL1VerificationResult> {
  const { client, registry } = options;
  const p = toProof(commitment);
  const chainId = await read(registry, "the chain id", () => client.getChainId());
  const offline = await verifyOrderCommitment(p, { chainId, registry, expectedSigner: options.expectedSigner });
  const { signer } = offline;
  if (signer === null) return { ...offline, operator: null };

  const epoch = p.certificate.epoch;
  const reasons = [...offline.reasons];
  const [currentEpoch, operator] = await Promise.all([
    read(registry, "currentEpoch()", () => client.readContract({ address: registry, abi: registryVerificationAbi, functionName: "currentEpoch" })),
    read(registry, "operatorOfSigner()", () =>
      client.readContract({ address: registry, abi: registryVerificationAbi, functionName: "operatorOfSigner", args: [signer] }),
    ),
  ]);
  if (epoch > currentEpoch) {
    reasons.push({
      code: "epoch-not-started",
      message: `certificate is for epoch ${epoch} but L1 is in epoch ${currentEpoch}: that epoch's active set is not frozen`,
    });
  } else {
    const signers = await read(registry, `activeSigners(${epoch})`, () =>
      client.readContract({ address: registry, abi: registryVerificationAbi, functionName: "activeSigners", args: [epoch] }),
    );
    if (!signers.some((s) => isAddressEqual(s, signer))) {
      reasons.push({ code: "signer-not-active", message: `signer ${signer} is not in the active set of epoch ${epoch}` });
    }
  }
  const bound = operator === "0x0000000000000000000000000000000000000000" ? null : getAddress(operator);
  return { valid: reasons.length === 0, signer, reasons, operator: bound };
}

async function read<T>(registry: Address, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    throw new RegistryReadError(registry, `could not read ${what} from L1 (registry ${registry}): ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** In-memory proofs carry bigint positions; anything else is treated as (untrusted) JSON. */
function toProof(commitment: CommitmentInput): OrderCommitmentProof {
  const position = (commitment as { position?: unknown } | null)?.position;
  return typeof position === "bigint" ? (commitment as OrderCommitmentProof) : decodeOrderCommitmentProof(commitment);
}
