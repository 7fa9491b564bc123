/**
 * The batcher's calls to the BatchInbox: reads of what L1 holds, and `submitBatch`. Every
 * failure becomes a `BatchL1Error` that names the operation (the `operation` label of
 * `seq_l1_errors_total`), a revert carries its custom error name.
 *
 * Submissions are pipelined: `sendBatch` simulates and estimates against the L1 node's pending
 * state (so batch n+1 can be sent while batch n waits in the mempool); the sending itself (one
 * nonce after the other, fees within the caps, replacements) is the sender's (`tx-sender.ts`).
 */
import {
  BaseError,
  HttpRequestError,
  TimeoutError,
  bytesToHex,
  decodeFunctionResult,
  encodeFunctionData,
  hexToBigInt,
  toBlobs,
  toHex,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import type { BatchHeader } from "../commitments/typed-data.js";
import { batchInboxAbi, sequencerRegistryAbi } from "./generated/abi.js";
import { L1Error } from "./errors.js";
import { revertOf } from "./revert.js";
import { blobKzg, type BlobCarrier } from "./blobs.js";
import { FeeCapExceededError, type FeeCaps } from "./fees.js";
import { gasWithMargin } from "./send.js";
import { TxSender, type SentTx, type TxFate } from "./tx-sender.js";

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

/** geth's txpool limit on one transaction's encoded size (txMaxSize: 4 slots of 32 KiB). */
export const GETH_MAX_TX_BYTES = 128 * 1024;
/** SequencerRegistry.MAX_ACTIVE_CAP: no epoch's set, so no batch's signature list, is larger. */
export const MAX_ACTIVE_CAP = 100;

/**
 * Most bytes of a signed EIP-1559 transaction around its calldata: type byte, list and calldata
 * length prefixes (4 bytes each from 64 KiB on), chain id, nonce and gas (9 each), both fee caps
 * (33 each), `to` (21), value, empty access list, y-parity (1 each), r and s (33 each).
 */
const TX_ENVELOPE_BYTES = 1 + 4 + 9 + 9 + 33 + 33 + 9 + 21 + 1 + 4 + 1 + 1 + 33 + 33;

/**
 * Upper bound of the encoded size of the signed transaction `submitBatch(header, data, signatures)`
 * with `dataBytes` of batch data and `signatures` 65-byte signatures: the selector, the header's 7
 * words and the 2 offsets, the data padded to words after its length, the signature list's length,
 * and per signature an offset, a length and 96 padded bytes, in the envelope above.
 */
export function submitBatchTxBytes(dataBytes: number, signatures: number): number {
  const calldata = 4 + 9 * 32 + 32 + Math.ceil(dataBytes / 32) * 32 + 32 + signatures * (32 + 32 + 96);
  return TX_ENVELOPE_BYTES + calldata;
}

/** BatchAccepted of one batch: what L1 accepted for that number, and where. */
export interface AcceptedEvent {
  readonly batchHash: Hex;
  readonly epoch: number;
  readonly blockNumber: bigint;
  readonly transactionHash: Hash;
}

/** What to tell the operator when the inbox refuses the batcher account itself (S3). */
const BATCHER_REFUSALS: Readonly<Record<string, string>> = {
  NotBatcher: "is not the batcher of a member of the header's epoch (the registry's batcherOf names another account, or this operator is not in that epoch's set): set it with `seq set-batcher --config <node config>`, or point batcherKeyFile at the registered one",
  NotDirectCall: "has code (an EIP-7702 delegation?): the inbox takes batches only from accounts without code, so that their data stays in the transaction's input",
};

/** One entry of `submitBatch`'s coverage argument: forced item `item` is the transaction at `position` of batch `batchNumber`. */
export interface ForcedCoverageArg {
  readonly item: bigint;
  readonly batchNumber: bigint;
  readonly position: bigint;
  readonly proof: readonly Hex[];
}

export interface InboxWriterOptions {
  readonly publicClient: PublicClient;
  /** Pays for `submitBatch` (batcherKeyFile, or the signer key). */
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly inbox: Address;
  /** The most the batcher offers (config l1MaxFeePerGasGwei, ...). */
  readonly feeCaps: FeeCaps;
}

export class InboxWriter {
  /** The batcher account's one nonce manager, fees and replacements (the epoch key anchor sends through it too). */
  readonly sender: TxSender;

  constructor(private readonly opts: InboxWriterOptions) {
    this.sender = new TxSender({ publicClient: opts.publicClient, wallet: opts.wallet, caps: opts.feeCaps });
  }

  /** How many batches the inbox has accepted. */
  async batchCount(): Promise<number> {
    const { publicClient, inbox } = this.opts;
    return Number(await l1("read", () => publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batchCount" })));
  }

  /** The BatchAccepted events of `numbers` from `fromBlock` on, by batch number (one call). */
  async acceptedEvents(numbers: readonly number[], fromBlock: bigint): Promise<Map<number, AcceptedEvent>> {
    const { publicClient, inbox } = this.opts;
    const out = new Map<number, AcceptedEvent>();
    if (numbers.length === 0) return out;
    const events = await l1("read", () =>
      publicClient.getContractEvents({
        address: inbox,
        abi: batchInboxAbi,
        eventName: "BatchAccepted",
        args: { batchNumber: numbers.map(BigInt) },
        fromBlock,
        toBlock: "latest",
        strict: true,
      }),
    );
    for (const e of events) {
      out.set(Number(e.args.batchNumber), { batchHash: e.args.batchHash, epoch: Number(e.args.epoch), blockNumber: e.blockNumber, transactionHash: e.transactionHash });
    }
    return out;
  }

  async headBlock(): Promise<bigint> {
    return l1("read", () => this.opts.publicClient.getBlockNumber());
  }

  /** The inbox's forced cursor in the L1 node's pending state (where a submission is simulated). */
  async forcedCursor(): Promise<bigint> {
    const { publicClient, inbox } = this.opts;
    return l1("read", () => publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "forcedCursor", blockTag: "pending" }));
  }

  /** The accepted batch holding `position`: its number and range. */
  async batchCoveringPosition(position: number): Promise<{ batchNumber: number; first: number; last: number }> {
    const { publicClient, inbox } = this.opts;
    const [n, b] = await l1("read", () => publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batchCoveringPosition", args: [BigInt(position)] }));
    return { batchNumber: Number(n), first: Number(b.firstPosition), last: Number(b.lastPosition) };
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

  /** The most signatures a batch can carry now: the registry's maxActive (the largest set an epoch can have). */
  async maxSigners(): Promise<number> {
    const { publicClient, inbox } = this.opts;
    return l1("read", async () => {
      const registry = await publicClient.readContract({ address: inbox, abi: batchInboxAbi, functionName: "registry" });
      return Number(await publicClient.readContract({ address: registry, abi: sequencerRegistryAbi, functionName: "maxActive" }));
    });
  }

  /**
   * Sends `submitBatch` once a simulation against the pending state accepts it, through the
   * batcher's sender (next nonce, fees within the caps) with the pending state's gas estimate
   * with `gasWithMargin` (an epoch checkpoint may fall to it). Returns the sent transaction, or
   * null when the pending state already holds this very batch (someone's transaction for it waits
   * in the mempool: nothing sent). A simulated revert throws a BatchL1Error with `revert` set
   * (nothing was sent); fees above the caps throw FeeCapExceededError (nothing sent).
   */
  async sendBatch(header: BatchHeader, data: Uint8Array, signatures: readonly Hex[], coverage: readonly ForcedCoverageArg[] = [], blobs?: BlobCarrier): Promise<SentTx | null> {
    const { publicClient, wallet, inbox } = this.opts;
    // The four-argument overload only when it covers forced items: the calldata stays as before otherwise.
    const input =
      coverage.length === 0
        ? encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [header, bytesToHex(data), [...signatures]] })
        : encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [header, bytesToHex(data), [...signatures], coverage.map((c) => ({ ...c, proof: [...c.proof] }))] });
    // The call as the transaction makes it: for a blob batch with its blobs' versioned hashes, which the inbox checks (blobhash).
    const request = {
      from: wallet.account.address,
      to: inbox,
      data: input,
      ...(blobs === undefined ? {} : { blobVersionedHashes: [...blobs.versionedHashes], maxFeePerBlobGas: toHex(this.opts.feeCaps.maxFeePerBlobGas) }),
    };
    let accepted: boolean;
    try {
      const result = await publicClient.request({ method: "eth_call", params: [request, "pending"] } as never);
      accepted = decodeFunctionResult({ abi: batchInboxAbi, functionName: "submitBatch", data: result as Hex });
    } catch (error) {
      const revert = revertOf(error)?.errorName;
      const refusal = revert === undefined ? undefined : BATCHER_REFUSALS[revert];
      const message =
        refusal !== undefined
          ? `submitBatch would revert with ${revert}: the batcher account ${wallet.account.address} ${refusal}`
          : revert !== undefined
            ? `submitBatch would revert with ${revert}`
            : shortMessage(error);
      throw new BatchL1Error("post_batch", message, { cause: error, ...(revert ? { revert } : {}) });
    }
    if (!accepted) return null;
    const gas = await l1("post_batch", async () => hexToBigInt((await publicClient.request({ method: "eth_estimateGas", params: [request, "pending"] } as never)) as Hex));
    return l1("post_batch", () =>
      this.sender.send({ to: inbox, data: input, gas: gasWithMargin(gas), ...(blobs === undefined ? {} : { blobs: { blobs: blobs.blobs, kzg: blobKzg() } }) }),
    );
  }

  /**
   * Sends `tx` again under its nonce with the bump the L1 node requires (it waited too long).
   * FeeCapExceededError when the bump would exceed a cap (nothing sent).
   */
  replace(tx: SentTx): Promise<Hash> {
    return l1("replace_batch", () => this.sender.replace(tx));
  }

  /** Forget the next nonce (a transaction of the sequence was dropped or failed): the next send asks the L1 node. */
  resetNonce(): void {
    this.sender.resetNonce();
  }

  /** Whether a sent batch transaction (any of its replacements) was mined (and how), still waits in the node's pool, or is unknown to it. */
  transactionFate(tx: SentTx): Promise<TxFate> {
    return l1("read", () => this.sender.fate(tx));
  }
}

