/**
 * A rollup derivation pipeline's first step, from L1 alone: the ordered transaction list that
 * the accepted batches carry (BatchAccepted events + submitBatch calldata, docs/batch-format.md),
 * checked against every header (batch chain, gap-free positions, Merkle root), and its
 * comparison with a node's log over `seq_getRange`. A batch whose transactions L1 does not give
 * (docs/batch-format.md, "Unreadable batches") becomes a gap in the stream, reported with its
 * positions, and the batches after it are read on.
 */
import { type Address, type Hash, type Hex, type PublicClient, bytesToHex, hexToBytes } from "viem";
import { type InboxBatch, readAcceptedBatches } from "../../node/l1/inbox.js";
import type { BlobSource } from "../../node/l1/blobs.js";
import { ZERO_HASH, batchHash } from "../../node/commitments/typed-data.js";
import { buildPositionalTree, merkleRoot } from "../../node/commitments/merkle.js";
import { batchTxHashes } from "../../node/batching/format.js";
import { decodeBatchPayload } from "../../node/batching/compression.js";
import { fetchRange } from "../../node/rpc/client.js";

/** One transaction of the ordered stream. */
export type StreamTx = { readonly position: bigint; readonly txHash: Hex; readonly raw: Hex };

/** An accepted batch whose positions the stream lacks: L1 does not give its transactions. */
export type StreamGap = {
  readonly batchNumber: bigint;
  readonly firstPosition: bigint;
  readonly lastPosition: bigint;
  /** What any copy of the data must hash to (the signed header's dataHash). */
  readonly dataHash: Hex;
  readonly merkleRoot: Hex;
  readonly l1BlockNumber: bigint;
  readonly l1TxHash: Hash;
  readonly reason: string;
};

export type RebuiltStream = {
  readonly batches: readonly InboxBatch[];
  /** The transactions of the readable batches, in position order (missing the gaps' positions). */
  readonly txs: readonly StreamTx[];
  /** Unreadable batches, in order: derivation cannot go past the first one's firstPosition. */
  readonly gaps: readonly StreamGap[];
  /** Position of txs[0] (0 when read from the inbox's deployment). */
  readonly firstPosition: bigint;
  readonly fromBlock: bigint;
  readonly toBlock: bigint;
};

/**
 * The batches read from L1 do not form a chain (a gap in batch numbers or positions, a broken
 * prevBatchHash: the inbox enforces all three, so the L1 node's answer is incomplete or wrong).
 */
export class RebuildError extends Error {
  override readonly name = "RebuildError";
  constructor(
    readonly batch: InboxBatch,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`batch ${batch.batchNumber} (L1 tx ${batch.l1TxHash}, block ${batch.l1BlockNumber}): ${reason}`, options);
  }
}

/** What a batch of the stream must agree with: the fields every entry has, readable or not. */
function chainFieldsOf(b: InboxBatch): { batchNumber: bigint; batchHash: Hex; firstPosition: bigint; lastPosition: bigint; prevBatchHash: Hex | undefined } {
  if (!b.readable) return { ...b.accepted, prevBatchHash: undefined };
  return { ...b.header, batchHash: batchHash(b.header) };
}

/**
 * Checks that `batches` chain (numbers, prevBatchHash, gap-free positions), decodes their data
 * and recomputes each Merkle root; returns the transactions in position order, and as gaps the
 * batches whose transactions cannot be had: unreadable from L1, or (accepted by an inbox before
 * S6) data that does not decode as the header's range or to its root. An unreadable batch's own
 * prevBatchHash is unknown (its event does not carry it); the next batch must name its hash.
 * With `fromGenesis` the first batch must be batch 1 at position 0.
 * @throws RebuildError at the first batch that breaks the chain
 */
