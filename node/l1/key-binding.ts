/**
 * Proof of possession of an operator's keys: its signing key and its libp2p key each sign the
 * EIP-712 message `KeyBinding(address operator)` under the registry's domain (chain id and
 * registry address), mirroring `SequencerTypes.hashKeyBinding`. The registry checks the signing
 * key's proof in `register`; the libp2p key's (Ed25519, too costly to check on chain) is stored
 * there and checked here by every node before it trusts a peer id (`registry.ts`). A proof names
 * the operator, so one copied from someone else's registration binds nothing to the copier.
 * An operator's batcher account (the one that posts its batches, `setBatcher`) proves it agrees
 * the same way, with `BatcherBinding(address operator)`.
 */
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Address, type Hex, bytesToHex, hashTypedData, hexToBytes } from "viem";
import type { SequencerDomain, TypedDataSigner } from "../commitments/typed-data.js";
import { InvalidPeerIdError, peerIdFromBytes } from "./peer-id.js";

export const keyBindingTypes = { KeyBinding: [{ name: "operator", type: "address" }] } as const;

/** The EIP-712 digest both keys of `operator` sign (the registry's `keyBindingDigest(operator)`). */
export function keyBindingDigest(d: SequencerDomain, operator: Address): Hex {
  return hashTypedData({ domain: d, types: keyBindingTypes, primaryType: "KeyBinding", message: { operator } });
}

/** The signing key's proof: its 65-byte EIP-712 signature of `operator`'s key binding. */
export function signSignerBinding(signer: TypedDataSigner, d: SequencerDomain, operator: Address): Promise<Hex> {
  return signer.signTypedData({ domain: d, types: keyBindingTypes, primaryType: "KeyBinding", message: { operator } });
}

export const batcherBindingTypes = { BatcherBinding: [{ name: "operator", type: "address" }] } as const;

/** The EIP-712 digest an account signs to become `operator`'s batcher (the registry's `batcherBindingDigest(operator)`). */
export function batcherBindingDigest(d: SequencerDomain, operator: Address): Hex {
  return hashTypedData({ domain: d, types: batcherBindingTypes, primaryType: "BatcherBinding", message: { operator } });
}

/**
 * A batcher account's proof for `SequencerRegistry.setBatcher`: its 65-byte EIP-712 signature of
 * `BatcherBinding(operator)`, saying it agrees to post `operator`'s batches.
 */
export function signBatcherBinding(batcher: TypedDataSigner, d: SequencerDomain, operator: Address): Promise<Hex> {
  return batcher.signTypedData({ domain: d, types: batcherBindingTypes, primaryType: "BatcherBinding", message: { operator } });
}

/** The libp2p key's proof: its signature of the digest of `operator`'s key binding. */
export async function signPeerIdBinding(key: PrivateKey, d: SequencerDomain, operator: Address): Promise<Hex> {
  return bytesToHex(await key.sign(hexToBytes(keyBindingDigest(d, operator))));
}

/**
 * The peer id (string form) that the on-chain bytes `peerIdBytes` name, if `proof` is its key's
 * signature of `operator`'s key binding; null when it is not: bytes that are no peer id, an id
 * whose key cannot be read from it (RSA ids are hashes), or a signature that does not verify.
 */
export async function provenPeerId(peerIdBytes: Hex, proof: Hex, d: SequencerDomain, operator: Address): Promise<string | null> {
  let peerId;
  try {
    peerId = peerIdFromString(peerIdFromBytes(peerIdBytes));
  } catch (error) {
    if (error instanceof InvalidPeerIdError) return null;
    throw error;
  }
  if (peerId.publicKey === undefined) return null;
  try {
    return (await peerId.publicKey.verify(hexToBytes(keyBindingDigest(d, operator)), hexToBytes(proof))) ? peerId.toString() : null;
  } catch {
    // A malformed signature (wrong length or encoding) proves nothing.
    return null;
  }
}
