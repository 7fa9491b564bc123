/**
 * The user's side of forced inclusion (docs/forced-inclusion.md): enqueue a signed raw
 * transaction on the L1 ForcedInclusionQueue without sending it to any node, then wait until a
 * node has ordered it (its order commitment, from `seq_getOrderCommitment`) and until an accepted
 * L1 batch covers it (its position, final on L1).
 */
import { type Account, type Address, type Chain, type Hash, type Hex, type PublicClient, type Transport, type WalletClient, keccak256, parseEventLogs } from "viem";
import type { OrderCommitmentProofJson } from "../commitments/index.js";
import { NodeRpcError, nodeRpc } from "../rpc/client.js";
import { L1Error } from "./errors.js";
import { batchInboxAbi, forcedInclusionQueueAbi } from "./generated/abi.js";
import { describeL1Failure } from "./revert.js";

export interface ForceTransactionOptions {
  readonly publicClient: PublicClient;
  /** Pays the enqueue's L1 gas (any funded account: the queue takes no fee). */
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly queue: Address;
  readonly inbox: Address;
  /** The signed raw transaction, as `eth_sendRawTransaction` takes it. */
  readonly raw: Hex;
  /** A node's RPC URL to read the order commitment from; without it only L1 coverage is waited for. */
  readonly rpc?: string;
  /** How often L1 and the node are asked (default 250 ms). */
  readonly pollMs?: number;
  /** Gives up after this long (default 30 minutes: past the escape window of the default deployment). */
  readonly timeoutMs?: number;
  /** Told of each step as it happens (the CLI prints them). */
  readonly onProgress?: (event: ForceProgress) => void;
}

export type ForceProgress =
  | { readonly kind: "enqueued"; readonly item: bigint; readonly l1Block: bigint; readonly deadlineBlock: bigint; readonly l1TxHash: Hash; readonly afterMs: number }
  | { readonly kind: "ordered"; readonly position: number; readonly commitment: OrderCommitmentProofJson; readonly afterMs: number }
  | { readonly kind: "covered"; readonly position: bigint; readonly batchNumber: bigint; readonly afterMs: number };

export interface ForceResult {
  readonly txHash: Hash;
  readonly item: bigint;
  readonly enqueueTxHash: Hash;
  /** The L1 block of the enqueue, and the last block by which a batch must cover it. */
  readonly l1Block: bigint;
  readonly deadlineBlock: bigint;
  /** The order commitment (null without `rpc`), and when it came, from the start of the call. */
  readonly commitment: OrderCommitmentProofJson | null;
  readonly orderedAfterMs: number | null;
  /** Its position on L1 and the batch holding it. */
  readonly position: bigint;
  readonly batchNumber: bigint;
  readonly coveredAfterMs: number;
}

/** Forcing a transaction failed: the enqueue reverted, or it was not covered in time. */
export class ForceTransactionError extends L1Error {
  override readonly name = "ForceTransactionError";
}

/** Enqueues `raw`, then waits for its order commitment (with `rpc`) and its coverage on L1. */
export async function forceTransaction(opts: ForceTransactionOptions): Promise<ForceResult> {
  const { publicClient, wallet, queue, inbox, raw } = opts;
  const pollMs = opts.pollMs ?? 250;
  const started = performance.now();
  const until = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  const elapsed = () => Math.round(performance.now() - started);
  const txHash = keccak256(raw);

  let enqueueTxHash: Hash;
  try {
    const { request } = await publicClient.simulateContract({ address: queue, abi: forcedInclusionQueueAbi, functionName: "enqueue", args: [raw], account: wallet.account, chain: wallet.chain });
    enqueueTxHash = await wallet.writeContract(request);
  } catch (cause) {
    throw new ForceTransactionError(`enqueueing the transaction failed: ${describeL1Failure(cause)}`, { cause });
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash: enqueueTxHash, pollingInterval: pollMs });
  if (receipt.status !== "success") throw new ForceTransactionError(`the enqueue transaction ${enqueueTxHash} reverted`);
  const [log] = parseEventLogs({ abi: forcedInclusionQueueAbi, eventName: "ForcedTransactionEnqueued", logs: receipt.logs });
  if (log === undefined) throw new ForceTransactionError(`the enqueue transaction ${enqueueTxHash} emitted no ForcedTransactionEnqueued event`);
  const { index: item, l1Block } = log.args;
  const delay = await publicClient.readContract({ address: queue, abi: forcedInclusionQueueAbi, functionName: "inclusionDelay" });
  const deadlineBlock = l1Block + delay;
  opts.onProgress?.({ kind: "enqueued", item, l1Block, deadlineBlock, l1TxHash: enqueueTxHash, afterMs: elapsed() });

  let commitment: OrderCommitmentProofJson | null = null;
  let orderedAfterMs: number | null = null;
  for (;;) {
    if (opts.rpc !== undefined && commitment === null) {
      commitment = await commitmentOf(opts.rpc, txHash);
      if (commitment !== null) {
        orderedAfterMs = elapsed();
        opts.onProgress?.({ kind: "ordered", position: Number(BigInt(commitment.position)), commitment, afterMs: orderedAfterMs });
      }
    }
    const [covered, position] = await publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "forcedPosition", args: [item] });
    if (covered && (opts.rpc === undefined || commitment !== null)) {
      const coveredAfterMs = elapsed();
      const [batchNumber] = await publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batchCoveringPosition", args: [position] });
      opts.onProgress?.({ kind: "covered", position, batchNumber, afterMs: coveredAfterMs });
      return { txHash, item, enqueueTxHash, l1Block, deadlineBlock, commitment, orderedAfterMs, position, batchNumber, coveredAfterMs };
    }
    if (Date.now() > until) {
      throw new ForceTransactionError(`forced item ${item} (${txHash}) is ${covered ? "covered on L1 but the node has no commitment for it" : "not covered on L1"} yet; its deadline is L1 block ${deadlineBlock}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The node's commitment for `txHash`, null while it has none; retryable failures count as none yet. */
async function commitmentOf(rpc: string, txHash: Hash): Promise<OrderCommitmentProofJson | null> {
  try {
    return await nodeRpc<OrderCommitmentProofJson | null>(rpc, "seq_getOrderCommitment", [txHash]);
  } catch (error) {
    if (error instanceof NodeRpcError && error.retryable) return null;
    throw error;
  }
}
