/**
 * Deployment parameters: `config/<network>.json`, falling back to `config/default.json`.
 * Token amounts are decimal strings of the token's smallest unit (JSON numbers cannot hold
 * them exactly); block counts and basis points are plain integers.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type Address, getAddress, isAddress } from "viem";

/** Where the staked token comes from: an existing ERC-20, or a fresh mintable TestToken. */
export type TokenConfig =
  | { readonly address: Address }
  | { readonly deployTestToken: { readonly name: string; readonly symbol: string } };

/** Everything `deploySystem` needs, validated. */
export type DeployConfig = {
  readonly token: TokenConfig;
  /** Receives slashed stake net of reporter rewards (a burn address is fine). */
  readonly treasury: Address;
  /** Governance owner; the deployer when absent. */
  readonly owner?: Address;
  /** First block of epoch 0; 0 = the registry's deployment block. */
  readonly genesisBlock: bigint;
  readonly epochLength: bigint;
  readonly minStake: bigint;
  readonly maxActive: bigint;
  readonly unbondingPeriod: bigint;
  readonly slashFractionBps: bigint;
  readonly reporterShareBps: bigint;
  /**
   * How many epochs old a new batch's epoch may be (BatchInbox `maxEpochLag`). The inbox
   * requires `unbondingPeriod >= (maxBatchEpochLag + 2) * epochLength`.
   */
  readonly maxBatchEpochLag: bigint;
  /** L1 blocks a forced transaction may wait for a covering batch (ForcedInclusionQueue); default 50, 10 minutes on 12 s blocks. */
  readonly forcedInclusionDelay?: bigint;
  /** L1 blocks without an accepted quorum batch that open the inbox's escape hatch; default 150. */
  readonly escapeWindow?: bigint;
};

/** Defaults of the optional forced-inclusion parameters (docs/forced-inclusion.md). */
export const FORCED_INCLUSION_DEFAULTS = { forcedInclusionDelay: 50n, escapeWindow: 150n } as const;

