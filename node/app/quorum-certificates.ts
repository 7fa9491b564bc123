/**
 * Quorum certificates: the accountable form of the leader's order commitments. Every
 * `intervalMs` the leader takes the applied positions no quorum certificate covers yet (and no
 * batch on L1 does), signs one OrderCommitment over them and asks the epoch's members to sign
 * the same; once signers holding more than half of the epoch's stake did, it replicates the
 * certificate with their signatures (app record `quorumCertificate`) and every member serves it
 * (`seq_getQuorumCommitment`).
 *
 * A member signs only positions it has applied (committed, so they never change) whose root its
 * own log reproduces. So an honest member never signs a certificate and a batch header that
 * disagree, and any batch contradicting a quorum certificate is signed by someone who signed
 * both (two stake majorities of one epoch intersect): that signer is slashable
 * (`Slashing.slashBrokenCommitment`), whoever the leader was and whatever a colluding majority
 * of the batch's signers does.
 */
import type { Hex, LocalAccount } from "viem";
import { Reader, Writer, bytesToHex } from "../codec/index.js";
import type { NodeId } from "../consensus/index.js";
import { CommitmentError } from "../commitments/errors.js";
import {
  buildPositionalTree,
  gatherStakeMajority,
  merkleRoot,
  recoverOrderCommitmentSigner,
  signOrderCommitment,
  type OrderCommitment,
  type SequencerDomain,
  type StakedSigner,
} from "../commitments/index.js";
import type { StoredQuorumCertificate } from "../domain/index.js";
import { encodeAppRecord, type AppliedRecord } from "../domain/records.js";
import type { Logger } from "../ops/logger.js";
import type { NodeStore } from "../storage/index.js";
import { decodeSignatureResponse, encodeSignatureResponse } from "../batching/wire.js";

/** Most positions one quorum certificate covers (bounds each member's hashing per request). */
const MAX_QUORUM_RANGE = 16_384;

/** A member refuses to co-sign a certificate; `reason` says why. */
export class CosignRefusedError extends CommitmentError {
  override readonly name = "CosignRefusedError";
  constructor(
    readonly firstPosition: number,
    readonly lastPosition: number,
    readonly reason: string,
  ) {
    super(`refusing to co-sign positions [${firstPosition}, ${lastPosition}]: ${reason}`);
  }
}

export interface QuorumCertificatesOptions {
  readonly store: NodeStore;
  readonly signer: LocalAccount;
  readonly domain: SequencerDomain;
  readonly selfId: NodeId;
  readonly logger: Logger;
  /** The members of an epoch's active set with their frozen stakes. */
  readonly epochView: (epoch: number) => Promise<{ readonly members: readonly StakedSigner<NodeId>[] }>;
  /** Sends a `certificateSignature` request to a member; resolves with its response payload. */
  readonly request: (nodeId: NodeId, payload: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  /** Replicates an app record (false when this node is no longer the leader). */
  readonly proposeApp: (data: Uint8Array) => boolean;
  /** The current Raft term while this node acts as leader, else null. */
  readonly leaderTerm: () => number | null;
  /** The current L1 epoch as the node follows it. */
  readonly epoch: () => number;
  /** First position not in a batch L1 accepted: positions before it need no quorum certificate. */
  readonly postedNext: () => number;
  /** How long a member waits for the asked positions to be applied here (default 1 s). */
  readonly applyWaitMs?: number;
  readonly requestTimeoutMs?: number;
  readonly now?: () => number;
}

export class QuorumCertificates {
  private readonly opts: QuorumCertificatesOptions;
  private readonly now: () => number;
  /** First position no applied quorum certificate covers. */
  private next = 0;
  /** A proposed certificate whose record has not applied yet: wait for it before the next. */
  private proposed: { readonly lastPosition: number; readonly until: number } | undefined;
  private stepping = false;

