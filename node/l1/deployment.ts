/**
 * Reads what a node needs from a deployment record (`deployments/<network>.json`, written by
 * scripts/deploy.ts): the L1 chain id, the contract addresses and the epoch parameters.
 */
import { readFile } from "node:fs/promises";
import { isAddress, type Address } from "viem";
import { L1Error } from "./errors.js";

export interface NodeDeployment {
  readonly network: string;
  readonly chainId: number;
  readonly sequencerRegistry: Address;
  readonly batchInbox: Address;
  readonly slashing: Address;
  /** The epoch-key anchor (contracts/EpochKeys.sol); undefined in records written before it existed. */
  readonly epochKeys: Address | undefined;
  /** The forced-inclusion queue (contracts/ForcedInclusionQueue.sol); undefined in records written before it existed. */
  readonly forcedInclusionQueue: Address | undefined;
  readonly stakeToken: Address;
  readonly genesisBlock: bigint;
  readonly epochLength: bigint;
  readonly deploymentBlock: bigint;
}

/** The record is missing, unreadable or not a deployment record. */
export class DeploymentRecordError extends L1Error {
  override readonly name = "DeploymentRecordError";
}

function field(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Parses a deployment record; `where` names it in errors. */
export function parseDeploymentRecord(json: unknown, where: string): NodeDeployment {
  const address = (path: string): Address => {
    const v = field(json, path);
    if (typeof v !== "string" || !isAddress(v)) throw new DeploymentRecordError(`${where}: ${path} is not an address`);
    return v;
  };
  const integer = (path: string): bigint => {
    const v = field(json, path);
    if ((typeof v !== "string" && typeof v !== "number") || !/^\d+$/.test(String(v))) {
      throw new DeploymentRecordError(`${where}: ${path} is not a non-negative integer`);
    }
    return BigInt(v);
  };
  const network = field(json, "network");
  return {
    network: typeof network === "string" ? network : "unknown",
    chainId: Number(integer("chainId")),
    sequencerRegistry: address("contracts.sequencerRegistry.address"),
    batchInbox: address("contracts.batchInbox.address"),
    slashing: address("contracts.slashing.address"),
    epochKeys: field(json, "contracts.epochKeys") === undefined ? undefined : address("contracts.epochKeys.address"),
    forcedInclusionQueue: field(json, "contracts.forcedInclusionQueue") === undefined ? undefined : address("contracts.forcedInclusionQueue.address"),
    stakeToken: address("contracts.stakeToken.address"),
    genesisBlock: integer("epochs.genesisBlock"),
    epochLength: integer("epochs.epochLength"),
    deploymentBlock: integer("deploymentBlock"),
  };
}

export async function loadDeploymentRecord(path: string): Promise<NodeDeployment> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new DeploymentRecordError(`cannot read the deployment record ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentRecordError(`${path} is not JSON: ${(cause as Error).message}`, { cause });
  }
  return parseDeploymentRecord(json, path);
}
