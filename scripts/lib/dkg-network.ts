/**
 * An in-process DKG network for tests and benchmarks: every member of a unit plan in one process,
 * driven message by message the way the replicated log would drive them.
 */
import {
  type DkgMessage,
  DkgMember,
  type DkgResult,
  type RandomBytes,
  type SharesMessage,
  type StakeUnitPlan,
  dkgSession,
} from "../../node/threshold/index.js";

export type DkgRun = {
  readonly members: DkgMember[];
  readonly results: (DkgResult | Error)[];
};

/**
 * Runs one DKG among all members of `plan`, message by message, the way the log would: public
 * messages reach every member (the author too), private shares only their recipient. `tamperShares` may
 * rewrite a private message (a cheating dealer), `silent` members never deal, `mute` dealers
 * never justify, `falseComplaints` lists [complainer, dealer] complaints to add.
 */
export function runDkg(
  plan: StakeUnitPlan,
  label: string,
  randomFor: (member: number) => RandomBytes,
  options: {
    tamperShares?: (message: SharesMessage) => SharesMessage;
    silent?: readonly number[];
    mute?: readonly number[];
    falseComplaints?: readonly (readonly [number, number])[];
  } = {},
): DkgRun {
  const session = dkgSession(new TextEncoder().encode(label), plan);
  const members = plan.units.map((_, i) => new DkgMember(session, plan, i));
  const broadcast = (message: DkgMessage, from: number): void => {
    for (const m of members) m.step(message, from);
  };
  for (const dealer of members) {
    if (options.silent?.includes(dealer.self)) continue;
    const { deal, shares } = dealer.deal(randomFor(dealer.self));
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
