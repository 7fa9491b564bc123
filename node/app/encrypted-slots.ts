/**
 * Encrypted transactions after ordering (docs/threshold-encryption.md, "The encrypted flow"): the
 * slot state every node derives from the stream's position records (node/domain/positions.ts) and
 * the members' `keyRelease` app records, and each node's duties around it.
 *
 * - Deterministic part (`apply`): a `0xb1` ciphertext joins its slot unless the slot is closed
 *   (late) or the bytes are no ciphertext of this chain (malformed); `0xb2` closes every slot of
 *   the epoch up to its number; the first `0xb3` whose key passes the pairing check against the
 *   epoch key, or the first `0xb4`, settles a slot; later ones are no-ops. A release applied
 *   before its slot's close is evidence of an early release (signed, so attributable).
 * - Member duty: once its own log has a slot's close, a member releases its key shares for the
 *   slot as a signed `keyRelease` record, sent to the leader (resent until the slot settles).
 * - Leader duties: while ciphertexts wait, close the next slot every `closeIntervalMs`; once the releases in the log
 *   hold a stake majority, combine them and propose `0xb3`; past `deadlineMs` after the close
 *   (counted from when this node led and saw the close), propose `0xb4`. A new leader resumes
 *   from the applied state, so a slot ordered under one leader still ends in `0xb3` or `0xb4`.
 * - Decryption: each keyed slot's ciphertexts are opened and checked as transactions on the
 *   decode pool's workers (node/intake/decrypt.ts); each position ends decrypted or invalid.
 *
 * The state lives in memory; a restarted node rebuilds it from its stored positions (`recover`).
 */
import { type Address, type Hex, type LocalAccount, bytesToHex, isAddressEqual, keccak256, recoverMessageAddress } from "viem";
import { CodecError, Writer } from "../codec/index.js";
import type { Entry, NodeId } from "../consensus/index.js";
import { decodeAppRecord, decodePositionRecord, encodeAppRecord, encodePositionRecord, isPositionRecord, type AppRecord, type AppliedRecord, type CommittedTx, type PositionRecord } from "../domain/index.js";
import type { DecodeResult, SlotKeyWire } from "../intake/index.js";
import type { Logger } from "../ops/logger.js";
import {
  InsufficientSharesError,
  InvalidSlotKeyError,
  type KeyShareRelease,
  ThresholdError,
  type Ciphertext,
  type G1Point,
  combineSlotKey,
  decodeCiphertext,
  decodeKeyShareRelease,
  encodeKeyShareRelease,
  g1ToBytes,
  g2FromBytes,
  g2ToBytes,
  parseSlotIdentity,
  prepareSlotKey,
  releaseKeyShares,
  slotIdentity,
} from "../threshold/index.js";
import { type EpochKey, memberRecordDigest } from "./epoch-keys.js";

const DIGEST_TAG = "staked-sequencer/key-release/v1";
/** How often a member resends its release, and a leader its slot key or deadline record, while the slot is unsettled. */
const RESEND_MS = 1_000;
/** How far past the open slot a ciphertext may name its slot (bounds how far one client can push the slots on). */
export const MAX_SLOTS_AHEAD = 64;
/** Positions whose outcome is kept for `seq_getDecryptedTransaction`. */
const POSITIONS_KEPT = 200_000;
const EVIDENCE_KEPT = 64;

/** A release or share refused, or a ciphertext refused at intake: `reason` is a stable code. */
export class EncryptedTransactionError extends ThresholdError {
  override readonly name = "EncryptedTransactionError";
  constructor(
    readonly reason: "no-epoch-key" | "wrong-chain" | "wrong-epoch" | "slot-closed" | "slot-too-far" | "not-leader" | "bad-release",
    message: string,
  ) {
    super(message);
  }
}

export type DecryptedTransaction = { readonly hash: Hex; readonly from: Address; readonly raw: Hex; readonly nonce: number; readonly to: Address | null };

/** What a node knows of one encrypted position. */
export type PositionOutcome = {
  readonly position: number;
  readonly epoch: number | null;
  readonly slot: number | null;
  /**
   * `pending`: ordered, slot not settled yet; `decrypted`: valid plaintext; `invalid`: the plaintext (or the ciphertext)
   * fails the checks; `undecryptable`: the slot's key never came (0xb4); `late`: ordered after its slot's close; `malformed`:
   * not a ciphertext of this chain. All but `pending` are final.
   */
  readonly status: "pending" | "decrypted" | "invalid" | "undecryptable" | "late" | "malformed";
  readonly transaction?: DecryptedTransaction;
  readonly reason?: string;
};

