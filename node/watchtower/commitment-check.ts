/**
 * A user's check of an order commitment against L1 (`seq slash`): find the accepted batch
 * covering the commitment's position, compare the transaction it holds there, and, when the
 * batch broke the commitment and the certificate's signer is among the batch's signers, prove
 * it to `Slashing` (commit, then reveal `slashBrokenCommitment`), or only report it when no
 * wallet is given. A batch the certificate's signer did not sign proves nothing against it. A
 * covering batch that cannot be read from L1 is reported as such (`unreadable`), not thrown.
 */
import { type Address, type Hash, type Hex, type PublicClient, getAddress } from "viem";
import { batchInboxAbi } from "../l1/generated/abi.js";
import type { NodeDeployment } from "../l1/deployment.js";
import { InboxReadError, readAcceptedBatches, type InboxBatch } from "../l1/inbox.js";
import type { OrderCommitmentProof } from "../commitments/certificate.js";
import { verifyOrderCommitment, type VerificationFailure } from "../commitments/verify.js";
import { domain } from "../commitments/typed-data.js";
import { BatchDataError, BatchLeaves, SlashSubmitter, brokenCommitmentArgs, brokenCommitmentOffenceId, isOffenceSlashed, signedBatchLeaf, signersOf, type SlashWallet } from "./slashing.js";

export type CommitmentCheck =
  /** The commitment itself does not verify (signature, proof, chain or registry): nothing to prove. */
  | { readonly status: "invalid"; readonly reasons: readonly VerificationFailure[] }
  /** No accepted batch covers the position yet. */
  | { readonly status: "not-batched"; readonly position: bigint; readonly lastBatchedPosition: bigint | null }
  /**
   * The covering batch's transactions cannot be read from L1 (no direct submitBatch call, or data
   * that does not decode to its root): neither kept nor broken can be shown.
   */
  | { readonly status: "unreadable"; readonly batchNumber: bigint; readonly l1TxHash: Hash; readonly reason: string }
  /** The batch holds the committed transaction at the position: the commitment was kept. */
  | { readonly status: "kept"; readonly batchNumber: bigint; readonly l1TxHash: Hash }
  /**
   * The batch holds another transaction, but the certificate's signer did not sign the batch:
   * nobody signed both statements, so nobody can be slashed with this commitment.
   */
  | { readonly status: "broken-unprovable"; readonly batchNumber: bigint; readonly batchTxHash: Hex; readonly signer: Address; readonly batchSigners: readonly Address[] }
  /** The batch holds another transaction; no wallet was given, so nothing was submitted. */
  | { readonly status: "broken"; readonly batchNumber: bigint; readonly batchTxHash: Hex; readonly signer: Address; readonly offenceId: Hex }
  /** Broken, and this offence had already been punished. */
  | { readonly status: "already-slashed"; readonly batchNumber: bigint; readonly batchTxHash: Hex; readonly signer: Address; readonly offenceId: Hex }
  /** Broken, and our proof slashed the signer's operator; our reward is held until `rewardClaimableFrom`. */
  | {
      readonly status: "slashed";
      readonly batchNumber: bigint;
      readonly batchTxHash: Hex;
      readonly signer: Address;
      readonly offenceId: Hex;
      readonly txHash: Hash;
      readonly operator: Address;
      readonly amount: bigint;
      readonly rewardClaimableFrom: bigint;
    }
  /** Broken and slashed by a later reporter, whose reward our earlier commitment took over. */
  | {
      readonly status: "reward-taken-over";
      readonly batchNumber: bigint;
      readonly batchTxHash: Hex;
      readonly signer: Address;
      readonly offenceId: Hex;
      readonly txHash: Hash;
      readonly rewardClaimableFrom: bigint;
    };

export type CommitmentCheckOptions = {
  readonly publicClient: PublicClient;
  readonly deployment: Pick<NodeDeployment, "chainId" | "sequencerRegistry" | "batchInbox" | "slashing" | "deploymentBlock">;
  /** Pays for the slashing transaction and receives the reporter's share; without it the check only reports. */
  readonly wallet?: SlashWallet;
};

/**
 * Checks `commitment` against the batch L1 accepted for its position.
 * @throws InboxReadError and viem errors when L1 cannot be read; SlashRejectedError when the
 *   Slashing contract refuses the proof
 */
