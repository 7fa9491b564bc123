/**
 * The plaintexts of a rebuilt stream (docs/threshold-encryption.md, "Derivation"): the encrypted
 * flow's position records read by the same deterministic rules the nodes apply
 * (node/app/encrypted-slots.ts), each slot key checked against the epoch key anchored on L1
 * (EpochKeys.epochKey), each keyed slot's ciphertexts decrypted and checked as transactions.
 * A reader of the stream takes no part in the duties (it never leads, holds no shares).
 */
import { type Address, type PublicClient, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { EncryptedSlots, type PositionOutcome } from "../../node/app/encrypted-slots.js";
import { decodePositionRecord, isPositionRecord } from "../../node/domain/index.js";
import { decryptTransactions } from "../../node/intake/index.js";
import { epochKeysAbi } from "../../node/l1/generated/abi.js";
import { createLogger } from "../../node/ops/logger.js";
import { type G1Point, g1FromBytes } from "../../node/threshold/index.js";
import type { StreamTx } from "./rebuild.js";

export type DecryptStreamOptions = {
  readonly client: PublicClient;
  /** L1's EpochKeys contract (the deployment record's `contracts.epochKeys`). */
  readonly epochKeys: Address;
  readonly rollupChainId: number;
  /** The nodes' transaction size limit (config maxTxBytes). */
  readonly maxTxBytes?: number;
};

function notForReaders(): never {
  throw new Error("a reader of the stream takes no part in the nodes' duties");
}

/** The outcome of every encrypted position of `txs`, by position. */
export async function decryptStream(txs: readonly StreamTx[], options: DecryptStreamOptions): Promise<Map<number, PositionOutcome>> {
  const keys = new Map<number, G1Point | undefined>();
  for (const tx of txs) {
    const data = hexToBytes(tx.raw);
    if (!isPositionRecord(data) || data[0] !== 0xb3) continue;
    const record = decodePositionRecord(data);
    if (record === undefined || record.kind !== "slotKey" || keys.has(record.epoch)) continue;
    const anchored = await options.client.readContract({ address: options.epochKeys, abi: epochKeysAbi, functionName: "epochKey", args: [BigInt(record.epoch)] });
    keys.set(record.epoch, anchored === "0x" ? undefined : g1FromBytes(hexToBytes(anchored), "anchored epoch key"));
  }
  const intake = { chainId: options.rollupChainId, maxBytes: options.maxTxBytes ?? 128 * 1024 };
  const slots = new EncryptedSlots({
    rollupChainId: options.rollupChainId,
    chainId: 0,
    registry: "0x0000000000000000000000000000000000000000",
    selfId: "rebuild",
    signer: privateKeyToAccount(generatePrivateKey()),
    logger: createLogger({ level: "silent" }),
    epochKey: () => undefined,
    publicKey: (epoch) => keys.get(epoch),
    loadEpoch: async () => undefined,
    currentEpoch: () => 0,
    request: notForReaders,
    proposeApp: notForReaders,
    propose: notForReaders,
    isLeader: () => false,
    leader: () => null,
    decrypt: async (slot, ciphertexts) => decryptTransactions(slot, ciphertexts, intake),
  });
  const committed = txs.map((t) => ({ position: Number(t.position), index: 0, term: 0, hash: t.txHash, data: hexToBytes(t.raw) }));
  await slots.recover(async (from, limit) => {
    const start = committed.findIndex((t) => t.position >= from);
    return start < 0 ? [] : committed.slice(start, start + limit);
  });
  await slots.idle();
  const out = new Map<number, PositionOutcome>();
  for (const t of committed) {
    const outcome = slots.outcomeAt(t.position);
    if (outcome !== undefined) out.set(t.position, outcome);
  }
  return out;
}

/** One line per status: how many encrypted positions ended so. */
export function describeDecrypted(outcomes: ReadonlyMap<number, PositionOutcome>): string {
  const counts = new Map<string, number>();
  for (const o of outcomes.values()) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  const parts = [...counts].map(([status, n]) => `${n} ${status}`);
  return `${outcomes.size} encrypted transactions${parts.length === 0 ? "" : `: ${parts.join(", ")}`}`;
}
