/** Public API of the commitment-aware Raft core. */
export { RaftCore, isAtLeastAsComplete } from "./core.js";
export {
  RaftError,
  InvalidOptionsError,
  InvalidPersistedStateError,
  NotLeaderError,
  MembershipChangeInProgressError,
  InvalidMembershipError,
  LeadershipTransferError,
  CompactionError,
  ReadyProtocolError,
} from "./errors.js";
export * from "./types.js";
