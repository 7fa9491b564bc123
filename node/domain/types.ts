/** Records the node store keeps beside the Raft log, and their binary layouts. */
import { Reader, Writer, bytesToHex } from "../codec/index.js";

export type Hex = `0x${string}`;

/** Where a committed transaction sits: its position and the log entry that carries it. */
export interface TxLocation {
  readonly position: number;
  readonly index: number;
  readonly term: number;
}

/** A committed transaction as served by `seq_getTransactionByPosition` / `seq_getRange`. */
export interface CommittedTx extends TxLocation {
  readonly hash: Hex;
  readonly data: Uint8Array;
}

/** A leader-signed order-commitment certificate (docs/protocol.md, `OrderCommitment`). */
export interface StoredCertificate {
  readonly epoch: number;
  readonly term: number;
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly merkleRoot: Hex;
  /** 65 bytes r ‖ s ‖ v. */
  readonly signature: Hex;
}

/** A batch header (docs/protocol.md, `BatchHeader`) with safe-integer numbers. */
export interface StoredBatchHeader {
  readonly epoch: number;
  readonly batchNumber: number;
  readonly prevBatchHash: Hex;
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly merkleRoot: Hex;
  readonly dataHash: Hex;
}

/** A batch header this member signed and its signature. */
export interface SignedBatchHeader extends StoredBatchHeader {
  readonly signature: Hex;
}

/** Where L1 accepted a batch (from the replicated `batchPosted` record). */
export interface BatchPostedMark {
  readonly batchHash: Hex;
  readonly l1Block: number;
  readonly l1TxHash: Hex;
}

/** A batch as the replicated log cut it (the latest cut of its number) and, once accepted on L1, where. */
export interface StoredBatch {
  readonly header: StoredBatchHeader;
  readonly posted?: BatchPostedMark;
  /** Signatures of `header` by members holding more than half of its epoch's stake, once the leader gathered them. */
  readonly signatures?: readonly Hex[];
}

export interface AppliedState {
  /** Highest log index applied to the tx/position indexes. */
  readonly applied: number;
  /** Next free position after everything applied. */
  readonly nextPosition: number;
}

export function writeTxLocation(w: Writer, l: TxLocation): void {
  w.varint(l.position, "position");
  w.varint(l.index, "index");
  w.varint(l.term, "term");
}

export function readTxLocation(r: Reader): TxLocation {
  const position = r.varint("position");
  const index = r.varint("index");
  return { position, index, term: r.varint("term") };
}

export function readCommittedTx(r: Reader, position: number): CommittedTx {
  const index = r.varint("index");
  const term = r.varint("term");
  const hash = bytesToHex(r.raw(32, "tx hash"));
  const data = r.raw(r.remaining, "tx data");
  return { position, index, term, hash, data };
}

type CertificateFields = Omit<StoredCertificate, "signature">;

/** The OrderCommitment fields, shared by leader and quorum certificates. */
function writeCertificateFields(w: Writer, c: CertificateFields): void {
  w.varint(c.epoch, "epoch");
  w.varint(c.term, "term");
  w.varint(c.firstPosition, "firstPosition");
  w.varint(c.lastPosition, "lastPosition");
  w.hex(c.merkleRoot, 32, "merkleRoot");
}

function readCertificateFields(r: Reader): CertificateFields {
  const epoch = r.varint("epoch");
  const term = r.varint("term");
  const firstPosition = r.varint("firstPosition");
  const lastPosition = r.varint("lastPosition");
  return { epoch, term, firstPosition, lastPosition, merkleRoot: bytesToHex(r.raw(32, "merkleRoot")) };
}

export function writeCertificate(w: Writer, c: StoredCertificate): void {
  writeCertificateFields(w, c);
  w.hex(c.signature, 65, "signature");
}

export function readCertificate(r: Reader): StoredCertificate {
  const fields = readCertificateFields(r);
  return { ...fields, signature: bytesToHex(r.raw(65, "signature")) };
}

/**
 * An order-commitment certificate signed by members holding more than half of its epoch's
 * stake, each over its own committed log: the accountable form of a leader's certificate.
 */
export interface StoredQuorumCertificate {
  readonly epoch: number;
  readonly term: number;
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly merkleRoot: Hex;
  readonly signatures: readonly Hex[];
}

export function writeQuorumCertificate(w: Writer, c: StoredQuorumCertificate): void {
  writeCertificateFields(w, c);
  writeSignatures(w, c.signatures);
}

export function readQuorumCertificate(r: Reader): StoredQuorumCertificate {
  const fields = readCertificateFields(r);
  return { ...fields, signatures: readSignatures(r) };
}

