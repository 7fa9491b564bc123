/**
 * The leader's way to L1 for one cut: a quorum of its epoch's set signs the header, then the
 * header, its data and the signatures go to the inbox. `BatchPoster` is the seam: production
 * runs `QuorumPoster`; a fault fixture may wrap it (through `SequencerNode.start`'s programmatic
 * options only, never configuration).
 */
import type { Address, Hex } from "viem";
import type { NodeId } from "../consensus/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import type { InboxWriter, SubmitOutcome } from "../l1/inbox-writer.js";
import { QuorumNotReachedError } from "./errors.js";
import { toBatchHeader } from "./header.js";
import type { BatchSigner } from "./signer.js";
import { decodeSignatureResponse, encodeSignatureRequest } from "./wire.js";

export interface BatchPoster {
  /** Valid signatures of `h` (hash `hash`) from members holding more than half of its epoch's stake; throws QuorumNotReachedError. */
  gatherSignatures(h: StoredBatchHeader, hash: Hex): Promise<Hex[]>;
  /**
   * Posts `h` with its data and signatures and waits for the receipt, or sends nothing when L1
   * already holds `h`; throws BatchL1Error (with `revert` on a revert).
   */
  submit(h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[]): Promise<SubmitOutcome>;
}

/** The members of an epoch's active set that may sign its headers, with their frozen stakes. */
export interface BatchEpochView {
  readonly members: readonly { readonly nodeId: NodeId; readonly signer: Address; readonly stake: bigint }[];
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
    const activeStake = view.members.reduce((sum, m) => sum + m.stake, 0n);
    const stakeOf = new Map(view.members.map((m) => [m.signer.toLowerCase(), m.stake]));
    if (this.gathered?.hash !== hash) this.gathered = { hash, bySigner: new Map() };
    const got = this.gathered.bySigner;
    const failures: Record<string, string> = {};
    const signedStake = () => [...got.keys()].reduce((sum, signer) => sum + (stakeOf.get(signer) ?? 0n), 0n);
    const enough = () => signedStake() * 2n > activeStake;
    const ask = async (member: BatchEpochView["members"][number]): Promise<void> => {
      const signer = member.signer.toLowerCase() as Address;
      if (got.has(signer)) return;
      try {
        const signature =
          member.nodeId === this.opts.selfId
            ? await this.opts.signer.sign(h)
            : decodeSignatureResponse(await this.opts.request(member.nodeId, encodeSignatureRequest(h), this.opts.signatureTimeoutMs ?? 5_000));
        const recovered = await this.opts.signer.recover(h, signature);
        if (recovered !== signer) throw new Error(`signature recovers to ${recovered}, the set has ${signer} for this member`);
        got.set(signer, signature);
      } catch (error) {
        failures[member.nodeId] = (error as Error).message;
      }
    };
    if (!enough()) {
      // Everyone is asked at once; the answer is taken as soon as more than half the stake has signed.
      await new Promise<void>((resolve) => {
        let left = view.members.length;
        if (left === 0) resolve();
        for (const m of view.members) {
          void ask(m).finally(() => {
            left--;
            if (enough() || left === 0) resolve();
          });
        }
      });
    }
    if (!enough()) throw new QuorumNotReachedError(h.batchNumber, h.epoch, signedStake(), activeStake, failures);
    return [...got.values()];
  }

  submit(h: StoredBatchHeader, data: Uint8Array, signatures: readonly Hex[]): Promise<SubmitOutcome> {
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
