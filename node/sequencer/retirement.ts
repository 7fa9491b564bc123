/**
 * When a node that left the sequencer set stops taking part in consensus (it keeps serving reads).
 *
 * It leaves once L1's latest set no longer holds it and, for a few election timeouts, either its
 * configuration no longer names it or no leader talks to it. The second case is the common one:
 * the leader stops replicating to a removed node as soon as C(new) commits, and the node (which
 * may have vetoed the change until its own L1 view caught up) never learns it. Leaving then is no
 * worse for the cluster than this node crashing.
 */
import type { MembershipConfig, NodeId } from "../consensus/index.js";

export class Retirement {
  private removedSince: number | undefined;
  /** The epoch at which this node left the set, null while it is a member. */
  retiredAt: number | null = null;

  constructor(
    private readonly self: NodeId,
    /** How long the removal must last (a few election timeouts). */
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get retired(): boolean {
    return this.retiredAt !== null;
  }

  /** Checks the rule; true exactly once, when the node has just retired at `epoch`. */
  check(latestVoters: readonly NodeId[] | undefined, config: MembershipConfig, leader: NodeId | null, epoch: number): boolean {
    if (this.retired) return false;
    if (latestVoters?.includes(this.self) !== false) {
      this.removedSince = undefined;
      return false;
    }
    const named = config.voters.includes(this.self) || (config.outgoing?.includes(this.self) ?? false) || config.learners.includes(this.self);
    if (named && leader !== null) {
      this.removedSince = undefined;
      return false;
    }
    const now = this.now();
    this.removedSince ??= now;
    if (now - this.removedSince < this.graceMs) return false;
    this.retiredAt = epoch;
    return true;
  }
}
