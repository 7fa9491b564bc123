/**
 * A rollup derivation pipeline's first step, from L1 alone: the ordered transaction list that
 * the accepted batches carry (BatchAccepted events + submitBatch calldata, docs/batch-format.md),
 * checked against every header (batch chain, gap-free positions, Merkle root), and its
 * comparison with a node's log over `seq_getRange`.
 */
import { type Address, type Hex, type PublicClient, bytesToHex, hexToBytes } from "viem";
import { type AcceptedBatch, readAcceptedBatches } from "../../node/l1/inbox.js";
import { ZERO_HASH, batchHash } from "../../node/commitments/typed-data.js";
import { buildPositionalTree, merkleRoot } from "../../node/commitments/merkle.js";
import { batchTxHashes, decodeBatchData } from "../../node/batching/format.js";
import { fetchRange } from "../../node/rpc/client.js";

/** One transaction of the ordered stream. */
export type StreamTx = { readonly position: bigint; readonly txHash: Hex; readonly raw: Hex };

export type RebuiltStream = {
  readonly batches: readonly AcceptedBatch[];
  readonly txs: readonly StreamTx[];
  /** Position of txs[0] (0 when read from the inbox's deployment). */
  readonly firstPosition: bigint;
  readonly fromBlock: bigint;
  readonly toBlock: bigint;
};

/** The batches on L1 do not form a valid stream (names the batch and its L1 transaction). */
export class RebuildError extends Error {
  override readonly name = "RebuildError";
  constructor(
    readonly batch: AcceptedBatch,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`batch ${batch.batchNumber} (L1 tx ${batch.l1TxHash}, block ${batch.l1BlockNumber}): ${reason}`, options);
  }
}

/**
 * Checks that `batches` chain (numbers, prevBatchHash, gap-free positions), decodes their data
 * and recomputes each Merkle root; returns the transactions in position order. With
 * `fromGenesis` the first batch must be batch 1 at position 0.
 * @throws RebuildError at the first batch that breaks a rule
 */
export function streamOfBatches(batches: readonly AcceptedBatch[], fromGenesis: boolean): StreamTx[] {
  const txs: StreamTx[] = [];
  let prev: AcceptedBatch | undefined;
  for (const b of batches) {
    const h = b.header;
    const fail = (reason: string, cause?: unknown) => new RebuildError(b, reason, cause === undefined ? undefined : { cause });
    if (prev === undefined) {
      if (fromGenesis && (h.batchNumber !== 1n || h.firstPosition !== 0n || h.prevBatchHash !== ZERO_HASH)) {
        throw fail(`the first batch since the inbox's deployment must be batch 1 at position 0 with a zero prevBatchHash, got batch ${h.batchNumber} at position ${h.firstPosition}`);
      }
    } else {
      if (h.batchNumber !== prev.header.batchNumber + 1n) throw fail(`follows batch ${prev.header.batchNumber}: batch numbers have a gap`);
      if (h.prevBatchHash !== batchHash(prev.header)) throw fail(`prevBatchHash ${h.prevBatchHash} is not the hash of batch ${prev.header.batchNumber}`);
      if (h.firstPosition !== prev.header.lastPosition + 1n) {
        throw fail(`starts at position ${h.firstPosition}, batch ${prev.header.batchNumber} ended at ${prev.header.lastPosition}: positions have a gap or overlap`);
      }
    }
    const count = h.lastPosition - h.firstPosition + 1n;
    let raws: Uint8Array[];
    try {
      raws = decodeBatchData(hexToBytes(b.data), Number(count));
    } catch (cause) {
      throw fail(`its data does not decode as ${count} transactions: ${(cause as Error).message}`, cause);
    }
    const hashes = batchTxHashes(raws);
    const root = merkleRoot(buildPositionalTree(h.firstPosition, hashes));
    if (root !== h.merkleRoot) throw fail(`the Merkle root of its transactions is ${root}, the header says ${h.merkleRoot}`);
    raws.forEach((raw, i) => txs.push({ position: h.firstPosition + BigInt(i), txHash: hashes[i]!, raw: bytesToHex(raw) }));
    prev = b;
  }
  return txs;
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
};

/**
 * Reads the accepted batches in [fromBlock, toBlock] and rebuilds their transaction stream.
 * @throws InboxReadError (node/l1/inbox.ts) when L1 cannot be read; RebuildError when the batches are inconsistent
 */
export async function rebuildFromL1(client: PublicClient, options: RebuildOptions): Promise<RebuiltStream> {
  const fromBlock = options.fromBlock ?? options.deploymentBlock;
  const toBlock = options.toBlock ?? (await client.getBlockNumber());
  const batches = await readAcceptedBatches(client, options.inbox, fromBlock, toBlock, options.maxBlockRange === undefined ? {} : { maxBlockRange: options.maxBlockRange });
  const txs = streamOfBatches(batches, fromBlock <= options.deploymentBlock);
  return { batches, txs, firstPosition: batches[0]?.header.firstPosition ?? 0n, fromBlock, toBlock };
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
 * Compares every transaction of `txs` (contiguous, position order) with the node's log at `url`.
 * @throws NodeRpcError when the node cannot be asked
 */
export async function compareWithNode(url: string, txs: readonly StreamTx[]): Promise<NodeComparison> {
  for (let i = 0; i < txs.length; i += RANGE_CHUNK) {
    const chunk = txs.slice(i, i + RANGE_CHUNK);
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
  }
  return { url, matched: txs.length, difference: null };
}

/** One line naming a difference (for scripts' output). */
export function describeDifference(c: NodeComparison): string {
  const d = c.difference;
  if (d === null) return `${c.url}: all ${c.matched} positions equal the L1 stream`;
  const theirs = d.node === null ? "nothing" : `tx ${d.node.txHash}${d.node.txHash.toLowerCase() === d.l1.txHash ? " (same hash, different bytes)" : ""}`;
  return `${c.url}: position ${d.position} differs: L1 has tx ${d.l1.txHash}, the node has ${theirs} (${c.matched} positions equal before it)`;
}
