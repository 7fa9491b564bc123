/**
 * The client side of encrypted transactions (docs/threshold-encryption.md, "The encrypted flow"):
 * encrypt a signed transaction to the slot a sequencer node has open now, under the epoch key
 * anchored on L1, and send it with `seq_sendEncryptedTransaction`, encrypting again when the slot
 * closed on the way (a ciphertext is only ever ordered into an open slot).
 */
import { randomBytes } from "node:crypto";
import { type Address, type Hex, type PublicClient, bytesToHex, hexToBytes, isHex } from "viem";
import { nodeRpc, NodeRpcError } from "../rpc/client.js";
import { encodeCiphertext, encrypt, g1FromBytes, prepareEncryptionTarget, slotIdentity } from "../threshold/index.js";
import { epochKeysAbi } from "./generated/abi.js";
import { L1Error } from "./errors.js";

/** A node to ask: its JSON-RPC URL, or any client with an EIP-1193 `request` (a viem client). */
export type SequencerClient = string | { request(args: { method: string; params?: unknown }): Promise<unknown> };

/** L1's EpochKeys contract, to check the node's epoch key against (recommended: a client should not take one node's word for the key). */
export type EpochKeysOnL1 = { readonly client: PublicClient; readonly address: Address };

export type EncryptionTarget = { readonly chainId: number; readonly epoch: number; readonly slot: number; readonly publicKey: Hex };

/** No epoch key to encrypt to, or the node's key is not the one anchored on L1. */
export class EncryptionTargetError extends L1Error {
  override readonly name = "EncryptionTargetError";
}

async function call<T>(client: SequencerClient, method: string, params: unknown[] = []): Promise<T> {
  return typeof client === "string" ? nodeRpc<T>(client, method, params) : ((await client.request({ method, params })) as T);
}

/** What to encrypt to now: the node's open slot, its epoch key checked against L1 when `l1` is given. */
export async function encryptionTarget(client: SequencerClient, l1?: EpochKeysOnL1): Promise<EncryptionTarget> {
  const target = await call<EncryptionTarget | null>(client, "seq_getEncryptionTarget");
  if (target === null) throw new EncryptionTargetError("the node's current epoch has no epoch key: send the transaction in plaintext, or wait for the key");
  if (l1 !== undefined) {
    const anchored = await l1.client.readContract({ address: l1.address, abi: epochKeysAbi, functionName: "epochKey", args: [BigInt(target.epoch)] });
    if (anchored === "0x") throw new EncryptionTargetError(`epoch ${target.epoch}'s key is not anchored on L1 (EpochKeys ${l1.address}) yet`);
    if (anchored.toLowerCase() !== target.publicKey.toLowerCase()) throw new EncryptionTargetError(`the node's key for epoch ${target.epoch} is not the one anchored on L1: do not encrypt to it`);
  }
  return target;
}

/** Slots past the open one a client encrypts to by default: the leader closes one slot per interval (150 ms), so this leaves one interval or more for the ciphertext to reach it. */
export const DEFAULT_SLOTS_AHEAD = 1;

/**
 * Encrypts a serialized signed transaction to `target` (or the node's current one), `slotsAhead`
 * slots past its open slot (at most 64); returns the ciphertext as hex.
 */
export async function encryptTransaction(args: { readonly serializedTransaction: Hex; readonly client: SequencerClient; readonly l1?: EpochKeysOnL1; readonly target?: EncryptionTarget; readonly slotsAhead?: number }): Promise<Hex> {
  if (!isHex(args.serializedTransaction) || args.serializedTransaction.length < 4) throw new RangeError("serializedTransaction must be the signed transaction as 0x-prefixed hex");
  const target = args.target ?? (await encryptionTarget(args.client, args.l1));
  const slot = target.slot + (args.slotsAhead ?? DEFAULT_SLOTS_AHEAD);
  const prepared = prepareEncryptionTarget(g1FromBytes(hexToBytes(target.publicKey), "epoch key"), slotIdentity(target.chainId, target.epoch, slot));
  const ciphertext = encrypt(prepared, hexToBytes(args.serializedTransaction), (n) => new Uint8Array(randomBytes(n)));
  return bytesToHex(encodeCiphertext(ciphertext));
}

/**
 * Encrypts and sends a signed transaction; resolves with its order commitment (over the ciphertext's
 * record). A refusal because the slot closed on the way, or one the node marks retryable (an
 * election, a forward cut short), is answered by encrypting again to the then open slot, up to
 * `attempts` times; any other refusal is thrown as the node gave it.
 */
export async function sendEncryptedTransaction<T = unknown>(args: { readonly serializedTransaction: Hex; readonly client: SequencerClient; readonly l1?: EpochKeysOnL1; readonly attempts?: number; readonly slotsAhead?: number }): Promise<{ readonly commitment: T; readonly ciphertext: Hex }> {
  const attempts = args.attempts ?? 8;
  for (let attempt = 1, delay = 50; ; attempt++, delay = Math.min(1_000, delay * 2)) {
    try {
      const ciphertext = await encryptTransaction(args);
      return { commitment: await call<T>(args.client, "seq_sendEncryptedTransaction", [ciphertext]), ciphertext };
    } catch (error) {
      const again = error instanceof NodeRpcError && (error.retryable || (error.data as { reason?: unknown } | undefined)?.reason === "slot-closed");
      if (!again || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
