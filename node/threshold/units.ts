/**
 * From stakes to share units. Member i gets units_i Shamir share indices; a set of members can
 * reconstruct exactly when it holds at least `threshold` units. The rule we want is the quorum
 * rule: a set holding MORE than half of the stake can decrypt, a set holding at most half cannot.
 *
 * For a candidate total U the units are the stakes apportioned to U by largest remainders (Hamilton:
 * floor of the exact share, the leftover units to the largest remainders, ties to the lower index).
 * Then, by a knapsack over unit sums, we compute exactly
 *   maxLosing  = the most units any set with 2·stake ≤ total holds,
 *   minWinning = the fewest units any set with 2·stake > total holds.
 * If maxLosing < minWinning, threshold = maxLosing + 1 represents the stake rule exactly: every
 * losing set holds < threshold units, every winning set ≥ threshold. The plan is the smallest such U
 * up to `maxTotalUnits` (equal stakes give U = n, one unit each, threshold ⌊n/2⌋ + 1).
 *
 * Some stake vectors have no exact plan with few units (proportional rounding can give a pivotal
 * small member 0 units). Then the plan keeps safety exact and gives up liveness slack: threshold =
 * maxLosing + 1 still, so no set holding at most half can ever decrypt, and `exact` is false with
 * `decryptGuaranteedAbove` the largest stake of a set that still cannot (any set holding more can).
 * The U chosen then is the one with the smallest such slack.
 */
import { StakeUnitsError } from "./errors.js";

/** The most members an epoch's set may have (the DKG's and the codec's bound). */
export const MAX_MEMBERS = 256;
/** The most share units of an epoch: bounds the per-slot shares and the DKG's work. */
export const MAX_TOTAL_UNITS = 512;
/** The default search bound: past it the per-slot combine (a Pippenger over ⌈U/2⌉ points of G2) grows slow. */
export const DEFAULT_MAX_TOTAL_UNITS = 128;

export type StakeUnitPlan = {
  readonly stakes: readonly bigint[];
  readonly totalStake: bigint;
  /** units[i]: how many share indices member i holds. */
  readonly units: readonly number[];
  /** first index of member i's shares; member i holds firstIndex[i] .. firstIndex[i] + units[i] - 1 (indices start at 1). */
  readonly firstIndex: readonly number[];
  readonly totalUnits: number;
  /** Shares needed to reconstruct: the Shamir polynomials have degree threshold - 1. */
  readonly threshold: number;
  /** true: "more than half of the stake ⇔ at least threshold units" holds for every set. */
  readonly exact: boolean;
  /** The largest stake of a set that cannot decrypt (≤ totalStake / 2 exactly when `exact`). */
  readonly decryptGuaranteedAbove: bigint;
};

