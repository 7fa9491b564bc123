/**
 * Reads the sequencer set from L1: the epoch, the frozen active set and the leader
 * schedule, as every node must see them (identical for every reader of the same block).
 */
import type { Address, Hex, PublicClient } from "viem";
import { sequencerRegistryAbi } from "./generated/abi.js";

/** One member of an epoch's active set, as the node uses it. */
export interface SetMember {
  readonly operator: Address;
  readonly signer: Address;
  /** On-chain peer id bytes (binary multihash). */
  readonly peerIdBytes: Hex;
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
export class L1ReadError extends Error {
  override readonly name = "L1ReadError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class RegistryReader {
  constructor(
    private readonly client: PublicClient,
    readonly address: Address,
  ) {}

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
      return {
        epoch,
        members: members.map((m) => ({ operator: m.operator, signer: m.signer, peerIdBytes: m.peerId, addrs: m.addrs, stake: m.stake })),
        schedule,
      };
    });
  }
}
