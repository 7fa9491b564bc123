/**
 * Building and submitting slashing proofs: the leaves of an accepted batch (from its posted
 * data), the offence ids the Slashing contract deduplicates on, and one submitter that skips
 * offences already punished, simulates before it pays, and tells a permanent refusal (the
 * contract rejects the proof) from an L1 failure worth retrying. Proofs go in two steps, so that
 * nobody copying one from the mempool can take the reward: commit to (offence id, reporter,
 * random salt), then, from the next block on, reveal the proof with the reporter and salt. The
 * reward is held by the Slashing contract for its claim window (an earlier committer may still
 * reveal and take it over); `claimRewards` collects the rewards whose window has closed.
 */
import {
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  bytesToHex,
  encodeAbiParameters,
  hexToBytes,
  isAddressEqual,
  keccak256,
  parseEventLogs,
} from "viem";
import { slashingAbi } from "../l1/generated/abi.js";
import { contractRevertOf } from "../l1/revert.js";
import { gasWithMargin } from "../l1/send.js";
import type { AcceptedBatch } from "../l1/inbox.js";
import { batchTxHashes } from "../batching/format.js";
import { decodeBatchPayload } from "../batching/compression.js";
import type { OrderCommitmentProof } from "../commitments/certificate.js";
import { buildPositionalTree, merkleProof, merkleRoot, type MerkleTree } from "../commitments/merkle.js";
import { type BatchHeader, type OrderCommitment, type SequencerDomain, orderCommitmentHash, recoverBatchHeaderSigner } from "../commitments/typed-data.js";
import { WatchtowerError } from "./errors.js";

/** Offence kinds, numbered as `Slashing.Offence`. */
export const Offence = { BatchEquivocation: 0, CertificateEquivocation: 1, BrokenOrderCommitment: 2, ConflictingBatches: 3 } as const;

/**
 * Id of a broken-commitment offence: (kind, signer, the contradicting header's batch number), as
 * Slashing computes it: one incident per signer and batch, however many certificates it breaks.
 */
export function brokenCommitmentOffenceId(signer: Address, batchNumber: bigint): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "uint64" }], [Offence.BrokenOrderCommitment, signer, batchNumber]),
  );
}

/**
 * Id of a conflicting-batches offence, as Slashing computes it: (kind, signer, both batch numbers
 * in order), or the batch-equivocation id when the headers share number and epoch.
 */
export function conflictingBatchesOffenceId(signer: Address, a: BatchHeader, b: BatchHeader): Hex {
  if (a.batchNumber === b.batchNumber && a.epoch === b.epoch) return batchEquivocationOffenceId(signer, a.batchNumber, a.epoch);
  const [lo, hi] = a.batchNumber < b.batchNumber ? [a.batchNumber, b.batchNumber] : [b.batchNumber, a.batchNumber];
  return keccak256(
    encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "uint64" }, { type: "uint64" }], [Offence.ConflictingBatches, signer, lo, hi]),
  );
}

/** Id of a batch-equivocation offence: (kind, signer, batch number, epoch), as Slashing computes it. */
export function batchEquivocationOffenceId(signer: Address, batchNumber: bigint, epoch: bigint): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "uint64" }, { type: "uint64" }], [Offence.BatchEquivocation, signer, batchNumber, epoch]),
  );
}

/** Id of a certificate-equivocation offence: (kind, signer, both certificate hashes in order), as Slashing computes it. */
export function certificateEquivocationOffenceId(signer: Address, a: OrderCommitment, b: OrderCommitment): Hex {
  const [lo, hi] = [orderCommitmentHash(a), orderCommitmentHash(b)].sort();
  return keccak256(
    encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "bytes32" }, { type: "bytes32" }], [Offence.CertificateEquivocation, signer, lo!, hi!]),
  );
}

/** An accepted batch whose data does not decode, or whose leaves are not the header's root. */
export class BatchDataError extends WatchtowerError {
  override readonly name = "BatchDataError";
  constructor(
    readonly batchNumber: bigint,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`batch ${batchNumber}: ${message}`, options);
  }
}

/** The transactions an accepted batch puts at its positions, and their positional tree. */
export class BatchLeaves {
  private constructor(
    readonly header: BatchHeader,
    readonly txHashes: readonly Hex[],
    private readonly tree: MerkleTree,
  ) {}

