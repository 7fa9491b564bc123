/**
 * A member's side of batch signing: it signs a header only if it equals a cut applied from the
 * replicated log that its own log reproduces, and records the signed header durably before the
 * signature leaves (one header per batch number and epoch, never two).
 */
import type { Address, Hex, LocalAccount } from "viem";
import { recoverBatchHeaderSigner, signBatchHeader, type SequencerDomain } from "../commitments/typed-data.js";
import { ConflictingBatchHeaderError, type NodeStore } from "../storage/index.js";
import { sameBatchHeader, type StoredBatchHeader } from "../domain/index.js";
import { BatchSigningRefusedError } from "./errors.js";
import { BatchHistoryMissingError, deriveBatch, toBatchHeader } from "./header.js";
import type { BatchState } from "./state.js";
import { decodeSignatureRequest, encodeSignatureResponse } from "./wire.js";

export interface BatchSignerOptions {
  readonly store: NodeStore;
  readonly state: BatchState;
  /** The node's signing key: signs batch headers (EIP-712, registry domain). */
  readonly signer: LocalAccount;
  readonly domain: SequencerDomain;
  /** How long a request waits for its header's cut to be applied here (default 2 s). */
  readonly cutWaitMs?: number;
  readonly stopped: () => boolean;
}

export class BatchSigner {
  constructor(private readonly opts: BatchSignerOptions) {}

  /** Answers a `batchSignature` request: the encoded signature, or a BatchSigningRefusedError. */
  async handleSignatureRequest(payload: Uint8Array): Promise<Uint8Array> {
    return encodeSignatureResponse(await this.sign(decodeSignatureRequest(payload)));
  }

  async sign(h: StoredBatchHeader): Promise<Hex> {
    const { state, store } = this.opts;
    const refuse = (reason: string, cause?: unknown): never => {
      throw new BatchSigningRefusedError(h.batchNumber, h.epoch, reason, cause === undefined ? undefined : { cause });
    };
    const applied = await state.appliedCut(h, this.opts.cutWaitMs ?? 2_000, this.opts.stopped);
    if (applied === undefined) refuse("no such batch cut has been applied from the replicated log");
    if (!sameBatchHeader(applied!.header, h)) refuse("the header differs from the batch cut applied from the replicated log");
    let derived;
    try {
      derived = await deriveBatch(store, h);
    } catch (error) {
      if (error instanceof BatchHistoryMissingError) refuse(error.message, error);
      throw error;
    }
    if (!sameBatchHeader(derived.header, h)) {
      state.mismatchedCuts++;
      refuse(`this node's log gives merkleRoot ${derived.header.merkleRoot} and dataHash ${derived.header.dataHash}`);
    }
    const signature = await signBatchHeader(this.opts.signer, this.opts.domain, toBatchHeader(h));
    try {
      return (await store.recordSignedBatchHeader({ ...h, signature })).signature;
    } catch (error) {
      if (error instanceof ConflictingBatchHeaderError) refuse(error.message, error);
      throw error;
    }
  }

  /** The signer address a signature over `h` recovers to. */
  recover(h: StoredBatchHeader, signature: Hex): Promise<Address> {
    return recoverBatchHeaderSigner(this.opts.domain, toBatchHeader(h), signature);
  }
}
