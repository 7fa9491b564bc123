/**
 * Compact binary encoding of the Raft core's types (node/consensus/types.ts), shared by the
 * transport (wire frames) and storage (log records) so an entry has one byte layout everywhere.
 *
 * Layout rules: unsigned integers are canonical LEB128 varints, byte strings and UTF-8 strings
 * are varint-length-prefixed, booleans are one byte 0/1, a tx is its 32-byte hash followed by its
 * length-prefixed raw bytes. Decoding is strict: unknown tags or flag bits, non-canonical
 * varints, values over the limits below and trailing bytes all throw `CodecError`.
 */
import { MAX_WEIGHT_DIGITS, isWeight } from "../consensus/membership.js";
import type { Entry, EntryKind, HardState, MembershipConfig, Message, MessageType, Snapshot, SnapshotMeta, Tx, Weight } from "../consensus/types.js";
import { Reader, Writer, bytesToHex } from "./bytes.js";
import { CodecError } from "./errors.js";

/** Structural limits enforced on decode (and encode, so we never produce what a peer rejects). */
export const LIMITS = {
  nodeIdBytes: 256,
  members: 1_024,
  txBytes: 1_048_576,
  txsPerEntry: 1_048_576,
  entriesPerMessage: 1_048_576,
  appBytes: 16 * 1_048_576,
  snapshotBytes: 1_024 * 1_048_576,
  /** Decimal digits of a voter weight. */
  weightBytes: MAX_WEIGHT_DIGITS,
} as const;

/** Version byte leading every encoded message; bump on incompatible layout changes. */
export const MESSAGE_CODEC_VERSION = 1;

const ENTRY_KINDS: readonly EntryKind[] = ["noop", "txs", "config", "app"];
const ENTRY_KIND_TAG: Record<EntryKind, number> = { noop: 0, txs: 1, config: 2, app: 3 };

const MESSAGE_TYPES: readonly MessageType[] = [
  "preVote",
  "preVoteResp",
  "vote",
  "voteResp",
  "append",
  "appendResp",
  "snapshot",
  "snapshotResp",
  "timeoutNow",
];
const MESSAGE_TAG = Object.fromEntries(MESSAGE_TYPES.map((t, i) => [t, i + 1])) as Record<MessageType, number>;

const FLAG_TXS = 1;
const FLAG_CONFIG = 2;
const FLAG_APP = 4;

/** Smallest possible encodings, used to bound counts against the remaining input. */
const MIN_TX_BYTES = 33;
const MIN_ENTRY_BYTES = 5;
const MIN_NODE_ID_BYTES = 1;

// ---------------------------------------------------------------- membership

/**
 * Configuration flags. Bit 0 alone is the boolean "outgoing present" of the layout before
 * weights, so every configuration written then decodes unchanged (and unweighted ones are
 * still written that way); a decoder that predates weights rejects weighted ones.
 */
const CONFIG_OUTGOING = 1;
const CONFIG_WEIGHTS = 2;
const CONFIG_OUTGOING_WEIGHTS = 4;

function writeNodeIds(w: Writer, ids: readonly string[], what: string): void {
  if (ids.length > LIMITS.members) throw new CodecError(`${what} has ${ids.length} members, limit ${LIMITS.members}`);
  w.varint(ids.length, `${what} count`);
  for (const id of ids) w.string(id, LIMITS.nodeIdBytes, `${what} node id`);
}

function readNodeIds(r: Reader, what: string): string[] {
  const n = r.count(LIMITS.members, MIN_NODE_ID_BYTES, what);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = r.string(LIMITS.nodeIdBytes, `${what} node id`);
  return out;
}

function checkedWeight(weight: unknown, what: string): Weight {
  if (!isWeight(weight)) throw new CodecError(`${what}: ${JSON.stringify(weight)} is not a positive decimal integer of at most ${LIMITS.weightBytes} digits`);
  return weight;
}