  /**
   * Decodes the batch's payload (format v1 or v2, from calldata or blobs; an escape batch's forced
   * items) and checks that its leaves are the header's Merkle root.
   * @throws BatchDataError
   */
  static of(batch: Pick<AcceptedBatch, "header" | "payload" | "escape">): BatchLeaves {
    const h = batch.header;
    let txHashes: Hex[];
    try {
      const count = Number(h.lastPosition - h.firstPosition + 1n);
      const raws = batch.escape !== undefined ? batch.escape.raws.map((r) => hexToBytes(r)) : decodeBatchPayload(hexToBytes(batch.payload), count);
      txHashes = batchTxHashes(raws);
    } catch (cause) {
      throw new BatchDataError(h.batchNumber, `its data is not a valid batch payload: ${(cause as Error).message}`, { cause });
    }
    const tree = buildPositionalTree(h.firstPosition, txHashes);
    const root = merkleRoot(tree);
    if (root !== h.merkleRoot.toLowerCase()) {
      throw new BatchDataError(h.batchNumber, `its data's Merkle root ${root} is not the header's ${h.merkleRoot}`);
    }
    return new BatchLeaves(h, txHashes, tree);
  }

  /** The batch's tx hash at `position` and its Merkle proof against the header's root. */
  at(position: bigint): { txHash: Hex; proof: Hex[] } {
    const index = Number(position - this.header.firstPosition);
    return { txHash: this.txHashes[index]!, proof: merkleProof(this.tree, index) };
  }
}

/** A signed batch header with one of its leaves: `Slashing.SignedBatchLeaf`. */
export type SignedBatchLeaf = { readonly header: BatchHeader; readonly signature: Hex; readonly txHash: Hex; readonly proof: readonly Hex[] };

/** `batch`'s leaf at `position` under one signer's `signature` of its header. */
export function signedBatchLeaf(batch: BatchLeaves, position: bigint, signature: Hex): SignedBatchLeaf {
  return { header: batch.header, signature, ...batch.at(position) };
}

/** Each signer (lower-case address) of `header` among `signatures`, with its signature; unreadable signatures are left out. */
export async function signersOf(domain: SequencerDomain, header: BatchHeader, signatures: readonly Hex[]): Promise<Map<string, Hex>> {
  const out = new Map<string, Hex>();
  for (const signature of signatures) {
    try {
      out.set((await recoverBatchHeaderSigner(domain, header, signature)).toLowerCase(), signature);
    } catch {
      // A malformed signature proves nothing against anyone.
    }
  }
  return out;
}

const toSignedLeaf = (l: SignedBatchLeaf) => ({ header: l.header, signature: l.signature, txHash: l.txHash, proof: [...l.proof] });

/** `Slashing.slashBrokenCommitment` arguments: the certificate's signer also signed `batch`, which contradicts `leaf`. */
export function brokenCommitmentArgs(leaf: OrderCommitmentProof, batch: SignedBatchLeaf) {
  return [
    leaf.position,
    { certificate: leaf.certificate, signature: leaf.signature, txHash: leaf.txHash, proof: [...leaf.proof] },
    toSignedLeaf(batch),
  ] as const;
}

/** `Slashing.slashConflictingBatches` arguments: one signer's two headers disagree at `position`. */
export function conflictingBatchesArgs(position: bigint, a: SignedBatchLeaf, b: SignedBatchLeaf) {
  return [position, toSignedLeaf(a), toSignedLeaf(b)] as const;
}

/** The Slashing contract refused a proof (a permanent answer: resending the same proof cannot help). */
export class SlashRejectedError extends WatchtowerError {
  override readonly name = "SlashRejectedError";
  constructor(
    readonly offenceId: Hex,
    /** The contract's custom error name, when it has one. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Slashing refused the proof of offence ${offenceId}: ${reason}`, options);
  }
}

export type SlashOutcome =
  /** Punished already, with the reward claimed by an earlier reporter (or its window closed). */
  | { readonly status: "already-slashed"; readonly offenceId: Hex }
  /** Our reveal slashed the operator; our reward is held until `rewardClaimableFrom`. */
  | {
      readonly status: "slashed";
      readonly offenceId: Hex;
      readonly txHash: Hash;
      readonly operator: Address;
      readonly amount: bigint;
      readonly rewardClaimableFrom: bigint;
      /** Gas of the commitment and of the reveal together. */
      readonly gasUsed: bigint;
    }
  /** Another reporter's reveal slashed first, but our commitment was earlier: the reward is ours. */
  | { readonly status: "reward-taken-over"; readonly offenceId: Hex; readonly txHash: Hash; readonly rewardClaimableFrom: bigint; readonly gasUsed: bigint };

/** A reporter reward paid out by `claimRewards`. */
export type RewardPayment = { readonly offenceId: Hex; readonly amount: bigint; readonly txHash: Hash };

/** A slashing call without its last two arguments (reporter, salt), which the submitter adds. */
type SlashCall =
  | { readonly functionName: "slashBrokenCommitment"; readonly args: ReturnType<typeof brokenCommitmentArgs> }
  | { readonly functionName: "slashConflictingBatches"; readonly args: ReturnType<typeof conflictingBatchesArgs> }
  | {
      readonly functionName: "slashBatchEquivocation";
      readonly args: readonly [BatchHeader, Hex, BatchHeader, Hex];
    };

/** The commitment `Slashing.commitmentOf(offenceId, reporter, salt)`. */
export function proofCommitment(offenceId: Hex, reporter: Address, salt: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "address" }, { type: "bytes32" }], [offenceId, reporter, salt]));
}

