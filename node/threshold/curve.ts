/**
 * The BLS12-381 pieces every threshold module shares, all from @noble/curves: the groups and their
 * strict encodings, the identity hash (RFC 9380 hash-to-curve onto G2), scalars, and polynomial
 * evaluation and Lagrange interpolation over the scalar field Fr.
 *
 * Group choice (see docs/threshold-encryption.md): public keys, public shares, commitments and the
 * per-ciphertext element U live in G1 (48 bytes); identities, slot keys and key shares in G2 (96
 * bytes). Every node decrypts every transaction, so the per-transaction work (U = r·G1, the
 * re-encryption check, one pairing against the slot key whose Miller-loop lines are computed once
 * per slot) is kept in the cheaper group, and a slot key is an ordinary BLS signature of the
 * identity (drand's and tlock's convention), checked with one pairing equation.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { pippenger } from "@noble/curves/abstract/curve.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { MalformedThresholdDataError } from "./errors.js";

export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export type G1Point = InstanceType<typeof G1>;
export type G2Point = InstanceType<typeof G2>;
export type GtElement = ReturnType<typeof bls12_381.pairing>;

/** The order r of G1, G2 and GT; scalars live in Fr = Z/rZ. */
export const CURVE_ORDER: bigint = bls12_381.fields.Fr.ORDER;
const Fr = bls12_381.fields.Fr;
const Fp12 = bls12_381.fields.Fp12;

export const G1_BYTES = 48;
export const G2_BYTES = 96;
export const SCALAR_BYTES = 32;

/**
 * The domain separation tag of the identity hash H1 (RFC 9380 §3.1: application tag, then the
 * suite BLS12381G2_XMD:SHA-256_SSWU_RO_).
 */
export const IDENTITY_DST = "STAKED-SEQUENCER-TIBE-V01-CS01-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";

/** Source of randomness: `length` uniformly random bytes. The pure layer never draws its own. */
export type RandomBytes = (length: number) => Uint8Array;

/**
 * Randomness expanded from a seed, SHA-256(seed ‖ u32be counter) block by block: the same seed
 * gives the same stream. With a secret 32-byte seed it is a PRG (SHA-256 as a PRF), which is how a
 * member re-derives its DKG polynomial after a restart from the seed it stored before dealing.
 */
export function randomFromSeed(seed: Uint8Array): RandomBytes {
  let counter = 0;
  return (length: number) => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const block = sha256Of(seed, Uint8Array.of(counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff));
      counter++;
      out.set(block.subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  };
}

/** The last few identities hashed: a slot's identity is hashed by every release, check and combine of that slot. */
const identityCache = new Map<string, G2Point>();
const IDENTITY_CACHE_SIZE = 16;

/** H1: an identity onto G2 by RFC 9380 hash_to_curve (random-oracle variant). */
export function hashIdentity(identity: Uint8Array, dst: string = IDENTITY_DST): G2Point {
  const key = `${dst}\u0000${Buffer.from(identity.buffer, identity.byteOffset, identity.length).toString("hex")}`;
  const cached = identityCache.get(key);
  if (cached !== undefined) return cached;
  const point = bls12_381.G2.hashToCurve(identity, { DST: dst });
  if (identityCache.size >= IDENTITY_CACHE_SIZE) identityCache.delete(identityCache.keys().next().value!);
  identityCache.set(key, point);
  return point;
}

export function g1ToBytes(point: G1Point): Uint8Array {
  return point.toBytes(true);
}

export function g2ToBytes(point: G2Point): Uint8Array {
  return point.toBytes(true);
}

/** A compressed point of `group`, on the curve and in the prime-order subgroup, never the identity. */
function pointFromBytes<P extends G1Point | G2Point>(group: { fromBytes(bytes: Uint8Array): P }, name: string, size: number, bytes: Uint8Array, what: string): P {
  if (bytes.length !== size) throw new MalformedThresholdDataError(`${what} must be ${size} bytes, got ${bytes.length}`);
  let point: P;
  try {
    point = group.fromBytes(bytes);
    point.assertValidity();
  } catch (cause) {
    throw new MalformedThresholdDataError(`${what} is not a compressed point of ${name}`, { cause });
  }
  if (point.is0()) throw new MalformedThresholdDataError(`${what} is the identity of ${name}`);
  return point;
}

export function g1FromBytes(bytes: Uint8Array, what: string): G1Point {
  return pointFromBytes(G1, "G1", G1_BYTES, bytes, what);
}

export function g2FromBytes(bytes: Uint8Array, what: string): G2Point {
  return pointFromBytes(G2, "G2", G2_BYTES, bytes, what);
}

