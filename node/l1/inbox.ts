/**
 * Reads the batches the BatchInbox accepted, from L1 alone: each `BatchAccepted` log plus the
 * `submitBatch(header, data, signatures)` input of the transaction that emitted it (the inbox
 * never stores the payload). Used by the watchtower, `seq slash`, the rebuild-from-L1 script and
 * the devnet.
 *
 * A log whose transaction cannot be turned back into its batch (not a direct submitBatch call,
 * input that disagrees with the event) is not an error that stops the reader: it comes back in
 * order as an `UnreadableBatch`, with what the event says and why, and the batches after it are
 * read as usual (docs/batch-format.md, "Unreadable batches"). Since S3 the inbox accepts only
 * direct calls, so this guards older deployments and whatever a later fork changes.
 */
import {
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
  type Transaction,
  bytesToHex,
  decodeFunctionData,
  isAddressEqual,
  keccak256,
} from "viem";
import { batchInboxAbi } from "./generated/abi.js";
import { readForcedRange } from "./forced-queue.js";
import { type BatchHeader, ZERO_HASH, batchHash } from "../commitments/typed-data.js";
import { L1Error } from "./errors.js";
import { BlobError, decodeBlobReference, nodeBlobSource, payloadOfBlobs, type BlobSource } from "./blobs.js";

/** One accepted batch as posted: the header, its payload and the quorum's signatures. */
export type AcceptedBatch = {
  readonly readable: true;
  readonly batchNumber: bigint;
  readonly header: BatchHeader;
  /** The submitBatch `data` argument (docs/batch-format.md); keccak256(data) == header.dataHash. */
  readonly data: Hex;
  /**
   * The transactions' payload, format v1 or v2: `data` itself, or in blob mode (format v3) what
   * the transaction's blobs carry, checked against the versioned hashes `data` references.
   */
  readonly payload: Hex;
  /** How many blobs carried it (0: calldata). */
  readonly blobs: number;
  readonly signatures: Hex[];
  readonly l1BlockNumber: bigint;
  readonly l1TxHash: Hash;
  /**
   * Set for a batch the escape hatch made (`BatchInbox.escape`, docs/forced-inclusion.md): its
   * transactions are forced items [firstItem, firstItem + itemCount), `raws` in order (no
   * payload was posted: `data` is empty), `signatures` is empty and `header.dataHash` is the last
   * item's chain hash.
   */
  readonly escape?: { readonly firstItem: bigint; readonly itemCount: bigint; readonly raws: readonly Hex[] };
};

/** What a `BatchAccepted` event says about the accepted header: all of it but `prevBatchHash`. */
export type AcceptedHeaderFields = Omit<BatchHeader, "prevBatchHash"> & { readonly batchHash: Hash };

/**
 * An accepted batch whose data cannot be read from L1 alone: the event's header fields, where it
 * was accepted, and why it cannot be read. Its positions cannot be derived from L1.
 */
export type UnreadableBatch = {
  readonly readable: false;
  readonly batchNumber: bigint;
  readonly accepted: AcceptedHeaderFields;
  readonly l1BlockNumber: bigint;
  readonly l1TxHash: Hash;
  readonly error: UnreadableBatchError;
};

/** An entry of the inbox's accepted batches, in batch-number order. */
export type InboxBatch = AcceptedBatch | UnreadableBatch;

export type ReadAcceptedBatchesOptions = {
  /** Most blocks one `eth_getLogs` call spans (providers cap it; default 5,000). */
  readonly maxBlockRange?: bigint;
  /** Transactions fetched at once (default 8). */
  readonly concurrency?: number;
  /** Where blob batches' blobs come from (default: the L1 node's own blob RPC, `nodeBlobSource`). */
  readonly blobSource?: BlobSource;
};

/** Reading accepted batches failed: the L1 RPC refused or failed a call. */
export class InboxReadError extends L1Error {
  override readonly name: string = "InboxReadError";
}

/**
 * Why a `BatchAccepted` log's emitting transaction cannot be turned back into the batch: not a
 * direct `submitBatch` call on the inbox, or its input disagrees with the event or its data hash.
 * Carried by an {@link UnreadableBatch} (and thrown where one batch was asked for).
 */
export class UnreadableBatchError extends InboxReadError {
  override readonly name = "UnreadableBatchError";
  constructor(
    readonly l1TxHash: Hash,
    readonly batchNumber: bigint,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`batch ${batchNumber} (L1 tx ${l1TxHash}): ${reason}`, options);
  }
}

const DEFAULT_MAX_BLOCK_RANGE = 5_000n;
const DEFAULT_CONCURRENCY = 8;

/**
 * Every batch the inbox at `inbox` accepted in blocks [fromBlock, toBlock], in acceptance order
 * (batch-number order), each read back from its transaction, or flagged unreadable (a log whose
 * transaction is not a direct submitBatch call matching it, e.g. relayed through a contract).
 * An empty list when `fromBlock > toBlock`, so a poller can pass `last + 1, head` unchanged.
 * @throws InboxReadError when an RPC call fails (worth retrying: nothing was skipped)
 */
