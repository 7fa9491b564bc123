/**
 * The forced-inclusion queue (contracts/ForcedInclusionQueue.sol, docs/forced-inclusion.md) as
 * the nodes see it: the items from the `ForcedTransactionEnqueued` events, checked against the
 * hash chain, and the inbox's cursor, both read at the confirmation depth.
 */
import { type Address, type Hash, type Hex, type PublicClient, encodeAbiParameters, keccak256, zeroHash } from "viem";
import { batchInboxAbi, forcedInclusionQueueAbi } from "./generated/abi.js";
import { L1Error } from "./errors.js";

/** One enqueued item. */
export type ForcedItem = {
  readonly index: bigint;
  readonly txHash: Hash;
  readonly l1Block: bigint;
  readonly chainHash: Hash;
  readonly rawTx: Hex;
  readonly sender: Address;
};

/** Reading the queue failed, or its events break the hash chain. */
export class ForcedQueueError extends L1Error {
  override readonly name = "ForcedQueueError";
}

/** `keccak256(abi.encode(prev, index, l1Block, txHash))`: item `index`'s chain hash after `prev` (0 before the first). */
export function forcedChainHash(prev: Hash, index: bigint, l1Block: bigint, txHash: Hash): Hash {
  return keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint64" }, { type: "uint64" }, { type: "bytes32" }], [prev, index, l1Block, txHash]));
}

/**
 * The items enqueued in blocks [fromBlock, toBlock], in queue order, each checked to continue
 * `prevChainHash` (the chain hash of the item before the first one returned; 0 from the start).
 * @throws ForcedQueueError when a call fails or the events break the chain
 */
export async function readForcedItems(client: PublicClient, queue: Address, fromBlock: bigint, toBlock: bigint, prevChainHash: Hash = zeroHash): Promise<ForcedItem[]> {
  if (fromBlock > toBlock) return [];
  let logs;
  try {
    logs = await client.getContractEvents({ address: queue, abi: forcedInclusionQueueAbi, eventName: "ForcedTransactionEnqueued", fromBlock, toBlock, strict: true });
  } catch (cause) {
    throw new ForcedQueueError(`reading the forced queue ${queue} in blocks ${fromBlock}..${toBlock} failed: ${(cause as Error).message}`, { cause });
  }
  const items: ForcedItem[] = [];
  let prev = prevChainHash;
  for (const log of logs) {
    const { index, txHash, l1Block, chainHash, rawTx, sender } = log.args;
    if (keccak256(rawTx) !== txHash || forcedChainHash(prev, index, l1Block, txHash) !== chainHash) {
      throw new ForcedQueueError(`forced item ${index} of the queue ${queue} does not continue the hash chain`);
    }
    items.push({ index, txHash, l1Block, chainHash, rawTx, sender });
    prev = chainHash;
  }
  return items;
}

/**
 * The raw transactions of forced items [firstItem, firstItem + count) in queue order, each read
 * from its own `ForcedTransactionEnqueued` event (found through the item's enqueue block), and
 * the chain hash of the last one (an escape batch's `dataHash`).
 * @throws ForcedQueueError when a call fails or an event is missing or does not match the item
 */
export async function readForcedRange(client: PublicClient, queue: Address, firstItem: bigint, count: bigint): Promise<{ raws: Hex[]; lastChainHash: Hash }> {
  const raws: Hex[] = [];
  let lastChainHash: Hash = zeroHash;
  for (let index = firstItem; index < firstItem + count; index++) {
    let found;
    try {
      const [txHash, chainHash, l1Block] = await client.readContract({ address: queue, abi: forcedInclusionQueueAbi, functionName: "item", args: [index] });
      const logs = await client.getContractEvents({ address: queue, abi: forcedInclusionQueueAbi, eventName: "ForcedTransactionEnqueued", args: { index }, fromBlock: l1Block, toBlock: l1Block, strict: true });
      found = logs.find((l) => l.args.txHash === txHash && l.args.chainHash === chainHash);
      lastChainHash = chainHash;
    } catch (cause) {
      throw new ForcedQueueError(`reading forced item ${index} of the queue ${queue} failed: ${(cause as Error).message}`, { cause });
    }
    if (found === undefined || keccak256(found.args.rawTx) !== found.args.txHash) throw new ForcedQueueError(`forced item ${index} of the queue ${queue} has no matching ForcedTransactionEnqueued event`);
    raws.push(found.args.rawTx);
  }
  return { raws, lastChainHash };
}

/** The oldest uncovered item at block `blockNumber` (null when every item is covered): its index, enqueue block and deadline. */
export async function oldestUncovered(client: PublicClient, inbox: Address, queue: Address, blockNumber: bigint): Promise<{ index: bigint; l1Block: bigint; deadlineBlock: bigint } | null> {
  const view = await readForcedCursor(client, inbox, queue, blockNumber);
  if (view.cursor >= view.length) return null;
  try {
    const [, , l1Block] = await client.readContract({ address: queue, abi: forcedInclusionQueueAbi, functionName: "item", args: [view.cursor], blockNumber });
    return { index: view.cursor, l1Block, deadlineBlock: l1Block + view.inclusionDelay };
  } catch (cause) {
    throw new ForcedQueueError(`reading forced item ${view.cursor} failed: ${(cause as Error).message}`, { cause });
  }
}

/** What the inbox says about the queue at one block: the cursor and where the queue stands. */
export type ForcedCursorView = { readonly cursor: bigint; readonly length: bigint; readonly inclusionDelay: bigint };

/** The inbox's forced cursor and the queue's length and delay at block `blockNumber`. */
export async function readForcedCursor(client: PublicClient, inbox: Address, queue: Address, blockNumber: bigint): Promise<ForcedCursorView> {
  try {
    const [cursor, length, inclusionDelay] = await Promise.all([
      client.readContract({ address: inbox, abi: batchInboxAbi, functionName: "forcedCursor", blockNumber }),
      client.readContract({ address: queue, abi: forcedInclusionQueueAbi, functionName: "length", blockNumber }),
      client.readContract({ address: queue, abi: forcedInclusionQueueAbi, functionName: "inclusionDelay", blockNumber }),
    ]);
    return { cursor, length, inclusionDelay };
  } catch (cause) {
    throw new ForcedQueueError(`reading the forced cursor at block ${blockNumber} failed: ${(cause as Error).message}`, { cause });
  }
}
