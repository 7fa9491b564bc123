/**
 * Quorum math for simple and joint configurations, weighted by stake. A quorum of one half is
 * a set of its voters holding MORE than half of its total weight (exactly half is not: two
 * disjoint halves could both have it). A joint configuration (`outgoing` set) needs a quorum of
 * `voters` AND a quorum of `outgoing`, each by its own weights. Unweighted halves count 1 per
 * voter, which is the classic majority.
 */
import type { MembershipConfig, NodeId, Weight } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

interface Half {
  readonly ids: readonly NodeId[];
  readonly weights: readonly bigint[];
  readonly total: bigint;
  /** floor(total / 2): a set of voters is a quorum when its weight exceeds it (2w > total for integers). */
  readonly threshold: bigint;
}

function half(ids: readonly NodeId[], weights: readonly Weight[] | undefined): Half {
  const w = ids.map((_, i) => (weights === undefined ? 1n : BigInt(weights[i]!)));
  let total = 0n;
  for (const x of w) total += x;
  return { ids, weights: w, total, threshold: total / 2n };
}

/** Configurations are immutable values: their parsed weights are computed once per object. */
const halvesCache = new WeakMap<MembershipConfig, readonly Half[]>();

/** The halves every decision needs a quorum of: the voters, and the outgoing voters while joint. */
function halves(config: MembershipConfig): readonly Half[] {
  let hs = halvesCache.get(config);
  if (hs === undefined) {
    hs = [half(config.voters, config.weights)];
    if (config.outgoing !== undefined) hs = [hs[0]!, half(config.outgoing, config.outgoingWeights)];
    halvesCache.set(config, hs);
  }
  return hs;
}

/**
 * Highest index acknowledged by a quorum of the half: walking acknowledgements from the highest
 * down, the first one at which the voters seen so far hold more than half of the weight. An empty
 * half places no constraint (a joint configuration may leave an empty cluster).
 */
function quorumIndex(h: Half, ackedIndex: (id: NodeId) => number): number {
  const n = h.ids.length;
  if (n === 0) return Number.POSITIVE_INFINITY;
  if (n === 1) return ackedIndex(h.ids[0]!);
  const acked = h.ids.map(ackedIndex);
  // Voters by acknowledged index, highest first (insertion sort: n is small, and it allocates nothing more).
  const order = [0];
  for (let i = 1; i < n; i++) {
    let k = i;
    for (; k > 0 && acked[order[k - 1]!]! < acked[i]!; k--) order[k] = order[k - 1]!;
    order[k] = i;
  }
  let held = 0n;
  for (let k = 0; ; k++) {
    const i = order[k]!;
    held += h.weights[i]!;
    // The whole half always holds more than half of its (positive) weight: the walk ends by k = n - 1.
    if (held > h.threshold || k === n - 1) return acked[i]!;
  }
}

/** Highest index acknowledged by the configuration's quorum (joint-aware). */
export function committedIndex(config: MembershipConfig, ackedIndex: (id: NodeId) => number): number {
  let index = Number.POSITIVE_INFINITY;
  for (const h of halves(config)) index = Math.min(index, quorumIndex(h, ackedIndex));
  return index;
}

function halfVote(h: Half, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (h.ids.length === 0) return "won";
  let granted = 0n;
  let rejected = 0n;
  for (let i = 0; i < h.ids.length; i++) {
    const v = votes.get(h.ids[i]!);
    if (v === true) granted += h.weights[i]!;
    else if (v === false) rejected += h.weights[i]!;
  }
  if (granted > h.threshold) return "won";
  // Even if every voter yet to answer grants, the grants cannot pass half of the weight.
  if (h.total - rejected <= h.threshold) return "lost";
  return "pending";
}

/** Election outcome from the votes received so far (joint-aware). */
export function voteResult(config: MembershipConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const results = halves(config).map((h) => halfVote(h, votes));
  if (results.includes("lost")) return "lost";
  return results.every((r) => r === "won") ? "won" : "pending";
}

/** True when a quorum (of both halves, if joint) satisfies `active`. */
export function hasQuorum(config: MembershipConfig, active: (id: NodeId) => boolean): boolean {
  const ack = (id: NodeId) => (active(id) ? 1 : 0);
  return committedIndex(config, ack) >= 1;
}