export type SlashWallet = WalletClient<Transport, Chain | undefined, Account>;

/** Whether the Slashing contract at `slashing` has punished the offence `offenceId` already. */
export function isOffenceSlashed(client: Pick<PublicClient, "readContract">, slashing: Address, offenceId: Hex): Promise<boolean> {
  return client.readContract({ address: slashing, abi: slashingAbi, functionName: "isSlashed", args: [offenceId] });
}

/** Submits slashing proofs to the Slashing contract at `slashing`, paying gas from `wallet`. */
export class SlashSubmitter {
  constructor(
    private readonly publicClient: PublicClient,
    private readonly wallet: SlashWallet,
    readonly slashing: Address,
  ) {}

  /** The account paying gas and receiving the reporter's share. */
  get reporter(): Address {
    return this.wallet.account.address;
  }

  private isSlashed(offenceId: Hex): Promise<boolean> {
    return isOffenceSlashed(this.publicClient, this.slashing, offenceId);
  }

  /**
   * Proves offence `offenceId` with `call` unless it is already punished: checks the proof (a
   * valid one is refused only for want of a commitment), commits, then reveals from the next
   * block. L1 failures (RPC down, out of gas money, nonce trouble) are thrown as they are, for
   * the caller to retry.
   * @throws SlashRejectedError when the contract refuses the proof itself
   */
  async submit(offenceId: Hex, call: SlashCall): Promise<SlashOutcome> {
    if (await this.isSlashed(offenceId)) return { status: "already-slashed", offenceId };
    const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
    const reveal = {
      address: this.slashing,
      abi: slashingAbi,
      functionName: call.functionName,
      args: [...call.args, this.reporter, salt],
      account: this.wallet.account,
    } as unknown as Parameters<PublicClient["simulateContract"]>[0];
    // Paying for a commitment is only worth it for a proof the contract accepts.
    const unproven = await this.refusal(reveal);
    if (unproven === "AlreadySlashed") return { status: "already-slashed", offenceId };
    if (unproven !== "NotCommitted") throw new SlashRejectedError(offenceId, unproven ?? "the proof was accepted without a commitment");

    const committed = await this.send(offenceId, {
      address: this.slashing,
      abi: slashingAbi,
      functionName: "commit",
      args: [proofCommitment(offenceId, this.reporter, salt)],
      account: this.wallet.account,
    } as Parameters<PublicClient["simulateContract"]>[0]);
    if (committed === "overtaken") return { status: "already-slashed", offenceId };

    // The commitment's block is sealed: the reveal lands in a later one. Calls at "latest" run
    // in the commitment's block itself (RevealTooEarly), so the reveal is checked as pending.
    const revealed = await this.send(offenceId, reveal, "pending");
    if (revealed === "overtaken") return { status: "already-slashed", offenceId };
    const gasUsed = committed.gasUsed + revealed.gasUsed;
    const logs = parseEventLogs({ abi: slashingAbi, logs: revealed.logs }).filter((l) => isAddressEqual(l.address, this.slashing));
    const claim = await this.publicClient.readContract({ address: this.slashing, abi: slashingAbi, functionName: "claimOf", args: [offenceId] });
    const slashed = logs.find((l) => l.eventName === "Slashed");
    if (slashed?.eventName === "Slashed") {
      return { status: "slashed", offenceId, txHash: revealed.transactionHash, operator: slashed.args.operator, amount: slashed.args.amount, rewardClaimableFrom: claim.claimableFrom, gasUsed };
    }
    if (logs.some((l) => l.eventName === "ReporterReplaced")) {
      return { status: "reward-taken-over", offenceId, txHash: revealed.transactionHash, rewardClaimableFrom: claim.claimableFrom, gasUsed };
    }
    throw new SlashRejectedError(offenceId, `the reveal ${revealed.transactionHash} succeeded without a Slashed or ReporterReplaced event`);
  }

