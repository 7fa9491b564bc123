/**
 * The one deployment routine: stake token (or an existing one), SequencerRegistry, and the
 * contracts built on it. Used by scripts/deploy.ts, scripts/main.ts and the contract tests,
 * on any network a Hardhat connection reaches.
 */
import type { NetworkConnection } from "hardhat/types/network";
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import type { Address, Hash } from "viem";
import { FORCED_INCLUSION_DEFAULTS, type DeployConfig } from "./config.js";
import { describeL1Failure, type RevertHints } from "../../node/l1/revert.js";

/** Where a deployment's parameters are set, for the sentence a refused deployment prints. */
const DEPLOY_HINTS: RevertHints = {
  unbondingPeriod: "set unbondingPeriod (or epochLength) in the deployment config, or --unbonding-period (or --epoch-length) of npm start",
  minUnbondingEpochs: "the floor is maxBatchEpochLag + 2: set a smaller maxBatchEpochLag or epochLength in the deployment config",
  UnbondingTooShort: "set a smaller maxBatchEpochLag in the deployment config",
  InvalidEpochLength: "set epochLength in the deployment config, or --epoch-length of npm start",
};

export type Registry = ContractReturnType<"SequencerRegistry">;
export type StakeToken = ContractReturnType<"TestToken">;

/** Facts about one deployed contract. */
export type DeployedContract = { readonly address: Address; readonly transactionHash: Hash; readonly block: bigint };

/** Result of a deployment, ready to be written as a record. */
export type Deployment = {
  readonly chainId: number;
  readonly deployer: Address;
  /** Registry owner. When it is not the deployer it must still call `acceptOwnership()`. */
  readonly owner: Address;
  readonly config: DeployConfig;
  /** Registry constructor's genesis block after resolving 0 to the deployment block. */
  readonly genesisBlock: bigint;
  readonly contracts: {
    readonly stakeToken: DeployedContract & { readonly testToken: boolean };
    readonly sequencerRegistry: DeployedContract;
    readonly batchInbox: DeployedContract;
    readonly slashing: DeployedContract;
    readonly epochKeys: DeployedContract;
    readonly forcedInclusionQueue: DeployedContract;
  };
  readonly registry: Registry;
  /** Typed as TestToken; only `mint` requires that it really is one. */
  readonly token: StakeToken;
};

