/** Shared by the threshold tests: a seeded randomness source, the in-process DKG network seeded, subsets. */
import { type RandomBytes, type StakeUnitPlan, randomFromSeed } from "../../node/threshold/index.js";
import { type DkgRun, runDkg as runDkgNetwork } from "../../scripts/lib/dkg-network.js";

/** Deterministic bytes from a seed string (node/threshold's randomFromSeed): reproducible tests, never for keys. */
export function seededRandom(seed: string): RandomBytes {
  return randomFromSeed(new TextEncoder().encode(seed));
}

/** The DKG network (scripts/lib/dkg-network.ts) with every member's randomness seeded from `seed`. */
export function runDkg(plan: StakeUnitPlan, seed: string, options: Parameters<typeof runDkgNetwork>[3] = {}): DkgRun {
  return runDkgNetwork(plan, `test ${seed}`, (member) => seededRandom(`${seed}/${member}`), options);
}

/** All subsets of {0..n-1} as bit masks. */
export function* subsets(n: number): Generator<number[]> {
  for (let mask = 0; mask < 1 << n; mask++) yield Array.from({ length: n }, (_, i) => i).filter((i) => (mask >> i) & 1);
}
