/**
 * Epoch keys: every epoch's set runs the DKG of node/threshold (Pedersen's joint-Feldman with
 * public complaints, shares in proportion to stake) over the node's own channels, and every node,
 * member or not, ends up with the same verdict and the same epoch key.
 *
 * - Public messages (deal, complaint, justification) travel through the replicated log as
 *   `dkgMessage` app records, each signed by its author's signer key (EIP-191 over
 *   `dkgRecordDigest`): the leader carries them but cannot forge one, and every node checks the
 *   signature against the epoch's L1 view when it applies the record, so all judge the same
 *   transcript (docs/threshold-encryption.md, "The DKG").
 * - Private shares go member to member over a `dkgShares` request (libp2p, Noise-encrypted and
 *   authenticated: the recipient checks the sender's node id against the dealer).
 * - The leader ends each phase with a `dkgPhase` record: at the same log position on every node.
 *   Dealing ends once every member dealt or after `dealingMs`, complaints after `phaseMs`,
 *   justifications once every complaint is answered or after `phaseMs`.
 *
 * A member's polynomial comes from a seed it stores before dealing, so after a restart it deals
 * the same polynomial again and can still justify; the shares it received and the records applied
 * are stored beside it (`<dir>/epoch-<n>.json`) and replayed, since the Raft log does not re-apply
 * entries at restart. If the qualified dealers hold at most half of the stake the epoch's DKG
 * fails and the epoch runs without encryption (`status()` says why); plaintext is unaffected.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Address, type Hex, type LocalAccount, bytesToHex, hexToBytes, isAddressEqual, keccak256, recoverMessageAddress } from "viem";
import { Reader, Writer } from "../codec/index.js";
import { sameBytes } from "../threshold/bytes.js";
import type { NodeId } from "../consensus/index.js";
import type { StakedSigner } from "../commitments/index.js";
import { decodeAppRecord, encodeAppRecord, type AppRecord, type AppliedRecord } from "../domain/index.js";
import type { Logger } from "../ops/logger.js";
import {
  type DealerExclusion,
  DkgFailedError,
  DkgMember,
  DkgMessageError,
  type DkgMessage,
  type DkgPhase,
  type EpochPublicKey,
  type RandomBytes,
  type SecretShare,
  type SharesMessage,
  ThresholdError,
  decodeDkgMessage,
  dkgSession,
  encodeDkgMessage,
  epochPublicKeyFrom,
  g1ToBytes,
  judgeTranscript,
  planStakeUnits,
  randomFromSeed,
  type StakeUnitPlan,
} from "../threshold/index.js";

/** Epochs whose DKG state is kept (and snapshotted). */
const EPOCHS_KEPT = 4;
const DIGEST_TAG = "staked-sequencer/dkg-record/v1";
/** How often an unapplied message or phase end is sent again. */
const RESEND_MS = 1_000;

/** A DKG request refused: not the leader, an unknown session, a message that does not check out. */
export class DkgRefusedError extends ThresholdError {
  override readonly name = "DkgRefusedError";
}

/** What a node may do wrong in the DKG, for tests and fault runs only (SequencerNode.start's `dkgFaults`). */
export interface DkgFaults {
  /** Rewrites the private shares this dealer sends (a cheating dealer). */
  readonly tamperShares?: (message: SharesMessage) => SharesMessage;
  /** Never publishes justifications (a cheating dealer that does not answer its complaints). */
  readonly muteJustifications?: boolean;
}