/** Deployment failed (a transaction reverted or a read-back did not match). */
export class DeploymentError extends Error {
  override readonly name = "DeploymentError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Deploys the system described by `config` through `connection` (first wallet pays). */
export async function deploySystem(connection: NetworkConnection, config: DeployConfig): Promise<Deployment> {
  const { viem } = connection;
  const publicClient = await viem.getPublicClient();
  const [deployerWallet] = await viem.getWalletClients();
  if (deployerWallet === undefined) throw new DeploymentError("the network connection has no account to deploy from");
  const deployer = deployerWallet.account.address;
  const owner = config.owner ?? deployer;
  const chainId = await publicClient.getChainId();

  const deploy = async (name: string, args: readonly unknown[]): Promise<DeployedContract & { contract: unknown }> => {
    try {
      const { contract, deploymentTransaction } = await viem.sendDeploymentTransaction(name, args as never);
      const receipt = await publicClient.waitForTransactionReceipt({ hash: deploymentTransaction.hash });
      if (receipt.status !== "success") throw new DeploymentError(`${name} deployment reverted`);
      return { contract, address: contract.address, transactionHash: receipt.transactionHash, block: receipt.blockNumber };
    } catch (cause) {
      if (cause instanceof DeploymentError) throw cause;
      // One sentence: the revert's meaning, never the deployment's bytecode viem's message carries.
      throw new DeploymentError(`deploying ${name} failed: ${describeL1Failure(cause, DEPLOY_HINTS)}`, { cause });
    }
  };

  let tokenFacts: DeployedContract & { testToken: boolean };
  if ("address" in config.token) {
    const code = await publicClient.getCode({ address: config.token.address });
    if (code === undefined || code === "0x") throw new DeploymentError(`no contract at token address ${config.token.address}`);
    tokenFacts = { address: config.token.address, transactionHash: `0x${"0".repeat(64)}`, block: 0n, testToken: false };
  } else {
    const { name, symbol } = config.token.deployTestToken;
    const { contract: _c, ...facts } = await deploy("TestToken", [name, symbol]);
    tokenFacts = { ...facts, testToken: true };
  }

  const params = {
    minStake: config.minStake,
    maxActive: config.maxActive,
    unbondingPeriod: config.unbondingPeriod,
    slashFractionBps: config.slashFractionBps,
    reporterShareBps: config.reporterShareBps,
  };
  const { contract: _r, ...registryFacts } = await deploy("SequencerRegistry", [
    tokenFacts.address,
    config.treasury,
    config.genesisBlock,
    config.epochLength,
    // The governance floor of the unbonding period: what the inbox's epoch lag needs.
    config.maxBatchEpochLag + 2n,
    params,
    deployer,
  ]);
  const registry = await viem.getContractAt("SequencerRegistry", registryFacts.address);
  const token = await viem.getContractAt("TestToken", tokenFacts.address);
  const genesisBlock = await registry.read.genesisBlock();

  // Contracts built on the registry: each is one `deploy` call here.
  const { forcedInclusionDelay, escapeWindow } = { ...FORCED_INCLUSION_DEFAULTS, ...config };
  const { contract: _q, ...forcedInclusionQueue } = await deploy("ForcedInclusionQueue", [forcedInclusionDelay]);
  const { contract: _i, ...batchInbox } = await deploy("BatchInbox", [registry.address, config.maxBatchEpochLag, forcedInclusionQueue.address, escapeWindow]);
  const inbox = await viem.getContractAt("BatchInbox", batchInbox.address);
  const maxEpochLag = await inbox.read.maxEpochLag();
  if (maxEpochLag !== config.maxBatchEpochLag) {
    throw new DeploymentError(`BatchInbox reads back maxEpochLag ${maxEpochLag}, configured ${config.maxBatchEpochLag}`);
  }
  const { contract: _s, ...slashing } = await deploy("Slashing", [registry.address]);
  const { contract: _k, ...epochKeys } = await deploy("EpochKeys", [registry.address]);

  // setSlasher is owner-only: the deployer owns the registry until it is handed over below.
  await send(publicClient, "setSlasher", () => registry.write.setSlasher([slashing.address]));
  if (owner !== deployer) {
    await send(publicClient, "transferOwnership", () => registry.write.transferOwnership([owner]));
  }

  return {
    chainId,
    deployer,
    owner,
    config,
    genesisBlock,
    contracts: { stakeToken: tokenFacts, sequencerRegistry: registryFacts, batchInbox, slashing, epochKeys, forcedInclusionQueue },
    registry,
    token,
  };
}

async function send(
  publicClient: Awaited<ReturnType<NetworkConnection["viem"]["getPublicClient"]>>,
  what: string,
  write: () => Promise<Hash>,
): Promise<void> {
  try {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await write() });
    if (receipt.status !== "success") throw new DeploymentError(`${what} reverted`);
  } catch (cause) {
    if (cause instanceof DeploymentError) throw cause;
    throw new DeploymentError(`${what} failed: ${describeL1Failure(cause)}`, { cause });
  }
}

/** Mines to the first block of the next epoch; returns that epoch. */
export async function mineToNextEpoch(connection: NetworkConnection, registry: Registry): Promise<bigint> {
  const publicClient = await connection.viem.getPublicClient();
  const next = (await registry.read.currentEpoch()) + 1n;
  const start = await registry.read.epochStartBlock([next]);
  const now = await publicClient.getBlockNumber();
  if (start > now) await connection.networkHelpers.mine(start - now);
  return next;
}