/** A config file is missing, unreadable or has a bad field. */
export class DeployConfigError extends Error {
  override readonly name = "DeployConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const CONFIG_DIR = path.resolve(import.meta.dirname, "../../config");

/** The config file used for `network`: its own if present, else the default one. */
export function configPathFor(network: string, dir: string = CONFIG_DIR): string {
  const own = path.join(dir, `${network}.json`);
  return existsSync(own) ? own : path.join(dir, "default.json");
}

/** Reads and validates the config of `network`. */
export function loadDeployConfig(network: string, dir: string = CONFIG_DIR): { path: string; config: DeployConfig } {
  const file = configPathFor(network, dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new DeployConfigError(`cannot read deployment config ${file}`, { cause });
  }
  try {
    return { path: file, config: parseDeployConfig(raw) };
  } catch (cause) {
    throw new DeployConfigError(`invalid deployment config ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** Bounds the SequencerRegistry enforces (its MAX_EPOCH_LENGTH and MAX_UNBONDING_PERIOD; test/devnet/options.test.ts reads them back from a deployment). */
export const REGISTRY_LIMITS = { maxEpochLength: 100_000n, maxUnbondingPeriod: 330_000n } as const;

/** What a setting is called where the user sets it: an option (`--epoch-length`) or a config field (`epochLength`). */
export type SettingNames = { readonly epochLength: string; readonly unbondingPeriod: string };

/**
 * Why the registry and inbox would refuse this epoch length and unbonding period, in one sentence
 * naming the settings as `names` says; undefined when they fit. The unbonding period must cover
 * `maxBatchEpochLag + 2` whole epochs, so that stake cannot leave while its batch signatures are
 * still accepted (BatchInbox's UnbondingTooShort, the registry's ParameterOutOfBounds).
 */
export function unbondingProblem(s: Pick<DeployConfig, "epochLength" | "unbondingPeriod" | "maxBatchEpochLag">, names: SettingNames): string | undefined {
  const { maxEpochLength, maxUnbondingPeriod } = REGISTRY_LIMITS;
  if (s.epochLength === 0n || s.epochLength > maxEpochLength) return `${names.epochLength} ${s.epochLength} is outside the registry's bounds: an epoch is 1 to ${maxEpochLength} blocks`;
  const epochs = s.maxBatchEpochLag + 2n;
  const floor = epochs * s.epochLength;
  if (floor > maxUnbondingPeriod) {
    return `${names.epochLength} ${s.epochLength} is too long: the unbonding period must cover ${epochs} epochs (maxBatchEpochLag ${s.maxBatchEpochLag} + 2), ${floor} blocks, over the registry's maximum of ${maxUnbondingPeriod}; use ${names.epochLength} ${maxUnbondingPeriod / epochs} or less`;
  }
  if (s.unbondingPeriod < floor) {
    return `${names.unbondingPeriod} ${s.unbondingPeriod} is shorter than ${epochs} epochs of ${s.epochLength} blocks: the unbonding period must cover maxBatchEpochLag + 2 = ${epochs} epochs (${floor} blocks), so that stake cannot leave while its batch signatures are still accepted; use ${names.unbondingPeriod} ${floor} or more, or a shorter ${names.epochLength}`;
  }
  if (s.unbondingPeriod > maxUnbondingPeriod) return `${names.unbondingPeriod} ${s.unbondingPeriod} is over the registry's maximum unbonding period of ${maxUnbondingPeriod} blocks`;
  return undefined;
}

/** Validates a parsed config object (types, and the bounds the contracts would refuse at deployment). */
export function parseDeployConfig(raw: unknown): DeployConfig {
  const config = parseDeployConfigFields(raw);
  const problem = unbondingProblem(config, { epochLength: "epochLength", unbondingPeriod: "unbondingPeriod" });
  if (problem !== undefined) throw new DeployConfigError(problem);
  return config;
}

function parseDeployConfigFields(raw: unknown): DeployConfig {
  if (typeof raw !== "object" || raw === null) throw new DeployConfigError("config must be a JSON object");
  const o = raw as Record<string, unknown>;
  return {
    token: parseToken(o.token),
    treasury: parseAddress(o.treasury, "treasury"),
    ...(o.owner === undefined || o.owner === null ? {} : { owner: parseAddress(o.owner, "owner") }),
    genesisBlock: parseUint(o.genesisBlock ?? 0, "genesisBlock"),
    epochLength: parseUint(o.epochLength, "epochLength"),
    minStake: parseUint(o.minStake, "minStake"),
    maxActive: parseUint(o.maxActive, "maxActive"),
    unbondingPeriod: parseUint(o.unbondingPeriod, "unbondingPeriod"),
    slashFractionBps: parseUint(o.slashFractionBps, "slashFractionBps"),
    reporterShareBps: parseUint(o.reporterShareBps, "reporterShareBps"),
    maxBatchEpochLag: parseUint(o.maxBatchEpochLag, "maxBatchEpochLag"),
    forcedInclusionDelay: parseUint(o.forcedInclusionDelay ?? Number(FORCED_INCLUSION_DEFAULTS.forcedInclusionDelay), "forcedInclusionDelay"),
    escapeWindow: parseUint(o.escapeWindow ?? Number(FORCED_INCLUSION_DEFAULTS.escapeWindow), "escapeWindow"),
  };
}

function parseToken(v: unknown): TokenConfig {
  if (typeof v !== "object" || v === null) throw new DeployConfigError("token must be an object");
  const o = v as Record<string, unknown>;
  if (o.address !== undefined) return { address: parseAddress(o.address, "token.address") };
  const t = o.deployTestToken as Record<string, unknown> | undefined;
  if (typeof t !== "object" || t === null || typeof t.name !== "string" || typeof t.symbol !== "string") {
    throw new DeployConfigError('token needs either "address" or "deployTestToken": { "name", "symbol" }');
  }
  return { deployTestToken: { name: t.name, symbol: t.symbol } };
}

function parseAddress(v: unknown, field: string): Address {
  if (typeof v !== "string" || !isAddress(v, { strict: false })) {
    throw new DeployConfigError(`${field} must be an address, got ${JSON.stringify(v)}`);
  }
  return getAddress(v);
}

function parseUint(v: unknown, field: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^[0-9]+$/.test(v)) return BigInt(v);
  throw new DeployConfigError(`${field} must be a non-negative integer (or a decimal string), got ${JSON.stringify(v)}`);
}
