/**
 * Majority math for simple and joint configurations. A joint configuration
 * (`outgoing` set) needs a majority of `voters` AND a majority of `outgoing`.
 */
import type { MembershipConfig, NodeId } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

/**
 * Highest index acknowledged by a majority of `ids`: the value at rank
 * floor(n/2) when acknowledgements are sorted in descending order.
 * An empty set places no constraint (used for the absent outgoing half).
 */
export function majorityIndex(ids: readonly NodeId[], ackedIndex: (id: NodeId) => number): number {
  const n = ids.length;
  if (n === 0) return Number.POSITIVE_INFINITY;
  if (n === 1) return ackedIndex(ids[0]!);
  const acked = new Array<number>(n);
  for (let i = 0; i < n; i++) acked[i] = ackedIndex(ids[i]!);
  acked.sort((a, b) => b - a);
  return acked[n >> 1]!;
}

/** Highest index acknowledged by the configuration's quorum (joint-aware). */
export function committedIndex(config: MembershipConfig, ackedIndex: (id: NodeId) => number): number {
  const incoming = majorityIndex(config.voters, ackedIndex);
  if (!config.outgoing) return incoming;
  return Math.min(incoming, majorityIndex(config.outgoing, ackedIndex));
}

function majorityVote(ids: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (ids.length === 0) return "won";
  let granted = 0;
  let rejected = 0;
  for (const id of ids) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = (ids.length >> 1) + 1;
  if (granted >= need) return "won";
  if (ids.length - rejected < need) return "lost";
  return "pending";
}

/** Election outcome from the votes received so far (joint-aware). */
export function voteResult(config: MembershipConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const incoming = majorityVote(config.voters, votes);
  if (!config.outgoing) return incoming;
  const outgoing = majorityVote(config.outgoing, votes);
  if (incoming === "lost" || outgoing === "lost") return "lost";
  if (incoming === "won" && outgoing === "won") return "won";
  return "pending";
}

/** True when a majority (of both halves, if joint) satisfies `active`. */
export function hasQuorum(config: MembershipConfig, active: (id: NodeId) => boolean): boolean {
  const ack = (id: NodeId) => (active(id) ? 1 : 0);
  return committedIndex(config, ack) >= 1;
}
