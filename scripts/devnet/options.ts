/**
 * The devnet's options (`npm start -- ...`) and their checks: light on purpose (no chain, no
 * Hardhat), so that a bad option is refused before anything starts, in one sentence naming the
 * option, the value and the rule.
 */
import type { NodeConfig } from "../../node/sequencer/config.js";
import { loadDeployConfig, unbondingProblem, type DeployConfig } from "../lib/config.js";

/** The L1 the devnet starts itself: an in-process Hardhat chain, or an Anvil process. */
export const DEVNET_L1S = ["hardhat", "anvil"] as const;
export type DevnetL1 = (typeof DEVNET_L1S)[number];

export type DevnetOptions = {
  /** External chain with unlocked dev accounts (Anvil, hardhat node); default: a chain of its own (`l1`). */
  readonly l1Rpc?: string;
  /** The chain the devnet starts when there is no `l1Rpc`. */
  readonly l1: DevnetL1;
  readonly nodes: number;
  readonly tps: number;
  /** Seconds of traffic, then a clean exit; default: until stop(). */
  readonly durationS?: number;
  /** Working directory (keys, configs, data, logs); default: a fresh temp dir, removed on exit unless `keep`. */
  readonly dir?: string;
  readonly keep: boolean;
  /** L1 blocks per epoch. */
  readonly epochLength: number;
  /** L1 blocks stake stays bonded after an unstake; default: config/default.json's, raised to what the epoch length needs. */
  readonly unbondingPeriod?: number;
  /** The devnet's own chain: a block every this many ms, so epochs advance without traffic (Anvil: rounded to whole seconds). */
  readonly blockIntervalMs: number;
  /** Settings every node config gets on top of the node's defaults. */
  readonly nodeSettings?: Partial<NodeConfig>;
};

export const DEVNET_DEFAULTS = { l1: "hardhat", nodes: 4, tps: 20, keep: false, epochLength: 10, blockIntervalMs: 1_000 } as const;

/** A bad option, or the devnet could not be brought up. */
export class DevnetStartError extends Error {
  override readonly name = "DevnetStartError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The deployment parameters the devnet deploys with: config/default.json's, with the epoch
 * length and unbonding period of `o` (the default unbonding period raised to the
 * `maxBatchEpochLag + 2` epochs the contracts require).
 */
export function devnetDeployConfig(o: Pick<DevnetOptions, "epochLength" | "unbondingPeriod">): Pick<DeployConfig, "epochLength" | "unbondingPeriod"> & { readonly maxBatchEpochLag: bigint } {
  const { config } = loadDeployConfig("default");
  const epochLength = BigInt(o.epochLength);
  const needed = (config.maxBatchEpochLag + 2n) * epochLength;
  const unbondingPeriod = o.unbondingPeriod !== undefined ? BigInt(o.unbondingPeriod) : config.unbondingPeriod > needed ? config.unbondingPeriod : needed;
  return { epochLength, unbondingPeriod, maxBatchEpochLag: config.maxBatchEpochLag };
}

/** @throws DevnetStartError naming the option, its value and the rule */
export function validateDevnetOptions(o: DevnetOptions): void {
  if (!Number.isSafeInteger(o.nodes) || o.nodes < 3) throw new DevnetStartError(`--nodes must be an integer >= 3, got ${o.nodes}`);
  if (!(o.tps > 0) || !Number.isFinite(o.tps)) throw new DevnetStartError(`--tps must be a positive number, got ${o.tps}`);
  if (o.durationS !== undefined && !(o.durationS > 0)) throw new DevnetStartError(`--duration must be a positive number of seconds, got ${o.durationS}`);
  if (!Number.isSafeInteger(o.epochLength) || o.epochLength < 4) throw new DevnetStartError(`--epoch-length must be an integer >= 4, got ${o.epochLength}`);
  if (o.unbondingPeriod !== undefined && (!Number.isSafeInteger(o.unbondingPeriod) || o.unbondingPeriod < 1)) {
    throw new DevnetStartError(`--unbonding-period must be a positive integer number of blocks, got ${o.unbondingPeriod}`);
  }
  if (!(DEVNET_L1S as readonly string[]).includes(o.l1)) throw new DevnetStartError(`--l1 ${JSON.stringify(o.l1)} must be one of ${DEVNET_L1S.join(", ")}`);
  if (o.l1Rpc !== undefined && o.l1 !== DEVNET_DEFAULTS.l1) throw new DevnetStartError(`--l1 ${o.l1} starts a chain of its own and --l1-rpc uses another: give one of them`);
  if (o.l1Rpc !== undefined && !/^(https?|wss?):\/\/[^\s]+$/.test(o.l1Rpc)) throw new DevnetStartError(`--l1-rpc ${JSON.stringify(o.l1Rpc)} must be an http:// or ws:// URL of a chain with unlocked dev accounts`);
  const problem = unbondingProblem(devnetDeployConfig(o), { epochLength: "--epoch-length", unbondingPeriod: o.unbondingPeriod === undefined ? "the default unbonding period" : "--unbonding-period" });
  if (problem !== undefined) throw new DevnetStartError(problem);
}
