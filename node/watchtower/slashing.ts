/**
 * Building and submitting slashing proofs: the leaves of an accepted batch (from its posted
 * data), the offence ids the Slashing contract deduplicates on, and one submitter that skips
 * offences already punished, simulates before it pays, and tells a permanent refusal (the
 * contract rejects the proof) from an L1 failure worth retrying.
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
  BaseError,
  ContractFunctionRevertedError,
  encodeAbiParameters,
  hexToBytes,
  isAddressEqual,
  keccak256,
  parseEventLogs,
} from "viem";
import { slashingAbi } from "../l1/generated/abi.js";
import type { AcceptedBatch } from "../l1/inbox.js";
import { decodeBatchData, batchTxHashes } from "../batching/format.js";
import type { OrderCommitmentProof } from "../commitments/certificate.js";
import { buildPositionalTree, merkleProof, merkleRoot, type MerkleTree } from "../commitments/merkle.js";
import { type BatchHeader, type OrderCommitment, orderCommitmentHash } from "../commitments/typed-data.js";

/** Offence kinds, numbered as `Slashing.Offence`. */
export const Offence = { BatchEquivocation: 0, CertificateEquivocation: 1, BrokenOrderCommitment: 2 } as const;

/** Id of a broken-commitment offence: (kind, signer, certificate hash), as Slashing computes it. */
export function brokenCommitmentOffenceId(signer: Address, certificate: OrderCommitment): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "bytes32" }], [Offence.BrokenOrderCommitment, signer, orderCommitmentHash(certificate)]),
  );
}

/** Id of a batch-equivocation offence: (kind, signer, batch number, epoch), as Slashing computes it. */
export function batchEquivocationOffenceId(signer: Address, batchNumber: bigint, epoch: bigint): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "uint64" }, { type: "uint64" }], [Offence.BatchEquivocation, signer, batchNumber, epoch]),
  );
}

/** An accepted batch whose data does not decode, or whose leaves are not the header's root. */
export class BatchDataError extends Error {
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
   * Decodes the batch's data (format v1) and checks that its leaves are the header's Merkle root.
   * @throws BatchDataError
   */
  static of(batch: Pick<AcceptedBatch, "header" | "data">): BatchLeaves {
    const h = batch.header;
    let txHashes: Hex[];
    try {
      txHashes = batchTxHashes(decodeBatchData(hexToBytes(batch.data), Number(h.lastPosition - h.firstPosition + 1n)));
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

/** `Slashing.slashBrokenCommitment` arguments proving that `leaf` is contradicted by `batch` at its position. */
export function brokenCommitmentArgs(leaf: OrderCommitmentProof, batch: BatchLeaves) {
  const { txHash, proof } = batch.at(leaf.position);
  return [
    leaf.position,
    { certificate: leaf.certificate, signature: leaf.signature, txHash: leaf.txHash, proof: [...leaf.proof] },
    txHash,
    proof,
  ] as const;
}

/** The Slashing contract refused a proof (a permanent answer: resending the same proof cannot help). */
export class SlashRejectedError extends Error {
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
  | { readonly status: "already-slashed"; readonly offenceId: Hex }
  | { readonly status: "slashed"; readonly offenceId: Hex; readonly txHash: Hash; readonly operator: Address; readonly amount: bigint; readonly gasUsed: bigint };

type SlashCall =
  | { readonly functionName: "slashBrokenCommitment"; readonly args: ReturnType<typeof brokenCommitmentArgs> }
  | {
      readonly functionName: "slashBatchEquivocation";
      readonly args: readonly [BatchHeader, Hex, BatchHeader, Hex];
    };

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
   * Sends `call` unless `offenceId` is already punished (before sending, or by a reporter that
   * got in first). L1 failures (RPC down, out of gas money, nonce trouble) are thrown as they
   * are, for the caller to retry.
   * @throws SlashRejectedError when the contract refuses the proof itself
   */
  async submit(offenceId: Hex, call: SlashCall): Promise<SlashOutcome> {
    if (await this.isSlashed(offenceId)) return { status: "already-slashed", offenceId };
    let request;
    try {
      ({ request } = await this.publicClient.simulateContract({
        address: this.slashing,
        abi: slashingAbi,
        functionName: call.functionName,
        args: call.args,
        account: this.wallet.account,
      } as Parameters<PublicClient["simulateContract"]>[0]));
    } catch (error) {
      const reason = revertReason(error);
      if (reason === undefined) throw error;
      if (reason === "AlreadySlashed") return { status: "already-slashed", offenceId };
      throw new SlashRejectedError(offenceId, reason, { cause: error });
    }
    let txHash: Hex;
    try {
      txHash = await this.wallet.writeContract(request as Parameters<SlashWallet["writeContract"]>[0]);
    } catch (error) {
      // Another reporter's proof landed between our simulation and our send: the send's gas
      // estimate reverts with AlreadySlashed, which the request's one-function ABI cannot decode.
      if (await this.isSlashed(offenceId)) return { status: "already-slashed", offenceId };
      throw error;
    }
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status !== "success") {
      // Another reporter's proof of the same offence landed first.
      if (await this.isSlashed(offenceId)) return { status: "already-slashed", offenceId };
      throw new SlashRejectedError(offenceId, `the transaction ${txHash} reverted`);
    }
    const [event] = parseEventLogs({ abi: slashingAbi, logs: receipt.logs, eventName: "Slashed" }).filter((l) => isAddressEqual(l.address, this.slashing));
    if (event === undefined) throw new SlashRejectedError(offenceId, `the transaction ${txHash} succeeded without a Slashed event`);
    return { status: "slashed", offenceId, txHash, operator: event.args.operator, amount: event.args.amount, gasUsed: receipt.gasUsed };
  }
}

/** The custom error (or revert reason) a contract call reverted with; undefined for other failures. */
function revertReason(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(revert instanceof ContractFunctionRevertedError)) return undefined;
  return revert.data?.errorName ?? revert.reason ?? revert.shortMessage;
}