  /**
   * Pays out every reporter reward this reporter holds whose claim window has closed (the
   * contract keeps the list, so nothing is lost across restarts). L1 failures are thrown.
   */
  async claimRewards(): Promise<RewardPayment[]> {
    const read = { address: this.slashing, abi: slashingAbi } as const;
    const unpaid = await this.publicClient.readContract({ ...read, functionName: "unpaidClaims", args: [this.reporter] });
    if (unpaid.length === 0) return [];
    const head = await this.publicClient.getBlockNumber({ cacheTime: 0 });
    const paid: RewardPayment[] = [];
    for (const offenceId of unpaid) {
      const claim = await this.publicClient.readContract({ ...read, functionName: "claimOf", args: [offenceId] });
      if (head < claim.claimableFrom) continue;
      const receipt = await this.send(offenceId, { ...read, functionName: "claimReward", args: [offenceId], account: this.wallet.account } as Parameters<PublicClient["simulateContract"]>[0]);
      if (receipt === "overtaken") continue;
      const [event] = parseEventLogs({ abi: slashingAbi, logs: receipt.logs, eventName: "RewardPaid" }).filter((l) => isAddressEqual(l.address, this.slashing));
      paid.push({ offenceId, amount: event?.args.amount ?? 0n, txHash: receipt.transactionHash });
    }
    return paid;
  }

  /** The custom error a simulation of `request` reverts with; undefined when it would succeed. */
  private async refusal(request: Parameters<PublicClient["simulateContract"]>[0]): Promise<string | undefined> {
    try {
      await this.publicClient.simulateContract(request);
      return undefined;
    } catch (error) {
      const reason = revertReason(error);
      if (reason === undefined) throw error;
      return reason;
    }
  }

  /**
   * Simulates and sends one Slashing transaction and waits for its receipt; "overtaken" when
   * someone else got in first (the offence punished by another reporter's reveal, or the
   * reward paid or not yet claimable).
   * @throws SlashRejectedError when the contract refuses it for another reason
   */
  private async send(
    offenceId: Hex,
    request: Parameters<PublicClient["simulateContract"]>[0],
    blockTag: "latest" | "pending" = "latest",
  ): Promise<Awaited<ReturnType<PublicClient["waitForTransactionReceipt"]>> | "overtaken"> {
    const overtaken = async () => request.functionName !== "claimReward" && (await this.isSlashed(offenceId));
    let gas: bigint;
    try {
      await this.publicClient.simulateContract({ ...request, blockTag } as Parameters<PublicClient["simulateContract"]>[0]);
      gas = gasWithMargin(await this.publicClient.estimateContractGas({ ...request, blockTag } as Parameters<PublicClient["estimateContractGas"]>[0]));
    } catch (error) {
      const reason = revertReason(error);
      if (reason === undefined) throw error;
      if (OVERTAKEN.has(reason)) return "overtaken";
      throw new SlashRejectedError(offenceId, reason, { cause: error });
    }
    let txHash: Hex;
    try {
      txHash = await this.wallet.writeContract({ ...request, gas, chain: this.wallet.chain ?? null } as Parameters<SlashWallet["writeContract"]>[0]);
    } catch (error) {
      // Another reporter's proof landed between our simulation and our send.
      if (await overtaken()) return "overtaken";
      throw error;
    }
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status !== "success") {
      if (await overtaken()) return "overtaken";
      throw new SlashRejectedError(offenceId, `the transaction ${txHash} (${request.functionName}) reverted`);
    }
    return receipt;
  }
}

/** Refusals that mean someone else got in first, not that our proof or claim is wrong. */
const OVERTAKEN = new Set(["AlreadySlashed", "RewardAlreadyPaid", "ClaimWindowOpen"]);

/** The custom error (or revert reason) a contract call reverted with; undefined for other failures. */
function revertReason(error: unknown): string | undefined {
  const revert = contractRevertOf(error);
  return revert === undefined ? undefined : (revert.data?.errorName ?? revert.reason ?? revert.shortMessage);
}
