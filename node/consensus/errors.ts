/**
 * Typed errors of the consensus core. They are thrown only for local API misuse
 * (driver bugs, calls on the wrong role, invalid arguments); messages from peers
 * never throw: malformed ones are dropped.
 */
import type { NodeId } from "./types.js";
import { BaseError } from "../errors/index.js";

export class RaftError extends BaseError {
  override readonly name: string = "RaftError";
}

/** Options passed to the constructor are unusable. */
export class InvalidOptionsError extends RaftError {
  override readonly name = "InvalidOptionsError";
}

/** The persisted state handed back at restart is inconsistent. */
export class InvalidPersistedStateError extends RaftError {
  override readonly name = "InvalidPersistedStateError";
}

/** A leader-only operation was called on a node that is not the leader. */
export class NotLeaderError extends RaftError {
  override readonly name = "NotLeaderError";
  constructor(
    readonly operation: string,
    readonly leader: NodeId | null,
  ) {
    super(`${operation}: this node is not the leader (leader hint: ${leader ?? "unknown"})`);
  }
}

/** changeMembership() while an earlier change has not finished (learner catch-up, joint or final config uncommitted). */
export class MembershipChangeInProgressError extends RaftError {
  override readonly name = "MembershipChangeInProgressError";
}

/** changeMembership() with an unusable voter set. */
export class InvalidMembershipError extends RaftError {
  override readonly name = "InvalidMembershipError";
}

/** transferLeadership() to a node that is not a voter, or changeMembership() during a transfer. */
export class LeadershipTransferError extends RaftError {
  override readonly name = "LeadershipTransferError";
}

/** compact() outside (snapshot index, applied index]. */
export class CompactionError extends RaftError {
  override readonly name = "CompactionError";
}

/** The driver broke the Ready protocol (ready() twice without advance(), advance() without ready()). */
export class ReadyProtocolError extends RaftError {
  override readonly name = "ReadyProtocolError";
}
