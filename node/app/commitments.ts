/**
 * The certificate part of the application state machine (`machine.ts`): applies committed
 * entries to the node store with their replicated certificates, and, on the leader, signs one
 * order-commitment certificate per applied group (covering every committed position that has
 * none yet, including positions an earlier leader committed but died before certifying).
 * Certificates are replicated as `app` entries so every member can serve any transaction's
 * commitment.
 */
import type { Address, Hex, LocalAccount } from "viem";
import type { Entry, Snapshot } from "../consensus/index.js";
import {
  SignedCertificate,
  signedCertificateFromStore,
  certifyGroup,
  domain,
  encodeOrderCommitmentProof,
  encodeQuorumCommitment,
  quorumCommitmentFromStore,
  type OrderCommitmentProofJson,
  type QuorumCommitmentJson,
} from "../commitments/index.js";
import type { NodeStore } from "../storage/index.js";
import type { StoredCertificate, StoredQuorumCertificate } from "../domain/index.js";
import type { Logger } from "../ops/logger.js";
import { encodeAppRecord, type AppliedRecord } from "../domain/records.js";

/** Most positions one certificate covers: bounds signing latency and proof size. */
const MAX_CERTIFIED_GROUP = 16_384;
/** Recently signed certificates kept with their trees, to answer waiting users without a rebuild. */
const RECENT_CERTIFICATES = 256;

export interface CommitmentServiceOptions {
  readonly store: NodeStore;
  readonly signer: LocalAccount;
  readonly chainId: number;
  readonly registry: Address;
  readonly logger: Logger;
  /** The L1 epoch whose active set this node's membership came from. */
  readonly epoch: () => number;
  /** The current Raft term while this node leads, else null. */
  readonly leaderTerm: () => number | null;
  /** Replicates an app record (false when this node is no longer the leader). */
  readonly proposeApp: (data: Uint8Array) => boolean;
  /** Takes the quorum certificates among applied records (they are stored with the same entries). */
  readonly quorum?: { certificatesIn(records: readonly AppliedRecord[]): StoredQuorumCertificate[] };
}

/** A committed transaction's quorum commitment, or the fact that no quorum certificate covers it yet. */
export type QuorumCommitmentLookup =
  | { readonly status: "certified"; readonly commitment: QuorumCommitmentJson }
  | { readonly status: "pending" };

/** A committed transaction's commitment, or the fact that its certificate is still pending. */
export type CommitmentLookup =
  | { readonly status: "certified"; readonly commitment: OrderCommitmentProofJson }
  | { readonly status: "pending-certificate"; readonly position: number }
  | { readonly status: "unknown" };

export class CommitmentService {
  private readonly store: NodeStore;
  private readonly opts: CommitmentServiceOptions;
  /** Next position without a certificate applied from the log. */
  private certifiedNext = 0;
  /**
   * How far this node signed as leader in `term`. Its own certificates count only once their
   * records apply: one signed just before a crash or a lost term may never commit, and the next
   * leader (this node again, after a restart, included) must certify those positions anew.
   */
  private signed: { readonly term: number; readonly next: number } | undefined;
  /** Recently signed certificates in ascending position order. */
  private readonly recent: SignedCertificate[] = [];
  /** Callers of `whenCertified`, woken as certificates apply (as many as submissions wait). */
  private readonly certifiedWaiters = new Set<{ readonly position: number; readonly wake: () => void }>();

  constructor(opts: CommitmentServiceOptions) {
    this.opts = opts;
    this.store = opts.store;
  }

  /** Restores `certifiedNext` from the store after a restart (it holds applied certificates only). */
  async recover(): Promise<void> {
    const last = await this.store.lastCertificate();
    this.certifiedNext = last === undefined ? 0 : last.lastPosition + 1;
  }

  get nextUncertified(): number {
    return this.certifiedNext;
  }

  /** Where this leader signs next in `term`: after its own signing in that term, else after what the log certified. */
  private signingFrom(term: number): number {
    return this.signed?.term === term ? Math.max(this.signed.next, this.certifiedNext) : this.certifiedNext;
  }

  /**
   * Applies committed entries (their app records decoded in `records`) with the certificates
   * among them; on the leader, certifies what they (and earlier gaps) hold.
   */
  async apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void> {
    const certificates: StoredCertificate[] = [];
    for (const { record } of records) {
      if (record.kind !== "certificate") continue;
      certificates.push(record.certificate);
      this.certifiedNext = Math.max(this.certifiedNext, record.certificate.lastPosition + 1);
    }
    const own = await this.certifyAsLeader(entries);
    const quorumCertificates = this.opts.quorum?.certificatesIn(records) ?? [];
    // Own certificates answer users from `recent` until their records apply and store them.
    await this.store.applyCommitted(entries, { certificates, quorumCertificates });
    this.wakeCertified();
    for (const certificate of own) {
      if (!this.opts.proposeApp(encodeAppRecord({ kind: "certificate", certificate }))) {
        // Not replicated: this node may still lead the same term (a leadership transfer refuses
        // proposals, then aborts), so it signs these positions again rather than after them; the
        // next leader, if another, starts from the log's certificates anyway.
        if (this.signed !== undefined) this.signed = { term: this.signed.term, next: certificate.firstPosition };
        this.opts.logger.info({ firstPosition: certificate.firstPosition }, "could not replicate a certificate (leadership lost or in transfer); it is signed again");
        break;
      }
    }
  }

  /**
   * After a snapshot install: `certifiedNext` is where the snapshot's log had certified to (an
   * app snapshot carries it). A snapshot without it (format 1) is taken as certified throughout.
   */
  async installSnapshot(snapshot: Snapshot, certifiedNext = snapshot.meta.nextPosition): Promise<void> {
    this.certifiedNext = Math.max(this.certifiedNext, certifiedNext);
    await this.store.markSnapshotApplied(snapshot.meta);
    this.wakeCertified();
  }