export async function checkOrderCommitment(commitment: OrderCommitmentProof, options: CommitmentCheckOptions): Promise<CommitmentCheck> {
  const { publicClient, deployment } = options;
  const verified = await verifyOrderCommitment(commitment, { chainId: deployment.chainId, registry: deployment.sequencerRegistry });
  if (!verified.valid || verified.signer === null) return { status: "invalid", reasons: verified.reasons };
  const signer = verified.signer;
  const position = commitment.position;

  const [count, last] = await publicClient.readContract({ address: deployment.batchInbox, abi: batchInboxAbi, functionName: "lastBatch" });
  if (count === 0n || position > last.lastPosition) {
    return { status: "not-batched", position, lastBatchedPosition: count === 0n ? null : last.lastPosition };
  }
  const [batchNumber] = await publicClient.readContract({
    address: deployment.batchInbox,
    abi: batchInboxAbi,
    functionName: "batchCoveringPosition",
    args: [position],
  });
  const batch = await findAcceptedBatch(publicClient, deployment, batchNumber);
  if (!batch.readable) return { status: "unreadable", batchNumber, l1TxHash: batch.l1TxHash, reason: batch.error.message };
  let leaves: BatchLeaves;
  try {
    leaves = BatchLeaves.of(batch);
  } catch (error) {
    if (error instanceof BatchDataError) return { status: "unreadable", batchNumber, l1TxHash: batch.l1TxHash, reason: error.message };
    throw error;
  }
  const batchTxHash = leaves.at(position).txHash;
  if (batchTxHash.toLowerCase() === commitment.txHash.toLowerCase()) return { status: "kept", batchNumber, l1TxHash: batch.l1TxHash };

  const batchSigners = await signersOf(domain(deployment.chainId, deployment.sequencerRegistry), batch.header, batch.signatures);
  const signature = batchSigners.get(signer.toLowerCase());
  if (signature === undefined) return { status: "broken-unprovable", batchNumber, batchTxHash, signer, batchSigners: [...batchSigners.keys()].map((a) => getAddress(a)) };
  const offenceId = brokenCommitmentOffenceId(signer, batchNumber);
  const broken = { batchNumber, batchTxHash, signer, offenceId };
  if (options.wallet === undefined) {
    return { status: (await isOffenceSlashed(publicClient, deployment.slashing, offenceId)) ? "already-slashed" : "broken", ...broken };
  }
  const outcome = await new SlashSubmitter(publicClient, options.wallet, deployment.slashing).submit(offenceId, {
    functionName: "slashBrokenCommitment",
    args: brokenCommitmentArgs(commitment, signedBatchLeaf(leaves, position, signature)),
  });
  if (outcome.status === "already-slashed") return { status: "already-slashed", ...broken };
  if (outcome.status === "reward-taken-over") return { status: "reward-taken-over", ...broken, txHash: outcome.txHash, rewardClaimableFrom: outcome.rewardClaimableFrom };
  return { status: "slashed", ...broken, txHash: outcome.txHash, operator: outcome.operator, amount: outcome.amount, rewardClaimableFrom: outcome.rewardClaimableFrom };
}

/** The accepted batch `batchNumber` as posted (header, data, signatures), or flagged unreadable, found by its indexed event. */
async function findAcceptedBatch(
  publicClient: PublicClient,
  deployment: CommitmentCheckOptions["deployment"],
  batchNumber: bigint,
): Promise<InboxBatch> {
  let logs;
  try {
    logs = await publicClient.getContractEvents({
      address: deployment.batchInbox,
      abi: batchInboxAbi,
      eventName: "BatchAccepted",
      args: { batchNumber },
      fromBlock: deployment.deploymentBlock,
      toBlock: "latest",
      strict: true,
    });
  } catch (cause) {
    throw new InboxReadError(`looking up the BatchAccepted event of batch ${batchNumber} failed: ${(cause as Error).message}`, { cause });
  }
  const block = logs[0]?.blockNumber;
  if (block === undefined || block === null) throw new InboxReadError(`the inbox reports batch ${batchNumber} but L1 returned no BatchAccepted event for it`);
  const batch = (await readAcceptedBatches(publicClient, deployment.batchInbox, block, block)).find((b) => b.batchNumber === batchNumber);
  if (batch === undefined) throw new InboxReadError(`batch ${batchNumber} is not among the batches accepted in block ${block}`);
  return batch;
}