/** One weight per id, in order: the count is the ids' count. */
function writeWeights(w: Writer, weights: readonly Weight[], ids: readonly string[], what: string): void {
  if (weights.length !== ids.length) throw new CodecError(`${what}: ${weights.length} weights for ${ids.length} voters`);
  for (const weight of weights) w.string(checkedWeight(weight, what), LIMITS.weightBytes, what);
}

function readWeights(r: Reader, n: number, what: string): Weight[] {
  const out = new Array<Weight>(n);
  for (let i = 0; i < n; i++) out[i] = checkedWeight(r.string(LIMITS.weightBytes, what), what);
  return out;
}

export function writeMembershipConfig(w: Writer, c: MembershipConfig): void {
  if (c.outgoingWeights !== undefined && c.outgoing === undefined) throw new CodecError("outgoing weights without outgoing voters");
  writeNodeIds(w, c.voters, "voters");
  w.u8(
    (c.outgoing !== undefined ? CONFIG_OUTGOING : 0) |
      (c.weights !== undefined ? CONFIG_WEIGHTS : 0) |
      (c.outgoingWeights !== undefined ? CONFIG_OUTGOING_WEIGHTS : 0),
  );
  if (c.weights !== undefined) writeWeights(w, c.weights, c.voters, "voter weight");
  if (c.outgoing !== undefined) {
    writeNodeIds(w, c.outgoing, "outgoing voters");
    if (c.outgoingWeights !== undefined) writeWeights(w, c.outgoingWeights, c.outgoing, "outgoing voter weight");
  }
  writeNodeIds(w, c.learners, "learners");
}

export function readMembershipConfig(r: Reader): MembershipConfig {
  const voters = readNodeIds(r, "voters");
  const flags = r.u8("configuration flags");
  const known = CONFIG_OUTGOING | CONFIG_WEIGHTS | CONFIG_OUTGOING_WEIGHTS;
  if ((flags & ~known) !== 0 || ((flags & CONFIG_OUTGOING_WEIGHTS) !== 0 && (flags & CONFIG_OUTGOING) === 0)) {
    throw new CodecError(`unknown configuration flags 0x${flags.toString(16)}`);
  }
  const weights = flags & CONFIG_WEIGHTS ? readWeights(r, voters.length, "voter weight") : undefined;
  const outgoing = flags & CONFIG_OUTGOING ? readNodeIds(r, "outgoing voters") : undefined;
  const outgoingWeights = outgoing !== undefined && flags & CONFIG_OUTGOING_WEIGHTS ? readWeights(r, outgoing.length, "outgoing voter weight") : undefined;
  const learners = readNodeIds(r, "learners");
  // Absent fields stay absent so decode(encode(c)) deep-equals c.
  return {
    voters,
    ...(weights !== undefined ? { weights } : {}),
    ...(outgoing !== undefined ? { outgoing } : {}),
    ...(outgoingWeights !== undefined ? { outgoingWeights } : {}),
    learners,
  };
}

// ---------------------------------------------------------------- entries

export function writeEntry(w: Writer, e: Entry): void {
  const kindTag = ENTRY_KIND_TAG[e.kind];
  if (kindTag === undefined) throw new CodecError(`unknown entry kind ${JSON.stringify(e.kind)}`);
  w.varint(e.index, "entry index");
  w.varint(e.term, "entry term");
  w.u8(kindTag);
  w.varint(e.firstPosition, "entry firstPosition");
  const flags = (e.txs !== undefined ? FLAG_TXS : 0) | (e.config !== undefined ? FLAG_CONFIG : 0) | (e.app !== undefined ? FLAG_APP : 0);
  w.u8(flags);
  if (e.txs !== undefined) {
    const txs = e.txs;
    if (txs.length > LIMITS.txsPerEntry) throw new CodecError(`entry ${e.index} has ${txs.length} txs, limit ${LIMITS.txsPerEntry}`);
    let size = 8;
    for (let i = 0; i < txs.length; i++) size += txs[i]!.data.length + 36;
    w.reserve(size);
    w.varint(txs.length, "tx count");
    for (let i = 0; i < txs.length; i++) writeTx(w, txs[i]!);
  }
  if (e.config !== undefined) writeMembershipConfig(w, e.config);
  if (e.app !== undefined) w.bytes(e.app, LIMITS.appBytes, "entry app record");
}

