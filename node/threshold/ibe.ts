/**
 * Boneh–Franklin identity-based encryption, FullIdent (Boneh & Franklin, "Identity-Based Encryption
 * from the Weil Pairing", CRYPTO 2001, §4.2: BasicIdent made IND-ID-CCA by the Fujisaki–Okamoto
 * transform), with drand/tlock's hash functions H2, H3, H4 so that ciphertexts made by drand's
 * implementation decrypt here (test/threshold/vectors.test.ts), and a KEM/DEM hybrid around it:
 * FullIdent encrypts a fresh 32-byte AES-256-GCM key, and the payload is sealed under that key with
 * the whole header as associated data. See docs/threshold-encryption.md for the argument.
 *
 * Groups (see curve.ts): master public key P = s·G1, identity point Q = H1(id) in G2, identity key
 * d = s·Q in G2. Encrypt(M): σ random, r = H3(σ, M), U = r·G1, V = σ ⊕ H2(e(P, Q)^r), W = M ⊕ H4(σ).
 * Decrypt: σ = V ⊕ H2(e(U, d)), M = W ⊕ H4(σ), accept only if U = H3(σ, M)·G1.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { Reader, Writer } from "../codec/bytes.js";
import {
  CURVE_ORDER,
  G1,
  G1_BYTES,
  type G1Point,
  type G2Point,
  type G2Prepared,
  type RandomBytes,
  bytesToBigint,
  g1FromBytes,
  g1ToBytes,
  gtToBytes,
  hashIdentity,
  pairPrepared,
  pairingsEqual,
  prepareG2,
  sha256Of,
} from "./curve.js";
import { decoding, sameBytes } from "./bytes.js";
import { InvalidCiphertextError, InvalidSlotKeyError, MalformedThresholdDataError } from "./errors.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const TAG_H2 = ascii("IBE-H2");
const TAG_H3 = ascii("IBE-H3");
const TAG_H4 = ascii("IBE-H4");

/** The largest FullIdent message (and σ): one SHA-256 output. */
export const MAX_IBE_MESSAGE_BYTES = 32;

/** A FullIdent ciphertext of an n-byte message: U in G1, V and W of n bytes each. */
export type IbeCiphertext = { readonly u: G1Point; readonly v: Uint8Array; readonly w: Uint8Array };

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function h2(gt: ReturnType<typeof pairPrepared>, length: number): Uint8Array {
  return sha256Of(TAG_H2, gtToBytes(gt)).subarray(0, length);
}

/** H3: (σ, M) to a scalar below r, by rehashing with a 16-bit little-endian counter until it fits. */
function h3(sigma: Uint8Array, message: Uint8Array): bigint {
  const seed = sha256Of(TAG_H3, sigma, message);
  for (let i = 1; i < 65535; i++) {
    const d = sha256Of(new Uint8Array([i & 0xff, i >>> 8]), seed);
    d[0] = d[0]! >> 1;
    const n = bytesToBigint(d);
    if (n < CURVE_ORDER) return n;
  }
  // Each try fails with probability below 1/2: unreachable short of a broken SHA-256.
  throw new InvalidCiphertextError("H3 found no scalar below the group order");
}

function h4(sigma: Uint8Array, length: number): Uint8Array {
  return sha256Of(TAG_H4, sigma).subarray(0, length);
}

/** What an encryptor computes once per (epoch key, identity): Q = H1(id) and its Miller-loop lines. */
export type EncryptionTarget = {
  readonly publicKey: G1Point;
  readonly identity: Uint8Array;
  readonly identityPoint: G2Point;
  readonly prepared: G2Prepared;
};

export function prepareEncryptionTarget(publicKey: G1Point, identity: Uint8Array, dst?: string): EncryptionTarget {
  const identityPoint = hashIdentity(identity, dst);
  return { publicKey, identity: identity.slice(), identityPoint, prepared: prepareG2(identityPoint) };
}

/** FullIdent encryption of `message` (1 to 32 bytes) with the caller's σ of the same length. */
export function ibeEncrypt(target: EncryptionTarget, message: Uint8Array, sigma: Uint8Array): IbeCiphertext {
  if (message.length === 0 || message.length > MAX_IBE_MESSAGE_BYTES) throw new RangeError(`an IBE message is 1 to ${MAX_IBE_MESSAGE_BYTES} bytes, got ${message.length}`);
  if (sigma.length !== message.length) throw new RangeError(`σ must be as long as the message (${message.length} bytes), got ${sigma.length}`);
  const r = h3(sigma, message);
  const u = G1.BASE.multiply(r);
  // e(P, Q)^r computed as e(r·P, Q): a G1 multiplication is cheaper than an exponentiation in GT.
  const g = pairPrepared(target.publicKey.multiply(r), target.prepared);
  return { u, v: xor(sigma, h2(g, sigma.length)), w: xor(message, h4(sigma, message.length)) };
}

