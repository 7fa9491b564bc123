/** Shared by the threshold tests: a seeded randomness source and an in-process DKG network. */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type DkgMessage,
  DkgMember,
  type DkgResult,
  type RandomBytes,
  type SharesMessage,
  type StakeUnitPlan,
  dkgSession,
} from "../../node/threshold/index.js";

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

export type DkgRun = {
  readonly members: DkgMember[];
  readonly results: (DkgResult | Error)[];
};

/**
 * Drives one DKG among all members of `plan`, message by message, the way the log would: public
 * messages reach every member (the author too), private shares only their recipient. `tamperShares` may
 * rewrite a private message (a cheating dealer), `silent` members never deal, `mute` dealers
 * never justify, `falseComplaints` lists [complainer, dealer] complaints to add.
 */
export function runDkg(
  plan: StakeUnitPlan,
  seed: string,
  options: {
    tamperShares?: (message: SharesMessage) => SharesMessage;
    silent?: readonly number[];
    mute?: readonly number[];
    falseComplaints?: readonly (readonly [number, number])[];
  } = {},
): DkgRun {
  const session = dkgSession(new TextEncoder().encode(`test ${seed}`), plan);
  const members = plan.units.map((_, i) => new DkgMember(session, plan, i));
  const broadcast = (message: DkgMessage, from: number): void => {
    for (const m of members) m.step(message, from);
  };
  for (const dealer of members) {
    if (options.silent?.includes(dealer.self)) continue;
    const { deal, shares } = dealer.deal(seededRandom(`${seed}/${dealer.self}`));
    broadcast(deal, dealer.self);
    for (const message of shares) {
      const sent = options.tamperShares ? options.tamperShares(message) : message;
      members[sent.recipient]!.step(sent, dealer.self);
    }
  }
  const complaints = members.map((m) => m.endDealing());
  complaints.forEach((list, from) => list.forEach((c) => broadcast(c, from)));
  for (const [complainer, dealer] of options.falseComplaints ?? []) {
    const complaint = { kind: "complaint", session, complainer, dealer } as const;
    for (const m of members) m.step(complaint, complainer);
  }
  const justifications = members.map((m) => m.endComplaints());
  justifications.forEach((list, from) => {
    if (!options.mute?.includes(from)) list.forEach((j) => broadcast(j, from));
  });
  const results = members.map((m) => {
    try {
      return m.finish();
    } catch (error) {
      return error as Error;
    }
  });
  return { members, results };
}

/** All subsets of {0..n-1} as bit masks. */
export function* subsets(n: number): Generator<number[]> {
  for (let mask = 0; mask < 1 << n; mask++) yield Array.from({ length: n }, (_, i) => i).filter((i) => (mask >> i) & 1);
}