export interface EpochKeysOptions {
  readonly chainId: number;
  readonly registry: Address;
  readonly selfId: NodeId;
  readonly signer: LocalAccount;
  /** Directory for this node's DKG state (seeds and received shares are secret: mode 0600). */
  readonly dir: string;
  readonly logger: Logger;
  /** The members of an epoch's active set in L1 order with their frozen stakes. */
  readonly epochView: (epoch: number) => Promise<{ readonly members: readonly StakedSigner<NodeId>[] }>;
  readonly request: (to: NodeId, kind: "dkgShares" | "dkgMessage", payload: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  /** Replicates an app record (false when this node is no longer the leader). */
  readonly proposeApp: (data: Uint8Array) => boolean;
  /** Whether this node acts as the leader. */
  readonly isLeader: () => boolean;
  readonly leader: () => NodeId | null;
  readonly random: RandomBytes;
  /** The complaint and justification windows (default 1.5 s). */
  readonly phaseMs?: number;
  /** The longest the dealing phase waits for missing dealers (default 10 s). */
  readonly dealingMs?: number;
  readonly now?: () => number;
  readonly faults?: DkgFaults;
}

/** An epoch's key as every node derives it from the log. */
export interface EpochKey {
  readonly epoch: number;
  readonly members: readonly StakedSigner<NodeId>[];
  readonly key: EpochPublicKey;
  readonly qualified: readonly number[];
  readonly excluded: readonly DealerExclusion[];
  /** This member's shares of the epoch secret; undefined for a non-member or a member that missed shares. */
  readonly secretShares: readonly SecretShare[] | undefined;
  /** This node's member number in the epoch's view, if it is a member. */
  readonly self: number | undefined;
}

/** `seq_status`'s view of one epoch's DKG. */
export interface EpochKeyStatus {
  readonly epoch: number;
  /** `ready`: the epoch key exists and encrypted transactions are possible; `failed`: the epoch runs without encryption. */
  readonly state: "dealing" | "complaining" | "justifying" | "ready" | "failed";
  readonly members: number;
  readonly totalUnits: number;
  readonly threshold: number;
  /** Whether exactly the sets holding more than half of the stake can decrypt (docs/threshold-encryption.md, "Stake to units"). */
  readonly exact: boolean;
  readonly deals: number;
  readonly complaints: number;
  readonly publicKey: Hex | null;
  readonly qualified: readonly NodeId[];
  readonly excluded: readonly { readonly nodeId: NodeId; readonly reason: DealerExclusion["reason"]; readonly complainers: readonly NodeId[] }[];
  /** Why the DKG failed (state `failed`). */
  readonly reason: string | null;
  /** Whether this node holds key shares of the epoch. */
  readonly holdsShares: boolean;
}

/** What a member signs for a public DKG message: chain, registry, epoch, author and the message. */
export function dkgRecordDigest(chainId: number, registry: Address, epoch: number, member: number, message: Uint8Array): Hex {
  return memberRecordDigest(DIGEST_TAG, chainId, registry, epoch, member, message);
}

/** The digest a member of `epoch`'s view signs for a record it authors: a domain tag, chain, registry, epoch, member and the message. */
export function memberRecordDigest(tag: string, chainId: number, registry: Address, epoch: number, member: number, message: Uint8Array): Hex {
  const w = new Writer(96 + message.length);
  w.string(tag, 64, "tag");
  w.u64be(chainId, "chain id");
  w.hex(registry.toLowerCase(), 20, "registry");
  w.u64be(epoch, "epoch");
  w.varint(member, "member");
  w.bytes(message, message.length, "message");
  return keccak256(w.finish());
}

/** The label a DKG session is bound to: chain, registry and epoch (the unit plan is hashed in by dkgSession). */
function sessionLabel(chainId: number, registry: Address, epoch: number): Uint8Array {
  const w = new Writer(64);
  w.string("staked-sequencer/epoch-key", 64, "tag");
  w.u64be(chainId, "chain id");
  w.hex(registry.toLowerCase(), 20, "registry");
  w.u64be(epoch, "epoch");
  return w.finish();
}

type Outcome =
  | { readonly ok: true; readonly key: EpochPublicKey; readonly qualified: readonly number[]; readonly excluded: readonly DealerExclusion[]; readonly secretShares: readonly SecretShare[] | undefined }
  | { readonly ok: false; readonly reason: string };

type Persisted = { seed?: string; received: Record<string, string>; records: string[] };

const NEXT_PHASE: Record<DkgPhase, DkgPhase | undefined> = { dealing: "complaining", complaining: "justifying", justifying: "done", done: undefined };

/** One epoch's DKG as this node follows it. */
class EpochDkg {
  readonly session: Uint8Array;
  /** A member's own state machine; a non-member runs one as member 0 only to keep the transcript by the same rules. */
  readonly machine: DkgMember;
  phase: DkgPhase = "dealing";
  phaseSince: number;
  /** The DKG records applied, encoded, in log order (replayed after a restart, carried in snapshots). */
  records: Uint8Array[] = [];
  outcome: Outcome | undefined;
  seed: Uint8Array | undefined;
  readonly received = new Map<number, Uint8Array>();
  dealt: { readonly shares: readonly SharesMessage[] } | undefined;
  /** Recipients that took this dealer's shares; the deal is published once each was tried. */
  readonly acked = new Set<number>();
  sharesTried = false;
  /** This member's public messages not yet applied, with when each was last sent. */
  readonly outbox = new Map<string, { readonly message: DkgMessage; sentAt: number; record?: Uint8Array }>();
  phaseProposedAt = -Infinity;
  /** Writes of this state's file, one after the other (apply, ticks and share requests all write it). */
  persisting: Promise<void> = Promise.resolve();

