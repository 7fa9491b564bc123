/**
 * Per-slot key shares. Member m holds the secret shares s_j (j in its unit indices) of the epoch
 * secret s, with public shares Y_j = s_j·G1 from the DKG. For a slot identity id it releases
 * σ_j = s_j·H1(id); a share is right iff e(Y_j, H1(id)) = e(G1, σ_j), so a wrong one is caught and
 * pinned on the member that released it. Any `threshold` right shares give the slot key
 * d = Σ λ_j σ_j = s·H1(id) (Lagrange at 0 in the exponent), itself checked against P = s·G1.
 */
import { Reader, Writer } from "../codec/bytes.js";
import {
  G1,
  G2_BYTES,
  type G1Point,
  type G2Point,
  bytesToBigint,
  g1Combination,
  g2Combination,
  g2FromBytes,
  g2ToBytes,
  hashIdentity,
  lagrangeAtZero,
  pairingsEqual,
  sha256Of,
} from "./curve.js";
import { decoding, sameBytes } from "./bytes.js";
import { InsufficientSharesError, InvalidKeyShareError, InvalidSlotKeyError, MalformedThresholdDataError, ThresholdError } from "./errors.js";
import { MAX_IDENTITY_BYTES, type SlotKey, prepareSlotKey } from "./ibe.js";
import { MAX_MEMBERS, MAX_TOTAL_UNITS, type StakeUnitPlan, shareIndicesOf } from "./units.js";

/** One Shamir share of the epoch secret: f(index). */
export type SecretShare = { readonly index: number; readonly value: bigint };

/** What a member publishes for a slot: its key shares s_j·H1(id), in the order of its unit indices. */
export type KeyShareRelease = {
  readonly identity: Uint8Array;
  readonly member: number;
  readonly shares: readonly G2Point[];
};

/** The epoch's public side after the DKG: P = s·G1 and Y_j = s_j·G1 for j = 1..totalUnits (publicShares[j - 1]). */
export type EpochPublicKey = {
  readonly plan: StakeUnitPlan;
  readonly publicKey: G1Point;
  readonly publicShares: readonly G1Point[];
};

/** Member `member`'s key shares for `identity`. */
export function releaseKeyShares(member: number, secretShares: readonly SecretShare[], identity: Uint8Array): KeyShareRelease {
  const q = hashIdentity(identity);
  return { identity: identity.slice(), member, shares: secretShares.map((s) => q.multiply(s.value)) };
}

/**
 * Whether every share of `release` is right, in one pairing equation: with ρ_j drawn from a hash of
 * everything checked (Fiat–Shamir, 128 bits), e(Σ ρ_j Y_j, H1(id)) = e(G1, Σ ρ_j σ_j). A release
 * holding a wrong share passes only if the hash is predicted, so it fails with overwhelming
 * probability, and the release is attributable to its member.
 */
export function keyShareReleaseIsValid(epoch: EpochPublicKey, release: KeyShareRelease): boolean {
  const indices = releaseIndices(epoch, release);
  if (indices === undefined) return false;
  if (indices.length === 0) return true;
  const q = hashIdentity(release.identity);
  const ys = indices.map((j) => epoch.publicShares[j - 1]!);
  if (indices.length === 1) return pairingsEqual(ys[0]!, q, G1.BASE, release.shares[0]!);
  const seed = sha256Of(release.identity, ...release.shares.map(g2ToBytes));
  const rho = indices.map((j) => bytesToBigint(sha256Of(seed, Uint8Array.of(j >>> 8, j & 0xff)).subarray(0, 16)) | 1n);
  return pairingsEqual(g1Combination(ys, rho), q, G1.BASE, g2Combination(release.shares, rho));
}

/** The unit indices a release covers, or undefined if it does not match its member's units. */
function releaseIndices(epoch: EpochPublicKey, release: KeyShareRelease): number[] | undefined {
  if (!Number.isSafeInteger(release.member) || release.member < 0 || release.member >= epoch.plan.units.length) return undefined;
  const indices = shareIndicesOf(epoch.plan, release.member);
  return indices.length === release.shares.length ? indices : undefined;
}

/** Throws InvalidKeyShareError naming the member and the wrong indices unless every share is right. */
export function assertKeyShareRelease(epoch: EpochPublicKey, release: KeyShareRelease): void {
  const indices = releaseIndices(epoch, release);
  if (indices === undefined) {
    throw new InvalidKeyShareError(release.member, [], `the release carries ${release.shares.length} shares, the member holds ${epoch.plan.units[release.member] ?? 0} units`);
  }
  if (keyShareReleaseIsValid(epoch, release)) return;
  const q = hashIdentity(release.identity);
  const wrong = indices.filter((j, k) => !pairingsEqual(epoch.publicShares[j - 1]!, q, G1.BASE, release.shares[k]!));
  throw new InvalidKeyShareError(release.member, wrong);
}

