/**
 * Fixture of the registry tests: the full system deployed through scripts/lib/deploy.ts on a
 * fresh in-process chain, hardhat accounts as operators, and helpers to register, mine to an
 * epoch boundary and act as the slashing contract.
 */
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, type Hex, keccak256, parseEther, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { DeployConfig } from "../../scripts/lib/config.js";
import { deploySystem, mineToNextEpoch as mineToEpochStart } from "../../scripts/lib/deploy.js";
import { domain } from "../../node/commitments/typed-data.js";
import { signBatcherBinding, signSignerBinding } from "../../node/l1/key-binding.js";

export const EPOCH_LENGTH = 10n;
export const MIN_STAKE = parseEther("100");
export const UNBONDING = 25n;

export const TEST_TREASURY = privateKeyToAccount(keccak256(toHex("treasury"))).address;

export const TEST_CONFIG: DeployConfig = {
  token: { deployTestToken: { name: "Test Stake", symbol: "TST" } },
  treasury: TEST_TREASURY,
  genesisBlock: 0n,
  epochLength: EPOCH_LENGTH,
  minStake: MIN_STAKE,
  maxActive: 3n,
  unbondingPeriod: UNBONDING,
  slashFractionBps: 1_000n,
  reporterShareBps: 1_000n,
  // Registry tests post no batches; lag 0 keeps the short unbonding period valid.
  maxBatchEpochLag: 0n,
};

/** Deterministic signing key number `i`. */
export function signerAccount(i: number, tag = "signer") {
  return privateKeyToAccount(keccak256(toHex(`${tag}-${i}`)));
}

/** Deterministic signing address number `i`. */
export function signerAddress(i: number, tag = "signer"): Address {
  return signerAccount(i, tag).address;
}

/** Deterministic fake peer id bytes number `i` (shape checks only happen off-chain). */
export function peerBytes(i: number, tag = "peer"): Hex {
  return toHex(`${tag}-${i}`);
}

/** Stand-in peer-id proof number `i`: the registry stores it unverified (nodes check it, test/l1). */
export function peerProof(i: number, tag = "peer-proof"): Hex {
  return toHex(`${tag}-${i}`);
}

export async function registryFixture(connection: NetworkConnection) {
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const deployment = await deploySystem(connection, TEST_CONFIG);
  const { registry, token } = deployment;
  const owner = wallets[0]!.account.address;
  const operators = wallets.slice(1, 11).map((w) => w.account.address);
  const reporter = wallets[11]!.account.address;
  const outsider = wallets[12]!.account.address;
  const slasher = deployment.contracts.slashing.address;
  await networkHelpers.impersonateAccount(slasher);
  await networkHelpers.setBalance(slasher, parseEther("10"));
  for (const op of operators) {
    await token.write.mint([op, parseEther("100000")]);
    await token.write.approve([registry.address, parseEther("100000")], { account: op });
  }

  const chainId = await publicClient.getChainId();
  /** Signing key `i`'s (of `tag`) proof that it belongs to `operator`, for `at` (default: this registry). */
  function signerProof(i: number, operator: Address, at: Address = registry.address, tag = "signer"): Promise<Hex> {
    return signSignerBinding(signerAccount(i, tag), domain(chainId, at), operator);
  }

  /** Batcher key `i`'s (of `tag`) proof that it agrees to post `operator`'s batches. */
  function batcherProof(i: number, operator: Address, tag = "batcher"): Promise<Hex> {
    return signBatcherBinding(signerAccount(i, tag), domain(chainId, registry.address), operator);
  }

  /** Registers operator number `i` (of `operators`) with signer i and peer i. */
  async function register(i: number, stake: bigint = MIN_STAKE, addrs: string[] = [`/ip4/127.0.0.1/tcp/${9000 + i}`]) {
    const operator = operators[i]!;
    return registry.write.register([stake, signerAddress(i), await signerProof(i, operator), peerBytes(i), peerProof(i), addrs], { account: operator });
  }

  /** Lands on the next epoch's first block: the next transaction then runs in the block after it. */
  const mineToNextEpoch = () => mineToEpochStart(connection, registry);

  async function slashAs(operator: Address, reporterAddress: Address = reporter) {
    return registry.write.slash([operator, reporterAddress], { account: slasher });
  }

  return {
    connection,
    viem,
    networkHelpers,
    publicClient,
    deployment,
    registry,
    token,
    owner,
    operators,
    reporter,
    outsider,
    slasher,
    register,
    signerProof,
    batcherProof,
    mineToNextEpoch,
    slashAs,
  };
}

export type RegistryFixture = Awaited<ReturnType<typeof registryFixture>>;
