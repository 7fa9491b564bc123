/** Shared by the threshold tests: a seeded randomness source, the in-process DKG network seeded, subsets. */
import { sha256 } from "@noble/hashes/sha2.js";
import type { RandomBytes, StakeUnitPlan } from "../../node/threshold/index.js";
import { type DkgRun, runDkg as runDkgNetwork } from "../../scripts/lib/dkg-network.js";

/** Deterministic bytes from a seed (SHA-256 in counter mode): reproducible tests, never for keys. */
export function seededRandom(seed: string): RandomBytes {
  let counter = 0;
  const prefix = new TextEncoder().encode(seed);
  return (length: number) => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const block = sha256.create().update(prefix).update(Uint8Array.of(counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff)).digest();
      counter++;
      out.set(block.subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  };
}

/** The DKG network (scripts/lib/dkg-network.ts) with every member's randomness seeded from `seed`. */
export function runDkg(plan: StakeUnitPlan, seed: string, options: Parameters<typeof runDkgNetwork>[3] = {}): DkgRun {
  return runDkgNetwork(plan, `test ${seed}`, (member) => seededRandom(`${seed}/${member}`), options);
}

/** All subsets of {0..n-1} as bit masks. */
export function* subsets(n: number): Generator<number[]> {
  for (let mask = 0; mask < 1 << n; mask++) yield Array.from({ length: n }, (_, i) => i).filter((i) => (mask >> i) & 1);
}
