/**
 * Application records the sequencer replicates through the Raft log (`app` entries).
 * Certificates travel this way so every member can serve any transaction's order
 * commitment and a new leader knows which positions still lack one. An `epochLeader`
 * record settles an epoch's scheduled rotation: once it is applied no later leader of
 * that epoch moves leadership again (no ping-pong when a primary comes back). Batch cuts
 * and "batch posted" marks (node/batching) tell every member which header it may sign and a
 * new leader where posting stands; a "batch signed" record gives every member the quorum's
 * signatures of the cut; a "quorum certificate" record gives every member a certificate that
 * members holding more than half the stake co-signed, a user's accountable commitment.
 */
import type { Entry } from "../consensus/index.js";
import { CodecError, Reader, Writer, bytesToHex } from "../codec/index.js";
import type { StoredBatchHeader, StoredCertificate, StoredQuorumCertificate } from "./types.js";
import { readHeaderFields, readQuorumCertificate, readSignatures, writeHeaderFields, writeQuorumCertificate, writeSignatures } from "./types.js";

const RECORD_VERSION = 1;

const RecordKind = { certificate: 1, epochLeader: 2, batchCut: 3, batchPosted: 4, batchSigned: 5, quorumCertificate: 6, dkgMessage: 7, dkgPhase: 8, batchAdopted: 9, keyRelease: 10 } as const;

/** The largest public DKG message a record carries (a deal of 512 commitments is about 24.6 KB; a justification of 512 values 16.4 KB). */
export const MAX_DKG_MESSAGE_BYTES = 32 * 1024;
/** The largest key share release a record carries (512 shares of 96 bytes and their header). */
export const MAX_KEY_RELEASE_BYTES = 50 * 1024;

/** The DKG phases the leader ends through the log, in order (node/threshold/dkg.ts). */
export const DKG_PHASES = ["complaining", "justifying", "done"] as const;
export type DkgPhaseRecord = (typeof DKG_PHASES)[number];

/** L1 accepted batch `batchNumber` (header hash `batchHash`) in `l1TxHash`, block `l1Block`. */
export interface BatchPostedRecord {
  readonly batchNumber: number;
  readonly batchHash: `0x${string}`;
  readonly l1Block: number;
  readonly l1TxHash: `0x${string}`;
}

export type AppRecord =
  | { readonly kind: "certificate"; readonly certificate: StoredCertificate }
  | { readonly kind: "epochLeader"; readonly epoch: number; readonly leader: string }
  | { readonly kind: "batchCut"; readonly header: StoredBatchHeader }
  | { readonly kind: "batchPosted"; readonly posted: BatchPostedRecord }
  /** A batch L1 holds that the set never cut (an escape batch, docs/forced-inclusion.md), taken as posted once the log holds its transactions. */
  | { readonly kind: "batchAdopted"; readonly header: StoredBatchHeader; readonly posted: BatchPostedRecord }
  | { readonly kind: "batchSigned"; readonly batchNumber: number; readonly batchHash: `0x${string}`; readonly signatures: readonly `0x${string}`[] }
  | { readonly kind: "quorumCertificate"; readonly certificate: StoredQuorumCertificate }
  /** A public DKG message (deal, complaint, justification) of `epoch`'s set, signed by its author, member number `member` of the epoch's view. */
  | { readonly kind: "dkgMessage"; readonly epoch: number; readonly member: number; readonly message: Uint8Array; readonly signature: `0x${string}` }
  /** The leader ends `epoch`'s DKG phase before `phase`: every node moves its DKG at the same log position. */
  | { readonly kind: "dkgPhase"; readonly epoch: number; readonly phase: DkgPhaseRecord }
  /** Member `member` of `epoch`'s view releases its key shares for `slot` (an encoded KeyShareRelease), signed by it. */
  | { readonly kind: "keyRelease"; readonly epoch: number; readonly slot: number; readonly member: number; readonly release: Uint8Array; readonly signature: `0x${string}` };

export function encodeAppRecord(record: AppRecord): Uint8Array {
  const w = new Writer(160);
  w.varint(RECORD_VERSION);
  if (record.kind === "epochLeader") {
    w.varint(RecordKind.epochLeader);
    w.varint(record.epoch, "epoch");
    w.string(record.leader, 64, "leader");
    return w.finish();
  }
  if (record.kind === "batchCut") {
    w.varint(RecordKind.batchCut);
    writeHeaderFields(w, record.header);
    return w.finish();
  }
  if (record.kind === "batchPosted" || record.kind === "batchAdopted") {
    const p = record.posted;
    w.varint(record.kind === "batchPosted" ? RecordKind.batchPosted : RecordKind.batchAdopted);
    if (record.kind === "batchAdopted") writeHeaderFields(w, record.header);
    w.varint(p.batchNumber, "batchNumber");
    w.hex(p.batchHash, 32, "batchHash");
    w.varint(p.l1Block, "l1Block");
    w.hex(p.l1TxHash, 32, "l1TxHash");
    return w.finish();
  }
  if (record.kind === "quorumCertificate") {
    w.varint(RecordKind.quorumCertificate);
    writeQuorumCertificate(w, record.certificate);
    return w.finish();
  }
  if (record.kind === "dkgMessage") {
    w.varint(RecordKind.dkgMessage);
    w.varint(record.epoch, "epoch");
    w.varint(record.member, "member");
    w.bytes(record.message, MAX_DKG_MESSAGE_BYTES, "DKG message");
    w.hex(record.signature, 65, "signature");
    return w.finish();
  }
  if (record.kind === "keyRelease") {
    w.varint(RecordKind.keyRelease);
    w.varint(record.epoch, "epoch");
    w.varint(record.slot, "slot");
    w.varint(record.member, "member");
    w.bytes(record.release, MAX_KEY_RELEASE_BYTES, "key release");
    w.hex(record.signature, 65, "signature");
    return w.finish();
  }
  if (record.kind === "dkgPhase") {
    w.varint(RecordKind.dkgPhase);
    w.varint(record.epoch, "epoch");
    w.varint(DKG_PHASES.indexOf(record.phase), "phase");
    return w.finish();
  }
  if (record.kind === "batchSigned") {
    w.varint(RecordKind.batchSigned);
    w.varint(record.batchNumber, "batchNumber");
    w.hex(record.batchHash, 32, "batchHash");
    writeSignatures(w, record.signatures);
    return w.finish();
  }
  const c = record.certificate;
  w.varint(RecordKind.certificate);
  w.varint(c.epoch, "epoch");
  w.varint(c.term, "term");
  w.varint(c.firstPosition, "firstPosition");
  w.varint(c.lastPosition, "lastPosition");
  w.hex(c.merkleRoot, 32, "merkle root");
  w.hex(c.signature, 65, "signature");
  return w.finish();
}

