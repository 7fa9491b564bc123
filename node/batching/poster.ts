/**
 * The leader's way to L1 for each cut: a quorum of its epoch's set signs the header, then the
 * header, its data and the signatures go to the inbox. `BatchPoster` is the seam: production
 * runs `QuorumPoster`; a fault fixture may wrap it (through `SequencerNode.start`'s programmatic
 * options only, never configuration).
 */
import type { Address, Hex } from "viem";
import type { NodeId } from "../consensus/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import type { ForcedCoverageArg, InboxWriter } from "../l1/inbox-writer.js";
import type { SentTx } from "../l1/tx-sender.js";
import type { BlobCarrier } from "../l1/blobs.js";
import { gatherStakeMajority, type StakedSigner } from "../commitments/quorum.js";
import { QuorumNotReachedError } from "./errors.js";
import { toBatchHeader } from "./header.js";
import type { BatchSigner } from "./signer.js";
import { decodeSignatureResponse, encodeSignatureRequest } from "./wire.js";

export interface BatchPoster {
  /** Valid signatures of `h` (hash `hash`) from members holding more than half of its epoch's stake; throws QuorumNotReachedError. */
  gatherSignatures(h: StoredBatchHeader, hash: Hex): Promise<Hex[]>;
  /**
   * Sends `h` with its data and signatures (and in blob mode the blobs its data references) to the inbox, without waiting for it to be mined
   * (batch n+1 may follow while batch n is in the mempool); the sent transaction, or null when
   * the L1 node's pending state already holds this batch (nothing sent). Throws BatchL1Error
   * (with `revert` when a simulation reverts), FeeCapExceededError while the L1's fees are above the caps.
   * `coverage` proves the forced items the batch covers (docs/forced-inclusion.md).
   */
  submit(h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[], coverage?: readonly ForcedCoverageArg[], blobs?: BlobCarrier): Promise<SentTx | null>;
}

/** The members of an epoch's active set that may sign its headers, with their frozen stakes. */
export interface BatchEpochView {
  readonly members: readonly StakedSigner<NodeId>[];
}

export interface QuorumPosterOptions {
  readonly selfId: NodeId;
  readonly signer: BatchSigner;
  readonly inbox: InboxWriter;
  readonly epochView: (epoch: number) => Promise<BatchEpochView>;
  /** Sends a `batchSignature` request to a member; resolves with its response payload. */
  readonly request: (nodeId: NodeId, payload: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  readonly signatureTimeoutMs?: number;
}

/** Headers whose gathered signatures are kept: a window of cuts in flight, and their re-cuts. */
const GATHERED_KEPT = 16;

export class QuorumPoster implements BatchPoster {
  private readonly views = new Map<number, Promise<BatchEpochView>>();
  /** Valid signatures gathered for the latest headers (by batch hash), kept across retries. */
  private readonly gathered = new Map<Hex, Map<Address, Hex>>();

  constructor(private readonly opts: QuorumPosterOptions) {}

  async gatherSignatures(h: StoredBatchHeader, hash: Hex): Promise<Hex[]> {
    const view = await this.epochViewOf(h.epoch);
    const got = this.gathered.get(hash) ?? new Map<Address, Hex>();
    if (!this.gathered.has(hash)) {
      this.gathered.set(hash, got);
      if (this.gathered.size > GATHERED_KEPT) this.gathered.delete(this.gathered.keys().next().value!);
    }
    const result = await gatherStakeMajority(
      view.members,
      got,
      async (member) =>
        member.nodeId === this.opts.selfId
          ? this.opts.signer.sign(h)
          : decodeSignatureResponse(await this.opts.request(member.nodeId, encodeSignatureRequest(h), this.opts.signatureTimeoutMs ?? 5_000)),
      (signature) => this.opts.signer.recover(h, signature),
    );
    if (!result.reached) throw new QuorumNotReachedError(h.batchNumber, h.epoch, result.signedStake, result.activeStake, Object.fromEntries(result.failures));
    return [...got.values()];
  }

  submit(h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[], coverage: readonly ForcedCoverageArg[] = [], blobs?: BlobCarrier): Promise<SentTx | null> {
    return this.opts.inbox.sendBatch(toBatchHeader(h), data, signatures, coverage, blobs);
  }

  private epochViewOf(epoch: number): Promise<BatchEpochView> {
    let view = this.views.get(epoch);
    if (view === undefined) {
      view = this.opts.epochView(epoch);
      this.views.set(epoch, view);
      view.catch(() => this.views.delete(epoch));
      if (this.views.size > 8) this.views.delete(this.views.keys().next().value!);
    }
    return view;
  }
}
