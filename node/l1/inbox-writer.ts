/**
 * The batcher's calls to the BatchInbox: reads of what L1 holds, and `submitBatch`. Every
 * failure becomes a `BatchL1Error` that names the operation (the `operation` label of
 * `seq_l1_errors_total`), a revert carries its custom error name.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  bytesToHex,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  parseEventLogs,
} from "viem";
import type { BatchHeader } from "../commitments/typed-data.js";
import { batchInboxAbi } from "./generated/abi.js";
import { L1Error } from "./errors.js";

/** An L1 call of the batcher failed (RPC down, reverted, nonce or fee trouble); retried with back-off. */
export class BatchL1Error extends L1Error {
  override readonly name = "BatchL1Error";
  /** The inbox's custom error when the call reverted. */
  readonly revert: string | undefined;
  constructor(
    /** `read` or `post_batch`: the operation label of the L1 error metric. */
    readonly operation: string,
    message: string,
    options?: { cause?: unknown; revert?: string },
  ) {
    super(`L1 ${operation} failed: ${message}`, options);
    this.revert = options?.revert;
  }
}

/** What `submitBatch` did. */
export type SubmitOutcome =
  /** Our transaction made the inbox accept the batch. */
  | { readonly status: "accepted"; readonly txHash: Hash }
  /**
   * L1 already held this very header, posted by another batcher: nothing was sent (`txHash`
   * null), or our transaction lost the race and found it accepted (the inbox's no-op path).
   */
  | { readonly status: "already-accepted"; readonly txHash: Hash | null };

/** What to tell the operator when the inbox refuses the batcher account itself. */
const BATCHER_REFUSALS: Readonly<Record<string, string>> = {
  NotBatcher: "is not the batcher of a member of the header's epoch (the registry's batcherOf names another account, or this operator is not in that epoch's set): set it with `seq set-batcher --config <node config>`, or point batcherKeyFile at the registered one",
  NotDirectCall: "has code (an EIP-7702 delegation?): the inbox takes batches only from accounts without code, so that their data stays in the transaction's input",
};

export interface InboxWriterOptions {
  readonly publicClient: PublicClient;
  /** Pays for `submitBatch` (batcherKeyFile, or the signer key). */
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly inbox: Address;
}

export class InboxWriter {
  constructor(private readonly opts: InboxWriterOptions) {}

  /** How many batches the inbox has accepted. */
  async batchCount(): Promise<number> {
    const { publicClient, inbox } = this.opts;
    return Number(await l1("read", () => publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batchCount" })));
  }

  /** The accepted batch `n`'s hash and epoch. */
  async batchAt(n: number): Promise<{ batchHash: Hex; epoch: number }> {
    const { publicClient, inbox } = this.opts;
    const b = await l1("read", () => publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batch", args: [BigInt(n)] }));
    return { batchHash: b.batchHash, epoch: Number(b.epoch) };
  }

  /** Where batch `n`'s BatchAccepted event is, searching from `fromBlock`; undefined when not found. */
  async acceptedEvent(n: number, fromBlock: bigint): Promise<{ blockNumber: bigint; transactionHash: Hash } | undefined> {
    const { publicClient, inbox } = this.opts;
    const [event] = await l1("read", () =>
      publicClient.getContractEvents({ address: inbox, abi: batchInboxAbi, eventName: "BatchAccepted", args: { batchNumber: BigInt(n) }, fromBlock, toBlock: "latest" }),
    );
    return event === undefined ? undefined : { blockNumber: event.blockNumber, transactionHash: event.transactionHash };
  }

  async headBlock(): Promise<bigint> {
    return l1("read", () => this.opts.publicClient.getBlockNumber());
  }

  /** The inbox's maxEpochLag, or null for an inbox without one. */
  async maxEpochLag(): Promise<number | null> {
    try {
      return Number(await this.opts.publicClient.readContract({ address: this.opts.inbox, abi: batchInboxAbi, functionName: "maxEpochLag" }));
    } catch (error) {
      if (error instanceof BaseError && error.walk((e) => (e as Error).name === "ContractFunctionZeroDataError") !== null) return null;
      throw new BatchL1Error("read", shortMessage(error), { cause: error });
    }
  }

  /**
   * Simulates, then sends `submitBatch` and waits for its receipt. When the simulation finds the
   * header already accepted (posted by another batcher), nothing is sent. A simulated revert
   * throws a BatchL1Error with `revert` set (nothing was sent); a mined revert throws too.
   */
  async submitBatch(header: BatchHeader, data: Uint8Array, signatures: readonly Hex[]): Promise<SubmitOutcome> {
    const { publicClient, wallet, inbox } = this.opts;
    const args = [header, bytesToHex(data), [...signatures]] as const;
    let simulated;
    try {
      simulated = await publicClient.simulateContract({ address: inbox, abi: batchInboxAbi, functionName: "submitBatch", args, account: wallet.account, chain: wallet.chain });
    } catch (error) {
      const revert = revertName(error);
      const refusal = revert === undefined ? undefined : BATCHER_REFUSALS[revert];
      const message =
        refusal !== undefined
          ? `submitBatch would revert with ${revert}: the batcher account ${wallet.account.address} ${refusal}`
          : revert !== undefined
            ? `submitBatch would revert with ${revert}`
            : shortMessage(error);
      throw new BatchL1Error("post_batch", message, { cause: error, ...(revert ? { revert } : {}) });
    }
    if (!simulated.result) return { status: "already-accepted", txHash: null };
    const txHash = await l1("post_batch", () => wallet.writeContract(simulated.request));
    const receipt = await l1("post_batch", () => publicClient.waitForTransactionReceipt({ hash: txHash, timeout: 60_000 }));
    if (receipt.status !== "success") throw new BatchL1Error("post_batch", `submitBatch transaction ${txHash} reverted`);
    const accepted = parseEventLogs({ abi: batchInboxAbi, logs: receipt.logs, eventName: "BatchAccepted" }).length > 0;
    return { status: accepted ? "accepted" : "already-accepted", txHash };
  }
}

async function l1<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new BatchL1Error(operation, shortMessage(error), { cause: error });
  }
}

function shortMessage(error: unknown): string {
  return error instanceof BaseError ? error.shortMessage : (error as Error).message;
}

/** The custom error name of a contract revert, if that is what `error` is. */
function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}
