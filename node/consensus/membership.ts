/** Membership configuration helpers: who votes, who replicates, how a change is staged. */
import { InvalidMembershipError } from "./errors.js";
import type { MembershipConfig, NodeId, Weight } from "./types.js";

/** Voters and their weights: one half of a configuration, or a requested voter set. */
export interface WeightedVoters {
  readonly voters: readonly NodeId[];
  readonly weights?: readonly Weight[];
}

/** The weight of a voter when none is given: quorums count heads. */
export const UNIT_WEIGHT: Weight = "1";

/** 78 digits hold any uint256: every stake an L1 contract can record. */
export const MAX_WEIGHT_DIGITS = 78;
const WEIGHT_PATTERN = new RegExp(`^[1-9][0-9]{0,${MAX_WEIGHT_DIGITS - 1}}$`);

export function isWeight(x: unknown): x is Weight {
  return typeof x === "string" && WEIGHT_PATTERN.test(x);
}

/** A voter of either half of the (possibly joint) configuration: may campaign and vote. */
export function isVoter(config: MembershipConfig, id: NodeId): boolean {
  return config.voters.includes(id) || (config.outgoing?.includes(id) ?? false);
}

/** Every node the leader replicates to (voters of both halves and learners), in a stable order. */
export function replicationTargets(config: MembershipConfig): NodeId[] {
  const out: NodeId[] = [];
  const seen = new Set<NodeId>();
  const add = (ids: readonly NodeId[] | undefined) => {
    if (!ids) return;
    for (const id of ids) {
      if (!seen.has(id)) {
        seen.add(id);
        out.push(id);
      }
    }
  };
  add(config.voters);
  add(config.outgoing);
  add(config.learners);
  return out;
}

/** Every voter of either half, in a stable order (recipients of vote requests). */
export function allVoters(config: MembershipConfig): NodeId[] {
  if (!config.outgoing) return [...config.voters];
  return replicationTargets({ voters: config.voters, outgoing: config.outgoing, learners: [] });
}

export function isJoint(config: MembershipConfig): boolean {
  return config.outgoing !== undefined;
}

/**
 * The same voters with the same weights, in any order (absent weights are 1 each). A change of
 * weights alone is a real configuration change: the quorums it forms are different.
 */
export function sameVoters(a: WeightedVoters, b: WeightedVoters): boolean {
  if (a.voters.length !== b.voters.length) return false;
  const weightOf = new Map(a.voters.map((id, i) => [id, a.weights?.[i] ?? UNIT_WEIGHT]));
  return b.voters.every((id, i) => weightOf.get(id) === (b.weights?.[i] ?? UNIT_WEIGHT));
}

/** Why a voter list and its weights are unusable, or undefined if they are fine. */
function votersProblem(voters: unknown, weights: unknown, what: string): string | undefined {
  if (!Array.isArray(voters)) return `${what} is not a list`;
  const seen = new Set<unknown>();
  for (const id of voters) {
    if (typeof id !== "string" || id.length === 0) return `${what}: invalid node id ${JSON.stringify(id)}`;
    if (seen.has(id)) return `${what}: duplicate voter ${id}`;
    seen.add(id);
  }
  if (weights === undefined) return undefined;
  if (!Array.isArray(weights) || weights.length !== voters.length) {
    return `${what}: ${voters.length} voters need ${voters.length} weights, got ${Array.isArray(weights) ? weights.length : JSON.stringify(weights)}`;
  }
  const bad = weights.findIndex((w) => !isWeight(w));
  if (bad >= 0) return `${what}: the weight of ${voters[bad]} must be a positive decimal integer, got ${JSON.stringify(weights[bad])}`;
  return undefined;
}

/** Validates a requested voter set: non-empty, distinct, non-empty ids, a positive weight each (if weighted). */
export function validateVoters(voters: readonly NodeId[], weights?: readonly Weight[]): void {
  if (!Array.isArray(voters) || voters.length === 0) {
    throw new InvalidMembershipError("membership change: the new voter set must not be empty");
  }
  const problem = votersProblem(voters, weights, "membership change");
  if (problem !== undefined) throw new InvalidMembershipError(problem);
}

/**
 * Why a configuration (from a peer, a snapshot, the options or the disk) is unusable, or
 * undefined if it is well formed: distinct voters per half, a positive weight per voter of a
 * weighted half, outgoing weights only with outgoing voters, at least one voter.
 */
export function configProblem(c: unknown): string | undefined {
  if (typeof c !== "object" || c === null) return "the configuration is not an object";
  const cfg = c as MembershipConfig;
  const ids = (x: unknown) => Array.isArray(x) && x.every((id) => typeof id === "string");
  if (!ids(cfg.learners)) return "learners must be a list of node ids";
  if (cfg.outgoing === undefined && cfg.outgoingWeights !== undefined) return "outgoing weights without outgoing voters";
  const problem =
    votersProblem(cfg.voters, cfg.weights, "voters") ??
    (cfg.outgoing === undefined ? undefined : votersProblem(cfg.outgoing, cfg.outgoingWeights, "outgoing voters"));
  if (problem !== undefined) return problem;
  if (cfg.voters.length === 0 && (cfg.outgoing?.length ?? 0) === 0) return "the configuration has no voter";
  return undefined;
}

/** Structural check for configurations received from peers (snapshots, config entries). */
export function isWellFormedConfig(c: unknown): c is MembershipConfig {
  return configProblem(c) === undefined;
}

/** The voters of `c`'s incoming half with their weights (weights only if it has them). */
function incoming(c: WeightedVoters): WeightedVoters {
  return c.weights === undefined ? { voters: [...c.voters] } : { voters: [...c.voters], weights: [...c.weights] };
}

/** Learner stage: the current voters plus the nodes that are about to become voters. */
export function withLearners(current: MembershipConfig, added: readonly NodeId[]): MembershipConfig {
  const learners = [...current.learners];
  for (const id of added) if (!learners.includes(id)) learners.push(id);
  return { ...incoming(current), learners };
}

/** C(old,new): decisions need quorums of both, each by its own weights. Learners not promoted are dropped. */
export function jointConfig(current: MembershipConfig, next: WeightedVoters): MembershipConfig {
  const old = incoming(current);
  return { ...incoming(next), outgoing: old.voters, ...(old.weights ? { outgoingWeights: old.weights } : {}), learners: [] };
}

/** C(new): leaves the joint configuration. */
export function finalConfig(joint: MembershipConfig): MembershipConfig {
  return { ...incoming(joint), learners: [] };
}