  constructor(opts: QuorumCertificatesOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  async recover(): Promise<void> {
    const last = await this.opts.store.lastQuorumCertificate();
    this.next = last === undefined ? 0 : last.lastPosition + 1;
  }

  /** First position no applied quorum certificate covers. */
  get nextUncovered(): number {
    return this.next;
  }

  /** The quorum certificates among `records`, for the store's `applyCommitted` of the same entries. */
  certificatesIn(records: readonly AppliedRecord[]): StoredQuorumCertificate[] {
    const out: StoredQuorumCertificate[] = [];
    for (const { record } of records) {
      if (record.kind !== "quorumCertificate") continue;
      out.push(record.certificate);
      this.next = Math.max(this.next, record.certificate.lastPosition + 1);
    }
    return out;
  }

  /** One leader step: certify the uncovered applied positions with a stake majority. Steps never overlap. */
  async step(): Promise<void> {
    if (this.stepping) return;
    this.stepping = true;
    try {
      await this.certify();
    } finally {
      this.stepping = false;
    }
  }

  private async certify(): Promise<void> {
    const term = this.opts.leaderTerm();
    if (term === null) return;
    if (this.proposed !== undefined) {
      if (this.next > this.proposed.lastPosition || this.now() >= this.proposed.until) this.proposed = undefined;
      else return;
    }
    const from = Math.max(this.next, this.opts.postedNext());
    const applied = this.opts.store.status().nextPosition;
    if (applied <= from) return;
    const count = Math.min(applied - from, MAX_QUORUM_RANGE);
    const hashes = await this.opts.store.getTxHashes(from, count);
    if (hashes === undefined) return; // history below a snapshot still backfilling here
    const certificate: OrderCommitment = {
      epoch: BigInt(this.opts.epoch()),
      term: BigInt(term),
      firstPosition: BigInt(from),
      lastPosition: BigInt(from + count - 1),
      merkleRoot: merkleRoot(buildPositionalTree(from, hashes)),
    };
    const { members } = await this.opts.epochView(Number(certificate.epoch));
    const gathered = new Map<`0x${string}`, Hex>();
    const result = await gatherStakeMajority(
      members,
      gathered,
      async (member) =>
        member.nodeId === this.opts.selfId
          ? this.sign(certificate)
          : decodeSignatureResponse(await this.opts.request(member.nodeId, encodeCosignRequest(certificate), this.opts.requestTimeoutMs ?? 5_000)),
      (signature) => recoverOrderCommitmentSigner(this.opts.domain, certificate, signature),
    );
    if (!result.reached) {
      this.opts.logger.warn(
        { firstPosition: from, lastPosition: from + count - 1, signedStake: String(result.signedStake), activeStake: String(result.activeStake), failures: Object.fromEntries(result.failures) },
        "quorum certificate not signed by more than half the stake yet; retrying",
      );
      return;
    }
    const stored: StoredQuorumCertificate = {
      epoch: Number(certificate.epoch),
      term,
      firstPosition: from,
      lastPosition: from + count - 1,
      merkleRoot: certificate.merkleRoot,
      signatures: [...gathered.values()],
    };
    if (this.opts.proposeApp(encodeAppRecord({ kind: "quorumCertificate", certificate: stored }))) {
      this.proposed = { lastPosition: stored.lastPosition, until: this.now() + 10_000 };
    }
  }

  /** Answers a `certificateSignature` request: this member's signature, or a CosignRefusedError. */
  async handleSignatureRequest(payload: Uint8Array): Promise<Uint8Array> {
    return encodeSignatureResponse(await this.sign(decodeCosignRequest(payload)));
  }

  /** Signs `c` if this node has applied all its positions and its own log gives the same root. */
  async sign(c: OrderCommitment): Promise<Hex> {
    const first = Number(c.firstPosition);
    const last = Number(c.lastPosition);
    const refuse = (reason: string): never => {
      throw new CosignRefusedError(first, last, reason);
    };
    if (last < first || last - first + 1 > MAX_QUORUM_RANGE) refuse(`the range must hold 1 to ${MAX_QUORUM_RANGE} positions`);
    const deadline = this.now() + (this.opts.applyWaitMs ?? 1_000);
    while (this.opts.store.status().nextPosition <= last) {
      if (this.now() >= deadline) refuse(`position ${last} is not applied here yet`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const hashes = await this.opts.store.getTxHashes(first, last - first + 1);
    if (hashes === undefined) return refuse("part of the range is not stored here (history still backfilling)");
    const root = merkleRoot(buildPositionalTree(first, hashes));
    if (root !== c.merkleRoot.toLowerCase()) refuse(`this node's log gives the root ${root}`);
    return signOrderCommitment(this.opts.signer, this.opts.domain, c);
  }
}

export function encodeCosignRequest(c: OrderCommitment): Uint8Array {
  const w = new Writer(80);
  w.varint(Number(c.epoch), "epoch");
  w.varint(Number(c.term), "term");
  w.varint(Number(c.firstPosition), "firstPosition");
  w.varint(Number(c.lastPosition), "lastPosition");
  w.hex(c.merkleRoot, 32, "merkleRoot");
  return w.finish();
}

/** @throws CodecError for a payload that is not exactly one certificate */
export function decodeCosignRequest(payload: Uint8Array): OrderCommitment {
  const r = new Reader(payload, "certificate signature request");
  const epoch = BigInt(r.varint("epoch"));
  const term = BigInt(r.varint("term"));
  const firstPosition = BigInt(r.varint("firstPosition"));
  const lastPosition = BigInt(r.varint("lastPosition"));
  const merkleRoot = bytesToHex(r.raw(32, "merkleRoot"));
  r.end();
  return { epoch, term, firstPosition, lastPosition, merkleRoot };
}
