/**
 * Shared fixture of the inbox/slashing tests: the system deployed by scripts/lib/deploy.ts on a
 * fresh Hardhat chain, `n` registered operators with their own signing keys, mined into an epoch
 * where they form the active set. Signing goes through node/commitments exactly as a node does.
 */
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, type Hex, bytesToHex, hexToBytes, keccak256, parseEther, toHex } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { encodeBatchData } from "../../../node/batching/format.js";
import { deploySystem, mineToNextEpoch as mineToEpochStart } from "../../../scripts/lib/deploy.js";
import { buildPositionalTree, merkleRoot, type MerkleTree } from "../../../node/commitments/merkle.js";
import {
  type BatchHeader,
  type OrderCommitment,
  type SequencerDomain,
  ZERO_HASH,
  batchHash,
  domain,
  signBatchHeader,
  signOrderCommitment,
} from "../../../node/commitments/typed-data.js";
import { signSignerBinding } from "../../../node/l1/key-binding.js";
import { proofCommitment } from "../../../node/watchtower/slashing.js";

export const EPOCH_LENGTH = 10n;
export const MIN_STAKE = parseEther("100");
export const SLASH_FRACTION_BPS = 1_000n;
export const REPORTER_SHARE_BPS = 1_000n;
export const MAX_EPOCH_LAG = 2n;

export type Operator = { address: Address; signer: PrivateKeyAccount; stake: bigint };

/** Deterministic, distinct test key number `i` for purpose `tag`. */
export function testKey(tag: string, i: number): Hex {
  return keccak256(toHex(`${tag}-${i}`));
}

/**
 * `n` deterministic stand-ins for raw transactions of `bytes` bytes each: pseudo-random, like
 * signed transactions (hardly any zero bytes), and like a typed (EIP-1559) one they start with
 * 0x02, outside the 0x80-0xbf range the stream reserves for its own records (which the forced
 * queue refuses). The inbox hashes them into the batch's leaves.
 */
export function fakeTxs(n: number, salt = "tx", bytes = 32): Hex[] {
  return Array.from({ length: n }, (_, i) => {
    let block = keccak256(toHex(`${salt}-${i}`));
    let tx = "";
    while (tx.length < 2 * bytes) {
      tx += block.slice(2);
      block = keccak256(block);
    }
    return `0x02${tx.slice(2, 2 * bytes)}` as Hex;
  });
}

/** Transaction hashes of {@link fakeTxs}`(n, salt)`: the leaves a batch of them commits to. */
export function fakeTxHashes(n: number, salt = "tx"): Hex[] {
  return fakeTxs(n, salt).map((tx) => keccak256(tx));
}

/** Batch data format v1 (docs/batch-format.md) of raw transactions given as hex. */
export function batchDataOf(txs: readonly Hex[]): Hex {
  return bytesToHex(encodeBatchData(txs.map((tx) => hexToBytes(tx))));
}

/**
 * `stakes` (largest first) replaces the default near-equal stakes of the operators; `connection`
 * deploys on a chain served elsewhere (an Anvil, through scripts/lib/devnet.ts connectToChain)
 * instead of a fresh in-process Hardhat chain, `hardfork` sets the in-process chain's rules
 * (default: Hardhat's latest).
 */
