/**
 * Deployment records: `deployments/<network>.json`, the ABI-free facts a node needs to find
 * the contracts and interpret epochs (addresses, chain id, genesis block, epoch length,
 * EIP-712 domain). In-process chains are recorded as `hardhat.json` (git-ignored: they vanish
 * with the process).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import type { Address } from "viem";
import type { Deployment } from "./deploy.js";
import { FORCED_INCLUSION_DEFAULTS } from "./config.js";
import { domain, type SequencerDomain } from "../../node/commitments/typed-data.js";

export const DEPLOYMENTS_DIR = path.resolve(import.meta.dirname, "../../deployments");

export type ContractRecord = { address: Address; transactionHash: string; block: string };

/** JSON shape of `deployments/<network>.json` (bigints as decimal strings). */
export type DeploymentRecord = {
  network: string;
  chainId: number;
  deployedAt: string;
  deploymentBlock: string;
  deployer: Address;
  owner: Address;
  contracts: {
    stakeToken: ContractRecord & { testToken: boolean };
    sequencerRegistry: ContractRecord;
    batchInbox: ContractRecord;
    slashing: ContractRecord;
    epochKeys: ContractRecord;
    forcedInclusionQueue: ContractRecord;
  };
  epochs: { genesisBlock: string; epochLength: string };
  parameters: {
    treasury: Address;
    minStake: string;
    maxActive: string;
    unbondingPeriod: string;
    slashFractionBps: string;
    reporterShareBps: string;
    maxBatchEpochLag: string;
    forcedInclusionDelay: string;
    escapeWindow: string;
  };
  eip712: SequencerDomain;
};

/** The record name of a connection: "hardhat" for in-process chains, else the network's name. */
export function recordNameOf(connection: NetworkConnection): string {
  return connection.networkConfig.type === "edr-simulated" ? "hardhat" : connection.networkName;
}

/** Builds the JSON record of `deployment` on network `network`. */
export function toRecord(network: string, deployment: Deployment): DeploymentRecord {
  const c = deployment.contracts;
  const contract = (x: { address: Address; transactionHash: string; block: bigint }): ContractRecord => ({
    address: x.address,
    transactionHash: x.transactionHash,
    block: x.block.toString(),
  });
  return {
    network,
    chainId: deployment.chainId,
    deployedAt: new Date().toISOString(),
    deploymentBlock: c.sequencerRegistry.block.toString(),
    deployer: deployment.deployer,
    owner: deployment.owner,
    contracts: {
      stakeToken: { ...contract(c.stakeToken), testToken: c.stakeToken.testToken },
      sequencerRegistry: contract(c.sequencerRegistry),
      batchInbox: contract(c.batchInbox),
      slashing: contract(c.slashing),
      epochKeys: contract(c.epochKeys),
      forcedInclusionQueue: contract(c.forcedInclusionQueue),
    },
    epochs: { genesisBlock: deployment.genesisBlock.toString(), epochLength: deployment.config.epochLength.toString() },
    parameters: {
      treasury: deployment.config.treasury,
      minStake: deployment.config.minStake.toString(),
      maxActive: deployment.config.maxActive.toString(),
      unbondingPeriod: deployment.config.unbondingPeriod.toString(),
      slashFractionBps: deployment.config.slashFractionBps.toString(),
      reporterShareBps: deployment.config.reporterShareBps.toString(),
      maxBatchEpochLag: deployment.config.maxBatchEpochLag.toString(),
      forcedInclusionDelay: (deployment.config.forcedInclusionDelay ?? FORCED_INCLUSION_DEFAULTS.forcedInclusionDelay).toString(),
      escapeWindow: (deployment.config.escapeWindow ?? FORCED_INCLUSION_DEFAULTS.escapeWindow).toString(),
    },
    eip712: domain(deployment.chainId, c.sequencerRegistry.address),
  };
}

/** Writes `record` to `<dir>/<record.network>.json` and returns the path. */
export function writeRecord(record: DeploymentRecord, dir: string = DEPLOYMENTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${record.network}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
