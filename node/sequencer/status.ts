/** What `seq_status` and `/status` report: one read of every part of the node. */
import type { Address } from "viem";
import type { NodeId, RaftStatus } from "../consensus/index.js";
import type { CommitmentService } from "../app/commitments.js";
import type { EpochKeyStatus, EpochKeys } from "../app/epoch-keys.js";
import type { EpochKeyAnchor } from "../app/epoch-key-anchor.js";
import type { EncryptedSlots } from "../app/encrypted-slots.js";
import type { BatchService, BatchStatus, ForcedStatus } from "../batching/index.js";
import type { NodeDeployment } from "../l1/deployment.js";
import type { L1Follower } from "../l1/follower.js";
import type { RaftNode } from "../raftnode/index.js";
import { slashReportView, type Watchtower, type WatchtowerStats } from "../watchtower/watchtower.js";
import type { EpochManager } from "./epochs.js";
import type { CensorshipService, CensorshipStatus } from "./censorship-service.js";
import type { ClusterMember, MemberDirectory } from "./members.js";
import type { Retirement } from "./retirement.js";

export interface NodeStatus {
  readonly nodeId: NodeId;
  readonly operator: Address;
  readonly signer: Address;
  readonly peerId: string;
  readonly role: RaftStatus["role"];
  readonly term: number;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly nextPosition: number;
  readonly nextUncertifiedPosition: number;
  readonly batches: BatchStatus;
  /** The forced-inclusion queue as this node follows it (null: the deployment has none). */
  readonly forced: ForcedStatus | null;
  readonly watchtower: ReturnType<typeof watchtowerStatus> | null;
  /** Latest epoch confirmed on L1 (behind `l1Confirmations`). */
  readonly epoch: number;
  readonly l1ConfirmedBlock: number;
  /** The last L1 poll's error, null when it succeeded. */
  readonly l1Error: string | null;
  /** L1 blocks per epoch, and the block at which the epoch after `epoch` starts. */
  readonly epochLength: number;
  readonly nextEpochStartBlock: number;
  /** The epoch's leader schedule (node ids): primary first. */
  readonly schedule: readonly NodeId[];
  readonly rotation: ReturnType<EpochManager["status"]>;
  /** Followers replacing a censoring leader (docs/censorship.md): this node's strikes, the reports it holds, the last ejection it saw. */
  readonly censorship: CensorshipStatus;
  /** The epoch at which this node left the set, null while it is a member. */
  readonly retiredAtEpoch: number | null;
  readonly l1ChainId: number;
  readonly registry: Address;
  /** The Raft membership in force (may lag the epoch's set while a change is under way). */
  readonly config: RaftStatus["config"];
  /**
   * Encrypted transactions: the DKG of the epochs kept, latest first. `available` is whether the
   * latest epoch has a key (a failed DKG leaves the epoch without encryption; plaintext works regardless).
   */
  readonly encryption: {
    readonly available: boolean;
    /** `anchored`: whether L1's EpochKeys holds the epoch's key (null without that contract in the deployment). */
    readonly epochs: readonly (EpochKeyStatus & { readonly anchored: boolean | null })[];
    /** The encrypted slots: the open slot of the current epoch, what waits for a key, what was decrypted, and misbehaviour on record (early releases, wrong shares). */
    readonly slots: ReturnType<EncryptedSlots["status"]>;
  };
  /** The latest epoch's active set. */
  readonly members: readonly {
    nodeId: NodeId;
    operator: Address;
    peerId: string | null;
    /** The member's stake in the epoch, in the stake token's base units (a decimal string). */
    stake: string;
    voter: boolean;
    replication?: { match: number; lagEntries: number; active: boolean };
  }[];
}

export interface StatusSources {
  readonly self: ClusterMember & { readonly peerId: string };
  readonly raft: RaftNode;
  readonly commitments: CommitmentService;
  readonly batches: BatchService;
  readonly watchtower: Watchtower | undefined;
  readonly follower: L1Follower;
  readonly epochs: EpochManager;
  readonly retirement: Retirement;
  readonly deployment: NodeDeployment;
  readonly members: MemberDirectory;
  readonly epochKeys: EpochKeys;
  readonly epochKeyAnchor: EpochKeyAnchor;
  readonly censorship: CensorshipService;
  readonly encrypted: EncryptedSlots;
}

export function nodeStatus(p: StatusSources): NodeStatus {
  const s = p.raft.status();
  const health = s.progress
    ? Object.fromEntries(Object.entries(s.progress).map(([id, pr]) => [id, { match: pr.match, lagEntries: Math.max(0, s.lastIndex - pr.match), active: pr.recentActive }]))
    : undefined;
  return {
    nodeId: p.self.nodeId,
    operator: p.self.operator,
    signer: p.self.signer,
    peerId: p.self.peerId,
    role: s.role,
    term: s.term,
    leader: s.leader,
    commitIndex: s.commit,
    appliedIndex: s.applied,
    lastIndex: s.lastIndex,
    nextPosition: s.nextPosition,
    nextUncertifiedPosition: p.commitments.nextUncertified,
    batches: p.batches.status(),
    forced: p.batches.forced?.status() ?? null,
    watchtower: p.watchtower ? watchtowerStatus(p.watchtower.stats()) : null,
    epoch: Number(p.follower.epoch),
    l1ConfirmedBlock: Number(p.follower.confirmedBlock),
    l1Error: p.follower.lastError,
    epochLength: Number(p.deployment.epochLength),
    nextEpochStartBlock: Number(p.deployment.genesisBlock + (p.follower.epoch + 1n) * p.deployment.epochLength),
    schedule: p.epochs.latest?.schedule ?? [],
    rotation: p.epochs.status(),
    censorship: p.censorship.status(),
    retiredAtEpoch: p.retirement.retiredAt,
    l1ChainId: p.deployment.chainId,
    registry: p.deployment.sequencerRegistry,
    config: s.config,
    encryption: { ...encryptionStatus(p.epochKeys, p.epochKeyAnchor, Number(p.follower.epoch)), slots: p.encrypted.status() },
    members: (p.epochs.latest?.voters ?? []).flatMap((id) => {
      const m = p.members.get(id);
      if (m === undefined) return [];
      return [{ nodeId: id, operator: m.operator, peerId: m.peerId, stake: m.stake.toString(), voter: s.config.voters.includes(id), ...(health?.[id] ? { replication: health[id] } : {}) }];
    }),
  };
}

function encryptionStatus(epochKeys: EpochKeys, anchor: EpochKeyAnchor, epoch: number): Omit<NodeStatus["encryption"], "slots"> {
  const epochs = epochKeys.status().map((e) => ({ ...e, anchored: anchor.isAnchored(e.epoch) }));
  return { available: epochs.some((e) => e.epoch === epoch && e.state === "ready"), epochs };
}

function watchtowerStatus(s: WatchtowerStats) {
  return {
    batchesChecked: s.batchesChecked,
    mismatches: s.mismatches,
    slashesSubmitted: s.slashesSubmitted,
    unreadableBatches: s.unreadableBatches,
    lastCheckedBlock: s.lastCheckedBlock === null ? null : Number(s.lastCheckedBlock),
    waitingForPosition: s.waitingForPosition === null ? null : Number(s.waitingForPosition),
    lastError: s.lastError,
    recentSlashes: s.recentSlashes.map(slashReportView),
  };
}