/** The probe's blob (the one-byte payload 0x01) and its versioned hash, fixed so that probing loads no KZG (3 s of CPU). */
const PROBE_BLOB = toBlobs({ data: "0x01" })[0]!;
export const PROBE_BLOB_VERSIONED_HASH: Hash = "0x01151d68c1f1d9bfbf1043cf52cd98caed54b16156c86511b75dd084c7dd36df";

/**
 * Whether the L1 takes blob transactions from `account`: the estimate of one carrying a blob to
 * itself succeeds (a chain before Cancun, or a node without blob support such as Hardhat's,
 * refuses it).
 * @throws BatchL1Error when the L1 cannot be reached (no answer is no refusal)
 */
export async function l1AcceptsBlobs(publicClient: PublicClient, account: Address, maxFeePerBlobGas: bigint): Promise<boolean> {
  try {
    await publicClient.request({
      method: "eth_estimateGas",
      params: [{ from: account, to: account, type: "0x3", blobs: [PROBE_BLOB], blobVersionedHashes: [PROBE_BLOB_VERSIONED_HASH], maxFeePerBlobGas: toHex(maxFeePerBlobGas) }],
    } as never);
    return true;
  } catch (error) {
    if (error instanceof BaseError && error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null) throw new BatchL1Error("read", shortMessage(error), { cause: error });
    return false;
  }
}

/** Runs `fn`, its failures as a BatchL1Error of `operation`; a fee cap wait passes through (it is no failure). */
async function l1<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof FeeCapExceededError) throw error;
    throw new BatchL1Error(operation, shortMessage(error), { cause: error });
  }
}

function shortMessage(error: unknown): string {
  return error instanceof BaseError ? error.shortMessage : (error as Error).message;
}