/** Largest-remainder apportionment of `total` units to `stakes`. */
export function apportion(stakes: readonly bigint[], total: number): number[] {
  const sum = stakes.reduce((a, b) => a + b, 0n);
  const big = BigInt(total);
  const units = stakes.map((s) => Number((s * big) / sum));
  let left = total - units.reduce((a, b) => a + b, 0);
  const byRemainder = stakes
    .map((s, i) => ({ i, rem: (s * big) % sum }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of byRemainder) {
    if (left === 0) break;
    units[i]! += 1;
    left--;
  }
  return units;
}

type Extremes = { maxLosing: number; minWinning: number; losingStakeBelow: (threshold: number) => bigint };

/** The knapsack over unit sums: for each sum v, the least and the most stake of a set holding exactly v units. */
function extremes(stakes: readonly bigint[], units: readonly number[], totalStake: bigint): Extremes {
  const total = units.reduce((a, b) => a + b, 0);
  const minStake: (bigint | undefined)[] = new Array(total + 1).fill(undefined);
  const maxStake: (bigint | undefined)[] = new Array(total + 1).fill(undefined);
  minStake[0] = 0n;
  maxStake[0] = 0n;
  let reach = 0;
  for (let i = 0; i < stakes.length; i++) {
    const u = units[i]!;
    const s = stakes[i]!;
    for (let v = reach; v >= 0; v--) {
      const lo = minStake[v];
      if (lo === undefined) continue;
      const hi = maxStake[v]!;
      const cur = minStake[v + u];
      if (cur === undefined || lo + s < cur) minStake[v + u] = lo + s;
      const curHi = maxStake[v + u];
      if (curHi === undefined || hi + s > curHi) maxStake[v + u] = hi + s;
    }
    reach += u;
  }
  let maxLosing = -1;
  let minWinning = total + 1;
  for (let v = 0; v <= total; v++) {
    const lo = minStake[v];
    if (lo === undefined) continue;
    if (2n * lo <= totalStake) maxLosing = v;
    if (2n * maxStake[v]! > totalStake && v < minWinning) minWinning = v;
  }
  const losingStakeBelow = (threshold: number): bigint => {
    let best = 0n;
    for (let v = 0; v < threshold && v <= total; v++) {
      const hi = maxStake[v];
      if (hi !== undefined && hi > best) best = hi;
    }
    return best;
  };
  return { maxLosing, minWinning, losingStakeBelow };
}

/** The share-unit plan of an epoch with these stakes (member i has stakes[i]); deterministic. */
export function planStakeUnits(stakes: readonly bigint[], maxTotalUnits: number = DEFAULT_MAX_TOTAL_UNITS): StakeUnitPlan {
  if (stakes.length === 0) throw new StakeUnitsError("an epoch needs at least one member with stake");
  if (stakes.length > MAX_MEMBERS) throw new StakeUnitsError(`an epoch has at most ${MAX_MEMBERS} members, got ${stakes.length}`);
  if (stakes.some((s) => s <= 0n)) throw new StakeUnitsError("every member's stake must be positive");
  if (!Number.isSafeInteger(maxTotalUnits) || maxTotalUnits < 1 || maxTotalUnits > MAX_TOTAL_UNITS) {
    throw new StakeUnitsError(`the unit bound must be 1 to ${MAX_TOTAL_UNITS}, got ${maxTotalUnits}`);
  }
  const totalStake = stakes.reduce((a, b) => a + b, 0n);
  let fallback: { units: number[]; threshold: number; slack: bigint } | undefined;
  for (let total = 1; total <= maxTotalUnits; total++) {
    const units = apportion(stakes, total);
    const { maxLosing, minWinning, losingStakeBelow } = extremes(stakes, units, totalStake);
    const threshold = maxLosing + 1;
    if (threshold > total) continue; // every unit sits with a losing set: nobody could decrypt
    if (maxLosing < minWinning) return finish(stakes, totalStake, units, threshold, true, losingStakeBelow(threshold));
    const slack = losingStakeBelow(threshold);
    if (fallback === undefined || slack < fallback.slack) fallback = { units, threshold, slack };
  }
  if (fallback === undefined) throw new StakeUnitsError("no unit plan lets any set decrypt", { details: `stakes ${stakes.join(", ")}, at most ${maxTotalUnits} units` });
  return finish(stakes, totalStake, fallback.units, fallback.threshold, false, fallback.slack);
}

function finish(stakes: readonly bigint[], totalStake: bigint, units: number[], threshold: number, exact: boolean, decryptGuaranteedAbove: bigint): StakeUnitPlan {
  const firstIndex: number[] = [];
  let next = 1;
  for (const u of units) {
    firstIndex.push(next);
    next += u;
  }
  return { stakes: [...stakes], totalStake, units, firstIndex, totalUnits: next - 1, threshold, exact, decryptGuaranteedAbove };
}

/** The share indices member `member` holds under `plan`. */
export function shareIndicesOf(plan: StakeUnitPlan, member: number): number[] {
  const first = plan.firstIndex[member];
  if (first === undefined) throw new StakeUnitsError(`member ${member} is not in the plan (${plan.units.length} members)`);
  return Array.from({ length: plan.units[member]! }, (_, k) => first + k);
}

/** The member holding share index `index`, or undefined. */
export function memberOfIndex(plan: StakeUnitPlan, index: number): number | undefined {
  for (let i = 0; i < plan.units.length; i++) {
    if (index >= plan.firstIndex[i]! && index < plan.firstIndex[i]! + plan.units[i]!) return i;
  }
  return undefined;
}