  /**
   * Resolves true once a certificate covering the committed `position` is here (signed by this
   * leader or applied from the log), false at `deadline`. A position an earlier leader committed
   * but did not certify waits for the next leader's certificate.
   */
  whenCertified(position: number, deadline: number): Promise<boolean> {
    if (this.covered(position)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        position,
        wake: () => {
          clearTimeout(timer);
          this.certifiedWaiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.certifiedWaiters.delete(waiter);
        resolve(false);
      }, Math.max(1, deadline - Date.now()));
      this.certifiedWaiters.add(waiter);
    });
  }

  private covered(position: number): boolean {
    return position < this.certifiedNext || this.recentCovering(position) !== undefined;
  }

  private wakeCertified(): void {
    for (const w of [...this.certifiedWaiters]) if (this.covered(w.position)) w.wake();
  }

  private async certifyAsLeader(entries: readonly Entry[]): Promise<StoredCertificate[]> {
    const term = this.opts.leaderTerm();
    if (term === null) return [];
    let next = this.signingFrom(term);
    let end = next;
    for (const e of entries) end = Math.max(end, e.firstPosition + (e.txs?.length ?? 0));
    const out: StoredCertificate[] = [];
    while (next < end) {
      const first = next;
      const count = Math.min(end - first, MAX_CERTIFIED_GROUP);
      const hashes = await this.hashesOf(first, count, entries);
      if (hashes === undefined) {
        // History below a snapshot still backfilling: such a leader hands over; whoever leads with it certifies.
        this.opts.logger.info({ firstPosition: first }, "cannot certify yet: transactions of committed positions are not stored here");
        break;
      }
      const signed = await certifyGroup(
        { epoch: BigInt(this.opts.epoch()), term: BigInt(term), firstPosition: BigInt(first), txHashes: hashes },
        { chainId: this.opts.chainId, registry: this.opts.registry, signer: this.opts.signer },
      );
      this.remember(signed);
      next = first + count;
      this.signed = { term, next };
      const c = signed.certificate;
      out.push({
        epoch: Number(c.epoch),
        term: Number(c.term),
        firstPosition: first,
        lastPosition: Number(c.lastPosition),
        merkleRoot: c.merkleRoot,
        signature: signed.signature,
      });
    }
    return out;
  }

  /** Tx hashes of positions [first, first+count), or undefined when one of them is not stored here yet. */
  private async hashesOf(first: number, count: number, entries: readonly Entry[]): Promise<Hex[] | undefined> {
    const out: Hex[] = new Array(count);
    let filled = 0;
    for (const e of entries) {
      const txs = e.txs;
      if (txs === undefined) continue;
      for (let i = 0; i < txs.length; i++) {
        const p = e.firstPosition + i - first;
        if (p >= 0 && p < count) {
          out[p] = txs[i]!.hash as Hex;
          filled++;
        }
      }
    }
    if (filled < count) {
      // Positions committed before these entries (an earlier leader's uncertified tail).
      const stored = await this.store.getTxRange(first, count);
      for (const tx of stored) out[tx.position - first] ??= tx.hash;
    }
    for (let i = 0; i < count; i++) if (out[i] === undefined) return undefined;
    return out;
  }

  private remember(signed: SignedCertificate): void {
    this.recent.push(signed);
    if (this.recent.length > RECENT_CERTIFICATES) this.recent.shift();
    this.wakeCertified();
  }

  /** The recent certificate covering `position`, by binary search over their first positions. */
  private recentCovering(position: number): SignedCertificate | undefined {
    let lo = 0;
    let hi = this.recent.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.recent[mid]!.certificate;
      if (position < Number(c.firstPosition)) hi = mid - 1;
      else if (position > Number(c.lastPosition)) lo = mid + 1;
      else return this.recent[mid];
    }
    return undefined;
  }

  /** The quorum commitment of the committed transaction at `position` (see quorum-certificates.ts). */
  async quorumCommitmentAt(position: number): Promise<QuorumCommitmentLookup> {
    const q = await this.store.getQuorumCertificateForPosition(position);
    if (q === undefined) return { status: "pending" };
    const hashes = await this.store.getTxHashes(q.firstPosition, q.lastPosition - q.firstPosition + 1);
    if (hashes === undefined) return { status: "pending" }; // history still backfilling here
    const commitment = quorumCommitmentFromStore(q, hashes, position, domain(this.opts.chainId, this.opts.registry));
    return { status: "certified", commitment: encodeQuorumCommitment(commitment) };
  }

  /** The order commitment of the committed transaction at `position`. */
  async commitmentAt(position: number): Promise<CommitmentLookup> {
    const recent = this.recentCovering(position);
    if (recent !== undefined) {
      return { status: "certified", commitment: encodeOrderCommitmentProof(recent.proofFor(BigInt(position))) };
    }
    const cert = await this.store.getCertificateForPosition(position);
    if (cert === undefined) {
      const tx = await this.store.getTxByPosition(position);
      return tx === undefined ? { status: "unknown" } : { status: "pending-certificate", position };
    }
    const hashes = await this.store.getTxHashes(cert.firstPosition, cert.lastPosition - cert.firstPosition + 1);
    if (hashes === undefined) return { status: "pending-certificate", position };
    const signed = signedCertificateFromStore(cert, hashes, domain(this.opts.chainId, this.opts.registry));
    return { status: "certified", commitment: encodeOrderCommitmentProof(signed.proofAt(position - cert.firstPosition)) };
  }
}