export function scalarToBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(SCALAR_BYTES);
  let v = value;
  for (let i = SCALAR_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`);
}

/** A canonical 32-byte big-endian scalar below r. */
export function scalarFromBytes(bytes: Uint8Array, what: string): bigint {
  if (bytes.length !== SCALAR_BYTES) throw new MalformedThresholdDataError(`${what} must be ${SCALAR_BYTES} bytes, got ${bytes.length}`);
  const value = bytesToBigint(bytes);
  if (value >= CURVE_ORDER) throw new MalformedThresholdDataError(`${what} is not below the group order`);
  return value;
}

/** A uniformly random scalar: 64 random bytes reduced mod r (bias below 2^-256). */
export function randomScalar(random: RandomBytes): bigint {
  const bytes = random(64);
  if (bytes.length !== 64) throw new RangeError(`the randomness source returned ${bytes.length} bytes, asked for 64`);
  return bytesToBigint(bytes) % CURVE_ORDER;
}

/** f(x) for f given by its coefficients, lowest degree first, over Fr. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: number): bigint {
  const xs = BigInt(x);
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = Fr.add(Fr.mul(acc, xs), coefficients[k]!);
  return acc;
}

/**
 * Σ_k C_k·x^k for commitments C_k = a_k·G1 (Horner in the exponent): the commitment to f(x). The
 * multipliers are the small public indices x, so each step is a short variable-time multiplication.
 */
export function evaluateCommitments(commitments: readonly G1Point[], x: number): G1Point {
  const xs = BigInt(x);
  let acc = G1.ZERO;
  for (let k = commitments.length - 1; k >= 0; k--) acc = (acc.is0() ? acc : acc.multiplyUnsafe(xs)).add(commitments[k]!);
  return acc;
}

/** The Lagrange coefficients λ_i at 0 for the distinct nonzero indices `xs`: f(0) = Σ λ_i f(x_i). */
export function lagrangeAtZero(xs: readonly number[]): bigint[] {
  const big = xs.map(BigInt);
  const numerators: bigint[] = [];
  const denominators: bigint[] = [];
  for (let i = 0; i < big.length; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < big.length; j++) {
      if (i === j) continue;
      num = Fr.mul(num, big[j]!);
      den = Fr.mul(den, Fr.sub(big[j]!, big[i]!));
    }
    numerators.push(num);
    denominators.push(den);
  }
  const inverses = Fr.invertBatch(denominators);
  return numerators.map((n, i) => Fr.mul(n, inverses[i]!));
}

/** Σ scalars_i·points_i in G2 (noble's Pippenger). */
export function g2Combination(points: readonly G2Point[], scalars: readonly bigint[]): G2Point {
  return pippenger(G2, [...points], [...scalars]);
}

/** Σ scalars_i·points_i in G1 (noble's Pippenger). */
export function g1Combination(points: readonly G1Point[], scalars: readonly bigint[]): G1Point {
  return pippenger(G1, [...points], [...scalars]);
}

/**
 * e(a1, b1) == e(a2, b2), as one product of two Miller loops and one final exponentiation:
 * e(a1, b1)·e(−a2, b2) = 1.
 */
export function pairingsEqual(a1: G1Point, b1: G2Point, a2: G1Point, b2: G2Point): boolean {
  if (a1.is0() || b1.is0() || a2.is0() || b2.is0()) return false;
  const product = bls12_381.pairingBatch([
    { g1: a1, g2: b1 },
    { g1: a2.negate(), g2: b2 },
  ]);
  return Fp12.eql(product, Fp12.ONE);
}

/** A G2 point's Miller-loop lines, computed once and reused for every pairing against it. */
export type G2Prepared = ReturnType<typeof bls12_381.utils.calcPairingPrecomputes>;

export function prepareG2(point: G2Point): G2Prepared {
  return bls12_381.utils.calcPairingPrecomputes(point);
}

/** e(p, q) for a prepared q. */
export function pairPrepared(p: G1Point, q: G2Prepared): GtElement {
  const { x, y } = p.toAffine();
  return Fp12.finalExponentiate(bls12_381.millerLoopBatch([[q, x, y]]));
}

/**
 * The 576-byte encoding of a GT element as drand's kyber (and tlock) write it: the twelve Fp
 * coefficients in the reverse of noble's order, so the IBE hashes agree with theirs.
 */
export function gtToBytes(value: GtElement): Uint8Array {
  const noble = Fp12.toBytes(value);
  const out = new Uint8Array(noble.length);
  const chunks = noble.length / 48;
  for (let i = 0; i < chunks; i++) out.set(noble.subarray(i * 48, (i + 1) * 48), (chunks - 1 - i) * 48);
  return out;
}

/** SHA-256 of the concatenated parts (the hash every derived value here goes through). */
export function sha256Of(...parts: Uint8Array[]): Uint8Array {
  const h = sha256.create();
  for (const part of parts) h.update(part);
  return h.digest();
}