/** The header fields (no signature): shared by signed headers, stored batches and app records. */
export function writeHeaderFields(w: Writer, h: StoredBatchHeader): void {
  w.varint(h.epoch, "epoch");
  w.varint(h.batchNumber, "batchNumber");
  w.hex(h.prevBatchHash, 32, "prevBatchHash");
  w.varint(h.firstPosition, "firstPosition");
  w.varint(h.lastPosition, "lastPosition");
  w.hex(h.merkleRoot, 32, "merkleRoot");
  w.hex(h.dataHash, 32, "dataHash");
}

export function readHeaderFields(r: Reader): StoredBatchHeader {
  const epoch = r.varint("epoch");
  const batchNumber = r.varint("batchNumber");
  const prevBatchHash = bytesToHex(r.raw(32, "prevBatchHash"));
  const firstPosition = r.varint("firstPosition");
  const lastPosition = r.varint("lastPosition");
  const merkleRoot = bytesToHex(r.raw(32, "merkleRoot"));
  const dataHash = bytesToHex(r.raw(32, "dataHash"));
  return { epoch, batchNumber, prevBatchHash, firstPosition, lastPosition, merkleRoot, dataHash };
}

export function writeBatchHeader(w: Writer, h: SignedBatchHeader): void {
  writeHeaderFields(w, h);
  w.hex(h.signature, 65, "signature");
}

export function readBatchHeader(r: Reader): SignedBatchHeader {
  const fields = readHeaderFields(r);
  return { ...fields, signature: bytesToHex(r.raw(65, "signature")) };
}

export function writePostedMark(w: Writer, p: BatchPostedMark): void {
  w.hex(p.batchHash, 32, "batchHash");
  w.varint(p.l1Block, "l1Block");
  w.hex(p.l1TxHash, 32, "l1TxHash");
}

export function readPostedMark(r: Reader): BatchPostedMark {
  const batchHash = bytesToHex(r.raw(32, "batchHash"));
  const l1Block = r.varint("l1Block");
  return { batchHash, l1Block, l1TxHash: bytesToHex(r.raw(32, "l1TxHash")) };
}

/** Most signatures one list holds (one per member of a set: far above any set size). */
export const MAX_BATCH_SIGNATURES = 1_024;

/** A list of 65-byte signatures (at most MAX_BATCH_SIGNATURES). */
export function writeSignatures(w: Writer, signatures: readonly Hex[]): void {
  if (signatures.length > MAX_BATCH_SIGNATURES) throw new RangeError(`${signatures.length} signatures exceed the limit of ${MAX_BATCH_SIGNATURES}`);
  w.varint(signatures.length, "signature count");
  for (const s of signatures) w.hex(s, 65, "signature");
}

export function readSignatures(r: Reader): Hex[] {
  const n = r.count(MAX_BATCH_SIGNATURES, 65, "signature");
  const out: Hex[] = [];
  for (let i = 0; i < n; i++) out.push(bytesToHex(r.raw(65, "signature")));
  return out;
}

export function writeStoredBatch(w: Writer, b: StoredBatch): void {
  writeHeaderFields(w, b.header);
  w.bool(b.posted !== undefined);
  if (b.posted !== undefined) writePostedMark(w, b.posted);
  writeSignatures(w, b.signatures ?? []);
}

/**
 * Reads a stored batch. The quorum's signatures (none: an empty list) came last; `legacy` input
 * (batch snapshot state version 1) never has them, a batch stored before them ends without.
 */
export function readStoredBatch(r: Reader, legacy = false): StoredBatch {
  const header = readHeaderFields(r);
  const posted = r.bool("posted flag") ? readPostedMark(r) : undefined;
  const read = !legacy && r.remaining > 0 ? readSignatures(r) : [];
  const signatures = read.length > 0 ? read : undefined;
  return { header, ...(posted !== undefined ? { posted } : {}), ...(signatures !== undefined ? { signatures } : {}) };
}

/** Same batch content (number, chain link, range, root, data) whatever the epoch: a re-cut. */
export function sameBatchContent(a: StoredBatchHeader, b: StoredBatchHeader): boolean {
  return (
    a.batchNumber === b.batchNumber &&
    a.prevBatchHash === b.prevBatchHash &&
    a.firstPosition === b.firstPosition &&
    a.lastPosition === b.lastPosition &&
    a.merkleRoot === b.merkleRoot &&
    a.dataHash === b.dataHash
  );
}

/** Same header fields (the signature aside): re-recording it is idempotent, anything else is equivocation. */
export function sameBatchHeader(a: StoredBatchHeader, b: StoredBatchHeader): boolean {
  return a.epoch === b.epoch && sameBatchContent(a, b);
}
