/**
 * Who the cluster's members are, as this node read them on L1: node ids, signers, libp2p peer
 * ids and dial addresses of every known epoch's set, and the transport's allow-list kept in step.
 */
import type { Address } from "viem";
import type { MembershipConfig, NodeId } from "../consensus/index.js";
import type { L1Follower } from "../l1/follower.js";
import type { EpochView } from "../l1/registry.js";
import type { Logger } from "../ops/logger.js";
import type { Transport } from "../transport/index.js";
import type { EpochPlan } from "./epochs.js";

/** A member of the Raft cluster as the node knows it from L1. */
export interface ClusterMember {
  readonly nodeId: NodeId;
  readonly operator: Address;
  readonly signer: Address;
  /** Null when the member's peer-id proof does not verify: never dialled or trusted (offline). */
  readonly peerId: string | null;
  readonly addrs: readonly string[];
  readonly stake: bigint;
}

/** Node ids are lower-case operator addresses: the identity the L1 schedule speaks in. */
export function nodeIdOf(operator: Address): NodeId {
  return operator.toLowerCase();
}

export function membersOf(view: EpochView): ClusterMember[] {
  return view.members.map((m) => ({
    nodeId: nodeIdOf(m.operator),
    operator: m.operator,
    signer: m.signer,
    peerId: m.peerId,
    addrs: m.addrs,
    stake: m.stake,
  }));
}

/** The members the transport may talk to: known, with a proven peer id. */
export function reachable(members: readonly (ClusterMember | undefined)[]): (ClusterMember & { readonly peerId: string })[] {
  return members.filter((m): m is ClusterMember & { peerId: string } => m !== undefined && m.peerId !== null);
}

export function planOf(view: EpochView): EpochPlan {
  return {
    epoch: Number(view.epoch),
    voters: view.members.map((m) => nodeIdOf(m.operator)),
    weights: view.members.map((m) => m.stake.toString()),
    schedule: view.schedule.map((op) => nodeIdOf(op)),
  };
}

export class MemberDirectory {
  /** Every member of the epochs this node knows (later epochs win for addresses). */
  private readonly byId = new Map<NodeId, ClusterMember>();

  constructor(private readonly follower: L1Follower) {}

  get(id: NodeId): ClusterMember | undefined {
    return this.byId.get(id);
  }

  ids(): NodeId[] {
    return [...this.byId.keys()];
  }

  all(): ClusterMember[] {
    return [...this.byId.values()];
  }

  /** The libp2p peer id of a member; throws for a node id no known epoch names. */
  peerIdOf(nodeId: NodeId): string {
    const m = this.byId.get(nodeId);
    if (m?.peerId == null) throw new Error(`member ${nodeId} is unknown or has no proven peer id`);
    return m.peerId;
  }

  /** Adds the members of every known epoch to the table. */
  remember(): void {
    for (const view of [...this.follower.recent()].reverse()) for (const m of membersOf(view)) this.byId.set(m.nodeId, m);
  }

  /**
   * Resolves with the member record of `signer` once it is in one of the confirmed epochs' sets
   * (the latest first). A node registered for a later epoch waits here instead of failing,
   * telling `waiting` the latest confirmed epoch at every look.
   */
  async waitFor(signer: Address, pollMs: number, log: Logger, waiting: (epoch: number) => void = () => undefined): Promise<ClusterMember> {
    const wanted = signer.toLowerCase();
    let warned = -1n;
    for (;;) {
      this.remember();
      for (const view of this.follower.recent()) {
        const m = membersOf(view).find((x) => x.signer.toLowerCase() === wanted);
        if (m) return m;
      }
      waiting(Number(this.follower.epoch));
      if (this.follower.epoch !== warned) {
        warned = this.follower.epoch;
        log.warn({ signer, epoch: Number(warned) }, "not in the active set of a confirmed epoch yet: waiting (register and stake; membership starts at the next epoch)");
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Lets the transport talk to the members of the known epochs and of the Raft configuration in force. */
  async refreshPeers(transport: Transport, config: MembershipConfig, self: NodeId): Promise<void> {
    this.remember();
    const wanted = new Set([...this.follower.recent().flatMap((v) => membersOf(v).map((m) => m.nodeId)), ...config.voters, ...(config.outgoing ?? []), ...config.learners]);
    const peers = reachable([...wanted].map((id) => this.byId.get(id)));
    transport.setNodeIds(new Map(peers.map((m) => [m.peerId, m.nodeId])));
    transport.setAllowedPeers(peers.map((m) => m.peerId));
    for (const m of peers) if (m.nodeId !== self) await transport.setPeerAddresses(m.peerId, m.addrs);
  }
}