export function streamOfBatches(batches: readonly InboxBatch[], fromGenesis: boolean): { txs: StreamTx[]; gaps: StreamGap[] } {
  const txs: StreamTx[] = [];
  const gaps: StreamGap[] = [];
  let prev: ReturnType<typeof chainFieldsOf> | undefined;
  for (const b of batches) {
    const h = chainFieldsOf(b);
    const fail = (reason: string) => new RebuildError(b, reason);
    if (prev === undefined) {
      if (fromGenesis && (h.batchNumber !== 1n || h.firstPosition !== 0n || (h.prevBatchHash !== undefined && h.prevBatchHash !== ZERO_HASH))) {
        throw fail(`the first batch since the inbox's deployment must be batch 1 at position 0 with a zero prevBatchHash, got batch ${h.batchNumber} at position ${h.firstPosition}`);
      }
    } else {
      if (h.batchNumber !== prev.batchNumber + 1n) throw fail(`follows batch ${prev.batchNumber}: batch numbers have a gap`);
      if (h.prevBatchHash !== undefined && h.prevBatchHash !== prev.batchHash) throw fail(`prevBatchHash ${h.prevBatchHash} is not the hash of batch ${prev.batchNumber}`);
      if (h.firstPosition !== prev.lastPosition + 1n) {
        throw fail(`starts at position ${h.firstPosition}, batch ${prev.batchNumber} ended at ${prev.lastPosition}: positions have a gap or overlap`);
      }
    }
    prev = h;
    const gap = (reason: string, header: { dataHash: Hex; merkleRoot: Hex }) =>
      gaps.push({ batchNumber: h.batchNumber, firstPosition: h.firstPosition, lastPosition: h.lastPosition, dataHash: header.dataHash, merkleRoot: header.merkleRoot, l1BlockNumber: b.l1BlockNumber, l1TxHash: b.l1TxHash, reason });
    if (!b.readable) {
      gap(b.error.reason, b.accepted);
      continue;
    }
    const count = h.lastPosition - h.firstPosition + 1n;
    let raws: Uint8Array[];
    try {
      // An escape batch's transactions are the forced items it took (docs/forced-inclusion.md).
      raws = b.escape !== undefined ? b.escape.raws.map((r) => hexToBytes(r)) : decodeBatchPayload(hexToBytes(b.payload), Number(count));
      if (raws.length !== Number(count)) throw new Error(`${raws.length} forced items for ${count} positions`);
    } catch (cause) {
      gap(`its data does not decode as ${count} transactions: ${(cause as Error).message}`, b.header);
      continue;
    }
    const hashes = batchTxHashes(raws);
    const root = merkleRoot(buildPositionalTree(h.firstPosition, hashes));
    if (root !== b.header.merkleRoot) {
      gap(`the Merkle root of its transactions is ${root}, the header says ${b.header.merkleRoot}`, b.header);
      continue;
    }
    raws.forEach((raw, i) => txs.push({ position: h.firstPosition + BigInt(i), txHash: hashes[i]!, raw: bytesToHex(raw) }));
  }
  return { txs, gaps };
}

export type RebuildOptions = {
  readonly inbox: Address;
  /** The inbox's deployment block: reading from there (or earlier) checks the stream from batch 1. */
  readonly deploymentBlock: bigint;
  /** Default: the deployment block. */
  readonly fromBlock?: bigint;
  /** Default: the latest block. */
  readonly toBlock?: bigint;
  readonly maxBlockRange?: bigint;
  /** Where blob batches' blobs come from (default: the L1 node's blob RPC, as Anvil serves it). */
  readonly blobSource?: BlobSource;
};

/**
 * Reads the accepted batches in [fromBlock, toBlock] and rebuilds their transaction stream, with
 * a gap for each batch L1 does not give the transactions of.
 * @throws InboxReadError (node/l1/inbox.ts) when L1 cannot be read; RebuildError when the batches do not chain
 */