export async function readAcceptedBatches(
  client: PublicClient,
  inbox: Address,
  fromBlock: bigint,
  toBlock: bigint,
  options: ReadAcceptedBatchesOptions = {},
): Promise<InboxBatch[]> {
  const maxRange = options.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const blobSource = options.blobSource ?? nodeBlobSource(client);
  if (maxRange < 1n) throw new RangeError(`maxBlockRange must be >= 1, got ${maxRange}`);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  if (fromBlock < 0n) throw new RangeError(`fromBlock must be >= 0, got ${fromBlock}`);

  const out: InboxBatch[] = [];
  for (let start = fromBlock; start <= toBlock; start += maxRange) {
    const end = start + maxRange - 1n < toBlock ? start + maxRange - 1n : toBlock;
    let logs;
    try {
      logs = await client.getContractEvents({ address: inbox, abi: batchInboxAbi, eventName: "BatchAccepted", fromBlock: start, toBlock: end, strict: true });
    } catch (cause) {
      throw new InboxReadError(`reading BatchAccepted logs of the inbox ${inbox} in blocks ${start}..${end} failed: ${(cause as Error).message}`, { cause });
    }
    const escapes = logs.length === 0 ? new Map<bigint, EscapeArgs>() : await escapesIn(client, inbox, start, end);
    const batches = await mapLimit(logs, concurrency, async (log) => {
      if (log.transactionHash === null || log.blockNumber === null) {
        throw new InboxReadError(`the L1 node returned a pending BatchAccepted log for blocks ${start}..${end}`);
      }
      const escape = escapes.get(log.args.batchNumber);
      if (escape !== undefined) return escapeBatch(client, inbox, log.args, escape, log.blockNumber, log.transactionHash);
      let tx: Transaction;
      try {
        tx = await client.getTransaction({ hash: log.transactionHash });
      } catch (cause) {
        throw new InboxReadError(`fetching L1 transaction ${log.transactionHash} failed: ${(cause as Error).message}`, { cause });
      }
      const batch = batchFromCall(inbox, log.args, tx, log.blockNumber);
      return batch.readable && batch.data.startsWith("0x03") ? withBlobPayload(batch, tx, blobSource) : batch;
    });
    out.push(...batches);
  }
  return out;
}

type BatchAcceptedArgs = {
  readonly batchNumber: bigint;
  readonly epoch: bigint;
  readonly batchHash: Hash;
  readonly firstPosition: bigint;
  readonly lastPosition: bigint;
  readonly merkleRoot: Hex;
  readonly dataHash: Hex;
};

function batchFromCall(inbox: Address, event: BatchAcceptedArgs, tx: Transaction, l1BlockNumber: bigint): InboxBatch {
  const { batchNumber, epoch, batchHash: acceptedHash, firstPosition, lastPosition, merkleRoot, dataHash } = event;
  const unreadable = (reason: string, cause?: unknown) =>
    unreadableBatch({ epoch, batchNumber, batchHash: acceptedHash, firstPosition, lastPosition, merkleRoot, dataHash }, l1BlockNumber, tx.hash, reason, cause);
  if (tx.to === null || !isAddressEqual(tx.to, inbox)) {
    return unreadable(`the transaction calls ${tx.to ?? "no contract"}, not the inbox ${inbox} directly; only direct submitBatch calls can be read back`);
  }
  let call;
  try {
    call = decodeFunctionData({ abi: batchInboxAbi, data: tx.input });
  } catch (cause) {
    return unreadable(`its input does not decode against the inbox ABI: ${(cause as Error).message}`, cause);
  }
  if (call.functionName !== "submitBatch") return unreadable(`the transaction calls ${call.functionName}, not submitBatch`);
  const [h, data, signatures] = call.args;
  const header: BatchHeader = {
    epoch: h.epoch,
    batchNumber: h.batchNumber,
    prevBatchHash: h.prevBatchHash,
    firstPosition: h.firstPosition,
    lastPosition: h.lastPosition,
    merkleRoot: h.merkleRoot,
    dataHash: h.dataHash,
  };
  // The event is what the inbox accepted; the input must be that very header.
  const hash = batchHash(header);
  if (hash !== acceptedHash || header.batchNumber !== batchNumber) {
    return unreadable(`the submitted header (batch ${header.batchNumber}, hash ${hash}) is not the accepted one (hash ${acceptedHash})`);
  }
  const actual = keccak256(data);
  if (actual !== header.dataHash) return unreadable(`keccak256(data) is ${actual}, the header's dataHash is ${header.dataHash}`);
  return { readable: true, batchNumber, header, data, payload: data, blobs: 0, signatures: [...signatures], l1BlockNumber, l1TxHash: tx.hash };
}

