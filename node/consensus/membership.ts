/** Membership configuration helpers: who votes, who replicates, how a change is staged. */
import { InvalidMembershipError } from "./errors.js";
import type { MembershipConfig, NodeId } from "./types.js";

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

export function sameMembers(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((id) => set.has(id));
}


/** Validates a requested voter set: non-empty, distinct, non-empty ids. */
export function validateVoters(voters: readonly NodeId[]): void {
  if (!Array.isArray(voters) || voters.length === 0) {
    throw new InvalidMembershipError("membership change: the new voter set must not be empty");
  }
  const seen = new Set<NodeId>();
  for (const id of voters) {
    if (typeof id !== "string" || id.length === 0) {
      throw new InvalidMembershipError(`membership change: invalid node id ${JSON.stringify(id)}`);
    }
    if (seen.has(id)) throw new InvalidMembershipError(`membership change: duplicate voter ${id}`);
    seen.add(id);
  }
}

/** Structural check for configurations received from peers (snapshots, config entries). */
export function isWellFormedConfig(c: unknown): c is MembershipConfig {
  if (typeof c !== "object" || c === null) return false;
  const cfg = c as MembershipConfig;
  const ids = (x: unknown) => Array.isArray(x) && x.every((id) => typeof id === "string");
  if (!ids(cfg.voters) || !ids(cfg.learners)) return false;
  if (cfg.outgoing !== undefined && !ids(cfg.outgoing)) return false;
  return cfg.voters.length > 0 || (cfg.outgoing?.length ?? 0) > 0;
}

/** Learner stage: the current voters plus the nodes that are about to become voters. */
export function withLearners(current: MembershipConfig, added: readonly NodeId[]): MembershipConfig {
  const learners = [...current.learners];
  for (const id of added) if (!learners.includes(id)) learners.push(id);
  return { voters: [...current.voters], learners };
}

/** C(old,new): decisions need majorities of both. Learners not promoted are dropped. */
export function jointConfig(current: MembershipConfig, voters: readonly NodeId[]): MembershipConfig {
  return { voters: [...voters], outgoing: [...current.voters], learners: [] };
}

/** C(new): leaves the joint configuration. */
export function finalConfig(joint: MembershipConfig): MembershipConfig {
  return { voters: [...joint.voters], learners: [] };
}