/** @throws CodecError for a record this version cannot read. */
export function decodeAppRecord(bytes: Uint8Array): AppRecord {
  const r = new Reader(bytes, "app record");
  const version = r.varint("record version");
  if (version !== RECORD_VERSION) throw new CodecError(`app record version ${version} is not supported (expected ${RECORD_VERSION})`);
  const kind = r.varint("record kind");
  if (kind === RecordKind.epochLeader) {
    const epoch = r.varint("epoch");
    const leader = r.string(64, "leader");
    r.end();
    return { kind: "epochLeader", epoch, leader };
  }
  if (kind === RecordKind.batchCut) {
    const header = readHeaderFields(r);
    r.end();
    return { kind: "batchCut", header };
  }
  if (kind === RecordKind.batchPosted || kind === RecordKind.batchAdopted) {
    const header = kind === RecordKind.batchAdopted ? readHeaderFields(r) : undefined;
    const batchNumber = r.varint("batchNumber");
    const batchHash = bytesToHex(r.raw(32, "batchHash"));
    const l1Block = r.varint("l1Block");
    const l1TxHash = bytesToHex(r.raw(32, "l1TxHash"));
    r.end();
    const posted = { batchNumber, batchHash, l1Block, l1TxHash };
    return header === undefined ? { kind: "batchPosted", posted } : { kind: "batchAdopted", header, posted };
  }
  if (kind === RecordKind.quorumCertificate) {
    const certificate = readQuorumCertificate(r);
    r.end();
    return { kind: "quorumCertificate", certificate };
  }
  if (kind === RecordKind.dkgMessage) {
    const epoch = r.varint("epoch");
    const member = r.varint("member");
    const message = r.bytes(MAX_DKG_MESSAGE_BYTES, "DKG message").slice();
    const signature = bytesToHex(r.raw(65, "signature"));
    r.end();
    return { kind: "dkgMessage", epoch, member, message, signature };
  }
  if (kind === RecordKind.keyRelease) {
    const epoch = r.varint("epoch");
    const slot = r.varint("slot");
    const member = r.varint("member");
    const release = r.bytes(MAX_KEY_RELEASE_BYTES, "key release").slice();
    const signature = bytesToHex(r.raw(65, "signature"));
    r.end();
    return { kind: "keyRelease", epoch, slot, member, release, signature };
  }
  if (kind === RecordKind.dkgPhase) {
    const epoch = r.varint("epoch");
    const phase = DKG_PHASES[r.varint("phase")];
    if (phase === undefined) throw new CodecError("unknown DKG phase");
    r.end();
    return { kind: "dkgPhase", epoch, phase };
  }
  if (kind === RecordKind.batchSigned) {
    const batchNumber = r.varint("batchNumber");
    const batchHash = bytesToHex(r.raw(32, "batchHash"));
    const signatures = readSignatures(r);
    r.end();
    return { kind: "batchSigned", batchNumber, batchHash, signatures };
  }
  if (kind !== RecordKind.certificate) throw new CodecError(`unknown app record kind ${kind}`);
  const epoch = r.varint("epoch");
  const term = r.varint("term");
  const firstPosition = r.varint("firstPosition");
  const lastPosition = r.varint("lastPosition");
  const merkleRoot = bytesToHex(r.raw(32, "merkle root"));
  const signature = bytesToHex(r.raw(65, "signature"));
  r.end();
  return { kind: "certificate", certificate: { epoch, term, firstPosition, lastPosition, merkleRoot, signature } };
}


/** An app record as it came in the log: decoded once, with its entry. */
export type AppliedRecord = { readonly entry: Entry; readonly record: AppRecord };

/** The app records of `entries` in log order, each decoded once. @throws CodecError for one this version cannot read. */
export function appRecordsOf(entries: readonly Entry[]): AppliedRecord[] {
  const out: AppliedRecord[] = [];
  for (const entry of entries) if (entry.kind === "app" && entry.app !== undefined) out.push({ entry, record: decodeAppRecord(entry.app) });
  return out;
}