export function writeTx(w: Writer, tx: Tx): void {
  w.hex(tx.hash, 32, "tx hash");
  w.bytes(tx.data, LIMITS.txBytes, "tx data");
}

export function readTx(r: Reader): Tx {
  const hash = bytesToHex(r.raw(32, "tx hash"));
  const data = r.bytes(LIMITS.txBytes, "tx data");
  return { hash, data };
}

export function readEntry(r: Reader): Entry {
  const index = r.varint("entry index");
  const term = r.varint("entry term");
  const kindTag = r.u8("entry kind");
  const kind = ENTRY_KINDS[kindTag];
  if (kind === undefined) throw new CodecError(`unknown entry kind tag ${kindTag}`);
  const firstPosition = r.varint("entry firstPosition");
  const flags = r.u8("entry flags");
  if ((flags & ~(FLAG_TXS | FLAG_CONFIG | FLAG_APP)) !== 0) throw new CodecError(`unknown entry flags 0x${flags.toString(16)}`);
  let txs: Tx[] | undefined;
  if (flags & FLAG_TXS) {
    const n = r.count(LIMITS.txsPerEntry, MIN_TX_BYTES, "txs");
    txs = new Array<Tx>(n);
    for (let i = 0; i < n; i++) txs[i] = readTx(r);
  }
  const config = flags & FLAG_CONFIG ? readMembershipConfig(r) : undefined;
  const app = flags & FLAG_APP ? r.bytes(LIMITS.appBytes, "entry app record") : undefined;
  // Absent optional fields stay absent so decode(encode(e)) deep-equals e.
  const entry: { -readonly [K in keyof Entry]: Entry[K] } = { index, term, kind, firstPosition };
  if (txs !== undefined) entry.txs = txs;
  if (config !== undefined) entry.config = config;
  if (app !== undefined) entry.app = app;
  return entry;
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer(64);
  writeEntry(w, e);
  return w.finish();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new Reader(bytes, "entry");
  const e = readEntry(r);
  r.end();
  return e;
}

// ---------------------------------------------------------------- snapshots and hard state

export function writeSnapshotMeta(w: Writer, m: SnapshotMeta): void {
  w.varint(m.index, "snapshot index");
  w.varint(m.term, "snapshot term");
  w.varint(m.nextPosition, "snapshot nextPosition");
  writeMembershipConfig(w, m.config);
}

export function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.varint("snapshot index");
  const term = r.varint("snapshot term");
  const nextPosition = r.varint("snapshot nextPosition");
  const config = readMembershipConfig(r);
  return { index, term, config, nextPosition };
}

export function writeSnapshot(w: Writer, s: Snapshot): void {
  writeSnapshotMeta(w, s.meta);
  w.bytes(s.data, LIMITS.snapshotBytes, "snapshot data");
}

export function readSnapshot(r: Reader): Snapshot {
  const meta = readSnapshotMeta(r);
  const data = r.bytes(LIMITS.snapshotBytes, "snapshot data");
  return { meta, data };
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = new Writer(64 + s.data.length);
  writeSnapshot(w, s);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const r = new Reader(bytes, "snapshot");
  const s = readSnapshot(r);
  r.end();
  return s;
}

export function encodeHardState(h: HardState): Uint8Array {
  const w = new Writer(32);
  w.varint(h.term, "hardState term");
  w.varint(h.commit, "hardState commit");
  w.bool(h.vote !== null);
  if (h.vote !== null) w.string(h.vote, LIMITS.nodeIdBytes, "hardState vote");
  return w.finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new Reader(bytes, "hardState");
  const term = r.varint("hardState term");
  const commit = r.varint("hardState commit");
  const vote = r.bool("vote flag") ? r.string(LIMITS.nodeIdBytes, "hardState vote") : null;
  r.end();
  return { term, vote, commit };
}

// ---------------------------------------------------------------- messages