export type Evidence = {
  readonly kind: "early-release" | "wrong-share";
  readonly epoch: number;
  readonly slot: number;
  readonly nodeId: NodeId;
  readonly member: number;
  readonly detail: string;
};

export interface EncryptedSlotsOptions {
  /** The rollup's chain id: slot identities and plaintexts are bound to it. */
  readonly rollupChainId: number;
  /** L1 chain id and registry: bound into each release's signature. */
  readonly chainId: number;
  readonly registry: Address;
  readonly selfId: NodeId;
  readonly signer: LocalAccount;
  readonly logger: Logger;
  /** The epoch's key once its DKG succeeded (node/app/epoch-keys.ts); undefined everywhere for a reader of the stream alone (a rebuild from L1). */
  readonly epochKey: (epoch: number) => EpochKey | undefined;
  /** The public key slot keys are checked against; default the DKG's. A rebuild from L1 gives the anchored one (EpochKeys). */
  readonly publicKey?: (epoch: number) => G1Point | undefined;
  /** Loads an epoch's DKG state (its key) if it is not in memory yet: `recover` needs old epochs' keys. */
  readonly loadEpoch: (epoch: number) => Promise<void>;
  /** The epoch encrypted transactions are accepted for now. */
  readonly currentEpoch: () => number;
  readonly request: (to: NodeId, payload: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  readonly proposeApp: (data: Uint8Array) => boolean;
  /** Proposes a position record (leader only). */
  readonly propose: (tx: { hash: string; data: Uint8Array }) => void;
  readonly isLeader: () => boolean;
  readonly leader: () => NodeId | null;
  /** Opens a slot's ciphertexts and checks the plaintexts (the decode pool, or inline). */
  readonly decrypt: (slot: SlotKeyWire, ciphertexts: readonly Uint8Array[]) => Promise<DecodeResult[]>;
  /** How often the leader closes the open slots (default 150 ms). */
  readonly closeIntervalMs?: number;
  /** How long after a close the leader waits for the slot key before it proposes 0xb4 (default 10 s). */
  readonly deadlineMs?: number;
  readonly now?: () => number;
  /** For tests and fault runs only: a member that never releases its shares (SequencerNode.start's `encryptedFaults`). */
  readonly faults?: { readonly withholdReleases?: boolean };
}

type SlotState = {
  readonly epoch: number;
  readonly slot: number;
  readonly identity: Uint8Array;
  /** Ciphertexts ordered in the slot, with their bytes until decrypted. */
  readonly ciphertexts: { readonly position: number; bytes: Uint8Array | undefined }[];
  closedAt?: number;
  /** When this node applied the close (the leader's deadline clock). */
  closedSeenAt?: number;
  outcome?: "key" | "undecryptable";
  readonly releases: Map<number, KeyShareRelease>;
  /** Leader: when it last proposed the key or the deadline record; how many releases its last combine saw. */
  proposedAt: number;
  combinedWith: number;
  /** Member: its signed release and when it was last sent. */
  release?: Uint8Array;
  releaseSentAt: number;
};

type EpochSlots = { closedThrough: number; readonly slots: Map<number, SlotState>; proposedClose: number; proposedCloseAt: number };

/** What a member signs for a release: chain, registry, epoch, member, then the slot (u64) and the release. */
export function keyReleaseDigest(chainId: number, registry: Address, epoch: number, slot: number, member: number, release: Uint8Array): Hex {
  const w = new Writer(8 + release.length);
  w.u64be(slot, "slot");
  w.raw(release);
  return memberRecordDigest(DIGEST_TAG, chainId, registry, epoch, member, w.finish());
}

/** The hash a position record is ordered (and committed) under. */
export function positionHash(data: Uint8Array): Hex {
  return keccak256(data);
}

/** The epoch a slot key record names (the one record whose check needs the epoch key). */
function epochOf(data: Uint8Array): number | undefined {
  try {
    const record = decodePositionRecord(data);
    return record?.kind === "slotKey" ? record.epoch : undefined;
  } catch {
    return undefined;
  }
}

type ReleaseRecord = Extract<AppRecord, { kind: "keyRelease" }>;

export class EncryptedSlots {
  private readonly opts: EncryptedSlotsOptions;
  private readonly now: () => number;
  private readonly epochs = new Map<number, EpochSlots>();
  private readonly positions = new Map<number, PositionOutcome>();
  private readonly evidence: Evidence[] = [];
  private readonly decrypting = new Set<Promise<void>>();
  private leaderSince: number | undefined;
  private lastCloseAt = -Infinity;
  private step: Promise<void> | undefined;
  private readonly counts = { slotsKeyed: 0, slotsUndecryptable: 0, decrypted: 0, invalid: 0 };