/** A slot's identity key d = s·H1(id), checked against the epoch key and ready to decrypt with. */
export type SlotKey = {
  readonly identity: Uint8Array;
  readonly key: G2Point;
  readonly prepared: G2Prepared;
};

/**
 * `key` as the identity key of `identity` under `publicKey`, after checking e(G1, d) = e(P, H1(id))
 * (the BLS signature check), so a wrong key is refused before anything is decrypted with it.
 */
export function prepareSlotKey(publicKey: G1Point, identity: Uint8Array, key: G2Point, dst?: string): SlotKey {
  if (!pairingsEqual(G1.BASE, key, publicKey, hashIdentity(identity, dst))) {
    throw new InvalidSlotKeyError("the slot key is not the epoch key's identity key for this identity");
  }
  return { identity: identity.slice(), key, prepared: prepareG2(key) };
}

/** FullIdent decryption; throws InvalidCiphertextError unless the re-encryption check U = H3(σ, M)·G1 holds. */
export function ibeDecrypt(slotKey: SlotKey, ciphertext: IbeCiphertext): Uint8Array {
  const { u, v, w } = ciphertext;
  if (v.length !== w.length || v.length === 0 || v.length > MAX_IBE_MESSAGE_BYTES) {
    throw new InvalidCiphertextError(`V and W must have the same length of 1 to ${MAX_IBE_MESSAGE_BYTES} bytes, got ${v.length} and ${w.length}`);
  }
  const sigma = xor(v, h2(pairPrepared(u, slotKey.prepared), v.length));
  const message = xor(w, h4(sigma, w.length));
  if (!G1.BASE.multiply(h3(sigma, message)).equals(u)) throw new InvalidCiphertextError("the ciphertext fails the re-encryption check U = H3(σ, M)·G1");
  return message;
}

// ---------------------------------------------------------------------------------------------
// The hybrid: an encrypted transaction.

export const CIPHERTEXT_VERSION = 1;
const KEY_BYTES = 32;
const GCM_TAG_BYTES = 16;
/** AES-GCM under a key used for exactly one message: a fixed nonce is safe (the key is never reused). */
const GCM_NONCE = new Uint8Array(12);
export const MAX_IDENTITY_BYTES = 64;
/** The largest payload a ciphertext carries: a transaction of the node's default limit (128 KiB). */
export const MAX_PLAINTEXT_BYTES = 128 * 1024;
/** Bytes a ciphertext adds to its plaintext with an identity of `identityBytes`. */
export const ciphertextOverhead = (identityBytes: number): number => 1 + 1 + identityBytes + G1_BYTES + 2 * KEY_BYTES + 3 + GCM_TAG_BYTES;

/** An encrypted transaction: a FullIdent-encrypted AES key for `identity`, and the sealed payload. */
export type Ciphertext = {
  readonly identity: Uint8Array;
  readonly header: IbeCiphertext;
  /** AES-256-GCM ciphertext with its 16-byte tag appended. */
  readonly payload: Uint8Array;
};

function writeHeader(w: Writer, identity: Uint8Array, header: IbeCiphertext): void {
  w.u8(CIPHERTEXT_VERSION);
  w.bytes(identity, MAX_IDENTITY_BYTES, "identity");
  w.raw(g1ToBytes(header.u));
  if (header.v.length !== KEY_BYTES || header.w.length !== KEY_BYTES) throw new RangeError(`V and W must be ${KEY_BYTES} bytes`);
  w.raw(header.v);
  w.raw(header.w);
}

function headerBytes(identity: Uint8Array, header: IbeCiphertext): Uint8Array {
  const w = new Writer(1 + 1 + identity.length + G1_BYTES + 2 * KEY_BYTES);
  writeHeader(w, identity, header);
  return w.finish();
}

/**
 * Encrypts `plaintext` to `target` (an epoch key and a slot identity). Draws 64 bytes from
 * `random`: the AES key and FullIdent's σ. Deterministic given them.
 */