export function writeMessage(w: Writer, m: Message): void {
  const tag = MESSAGE_TAG[m.type];
  if (tag === undefined) throw new CodecError(`unknown message type ${JSON.stringify((m as { type: unknown }).type)}`);
  w.u8(MESSAGE_CODEC_VERSION);
  w.u8(tag);
  w.string(m.from, LIMITS.nodeIdBytes, "message from");
  w.string(m.to, LIMITS.nodeIdBytes, "message to");
  w.varint(m.term, "message term");
  switch (m.type) {
    case "preVote":
    case "vote":
      w.varint(m.lastIndex, "lastIndex");
      w.varint(m.lastTerm, "lastTerm");
      if (m.type === "vote") w.bool(m.transfer);
      return;
    case "preVoteResp":
    case "voteResp":
      w.bool(m.granted);
      return;
    case "append": {
      w.varint(m.prevIndex, "prevIndex");
      w.varint(m.prevTerm, "prevTerm");
      w.varint(m.commit, "commit");
      if (m.entries.length > LIMITS.entriesPerMessage) {
        throw new CodecError(`append has ${m.entries.length} entries, limit ${LIMITS.entriesPerMessage}`);
      }
      w.varint(m.entries.length, "entry count");
      for (const e of m.entries) writeEntry(w, e);
      return;
    }
    case "appendResp":
      w.bool(m.success);
      w.varint(m.matchIndex, "matchIndex");
      w.varint(m.hintIndex, "hintIndex");
      w.varint(m.hintTerm, "hintTerm");
      return;
    case "snapshot":
      writeSnapshot(w, m.snapshot);
      return;
    case "snapshotResp":
      w.bool(m.success);
      w.varint(m.matchIndex, "matchIndex");
      return;
    case "timeoutNow":
      return;
  }
}

export function readMessage(r: Reader): Message {
  const version = r.u8("message version");
  if (version !== MESSAGE_CODEC_VERSION) throw new CodecError(`unsupported message codec version ${version}`);
  const tag = r.u8("message type");
  const type = MESSAGE_TYPES[tag - 1];
  if (type === undefined) throw new CodecError(`unknown message type tag ${tag}`);
  const from = r.string(LIMITS.nodeIdBytes, "message from");
  const to = r.string(LIMITS.nodeIdBytes, "message to");
  const term = r.varint("message term");
  switch (type) {
    case "preVote":
      return { type, from, to, term, lastIndex: r.varint("lastIndex"), lastTerm: r.varint("lastTerm") };
    case "vote": {
      const lastIndex = r.varint("lastIndex");
      const lastTerm = r.varint("lastTerm");
      return { type, from, to, term, lastIndex, lastTerm, transfer: r.bool("transfer") };
    }
    case "preVoteResp":
    case "voteResp":
      return { type, from, to, term, granted: r.bool("granted") };
    case "append": {
      const prevIndex = r.varint("prevIndex");
      const prevTerm = r.varint("prevTerm");
      const commit = r.varint("commit");
      const n = r.count(LIMITS.entriesPerMessage, MIN_ENTRY_BYTES, "entries");
      const entries = new Array<Entry>(n);
      for (let i = 0; i < n; i++) entries[i] = readEntry(r);
      return { type, from, to, term, prevIndex, prevTerm, entries, commit };
    }
    case "appendResp": {
      const success = r.bool("success");
      const matchIndex = r.varint("matchIndex");
      const hintIndex = r.varint("hintIndex");
      return { type, from, to, term, success, matchIndex, hintIndex, hintTerm: r.varint("hintTerm") };
    }
    case "snapshot":
      return { type, from, to, term, snapshot: readSnapshot(r) };
    case "snapshotResp": {
      const success = r.bool("success");
      return { type, from, to, term, success, matchIndex: r.varint("matchIndex") };
    }
    case "timeoutNow":
      return { type, from, to, term };
  }
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer(m.type === "append" || m.type === "snapshot" ? 1024 : 64);
  writeMessage(w, m);
  return w.finish();
}

/** Decodes one message occupying all of `bytes`; tx data and snapshot data are views into `bytes`. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new Reader(bytes, "message");
  const m = readMessage(r);
  r.end();
  return m;
}