export type CombinedSlotKey = {
  readonly slotKey: SlotKey;
  /** The members whose releases were used. */
  readonly used: readonly number[];
  /** Releases found wrong (only checked when the optimistic combination failed), with the evidence. */
  readonly invalid: readonly InvalidKeyShareError[];
};

/**
 * The slot key from the members' releases for `identity`. Optimistic: combine the first `threshold`
 * shares and check the result with one pairing equation; only if that fails check each release,
 * drop the wrong ones (returned in `invalid`) and combine again. InsufficientSharesError when the
 * right shares fall short of the threshold (their members hold at most half of the stake).
 */
export function combineSlotKey(epoch: EpochPublicKey, identity: Uint8Array, releases: readonly KeyShareRelease[]): CombinedSlotKey {
  const byMember = new Map<number, KeyShareRelease>();
  for (const release of releases) {
    if (!sameBytes(release.identity, identity)) throw new ThresholdError(`member ${release.member}'s release is for another identity`);
    if (byMember.has(release.member)) throw new ThresholdError(`member ${release.member} has two releases for this identity`);
    byMember.set(release.member, release);
  }
  const ordered = [...byMember.values()].sort((a, b) => a.member - b.member);
  const matching = ordered.filter((r) => releaseIndices(epoch, r) !== undefined);
  const malformed = ordered.filter((r) => releaseIndices(epoch, r) === undefined).map((r) => new InvalidKeyShareError(r.member, [], "the release's share count does not match the member's units"));
  const optimistic = tryCombine(epoch, identity, matching);
  if (optimistic !== undefined) return { ...optimistic, invalid: malformed };
  const invalid = [...malformed];
  const valid: KeyShareRelease[] = [];
  for (const release of matching) {
    try {
      assertKeyShareRelease(epoch, release);
      valid.push(release);
    } catch (error) {
      if (!(error instanceof InvalidKeyShareError)) throw error;
      invalid.push(error);
    }
  }
  const combined = tryCombine(epoch, identity, valid);
  if (combined === undefined) throw new InvalidSlotKeyError("verified shares combined to a wrong slot key (the public shares do not match the epoch key)");
  return { ...combined, invalid };
}

function tryCombine(epoch: EpochPublicKey, identity: Uint8Array, releases: readonly KeyShareRelease[]): Omit<CombinedSlotKey, "invalid"> | undefined {
  const t = epoch.plan.threshold;
  const indices: number[] = [];
  const points: G2Point[] = [];
  const used: number[] = [];
  for (const release of releases) {
    if (indices.length >= t) break;
    const own = shareIndicesOf(epoch.plan, release.member);
    if (own.length === 0) continue;
    used.push(release.member);
    for (let k = 0; k < own.length && indices.length < t; k++) {
      indices.push(own[k]!);
      points.push(release.shares[k]!);
    }
  }
  if (indices.length < t) {
    throw new InsufficientSharesError(`${indices.length} right key shares of the ${t} needed`, { details: `from members ${used.join(", ") || "none"}` });
  }
  const key = g2Combination(points, lagrangeAtZero(indices));
  try {
    return { slotKey: prepareSlotKey(epoch.publicKey, identity, key), used };
  } catch (error) {
    if (error instanceof InvalidSlotKeyError) return undefined;
    throw error;
  }
}

/** Encoding: identity, member, then the member's shares (compressed G2), each checked on decode. */
export function encodeKeyShareRelease(release: KeyShareRelease): Uint8Array {
  const w = new Writer(1 + release.identity.length + 8 + release.shares.length * G2_BYTES);
  w.bytes(release.identity, MAX_IDENTITY_BYTES, "identity");
  w.varint(release.member, "member");
  if (release.shares.length > MAX_TOTAL_UNITS) throw new RangeError(`a release carries at most ${MAX_TOTAL_UNITS} shares`);
  w.varint(release.shares.length, "share count");
  for (const share of release.shares) w.raw(g2ToBytes(share));
  return w.finish();
}

export function decodeKeyShareRelease(bytes: Uint8Array): KeyShareRelease {
  return decoding("key share release", () => {
    const r = new Reader(bytes, "key share release");
    const identity = r.bytes(MAX_IDENTITY_BYTES, "identity").slice();
    const member = r.varint("member");
    if (member >= MAX_MEMBERS) throw new MalformedThresholdDataError(`member ${member} is out of range (at most ${MAX_MEMBERS} members)`);
    const count = r.count(MAX_TOTAL_UNITS, G2_BYTES, "share");
    const shares: G2Point[] = [];
    for (let k = 0; k < count; k++) shares.push(g2FromBytes(r.raw(G2_BYTES, "share"), `share ${k}`));
    r.end();
    return { identity, member, shares };
  });
}
