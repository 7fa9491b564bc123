/**
 * A quorum commitment: a transaction's place under a certificate that members holding more than
 * half of its epoch's stake signed (`seq_getQuorumCommitment`). Unlike the leader's commitment it
 * is accountable against any majority: a batch that contradicts it is signed by someone who also
 * signed it, and `Slashing.slashBrokenCommitment` takes that signer's two signatures.
 *
 * JSON: the leader's commitment's fields (certificate.ts) with `signatures` (an array of 65-byte
 * signatures) in place of `signature`.
 */
import { getAddress, isAddressEqual, type Address, type Hex, type PublicClient } from "viem";
import {
  decodeCommitmentBody,
  encodeCommitmentBody,
  signatureField,
  InvalidOrderCommitmentError,
  type CommitmentBody,
  type CommitmentBodyJson,
  type OrderCommitmentProof,
} from "./certificate.js";
import { buildPositionalTree, merkleProof } from "./merkle.js";
import type { SequencerDomain } from "./typed-data.js";
import type { StoredQuorumCertificate } from "../domain/types.js";
import { RegistryReadError, verifyOrderCommitment, type VerificationFailure, type VerifyOptions } from "./verify.js";

/**
 * The quorum commitment of `position` under a stored quorum certificate, given the transaction
 * hashes of its whole range in position order.
 */
export function quorumCommitmentFromStore(stored: StoredQuorumCertificate, txHashes: readonly Hex[], position: number, d: SequencerDomain): QuorumCommitment {
  const tree = buildPositionalTree(stored.firstPosition, txHashes);
  const index = position - stored.firstPosition;
  return {
    certificate: { epoch: BigInt(stored.epoch), term: BigInt(stored.term), firstPosition: BigInt(stored.firstPosition), lastPosition: BigInt(stored.lastPosition), merkleRoot: stored.merkleRoot },
    signatures: stored.signatures,
    position: BigInt(position),
    txHash: txHashes[index]!,
    proof: merkleProof(tree, index),
    chainId: d.chainId,
    registry: d.verifyingContract,
  };
}

/** The leader's-commitment form of one signer's signature of `q` (what slashing takes). */
export function commitmentOfSignature(q: QuorumCommitment, signature: Hex): OrderCommitmentProof {
  const { signatures: _, ...body } = q;
  return { ...body, signature };
}

/** Most signatures a quorum commitment carries (one per member: far above any set size). */
const MAX_SIGNATURES = 1_024;

export type QuorumCommitment = CommitmentBody & { readonly signatures: readonly Hex[] };
export type QuorumCommitmentJson = CommitmentBodyJson & { signatures: Hex[] };

export function encodeQuorumCommitment(q: QuorumCommitment): QuorumCommitmentJson {
  const { signatures, ...body } = q;
  return { ...encodeCommitmentBody(body), signatures: [...signatures] };
}

/** @throws InvalidOrderCommitmentError naming the offending field */
export function decodeQuorumCommitment(json: unknown): QuorumCommitment {
  const body = decodeCommitmentBody(json);
  const signatures = (json as Record<string, unknown>).signatures;
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > MAX_SIGNATURES) {
    throw new InvalidOrderCommitmentError("signatures", `must be an array of 1 to ${MAX_SIGNATURES} signatures`);
  }
  return { ...body, signatures: signatures.map((s, i) => signatureField(s, `signatures[${i}]`)) };
}

export type QuorumVerificationResult = {
  /** True only if no check failed (offline: the proof and every signature; on L1: the stake too). */
  readonly valid: boolean;
  /** The distinct addresses the signatures recover to. */
  readonly signers: readonly Address[];
  readonly reasons: readonly VerificationFailure[];
};

/**
 * Verifies a quorum commitment offline: Merkle inclusion, and that every signature is the
 * certificate's under the stated chain and registry. Who the signers are, and whether they hold
 * more than half the stake, only L1 tells ({@link verifyQuorumCommitmentOnL1}).
 */
export async function verifyQuorumCommitment(q: QuorumCommitment, options: Omit<VerifyOptions, "expectedSigner"> = {}): Promise<QuorumVerificationResult> {
  const { signatures } = q;
  const results = await Promise.all(signatures.map((signature) => verifyOrderCommitment(commitmentOfSignature(q, signature), options)));
  const reasons = new Map<string, VerificationFailure>();
  for (const r of results) for (const reason of r.reasons) reasons.set(`${reason.code}:${reason.message}`, reason);
  const signers: Address[] = [];
  for (const r of results) if (r.signer !== null && !signers.some((s) => isAddressEqual(s, r.signer!))) signers.push(r.signer);
  if (signers.length < signatures.length) {
    reasons.set("duplicate-signer", { code: "duplicate-signer", message: `${signatures.length} signatures come from ${signers.length} distinct signers` });
  }
  return { valid: reasons.size === 0, signers, reasons: [...reasons.values()] };
}

const activeSignerStakesAbi = [
  { type: "function", name: "currentEpoch", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
  {
    type: "function",
    name: "activeSignerStakes",
    stateMutability: "view",
    inputs: [{ name: "epoch", type: "uint64" }],
    outputs: [
      { name: "signers", type: "address[]" },
      { name: "stakes", type: "uint256[]" },
    ],
  },
] as const;

/**
 * Verifies a quorum commitment against L1: everything {@link verifyQuorumCommitment} checks, with
 * the chain from `client`, plus that every signer is in the certificate epoch's active set and
 * that together they hold more than half of its stake (the inbox's rule for batches).
 * @throws RegistryReadError when the registry cannot be read
 */
export async function verifyQuorumCommitmentOnL1(
  q: QuorumCommitment,
  options: { client: Pick<PublicClient, "readContract" | "getChainId">; registry: Address },
): Promise<QuorumVerificationResult & { readonly signedStake: bigint; readonly activeStake: bigint }> {
  const { client, registry } = options;
  const read = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (cause) {
      throw new RegistryReadError(registry, `could not read ${what} from L1 (registry ${registry}): ${(cause as Error).message}`, { cause });
    }
  };
  const chainId = await read("the chain id", () => client.getChainId());
  const offline = await verifyQuorumCommitment(q, { chainId, registry });
  const reasons = [...offline.reasons];
  const epoch = q.certificate.epoch;
  const current = await read("currentEpoch()", () => client.readContract({ address: registry, abi: activeSignerStakesAbi, functionName: "currentEpoch" }));
  if (epoch > current) {
    reasons.push({ code: "epoch-not-started", message: `certificate is for epoch ${epoch} but L1 is in epoch ${current}: that epoch's active set is not frozen` });
    return { valid: false, signers: offline.signers, reasons, signedStake: 0n, activeStake: 0n };
  }
  const [signers, stakes] = await read(`activeSignerStakes(${epoch})`, () =>
    client.readContract({ address: registry, abi: activeSignerStakesAbi, functionName: "activeSignerStakes", args: [epoch] }),
  );
  const activeStake = stakes.reduce((sum, s) => sum + s, 0n);
  let signedStake = 0n;
  for (const signer of offline.signers) {
    const i = signers.findIndex((s) => isAddressEqual(s, signer));
    if (i < 0) reasons.push({ code: "signer-not-active", message: `signer ${getAddress(signer)} is not in the active set of epoch ${epoch}` });
    else signedStake += stakes[i]!;
  }
  if (signedStake * 2n <= activeStake) {
    reasons.push({ code: "insufficient-stake", message: `the signers hold ${signedStake} of epoch ${epoch}'s ${activeStake} stake; more than half is needed` });
  }
  return { valid: reasons.length === 0, signers: offline.signers, reasons, signedStake, activeStake };
}