  constructor(
    readonly epoch: number,
    readonly members: readonly StakedSigner<NodeId>[],
    readonly plan: StakeUnitPlan,
    readonly self: number | undefined,
    label: Uint8Array,
    now: number,
  ) {
    this.session = dkgSession(label, plan);
    this.machine = new DkgMember(this.session, plan, self ?? 0);
    this.phaseSince = now;
  }
}

export class EpochKeys {
  private readonly opts: EpochKeysOptions;
  private readonly now: () => number;
  private readonly states = new Map<number, EpochDkg>();
  private readonly loading = new Map<number, Promise<EpochDkg>>();
  private ticking = false;
  private leaderSince: number | undefined;

  constructor(opts: EpochKeysOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Starts following `epoch`'s DKG (from its stored state, if any): the node calls it for each epoch L1 confirms. */
  async ensure(epoch: number): Promise<void> {
    await this.stateOf(epoch);
  }

  /** The key of `epoch`, once its DKG succeeded. */
  epochKey(epoch: number): EpochKey | undefined {
    const s = this.states.get(epoch);
    if (s?.outcome?.ok !== true) return undefined;
    const { key, qualified, excluded, secretShares } = s.outcome;
    return { epoch, members: s.members, key, qualified, excluded, secretShares, self: s.self };
  }

  /** The DKG of every kept epoch, latest first. */
  status(): EpochKeyStatus[] {
    return [...this.states.values()].sort((a, b) => b.epoch - a.epoch).map((s) => this.statusOf(s));
  }

  async apply(records: readonly AppliedRecord[]): Promise<void> {
    for (const { record } of records) {
      if (record.kind !== "dkgMessage" && record.kind !== "dkgPhase") continue;
      // Every record applies, however old its epoch: what a node keeps in memory must not decide
      // what the log means (an old epoch's state is rebuilt from its file when needed).
      const state = await this.stateOf(record.epoch);
      if (record.kind === "dkgMessage" && !(await this.signedByMember(state, record))) {
        this.opts.logger.warn({ epoch: record.epoch, member: record.member }, "DKG record with a signature that is not its member's: ignored");
        continue;
      }
      this.applyTo(state, record, false);
      await this.persist(state);
    }
  }

  snapshotData(): Uint8Array {
    const states = [...this.states.values()];
    const w = new Writer(1024);
    w.varint(states.length);
    for (const s of states) {
      w.varint(s.epoch, "epoch");
      w.varint(s.records.length, "records");
      for (const r of s.records) w.bytes(r, r.length, "record");
    }
    return w.finish();
  }

  /** Replaces the public DKG state by a snapshot's (this member's seed and received shares stay). */
  async installSnapshot(data: Uint8Array): Promise<void> {
    const r = new Reader(data, "epoch keys snapshot");
    const n = r.count(EPOCHS_KEPT * 2, 2, "epoch");
    const epochs: [number, Uint8Array[]][] = [];
    for (let i = 0; i < n; i++) {
      const epoch = r.varint("epoch");
      const count = r.count(100_000, 1, "record");
      const list: Uint8Array[] = [];
      for (let k = 0; k < count; k++) list.push(r.bytes(1 << 20, "record").slice());
      epochs.push([epoch, list]);
    }
    r.end();
    for (const [epoch, list] of epochs) {
      const stored = await this.load(epoch);
      const state = await this.create(epoch, { ...stored, records: list.map((b) => bytesToHex(b)) });
      this.states.set(epoch, state);
      await this.persist(state);
    }
    this.prune();
  }

  /** One step of this node's duties: deal, send shares, resend unapplied messages, and as leader end phases. Steps never overlap. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const leading = this.opts.isLeader();
      if (leading && this.leaderSince === undefined) this.leaderSince = this.now();
      if (!leading) this.leaderSince = undefined;
      for (const state of [...this.states.values()]) {
        if (state.phase === "done") continue;
        if (state.self !== undefined) await this.memberDuties(state);
        if (leading) this.leaderDuties(state);
      }
    } finally {
      this.ticking = false;
    }
  }

  /** Answers a `dkgShares` request: takes a dealer's private shares for this member. */
  async handleShares(payload: Uint8Array, from: NodeId | undefined): Promise<Uint8Array> {
    const message = decodeDkgMessage(payload);
    if (message.kind !== "shares") throw new DkgRefusedError(`a ${message.kind} message is public: it goes through the log`);
    const state = [...this.states.values()].find((s) => sameBytes(s.session, message.session));
    if (state === undefined) throw new DkgRefusedError("no DKG of a known epoch has this session (yet)");
    const dealer = state.members[message.dealer];
    if (dealer === undefined || from === undefined || dealer.nodeId !== from) throw new DkgRefusedError(`shares of dealer ${message.dealer} sent by ${from ?? "an unknown peer"}`);
    if (state.self === undefined) throw new DkgRefusedError(`this node is no member of epoch ${state.epoch}`);
    state.machine.step(message, message.dealer);
    if (!state.received.has(message.dealer)) {
      state.received.set(message.dealer, payload.slice());
      await this.persist(state);
    }
    return new Uint8Array(0);
  }

  /** Answers a `dkgMessage` request (as leader): a member's signed public message, checked and proposed. */
  async handleMessage(payload: Uint8Array): Promise<Uint8Array> {
    if (!this.opts.isLeader()) throw new DkgRefusedError("this node is not the leader");
    const record = decodeAppRecord(payload);
    if (record.kind !== "dkgMessage") throw new DkgRefusedError(`a ${record.kind} record is not a DKG message`);
    if (this.tooOld(record.epoch)) throw new DkgRefusedError(`epoch ${record.epoch}'s DKG is no longer kept`);
    const state = await this.stateOf(record.epoch);
    if (!(await this.signedByMember(state, record))) throw new DkgRefusedError(`the record is not signed by member ${record.member} of epoch ${record.epoch}`);
    if (!this.opts.proposeApp(payload)) throw new DkgRefusedError("this node is not the leader");
    return new Uint8Array(0);
  }

  private tooOld(epoch: number): boolean {
    const latest = Math.max(-1, ...this.states.keys());
    return epoch + EPOCHS_KEPT <= latest;
  }

  private async signedByMember(state: EpochDkg, record: Extract<AppRecord, { kind: "dkgMessage" }>): Promise<boolean> {
    const member = state.members[record.member];
    if (member === undefined) return false;
    try {
      const digest = dkgRecordDigest(this.opts.chainId, this.opts.registry, record.epoch, record.member, record.message);
      return isAddressEqual(await recoverMessageAddress({ message: { raw: digest }, signature: record.signature }), member.signer);
    } catch {
      return false;
    }
  }

  /** Applies one DKG record to `state` (also when replaying stored records: `replay`). Deterministic given the log. */
  private applyTo(state: EpochDkg, record: AppRecord, replay: boolean): void {
    const encoded = encodeAppRecord(record);
    if (record.kind === "dkgMessage") {
      state.records.push(encoded);
      let message: DkgMessage;
      try {
        message = decodeDkgMessage(record.message);
      } catch {
        return; // a member signed garbage: on record, it counts for nothing
      }
      if (message.kind === "shares") return; // private values never count from the log
      state.outbox.delete(bytesToHex(record.message));
      try {
        state.machine.step(message, record.member);
      } catch (error) {
        if (!(error instanceof DkgMessageError)) throw error;
        if (!replay) this.opts.logger.info({ epoch: state.epoch, member: record.member, err: error.message }, "DKG message refused");
      }
      return;
    }
    if (record.kind !== "dkgPhase" || NEXT_PHASE[state.phase] !== record.phase) return;
    state.records.push(encoded);
    state.phase = record.phase;
    state.phaseSince = this.now();
    const own = (messages: readonly DkgMessage[]) => {
      if (state.self === undefined) return;
      for (const message of messages) state.outbox.set(bytesToHex(encodeDkgMessage(message)), { message, sentAt: -Infinity });
    };
    if (record.phase === "complaining") own(state.machine.endDealing());
    else if (record.phase === "justifying") {
      const justifications = state.machine.endComplaints();
      if (this.opts.faults?.muteJustifications !== true) own(justifications);
    } else {
      state.outbox.clear();
      state.outcome = this.finish(state);
      if (!replay) this.logOutcome(state);
    }
  }

  private finish(state: EpochDkg): Outcome {
    const { plan, machine } = state;
    try {
      if (state.self !== undefined) {
        try {
          const r = machine.finish();
          return { ok: true, key: r, qualified: r.qualified, excluded: r.excluded, secretShares: r.secretShares.length > 0 ? r.secretShares : undefined };
        } catch (error) {
          if (error instanceof DkgFailedError || !(error instanceof ThresholdError)) throw error;
          this.opts.logger.error({ epoch: state.epoch, err: error.message }, "this member's shares do not add up: it holds no key shares of the epoch");
        }
      }
      const transcript = machine.transcript();
      const { qualified, excluded } = judgeTranscript(plan, transcript);
      return { ok: true, key: epochPublicKeyFrom(plan, transcript, qualified), qualified, excluded, secretShares: undefined };
    } catch (error) {
      if (error instanceof DkgFailedError) return { ok: false, reason: error.details ? `${error.shortMessage} (${error.details})` : error.shortMessage };
      throw error;
    }
  }

  private logOutcome(state: EpochDkg): void {
    const s = this.statusOf(state);
    if (s.state === "ready") this.opts.logger.info({ epoch: s.epoch, publicKey: s.publicKey, qualified: s.qualified, excluded: s.excluded }, "epoch key ready: encrypted transactions possible");
    else this.opts.logger.warn({ epoch: s.epoch, reason: s.reason }, "epoch DKG failed: the epoch runs without encryption");
  }

  private async memberDuties(state: EpochDkg): Promise<void> {
    const self = state.self!;
    if (state.phase === "dealing") {
      if (state.dealt === undefined) {
        if (state.seed === undefined) {
          state.seed = this.opts.random(32);
          await this.persist(state); // before any share leaves: a restart deals the same polynomial
        }
        this.deal(state);
      }
      await this.sendShares(state);
    }
    const leader = this.opts.leader();
    const now = this.now();
    for (const [key, item] of state.outbox) {
      if (item.message.kind === "deal" && !state.sharesTried) continue;
      if (now - item.sentAt < RESEND_MS) continue;
      item.sentAt = now;
      item.record ??= await this.signRecord(state.epoch, self, hexToBytes(key as Hex));
      if (this.opts.isLeader()) this.opts.proposeApp(item.record);
      else if (leader !== null) {
        this.opts.request(leader, "dkgMessage", item.record, 5_000).catch((error: Error) => this.opts.logger.debug({ epoch: state.epoch, to: leader, err: error.message }, "DKG message not taken by the leader yet"));
      }
    }
  }

  private deal(state: EpochDkg): void {
    const { deal, shares } = state.machine.deal(randomFromSeed(state.seed!));
    state.dealt = { shares };
    // The deal counts only once the log has it (the author steps it like everyone).
    if (!state.machine.transcript().deals.some((d) => d.dealer === state.self)) state.outbox.set(bytesToHex(encodeDkgMessage(deal)), { message: deal, sentAt: -Infinity });
  }

  private async sendShares(state: EpochDkg): Promise<void> {
    const pending = state.dealt!.shares.filter((m) => !state.acked.has(m.recipient));
    await Promise.all(
      pending.map(async (message) => {
        const sent = this.opts.faults?.tamperShares ? this.opts.faults.tamperShares(message) : message;
        try {
          await this.opts.request(state.members[message.recipient]!.nodeId, "dkgShares", encodeDkgMessage(sent), 5_000);
          state.acked.add(message.recipient);
        } catch (error) {
          this.opts.logger.debug({ epoch: state.epoch, to: state.members[message.recipient]!.nodeId, err: (error as Error).message }, "DKG shares not delivered yet");
        }
      }),
    );
    state.sharesTried = true;
  }

  private async signRecord(epoch: number, member: number, message: Uint8Array): Promise<Uint8Array> {
    const digest = dkgRecordDigest(this.opts.chainId, this.opts.registry, epoch, member, message);
    const signature = await this.opts.signer.signMessage({ message: { raw: digest } });
    return encodeAppRecord({ kind: "dkgMessage", epoch, member, message, signature });
  }

  private leaderDuties(state: EpochDkg): void {
    const now = this.now();
    const since = Math.max(state.phaseSince, this.leaderSince ?? now);
    const transcript = state.machine.transcript();
    let due = false;
    if (state.phase === "dealing") due = transcript.deals.length === state.members.length || now - since >= (this.opts.dealingMs ?? 10_000);
    else if (state.phase === "complaining") due = now - since >= (this.opts.phaseMs ?? 1_500);
    else if (state.phase === "justifying") {
      const answered = (c: { dealer: number; complainer: number }) => transcript.justifications.some((j) => j.dealer === c.dealer && j.complainer === c.complainer);
      due = transcript.complaints.every(answered) || now - since >= (this.opts.phaseMs ?? 1_500);
    }
    const next = NEXT_PHASE[state.phase];
    if (!due || next === undefined || next === "dealing" || now - state.phaseProposedAt < RESEND_MS) return;
    state.phaseProposedAt = now;
    this.opts.proposeApp(encodeAppRecord({ kind: "dkgPhase", epoch: state.epoch, phase: next }));
  }

  private statusOf(s: EpochDkg): EpochKeyStatus {
    const transcript = s.machine.transcript();
    const id = (member: number) => s.members[member]!.nodeId;
    const outcome = s.outcome;
    return {
      epoch: s.epoch,
      state: outcome === undefined ? (s.phase as "dealing" | "complaining" | "justifying") : outcome.ok ? "ready" : "failed",
      members: s.members.length,
      totalUnits: s.plan.totalUnits,
      threshold: s.plan.threshold,
      exact: s.plan.exact,
      deals: transcript.deals.length,
      complaints: transcript.complaints.length,
      publicKey: outcome?.ok ? bytesToHex(g1ToBytes(outcome.key.publicKey)) : null,
      qualified: outcome?.ok ? outcome.qualified.map(id) : [],
      excluded: outcome?.ok ? outcome.excluded.map((e) => ({ nodeId: id(e.dealer), reason: e.reason, complainers: e.complainers.map(id) })) : [],
      reason: outcome?.ok === false ? outcome.reason : null,
      holdsShares: outcome?.ok === true && outcome.secretShares !== undefined,
    };
  }

  private stateOf(epoch: number): Promise<EpochDkg> {
    const known = this.states.get(epoch);
    if (known !== undefined) return Promise.resolve(known);
    let loading = this.loading.get(epoch);
    if (loading === undefined) {
      loading = (async () => {
        const state = await this.create(epoch, await this.load(epoch));
        this.states.set(epoch, state);
        this.prune();
        return state;
      })().finally(() => this.loading.delete(epoch));
      this.loading.set(epoch, loading);
    }
    return loading;
  }

  /** A state from the epoch's L1 view and stored data, the stored records replayed. */
  private async create(epoch: number, stored: Persisted): Promise<EpochDkg> {
    const { members } = await this.viewOf(epoch);
    const plan = planStakeUnits(members.map((m) => m.stake));
    const selfIndex = members.findIndex((m) => m.nodeId === this.opts.selfId);
    const state = new EpochDkg(epoch, members, plan, selfIndex < 0 ? undefined : selfIndex, sessionLabel(this.opts.chainId, this.opts.registry, epoch), this.now());
    if (state.self !== undefined) {
      if (stored.seed !== undefined) {
        state.seed = hexToBytes(stored.seed as Hex);
        this.deal(state);
      }
      for (const [dealer, hex] of Object.entries(stored.received)) {
        const payload = hexToBytes(hex as Hex);
        state.received.set(Number(dealer), payload);
        state.machine.step(decodeDkgMessage(payload), Number(dealer));
      }
    }
    for (const hex of stored.records) this.applyTo(state, decodeAppRecord(hexToBytes(hex as Hex)), true);
    return state;
  }

  /** The epoch's L1 view, waiting out a short L1 outage (an applied DKG record needs it). */
  private async viewOf(epoch: number): Promise<{ readonly members: readonly StakedSigner<NodeId>[] }> {
    for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(5_000, delay * 2)) {
      try {
        return await this.opts.epochView(epoch);
      } catch (error) {
        if (attempt >= 20) throw error;
        this.opts.logger.warn({ epoch, err: (error as Error).message, retryInMs: delay }, "could not read the epoch's set for its DKG: retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private prune(): void {
    const latest = Math.max(...this.states.keys());
    for (const epoch of this.states.keys()) if (epoch + EPOCHS_KEPT <= latest) this.states.delete(epoch);
  }

  private file(epoch: number): string {
    return path.join(this.opts.dir, `epoch-${epoch}.json`);
  }

  private async load(epoch: number): Promise<Persisted> {
    try {
      return JSON.parse(await readFile(this.file(epoch), "utf8")) as Persisted;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { received: {}, records: [] };
      throw error;
    }
  }

  /** Stores `state` as it is now; writes are queued so the file always ends up with the latest state. */
  private persist(state: EpochDkg): Promise<void> {
    const write = state.persisting.catch(() => undefined).then(() => this.write(state));
    state.persisting = write;
    return write;
  }

  private async write(state: EpochDkg): Promise<void> {
    const data: Persisted = {
      ...(state.seed === undefined ? {} : { seed: bytesToHex(state.seed) }),
      received: Object.fromEntries([...state.received].map(([dealer, payload]) => [String(dealer), bytesToHex(payload)])),
      records: state.records.map((r) => bytesToHex(r)),
    };
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    const file = this.file(state.epoch);
    await writeFile(`${file}.tmp`, JSON.stringify(data), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
}