export async function rebuildFromL1(client: PublicClient, options: RebuildOptions): Promise<RebuiltStream> {
  const fromBlock = options.fromBlock ?? options.deploymentBlock;
  const toBlock = options.toBlock ?? (await client.getBlockNumber());
  const batches = await readAcceptedBatches(client, options.inbox, fromBlock, toBlock, {
    ...(options.maxBlockRange === undefined ? {} : { maxBlockRange: options.maxBlockRange }),
    ...(options.blobSource === undefined ? {} : { blobSource: options.blobSource }),
  });
  const { txs, gaps } = streamOfBatches(batches, fromBlock <= options.deploymentBlock);
  const first = batches[0];
  const firstPosition = first === undefined ? 0n : first.readable ? first.header.firstPosition : first.accepted.firstPosition;
  return { batches, txs, gaps, firstPosition, fromBlock, toBlock };
}

/** How the batches travelled: "3 in blobs (4 blobs), 2 compressed, 1 plain calldata". */
export function describeCarriers(batches: readonly InboxBatch[]): string {
  const readable = batches.filter((b) => b.readable);
  const inBlobs = readable.filter((b) => b.blobs > 0);
  const compressed = readable.filter((b) => b.payload.startsWith("0x02")).length;
  const blobs = inBlobs.reduce((sum, b) => sum + b.blobs, 0);
  return `${inBlobs.length} in blobs (${blobs} blobs), ${compressed} compressed, ${readable.length - inBlobs.length} in calldata`;
}

/** The first position where a node's log and the L1 stream disagree. */
export type LogDifference = {
  readonly position: bigint;
  readonly l1: StreamTx;
  /** What the node holds there; null when it has nothing at that position. */
  readonly node: { readonly txHash: Hex; readonly raw: Hex } | null;
};

export type NodeComparison = {
  readonly url: string;
  /** Positions checked equal before the first difference (all of them when there is none). */
  readonly matched: number;
  readonly difference: LogDifference | null;
};

type RangeEntry = { position: number; txHash: Hex; raw: Hex };

/** Transactions compared per step (`fetchRange` pages within it). */
const RANGE_CHUNK = 1000;

/**
 * Compares every transaction of `txs` (position order; a stream's gaps are skipped) with the
 * node's log at `url`.
 * @throws NodeRpcError when the node cannot be asked
 */
export async function compareWithNode(url: string, txs: readonly StreamTx[]): Promise<NodeComparison> {
  for (let i = 0; i < txs.length; ) {
    // A chunk never spans a gap: fetchRange asks for contiguous positions.
    let end = i + 1;
    while (end < txs.length && end - i < RANGE_CHUNK && txs[end]!.position === txs[end - 1]!.position + 1n) end++;
    const chunk = txs.slice(i, end);
    const got = await fetchRange<RangeEntry>(url, Number(chunk[0]!.position), chunk.length);
    for (let k = 0; k < chunk.length; k++) {
      const want = chunk[k]!;
      const have = got[k];
      const same = have !== undefined && BigInt(have.position) === want.position && have.txHash.toLowerCase() === want.txHash && have.raw.toLowerCase() === want.raw;
      if (!same) {
        return {
          url,
          matched: i + k,
          difference: { position: want.position, l1: want, node: have === undefined ? null : { txHash: have.txHash, raw: have.raw } },
        };
      }
    }
    i = end;
  }
  return { url, matched: txs.length, difference: null };
}

/** One line naming a gap of the stream: an unreadable batch (for scripts' output). */
export function describeGap(g: StreamGap): string {
  return (
    `UNREADABLE: batch ${g.batchNumber} (L1 tx ${g.l1TxHash}, block ${g.l1BlockNumber}): positions ${g.firstPosition}..${g.lastPosition} missing from the stream ` +
    `(data hash ${g.dataHash}, Merkle root ${g.merkleRoot}): ${g.reason}`
  );
}

/** One line naming a difference (for scripts' output). */
export function describeDifference(c: NodeComparison): string {
  const d = c.difference;
  if (d === null) return `${c.url}: all ${c.matched} positions equal the L1 stream`;
  const theirs = d.node === null ? "nothing" : `tx ${d.node.txHash}${d.node.txHash.toLowerCase() === d.l1.txHash ? " (same hash, different bytes)" : ""}`;
  return `${c.url}: position ${d.position} differs: L1 has tx ${d.l1.txHash}, the node has ${theirs} (${c.matched} positions equal before it)`;
}