export async function deploySequencer(
  operatorCount: number,
  options: { readonly stakes?: readonly bigint[]; readonly connection?: NetworkConnection; readonly hardfork?: string } = {},
) {
  const connection = options.connection ?? (await network.create(options.hardfork === undefined ? undefined : { override: { hardfork: options.hardfork } }));
  const { viem, networkHelpers } = connection;
  const [owner, reporterWallet, outsider] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const chainId = await publicClient.getChainId();

  const treasury = privateKeyToAccount(testKey("treasury", 0)).address;
  const deployment = await deploySystem(connection, {
    token: { deployTestToken: { name: "Test Stake", symbol: "TST" } },
    treasury,
    genesisBlock: 0n,
    epochLength: EPOCH_LENGTH,
    minStake: MIN_STAKE,
    maxActive: 100n,
    // The least the inbox accepts for this lag: (lag + 2) epochs.
    unbondingPeriod: (MAX_EPOCH_LAG + 2n) * EPOCH_LENGTH,
    slashFractionBps: SLASH_FRACTION_BPS,
    reporterShareBps: REPORTER_SHARE_BPS,
    maxBatchEpochLag: MAX_EPOCH_LAG,
  });
  const { registry, token } = deployment;
  const inbox = await viem.getContractAt("BatchInbox", deployment.contracts.batchInbox.address);
  const slashing = await viem.getContractAt("Slashing", deployment.contracts.slashing.address);
  const epochKeys = await viem.getContractAt("EpochKeys", deployment.contracts.epochKeys.address);
  const forcedQueue = await viem.getContractAt("ForcedInclusionQueue", deployment.contracts.forcedInclusionQueue.address);

  /**
   * Registers operator number `i` (operator account and signing key derived from `i`). Operators
   * are impersonated accounts, since Hardhat only funds 20; signers are local keys.
   */
  async function registerOperator(i: number, stake: bigint): Promise<Operator> {
    const address = privateKeyToAccount(testKey("operator", i)).address;
    const signer = privateKeyToAccount(testKey("signer", i));
    await networkHelpers.impersonateAccount(address);
    await networkHelpers.setBalance(address, parseEther("10"));
    // The signer is the operator's batcher by default: it pays for submitBatch.
    await networkHelpers.setBalance(signer.address, parseEther("10"));
    await token.write.mint([address, stake]);
    await token.write.approve([registry.address, stake], { account: address });
    // The peer id and its proof are stand-ins: the registry stores them unchecked.
    const signerProof = await signSignerBinding(signer, domain(chainId, registry.address), address);
    await registry.write.register([stake, signer.address, signerProof, toHex(`peer-${i}`), toHex(`peer-proof-${i}`), [`/ip4/127.0.0.1/tcp/${4000 + i}`]], {
      account: address,
    });
    return { address, signer, stake };
  }

  const operators: Operator[] = [];
  for (let i = 0; i < operatorCount; i++) {
    // Distinct stakes, largest first, give a deterministic active-set order.
    operators.push(await registerOperator(i, options.stakes?.[i] ?? MIN_STAKE + parseEther(String(operatorCount - i))));
  }
  await mineToEpochStart(connection, registry);
  const epoch = await registry.read.currentEpoch();
  const d = domain(chainId, registry.address);

  const mineToNextEpoch = async (): Promise<void> => {
    await mineToEpochStart(connection, registry);
  };

  /**
   * Header of batch `batchNumber` over the raw transactions `txs` from `firstPosition`, with its
   * v1 data (or `data`, to post a payload that contradicts the header) and the tree of its leaves.
   */
  function makeBatch(args: {
    epoch: bigint;
    batchNumber: bigint;
    prevBatchHash: Hex;
    firstPosition: bigint;
    txs: readonly Hex[];
    data?: Hex;
  }): { header: BatchHeader; data: Hex; tree: MerkleTree; txHashes: Hex[] } {
    const txHashes = args.txs.map((tx) => keccak256(tx));
    const tree = buildPositionalTree(args.firstPosition, txHashes);
    const data = args.data ?? batchDataOf(args.txs);
    const header: BatchHeader = {
      epoch: args.epoch,
      batchNumber: args.batchNumber,
      prevBatchHash: args.prevBatchHash,
      firstPosition: args.firstPosition,
      lastPosition: args.firstPosition + BigInt(args.txs.length - 1),
      merkleRoot: merkleRoot(tree),
      dataHash: keccak256(data),
    };
    return { header, data, tree, txHashes };
  }

  /** The account that posts batches in these tests: operator 0's signer, its default batcher. */
  const batcher = (): PrivateKeyAccount => operators[0]!.signer;

  /** `submitBatch` sent by `by` (default: {@link batcher}). */
  function submitBatch(args: readonly [BatchHeader, Hex, readonly Hex[]], by: PrivateKeyAccount | Address = batcher()): Promise<Hex> {
    return inbox.write.submitBatch([args[0], args[1], [...args[2]]], { account: by });
  }

  async function signHeader(header: BatchHeader, signers: readonly Operator[] = quorum()): Promise<Hex[]> {
    return Promise.all(signers.map((o) => signBatchHeader(o.signer, d, header)));
  }

  /** The smallest strict majority of the operators, in registration order. */
  function quorum(): Operator[] {
    return operators.slice(0, Math.floor(operators.length / 2) + 1);
  }

  /**
   * Commits `reporter` to proving `offenceId` (Slashing's commit-reveal) and mines a block, so
   * that the reveal may follow; returns the reveal's last two arguments (reporter, salt).
   */
  async function commitProof(offenceId: Hex, reporter = reporterWallet!, label = "salt"): Promise<readonly [Address, Hex]> {
    const salt = keccak256(toHex(`${label}-${offenceId}`));
    await slashing.write.commit([proofCommitment(offenceId, reporter.account.address, salt)], { account: reporter.account });
    await networkHelpers.mine(1);
    return [reporter.account.address, salt] as const;
  }

  /** A certificate over `txHashes` from `firstPosition`, signed by `by`. */
  async function certify(by: Operator, firstPosition: bigint, txHashes: Hex[], term = 1n) {
    const tree = buildPositionalTree(firstPosition, txHashes);
    const certificate: OrderCommitment = {
      epoch,
      term,
      firstPosition,
      lastPosition: firstPosition + BigInt(txHashes.length - 1),
      merkleRoot: merkleRoot(tree),
    };
    return { certificate, signature: await signOrderCommitment(by.signer, d, certificate), tree };
  }

  return {
    connection,
    viem,
    networkHelpers,
    publicClient,
    owner: owner!,
    reporter: reporterWallet!,
    outsider: outsider!,
    chainId,
    token,
    treasury,
    registry,
    inbox,
    slashing,
    epochKeys,
    forcedQueue,
    operators,
    epoch,
    domain: d as SequencerDomain,
    registerOperator,
    mineToNextEpoch,
    makeBatch,
    batcher,
    submitBatch,
    signHeader,
    quorum,
    certify,
    commitProof,
    batchHash,
    ZERO_HASH,
  };
}

export type SequencerFixture = Awaited<ReturnType<typeof deploySequencer>>;
