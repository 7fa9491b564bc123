/**
 * The leader's way to L1 for one cut: a quorum of its epoch's set signs the header, then the
 * header, its data and the signatures go to the inbox. `BatchPoster` is the seam: production
 * runs `QuorumPoster`; a fault fixture may wrap it (through `SequencerNode.start`'s programmatic
 * options only, never configuration).
 */
import type { Address, Hash, Hex } from "viem";
import type { NodeId } from "../consensus/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import type { InboxWriter } from "../l1/inbox-writer.js";
import { gatherStakeMajority, type StakedSigner } from "../commitments/quorum.js";
import { QuorumNotReachedError } from "./errors.js";
import { toBatchHeader } from "./header.js";
import type { BatchSigner } from "./signer.js";
import { decodeSignatureResponse, encodeSignatureRequest } from "./wire.js";

export interface BatchPoster {
  /** Valid signatures of `h` (hash `hash`) from members holding more than half of its epoch's stake; throws QuorumNotReachedError. */
  gatherSignatures(h: StoredBatchHeader, hash: Hex): Promise<Hex[]>;
  /** Posts `h` with its data and signatures and waits for the receipt; throws BatchL1Error (with `revert` on a revert). */
  submit(h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[]): Promise<Hash>;
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

export class QuorumPoster implements BatchPoster {
  private readonly views = new Map<number, Promise<BatchEpochView>>();
  /** Valid signatures gathered for one header (by batch hash), kept across retries. */
  private gathered: { readonly hash: Hex; readonly bySigner: Map<Address, Hex> } | undefined;

  constructor(private readonly opts: QuorumPosterOptions) {}

  async gatherSignatures(h: StoredBatchHeader, hash: Hex): Promise<Hex[]> {
    const view = await this.epochViewOf(h.epoch);
    if (this.gathered?.hash !== hash) this.gathered = { hash, bySigner: new Map() };
    const got = this.gathered.bySigner;
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

  submit(h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[]): Promise<Hash> {
    return this.opts.inbox.submitBatch(toBatchHeader(h), data, signatures);
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
