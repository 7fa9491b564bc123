/**
 * What the watchtower compares L1 against: the node's own view of the ordered stream. Two
 * sources implement it: the node's store (in the node, or a stopped node's data dir opened by
 * `seq watch`) and a running node's JSON-RPC (`seq watch` while the node holds the store's
 * lock: LevelDB allows one process at a time, and classic-level has no read-only mode).
 */
import type { Hex } from "viem";
import { decodeOrderCommitmentProof, signedCertificateFromStore, type OrderCommitmentProof } from "../commitments/certificate.js";
import { decodeQuorumCommitment, quorumCommitmentFromStore, type QuorumCommitment } from "../commitments/quorum-commitment.js";
import type { BatchHeader, SequencerDomain } from "../commitments/typed-data.js";
import type { NodeStore } from "../storage/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import { toBatchHeader } from "../batching/header.js";
import { NodeRpcError, fetchRange, nodeRpc } from "../rpc/client.js";

/** A batch header with the signatures the node holds for it (its own, or ones it collected). */
export type HeldBatchHeader = { readonly header: BatchHeader; readonly signatures: readonly Hex[] };

export interface WatchtowerEvidence {
  /**
   * Tx hashes of the node's committed log at positions [from, from + count), in order; shorter
   * when the log does not reach that far yet (or has a gap there, e.g. history not backfilled).
   */
  committedTxHashes(from: bigint, count: number): Promise<Hex[]>;
  /**
   * The order commitment the node holds for `position`: its certificate and signature, the
   * node's tx hash there and the Merkle proof over the node's own leaves of the certificate's
   * range. Undefined when no certificate covers it or the node lacks part of that range.
   */
  certifiedLeaf(position: bigint): Promise<OrderCommitmentProof | undefined>;
  /** The quorum commitment the node holds for `position` (a certificate a stake majority co-signed), if any. */
  quorumLeaf(position: bigint): Promise<QuorumCommitment | undefined>;
  /**
   * Headers the node holds for batch `batchNumber`: the one it signed for epoch `epoch`, and the
   * replicated cut of that number with the quorum's signatures the leader gathered (any epoch).
   */
  heldBatchHeaders(batchNumber: bigint, epoch: bigint): Promise<readonly HeldBatchHeader[]>;
}

/** The parts of NodeStore the watchtower reads. */
export type EvidenceStore = Pick<NodeStore, "getTxRange" | "getTxHashes" | "getCertificateForPosition" | "getQuorumCertificateForPosition" | "getSignedBatchHeader" | "getBatch">;

/** Evidence from a node store; `domain` is the registry's (the certificates are signed under it). */
export function storeEvidence(store: EvidenceStore, domain: SequencerDomain): WatchtowerEvidence {
  return {
    async committedTxHashes(from, count) {
      return (await store.getTxRange(Number(from), count)).map((tx) => tx.hash);
    },

    async certifiedLeaf(position) {
      const cert = await store.getCertificateForPosition(Number(position));
      if (cert === undefined) return undefined;
      const hashes = await store.getTxHashes(cert.firstPosition, cert.lastPosition - cert.firstPosition + 1);
      if (hashes === undefined) return undefined;
      return signedCertificateFromStore(cert, hashes, domain).proofFor(position);
    },

    async quorumLeaf(position) {
      const q = await store.getQuorumCertificateForPosition(Number(position));
      if (q === undefined) return undefined;
      const hashes = await store.getTxHashes(q.firstPosition, q.lastPosition - q.firstPosition + 1);
      return hashes === undefined ? undefined : quorumCommitmentFromStore(q, hashes, Number(position), domain);
    },

    async heldBatchHeaders(batchNumber, epoch) {
      const [own, cut] = await Promise.all([store.getSignedBatchHeader(Number(batchNumber), Number(epoch)), store.getBatch(Number(batchNumber))]);
      const held: HeldBatchHeader[] = [];
      if (own !== undefined) held.push({ header: toBatchHeader(own), signatures: [own.signature] });
      if (cut?.signatures !== undefined) held.push({ header: toBatchHeader(cut.header), signatures: cut.signatures });
      return held;
    },
  };
}

type TxView = { readonly position: number; readonly txHash: Hex };

/**
 * Evidence from a running node's JSON-RPC at `url`: `seq_getRange` for its log and
 * `seq_getOrderCommitment` for the commitment of the transaction it holds at a position, and
 * `seq_getBatch` for the replicated cut with the quorum's signatures. The RPC does not serve
 * the headers the node signed itself.
 */
export function rpcEvidence(url: string, options: { timeoutMs?: number } = {}): WatchtowerEvidence {
  const call = <T>(method: string, params: unknown[]) => nodeRpc<T>(url, method, params, options);
  return {
    async committedTxHashes(from, count) {
      const txs = await fetchRange<TxView>(url, Number(from), count, options);
      return txs.map((t) => t.txHash.toLowerCase() as Hex);
    },

    async certifiedLeaf(position) {
      const tx = await call<TxView | null>("seq_getTransactionByPosition", [`0x${position.toString(16)}`]);
      if (tx === null) return undefined;
      let json: unknown;
      try {
        json = await call<unknown>("seq_getOrderCommitment", [tx.txHash]);
      } catch (error) {
        // A certificate not signed yet: nothing to prove with (yet).
        if (error instanceof NodeRpcError && error.retryable && error.code !== undefined) return undefined;
        throw error;
      }
      if (json === null) return undefined;
      const proof = decodeOrderCommitmentProof(json);
      // The same transaction committed twice resolves to its first position: not this one.
      return proof.position === position ? proof : undefined;
    },

    async quorumLeaf(position) {
      const tx = await call<TxView | null>("seq_getTransactionByPosition", [`0x${position.toString(16)}`]);
      if (tx === null) return undefined;
      let json: unknown;
      try {
        json = await call<unknown>("seq_getQuorumCommitment", [tx.txHash]);
      } catch (error) {
        if (error instanceof NodeRpcError && error.retryable && error.code !== undefined) return undefined;
        throw error;
      }
      if (json === null) return undefined;
      const q = decodeQuorumCommitment(json);
      return q.position === position ? q : undefined;
    },

    async heldBatchHeaders(batchNumber) {
      const cut = await call<(StoredBatchHeader & { signatures: Hex[] }) | null>("seq_getBatch", [`0x${batchNumber.toString(16)}`]);
      if (cut === null || cut.signatures.length === 0) return [];
      return [{ header: toBatchHeader(cut), signatures: cut.signatures }];
    },
  };
}