  constructor(opts: EncryptedSlotsOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  // ---- the deterministic part ----

  async apply(entries: readonly Entry[], records: readonly AppliedRecord[]): Promise<void> {
    const releases = new Map<Entry, ReleaseRecord>();
    for (const { entry, record } of records) if (record.kind === "keyRelease") releases.set(entry, record);
    for (const entry of entries) {
      entry.txs?.forEach((tx, i) => {
        if (isPositionRecord(tx.data)) this.applyPosition(entry.firstPosition + i, tx.data);
      });
      const release = releases.get(entry);
      if (release !== undefined) await this.applyRelease(release);
    }
  }

  /** Rebuilds the slot state from stored positions after a restart (the log does not re-apply applied entries). */
  async recover(read: (from: number, limit: number) => Promise<readonly CommittedTx[]>): Promise<void> {
    for (let from = 0; ; ) {
      const txs = await read(from, 1_000);
      if (txs.length === 0) return;
      for (const tx of txs) {
        if (!isPositionRecord(tx.data)) continue;
        const epoch = epochOf(tx.data);
        if (epoch !== undefined) await this.opts.loadEpoch(epoch);
        this.applyPosition(tx.position, tx.data);
      }
      from = txs.at(-1)!.position + 1;
    }
  }

  private epochSlots(epoch: number): EpochSlots {
    let es = this.epochs.get(epoch);
    if (es === undefined) {
      es = { closedThrough: -1, slots: new Map(), proposedClose: -1, proposedCloseAt: -Infinity };
      this.epochs.set(epoch, es);
    }
    return es;
  }

  private applyPosition(position: number, data: Uint8Array): void {
    let record: PositionRecord | undefined;
    try {
      record = decodePositionRecord(data);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      if (data[0] === 0xb1) this.setOutcome({ position, epoch: null, slot: null, status: "malformed", reason: error.message });
      return;
    }
    if (record === undefined) return;
    if (record.kind === "ciphertext") return this.applyCiphertext(position, record.ciphertext);
    const es = this.epochSlots(record.epoch);
    if (record.kind === "close") {
      if (record.slot <= es.closedThrough) return;
      for (const st of es.slots.values()) {
        if (st.slot > es.closedThrough && st.slot <= record.slot) {
          st.closedAt = position;
          st.closedSeenAt = this.now();
        }
      }
      es.closedThrough = record.slot;
      return;
    }
    const st = es.slots.get(record.slot);
    if (st === undefined || st.closedAt === undefined || st.outcome !== undefined) return;
    if (record.kind === "undecryptable") {
      st.outcome = "undecryptable";
      this.counts.slotsUndecryptable++;
      for (const c of st.ciphertexts) this.setOutcome({ position: c.position, epoch: st.epoch, slot: st.slot, status: "undecryptable", reason: "the slot's key did not come before the deadline" });
      st.ciphertexts.length = 0;
      this.opts.logger.warn({ epoch: st.epoch, slot: st.slot, position }, "slot marked undecryptable");
      return;
    }
    const publicKey = this.opts.publicKey ? this.opts.publicKey(record.epoch) : this.opts.epochKey(record.epoch)?.key.publicKey;
    if (publicKey === undefined) return;
    try {
      prepareSlotKey(publicKey, st.identity, g2FromBytes(record.key, "slot key"));
    } catch (error) {
      if (!(error instanceof ThresholdError)) throw error;
      this.opts.logger.warn({ epoch: st.epoch, slot: st.slot, position, err: error.message }, "slot key record that fails the check: ignored");
      return;
    }
    st.outcome = "key";
    this.counts.slotsKeyed++;
    this.decryptSlot(st, record.key);
  }

  private applyCiphertext(position: number, bytes: Uint8Array): void {
    let ciphertext: Ciphertext;
    try {
      ciphertext = decodeCiphertext(bytes);
    } catch (error) {
      if (!(error instanceof ThresholdError)) throw error;
      return this.setOutcome({ position, epoch: null, slot: null, status: "malformed", reason: error.message });
    }
    const id = parseSlotIdentity(ciphertext.identity);
    if (id === undefined || id.chainId !== this.opts.rollupChainId) {
      return this.setOutcome({ position, epoch: null, slot: null, status: "malformed", reason: "the ciphertext's identity is no slot of this chain" });
    }
    const es = this.epochSlots(id.epoch);
    if (id.slot <= es.closedThrough) {
      return this.setOutcome({ position, epoch: id.epoch, slot: id.slot, status: "late", reason: "ordered after its slot's close" });
    }
    let st = es.slots.get(id.slot);
    if (st === undefined) {
      st = { epoch: id.epoch, slot: id.slot, identity: ciphertext.identity, ciphertexts: [], releases: new Map(), proposedAt: -Infinity, combinedWith: 0, releaseSentAt: -Infinity };
      es.slots.set(id.slot, st);
    }
    st.ciphertexts.push({ position, bytes: bytes.slice() });
    this.setOutcome({ position, epoch: id.epoch, slot: id.slot, status: "pending" });
  }

  private async applyRelease(record: ReleaseRecord): Promise<void> {
    const key = this.opts.epochKey(record.epoch);
    if (key === undefined) return;
    const release = await this.checkedRelease(key, record);
    if (release === undefined) return;
    const es = this.epochSlots(record.epoch);
    if (record.slot > es.closedThrough) {
      this.addEvidence({ kind: "early-release", epoch: record.epoch, slot: record.slot, nodeId: key.members[record.member]!.nodeId, member: record.member, detail: `released before the slot's close (closed through ${es.closedThrough})` });
      return;
    }
    const st = es.slots.get(record.slot);
    if (st !== undefined && st.outcome === undefined) st.releases.set(record.member, release);
  }

  /** The release a record carries if its member signed it and it is for the record's slot; undefined otherwise. */
  private async checkedRelease(key: EpochKey, record: ReleaseRecord): Promise<KeyShareRelease | undefined> {
    const member = key.members[record.member];
    if (member === undefined) return undefined;
    try {
      const digest = keyReleaseDigest(this.opts.chainId, this.opts.registry, record.epoch, record.slot, record.member, record.release);
      if (!isAddressEqual(await recoverMessageAddress({ message: { raw: digest }, signature: record.signature }), member.signer)) return undefined;
      const release = decodeKeyShareRelease(record.release);
      const identity = slotIdentity(this.opts.rollupChainId, record.epoch, record.slot);
      if (release.member !== record.member || bytesToHex(release.identity) !== bytesToHex(identity)) return undefined;
      return release;
    } catch {
      return undefined;
    }
  }

  private decryptSlot(st: SlotState, key: Uint8Array): void {
    const items = st.ciphertexts.splice(0);
    if (items.length === 0) return;
    const run = this.opts
      .decrypt({ identity: st.identity, key }, items.map((c) => c.bytes!))
      .then((results) => {
        results.forEach((result, i) => {
          const { position } = items[i]!;
          if (result.ok) {
            const { hash, from, raw, nonce, to } = result.tx;
            this.counts.decrypted++;
            this.setOutcome({ position, epoch: st.epoch, slot: st.slot, status: "decrypted", transaction: { hash, from, raw, nonce, to } });
          } else {
            this.counts.invalid++;
            this.setOutcome({ position, epoch: st.epoch, slot: st.slot, status: "invalid", reason: result.error.message });
          }
        });
      })
      .catch((error: Error) => {
        // The pool closed (shutdown) or a worker died: put the slot back so the next key record or a restart retries.
        this.opts.logger.error({ epoch: st.epoch, slot: st.slot, err: error.message }, "decryption of a keyed slot failed");
        st.ciphertexts.push(...items);
        st.outcome = undefined;
      })
      .finally(() => this.decrypting.delete(run));
    this.decrypting.add(run);
  }

  private setOutcome(outcome: PositionOutcome): void {
    this.positions.set(outcome.position, outcome);
    if (this.positions.size > POSITIONS_KEPT) this.positions.delete(this.positions.keys().next().value!);
  }

  private addEvidence(e: Evidence): void {
    this.opts.logger.warn(e, "key share misbehaviour on record");
    this.evidence.push(e);
    if (this.evidence.length > EVIDENCE_KEPT) this.evidence.shift();
  }

  // ---- reads ----

  /** The outcome of an encrypted position; undefined if the position holds no ciphertext (or is older than what is kept). */
  outcomeAt(position: number): PositionOutcome | undefined {
    return this.positions.get(position);
  }

  /** Resolves once every decryption started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.decrypting.size > 0) await Promise.all([...this.decrypting]);
  }

  /** The slot a client should encrypt to now: the current epoch's first open slot, if the epoch has a key. */
  target(): { readonly chainId: number; readonly epoch: number; readonly slot: number; readonly publicKey: Hex } | undefined {
    const epoch = this.opts.currentEpoch();
    const key = this.opts.epochKey(epoch);
    if (key === undefined) return undefined;
    return { chainId: this.opts.rollupChainId, epoch, slot: this.closedView(epoch) + 1, publicKey: bytesToHex(g1ToBytes(key.key.publicKey)) };
  }

  private closedView(epoch: number): number {
    const es = this.epochs.get(epoch);
    if (es === undefined) return -1;
    return this.opts.isLeader() ? Math.max(es.closedThrough, es.proposedClose) : es.closedThrough;
  }

  /** Throws EncryptedTransactionError unless `ciphertext` may be ordered now: this chain, the current epoch with a key, an open slot not too far ahead. */
  admit(ciphertext: Ciphertext): void {
    const id = parseSlotIdentity(ciphertext.identity);
    if (id === undefined || id.chainId !== this.opts.rollupChainId) throw new EncryptedTransactionError("wrong-chain", `the ciphertext is not encrypted to a slot of chain ${this.opts.rollupChainId}`);
    const epoch = this.opts.currentEpoch();
    if (this.opts.epochKey(epoch) === undefined) throw new EncryptedTransactionError("no-epoch-key", `epoch ${epoch} has no epoch key: send the transaction in plaintext, or wait for the key`);
    if (id.epoch !== epoch) throw new EncryptedTransactionError("wrong-epoch", `the ciphertext is for epoch ${id.epoch}, the current epoch is ${epoch}: encrypt it again to the current target`);
    const closed = this.closedView(epoch);
    if (id.slot <= closed) throw new EncryptedTransactionError("slot-closed", `slot ${id.slot} of epoch ${epoch} is closed: encrypt it again to slot ${closed + 1} or later`);
    if (id.slot > closed + MAX_SLOTS_AHEAD) throw new EncryptedTransactionError("slot-too-far", `slot ${id.slot} is more than ${MAX_SLOTS_AHEAD} slots past the open slot ${closed + 1}`);
  }

  status() {
    const epoch = this.opts.currentEpoch();
    let pendingSlots = 0;
    let pendingTransactions = 0;
    for (const es of this.epochs.values()) {
      for (const st of es.slots.values()) {
        if (st.outcome !== undefined) continue;
        pendingSlots++;
        pendingTransactions += st.ciphertexts.length;
      }
    }
    return { epoch, openSlot: this.closedView(epoch) + 1, pendingSlots, pendingTransactions, ...this.counts, evidence: [...this.evidence] };
  }

  // ---- duties ----

  /** One step: as a member release shares for closed slots, as leader close, combine and enforce the deadline. Steps never overlap. */
  tick(): Promise<void> {
    this.step ??= this.duties().finally(() => (this.step = undefined));
    return this.step;
  }

  /** Whether this node leads now, keeping when it started to (the deadline counts from then) and forgetting its proposed closes when it stops. */
  private leadingNow(): boolean {
    if (!this.opts.isLeader()) {
      this.leaderSince = undefined;
      for (const es of this.epochs.values()) es.proposedClose = -1;
      return false;
    }
    this.leaderSince ??= this.now();
    return true;
  }

  private async duties(): Promise<void> {
    const leading = this.leadingNow();
    for (const [epoch, es] of this.epochs) {
      const key = this.opts.epochKey(epoch);
      if (leading) this.close(epoch, es);
      for (const st of es.slots.values()) {
        if (st.closedAt === undefined || st.outcome !== undefined) continue;
        if (key?.secretShares !== undefined && key.self !== undefined && !st.releases.has(key.self) && this.opts.faults?.withholdReleases !== true) await this.release(key, st);
        if (leading) this.settle(key, st);
      }
      this.prune(es);
    }
  }

  private close(epoch: number, es: EpochSlots): void {
    const now = this.now();
    if (es.proposedClose > es.closedThrough && now - es.proposedCloseAt >= RESEND_MS) {
      // Not applied within a second: the proposal may have been dropped (same bytes, so at most one position).
      es.proposedCloseAt = now;
      this.proposePosition({ kind: "close", epoch, slot: es.proposedClose });
      return;
    }
    if (now - this.lastCloseAt < (this.opts.closeIntervalMs ?? 150)) return;
    // One slot per interval while any ciphertext waits: a client that encrypts k slots past the open
    // one has k intervals to get its ciphertext ordered, whatever others send.
    const closed = Math.max(es.closedThrough, es.proposedClose);
    let pending = false;
    for (const st of es.slots.values()) if (st.closedAt === undefined && st.slot > closed) pending = true;
    if (!pending) return;
    const slot = closed + 1;
    this.lastCloseAt = now;
    es.proposedClose = slot;
    es.proposedCloseAt = now;
    this.proposePosition({ kind: "close", epoch, slot });
  }

  private async release(key: EpochKey, st: SlotState): Promise<void> {
    const now = this.now();
    if (now - st.releaseSentAt < RESEND_MS) return;
    st.releaseSentAt = now;
    if (st.release === undefined) {
      const release = encodeKeyShareRelease(releaseKeyShares(key.self!, key.secretShares!, st.identity));
      const digest = keyReleaseDigest(this.opts.chainId, this.opts.registry, st.epoch, st.slot, key.self!, release);
      const signature = await this.opts.signer.signMessage({ message: { raw: digest } });
      st.release = encodeAppRecord({ kind: "keyRelease", epoch: st.epoch, slot: st.slot, member: key.self!, release, signature });
    }
    const leader = this.opts.leader();
    if (this.opts.isLeader()) this.opts.proposeApp(st.release);
    else if (leader !== null) {
      this.opts.request(leader, st.release, 5_000).catch((error: Error) => this.opts.logger.debug({ epoch: st.epoch, slot: st.slot, to: leader, err: error.message }, "key release not taken by the leader yet"));
    }
  }

  private settle(key: EpochKey | undefined, st: SlotState): void {
    const now = this.now();
    if (now - st.proposedAt < RESEND_MS) return;
    if (key !== undefined && st.releases.size > 0 && st.releases.size !== st.combinedWith) {
      st.combinedWith = st.releases.size;
      try {
        const combined = combineSlotKey(key.key, st.identity, [...st.releases.values()]);
        for (const wrong of combined.invalid) {
          this.addEvidence({ kind: "wrong-share", epoch: st.epoch, slot: st.slot, nodeId: key.members[wrong.member]!.nodeId, member: wrong.member, detail: wrong.message });
          st.releases.delete(wrong.member);
        }
        st.proposedAt = now;
        this.proposePosition({ kind: "slotKey", epoch: st.epoch, slot: st.slot, key: g2ToBytes(combined.slotKey.key) });
        return;
      } catch (error) {
        if (!(error instanceof InsufficientSharesError) && !(error instanceof InvalidSlotKeyError)) throw error;
      }
    }
    const since = Math.max(st.closedSeenAt ?? now, this.leaderSince ?? now);
    if (now - since >= (this.opts.deadlineMs ?? 10_000)) {
      st.proposedAt = now;
      this.proposePosition({ kind: "undecryptable", epoch: st.epoch, slot: st.slot });
    }
  }

  /** Proposed slot keys are re-proposed after RESEND_MS while unsettled: a leader change may have lost them. */
  private proposePosition(record: PositionRecord): void {
    const data = encodePositionRecord(record);
    // The same record proposed twice under one hash takes one position (the core's idempotency index).
    this.opts.propose({ hash: positionHash(data), data });
  }

  /** Forgets settled slots (their positions' outcomes stay). */
  private prune(es: EpochSlots): void {
    for (const [slot, st] of es.slots) if (st.outcome !== undefined && st.ciphertexts.length === 0) es.slots.delete(slot);
  }

  /** Answers a `keyRelease` request (as leader): a member's signed release, checked and proposed. */
  async handleRelease(payload: Uint8Array): Promise<Uint8Array> {
    if (!this.opts.isLeader()) throw new EncryptedTransactionError("not-leader", "this node is not the leader");
    const record = decodeAppRecord(payload);
    if (record.kind !== "keyRelease") throw new EncryptedTransactionError("bad-release", `a ${record.kind} record is not a key release`);
    const key = this.opts.epochKey(record.epoch);
    if (key === undefined || (await this.checkedRelease(key, record)) === undefined) throw new EncryptedTransactionError("bad-release", `the record is not a release signed by member ${record.member} of epoch ${record.epoch} for its slot`);
    if (!this.opts.proposeApp(payload)) throw new EncryptedTransactionError("not-leader", "this node is not the leader");
    return new Uint8Array(0);
  }
}
