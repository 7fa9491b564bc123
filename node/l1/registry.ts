/**
 * Reads the sequencer set from L1: the epoch, the frozen active set and the leader
 * schedule, as every node must see them (identical for every reader of the same block).
 * Peer ids are trusted only with their proof of possession (`key-binding.ts`): the registry
 * does not make them exclusive, so a member whose proof does not verify is offline to the node.
 */
import type { Address, Hex, PublicClient } from "viem";
import { domain, type SequencerDomain } from "../commitments/typed-data.js";
import { sequencerRegistryAbi } from "./generated/abi.js";
import { provenPeerId } from "./key-binding.js";
import { L1Error } from "./errors.js";

/** One member of an epoch's active set, as the node uses it. */
export interface SetMember {
  readonly operator: Address;
  readonly signer: Address;
  /** On-chain peer id bytes (binary multihash), as the operator claims them. */
  readonly peerIdBytes: Hex;
  /**
   * The member's libp2p peer id if its key signed the member's key binding and no other member
   * of the set proved the same id; null otherwise: the node neither dials nor trusts any peer
   * for it (it counts as offline), though it stays in the set (its stake and signer count on L1).
   */
  readonly peerId: string | null;
  readonly addrs: readonly string[];
  readonly stake: bigint;
}

export interface EpochView {
  readonly epoch: bigint;
  readonly members: readonly SetMember[];
  /** Operators in schedule order: primary first, then the fallbacks. */
  readonly schedule: readonly Address[];
}

/** An L1 read failed (RPC down, wrong address, reverted view). */
export class L1ReadError extends L1Error {
  override readonly name = "L1ReadError";
}

export class RegistryReader {
  private readonly domain: SequencerDomain;

  constructor(
    private readonly client: PublicClient,
    readonly address: Address,
    /** The registry's chain: peer-id proofs are signed under its EIP-712 domain. */
    chainId: number,
  ) {
    this.domain = domain(chainId, address);
  }

  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new L1ReadError(`reading ${what} from the registry at ${this.address} failed: ${(cause as Error).message}`, { cause });
    }
  }

  /** The epoch containing the given block (default: the latest block). */
  currentEpoch(blockNumber?: bigint): Promise<bigint> {
    return this.read("currentEpoch", async () =>
      this.client.readContract({ address: this.address, abi: sequencerRegistryAbi, functionName: "currentEpoch", blockNumber }),
    );
  }

  /** Whether `operator` is jailed (every slash jails it for good), read at `blockNumber` (default: the latest). */
  operatorJailed(operator: Address, blockNumber?: bigint): Promise<boolean> {
    return this.read(`operator ${operator}`, async () => {
      const info = await this.client.readContract({ address: this.address, abi: sequencerRegistryAbi, functionName: "operatorInfo", args: [operator], blockNumber });
      return info.jailed;
    });
  }

  /** The account that posts `operator`'s batches: the one it set with `setBatcher`, else its signer. */
  batcherOf(operator: Address): Promise<Address> {
    return this.read(`the batcher of operator ${operator}`, async () =>
      this.client.readContract({ address: this.address, abi: sequencerRegistryAbi, functionName: "batcherOf", args: [operator] }),
    );
  }

  /**
   * The active set and leader schedule of `epoch`, both read at one block (`blockNumber`,
   * default: the latest), so a tentative next-epoch set cannot change between the two reads.
   */
  epochView(epoch: bigint, blockNumber?: bigint): Promise<EpochView> {
    return this.read(`epoch ${epoch}`, async () => {
      blockNumber ??= await this.client.getBlockNumber();
      const [members, schedule] = await Promise.all([
        this.client.readContract({ address: this.address, abi: sequencerRegistryAbi, functionName: "activeSet", args: [epoch], blockNumber }),
        this.client.readContract({ address: this.address, abi: sequencerRegistryAbi, functionName: "leaderSchedule", args: [epoch], blockNumber }),
      ]);
      const proven = await Promise.all(members.map((m) => provenPeerId(m.peerId, m.peerIdProof, this.domain, m.operator)));
      // A key that signed for two members (its owner runs both) is nobody's: one peer, one member.
      const claims = new Map<string, number>();
      for (const p of proven) if (p !== null) claims.set(p, (claims.get(p) ?? 0) + 1);
      return {
        epoch,
        members: members.map((m, i) => {
          const peerId = proven[i]!;
          return {
            operator: m.operator,
            signer: m.signer,
            peerIdBytes: m.peerId,
            peerId: peerId !== null && claims.get(peerId) === 1 ? peerId : null,
            addrs: m.addrs,
            stake: m.stake,
          };
        }),
        schedule,
      };
    });
  }
}