export function encrypt(target: EncryptionTarget, plaintext: Uint8Array, random: RandomBytes): Ciphertext {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new RangeError(`a plaintext is at most ${MAX_PLAINTEXT_BYTES} bytes, got ${plaintext.length}`);
  if (target.identity.length > MAX_IDENTITY_BYTES) throw new RangeError(`an identity is at most ${MAX_IDENTITY_BYTES} bytes`);
  const key = random(KEY_BYTES);
  const sigma = random(KEY_BYTES);
  if (key.length !== KEY_BYTES || sigma.length !== KEY_BYTES) throw new RangeError("the randomness source returned the wrong number of bytes");
  const header = ibeEncrypt(target, key, sigma);
  const cipher = createCipheriv("aes-256-gcm", key, GCM_NONCE, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(headerBytes(target.identity, header));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { identity: target.identity.slice(), header, payload: new Uint8Array(body.buffer, body.byteOffset, body.length) };
}

/** The plaintext of `ciphertext` under its slot's key; InvalidCiphertextError for any tampering. */
export function decrypt(slotKey: SlotKey, ciphertext: Ciphertext): Uint8Array {
  if (!sameBytes(slotKey.identity, ciphertext.identity)) throw new InvalidCiphertextError("the ciphertext names another identity than this slot key's");
  if (ciphertext.payload.length < GCM_TAG_BYTES) throw new InvalidCiphertextError("the payload is shorter than its authentication tag");
  const key = ibeDecrypt(slotKey, ciphertext.header);
  const tagAt = ciphertext.payload.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv("aes-256-gcm", key, GCM_NONCE, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(headerBytes(ciphertext.identity, ciphertext.header));
  decipher.setAuthTag(ciphertext.payload.subarray(tagAt));
  try {
    const out = Buffer.concat([decipher.update(ciphertext.payload.subarray(0, tagAt)), decipher.final()]);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (cause) {
    throw new InvalidCiphertextError("the payload fails AES-GCM authentication", { cause });
  }
}

export function encodeCiphertext(ciphertext: Ciphertext): Uint8Array {
  const w = new Writer(ciphertextOverhead(ciphertext.identity.length) + ciphertext.payload.length);
  writeHeader(w, ciphertext.identity, ciphertext.header);
  w.bytes(ciphertext.payload, MAX_PLAINTEXT_BYTES + GCM_TAG_BYTES, "payload");
  return w.finish();
}

/** Decodes an encrypted transaction: version 1, an identity, a G1 point in its subgroup, V, W, a payload. */
export function decodeCiphertext(bytes: Uint8Array): Ciphertext {
  return decoding("ciphertext", () => {
    const r = new Reader(bytes, "ciphertext");
    const version = r.u8("version");
    if (version !== CIPHERTEXT_VERSION) throw new MalformedThresholdDataError(`ciphertext version ${version} is not ${CIPHERTEXT_VERSION}`);
    const identity = r.bytes(MAX_IDENTITY_BYTES, "identity").slice();
    const u = g1FromBytes(r.raw(G1_BYTES, "U"), "U");
    const v = r.raw(KEY_BYTES, "V").slice();
    const w = r.raw(KEY_BYTES, "W").slice();
    const payload = r.bytes(MAX_PLAINTEXT_BYTES + GCM_TAG_BYTES, "payload").slice();
    if (payload.length < GCM_TAG_BYTES) throw new MalformedThresholdDataError(`the payload is ${payload.length} bytes, shorter than its ${GCM_TAG_BYTES}-byte tag`);
    r.end();
    return { identity, header: { u, v, w }, payload };
  });
}

/** A slot identity: chain id, epoch and slot number, each a big-endian u64 after a version byte. */
export function slotIdentity(chainId: number, epoch: number, slot: number): Uint8Array {
  const w = new Writer(25);
  w.u8(1);
  w.u64be(chainId, "chain id");
  w.u64be(epoch, "epoch");
  w.u64be(slot, "slot");
  return w.finish();
}

/** The (chain id, epoch, slot) a slot identity names, or undefined for bytes that are not one. */
export function parseSlotIdentity(identity: Uint8Array): { readonly chainId: number; readonly epoch: number; readonly slot: number } | undefined {
  if (identity.length !== 25 || identity[0] !== 1) return undefined;
  try {
    const r = new Reader(identity.subarray(1), "slot identity");
    const out = { chainId: r.u64be("chain id"), epoch: r.u64be("epoch"), slot: r.u64be("slot") };
    r.end();
    return out;
  } catch {
    return undefined;
  }
}
