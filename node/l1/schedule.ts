/**
 * Leader schedule of an epoch, computed off-chain exactly as `contracts/libraries/LeaderSchedule.sol`
 * does on L1: a stake-weighted pseudo-random order of the active set without replacement.
 *
 * Round k draws r = uint256(keccak256(abi.encode(seed, k))) mod (sum of the remaining weights)
 * and picks the first not-yet-picked member (in active-set order) whose running sum of
 * remaining weights exceeds r. The first pick is the epoch's primary, the rest its fallbacks.
 */
import { type Hex, encodeAbiParameters, hexToBigInt, keccak256 } from "viem";
import { L1Error } from "./errors.js";

/** A weight is zero or negative: such a member could never be drawn. */
export class InvalidWeightError extends L1Error {
  override readonly name = "InvalidWeightError";
  constructor(
    readonly index: number,
    readonly weight: bigint,
  ) {
    super(`schedule weight at index ${index} must be positive, got ${weight}`);
  }
}

/** The seed does not look like a 32-byte hex string. */
export class InvalidSeedError extends L1Error {
  override readonly name = "InvalidSeedError";
  constructor(readonly seed: string) {
    super(`schedule seed must be 32 bytes of hex, got ${seed}`);
  }
}

const SEED_PATTERN = /^0x[0-9a-fA-F]{64}$/;

/** The random draw of round `round` for `seed`: uint256(keccak256(abi.encode(seed, round))). */
export function drawOfRound(seed: Hex, round: number): bigint {
  return hexToBigInt(
    keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [seed, BigInt(round)])),
  );
}

/** Indices of `weights` in draw order (index 0 of the result is the primary). */
export function weightedOrder(seed: Hex, weights: readonly bigint[]): number[] {
  if (!SEED_PATTERN.test(seed)) throw new InvalidSeedError(seed);
  let remaining = 0n;
  weights.forEach((w, i) => {
    if (w <= 0n) throw new InvalidWeightError(i, w);
    remaining += w;
  });
  const taken = new Array<boolean>(weights.length).fill(false);
  const order: number[] = [];
  for (let round = 0; round < weights.length; round++) {
    const r = drawOfRound(seed, round) % remaining;
    let acc = 0n;
    let pick = -1;
    for (let i = 0; i < weights.length; i++) {
      if (taken[i]) continue;
      acc += weights[i]!;
      if (r < acc) {
        pick = i;
        break;
      }
    }
    taken[pick] = true;
    order.push(pick);
    remaining -= weights[pick]!;
  }
  return order;
}

/** One member of an active set as far as scheduling is concerned. */
export type WeightedMember<T> = { readonly stake: bigint } & T;

/** The active set (in active-set order) reordered into the leader schedule for `seed`. */
export function leaderSchedule<T>(seed: Hex, members: readonly WeightedMember<T>[]): WeightedMember<T>[] {
  return weightedOrder(
    seed,
    members.map((m) => m.stake),
  ).map((i) => members[i]!);
}