function unreadableBatch(accepted: AcceptedHeaderFields, l1BlockNumber: bigint, l1TxHash: Hash, reason: string, cause?: unknown): UnreadableBatch {
  const { batchNumber } = accepted;
  return { readable: false, batchNumber, accepted, l1BlockNumber, l1TxHash, error: new UnreadableBatchError(l1TxHash, batchNumber, reason, cause === undefined ? undefined : { cause }) };
}

/**
 * A blob batch (format v3) with the payload its blobs carry: the reference must name the
 * transaction's own blobs (the inbox checked that with blobhash), and the blobs from `source`
 * must have those versioned hashes. Blobs the source no longer has (pruned) leave it unreadable.
 */
async function withBlobPayload(batch: AcceptedBatch, tx: Transaction, source: BlobSource): Promise<InboxBatch> {
  const { prevBatchHash: _, ...fields } = batch.header;
  const unreadable = (reason: string, cause?: unknown) => unreadableBatch({ ...fields, batchHash: batchHash(batch.header) }, batch.l1BlockNumber, tx.hash, reason, cause);
  let hashes: Hash[];
  try {
    hashes = decodeBlobReference(batch.data);
  } catch (cause) {
    return unreadable((cause as Error).message, cause);
  }
  const carried = tx.blobVersionedHashes ?? [];
  if (carried.length !== hashes.length || carried.some((h, i) => h !== hashes[i])) {
    return unreadable(`the data references blobs ${hashes.join(", ")}, the transaction carries ${carried.length === 0 ? "none" : carried.join(", ")}`);
  }
  let blobs: readonly Hex[] | undefined;
  try {
    blobs = await source(tx.hash);
  } catch (cause) {
    throw new InboxReadError(`fetching the blobs of L1 transaction ${tx.hash} failed: ${(cause as Error).message}`, { cause });
  }
  if (blobs === undefined) return unreadable("the blob source does not have its blobs (pruned, or a node that keeps none): ask a beacon node's blob_sidecars API");
  try {
    return { ...batch, payload: bytesToHex(payloadOfBlobs(blobs, hashes)), blobs: blobs.length };
  } catch (cause) {
    if (cause instanceof BlobError) return unreadable(cause.message, cause);
    throw cause;
  }
}

type EscapeArgs = { readonly firstItem: bigint; readonly itemCount: bigint };

/** The EscapeBatchAccepted events of blocks [from, to], by batch number. */
async function escapesIn(client: PublicClient, inbox: Address, fromBlock: bigint, toBlock: bigint): Promise<Map<bigint, EscapeArgs>> {
  try {
    const logs = await client.getContractEvents({ address: inbox, abi: batchInboxAbi, eventName: "EscapeBatchAccepted", fromBlock, toBlock, strict: true });
    return new Map(logs.map((l) => [l.args.batchNumber, { firstItem: l.args.firstItem, itemCount: l.args.itemCount }]));
  } catch (cause) {
    throw new InboxReadError(`reading EscapeBatchAccepted logs of the inbox ${inbox} in blocks ${fromBlock}..${toBlock} failed: ${(cause as Error).message}`, { cause });
  }
}

/** An escape batch, read from the forced queue it took its items from (any caller may have sent it, relayed or not). */
async function escapeBatch(client: PublicClient, inbox: Address, event: BatchAcceptedArgs, escape: EscapeArgs, l1BlockNumber: bigint, l1TxHash: Hash): Promise<InboxBatch> {
  let queue: Address;
  let prevBatchHash: Hash = ZERO_HASH;
  let raws: Hex[];
  try {
    queue = await client.readContract({ address: inbox, abi: batchInboxAbi, functionName: "forcedQueue" });
    if (event.batchNumber > 1n) prevBatchHash = (await client.readContract({ address: inbox, abi: batchInboxAbi, functionName: "batch", args: [event.batchNumber - 1n] })).batchHash;
    raws = (await readForcedRange(client, queue, escape.firstItem, escape.itemCount)).raws;
  } catch (cause) {
    throw new InboxReadError(`reading escape batch ${event.batchNumber} failed: ${(cause as Error).message}`, { cause });
  }
  const { batchNumber, epoch, firstPosition, lastPosition, merkleRoot, dataHash } = event;
  const header: BatchHeader = { epoch, batchNumber, prevBatchHash, firstPosition, lastPosition, merkleRoot, dataHash };
  if (batchHash(header) !== event.batchHash) {
    throw new InboxReadError(`escape batch ${batchNumber}: the header rebuilt from L1 hashes to ${batchHash(header)}, the event says ${event.batchHash}`);
  }
  return { readable: true, batchNumber, header, data: "0x", payload: "0x", blobs: 0, signatures: [], l1BlockNumber, l1TxHash, escape: { ...escape, raws } };
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
