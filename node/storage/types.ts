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

/** A batch header this member signed (docs/protocol.md, `BatchHeader`) and its signature. */
export interface SignedBatchHeader {
  readonly epoch: number;
  readonly batchNumber: number;
  readonly prevBatchHash: Hex;
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly merkleRoot: Hex;
  readonly dataHash: Hex;
  readonly signature: Hex;
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

export function writeCertificate(w: Writer, c: StoredCertificate): void {
  w.varint(c.epoch, "epoch");
  w.varint(c.term, "term");
  w.varint(c.firstPosition, "firstPosition");
  w.varint(c.lastPosition, "lastPosition");
  w.hex(c.merkleRoot, 32, "merkleRoot");
  w.hex(c.signature, 65, "signature");
}

export function readCertificate(r: Reader): StoredCertificate {
  const epoch = r.varint("epoch");
  const term = r.varint("term");
  const firstPosition = r.varint("firstPosition");
  const lastPosition = r.varint("lastPosition");
  const merkleRoot = bytesToHex(r.raw(32, "merkleRoot"));
  const signature = bytesToHex(r.raw(65, "signature"));
  return { epoch, term, firstPosition, lastPosition, merkleRoot, signature };
}

export function writeBatchHeader(w: Writer, h: SignedBatchHeader): void {
  w.varint(h.epoch, "epoch");
  w.varint(h.batchNumber, "batchNumber");
  w.hex(h.prevBatchHash, 32, "prevBatchHash");
  w.varint(h.firstPosition, "firstPosition");
  w.varint(h.lastPosition, "lastPosition");
  w.hex(h.merkleRoot, 32, "merkleRoot");
  w.hex(h.dataHash, 32, "dataHash");
  w.hex(h.signature, 65, "signature");
}

export function readBatchHeader(r: Reader): SignedBatchHeader {
  const epoch = r.varint("epoch");
  const batchNumber = r.varint("batchNumber");
  const prevBatchHash = bytesToHex(r.raw(32, "prevBatchHash"));
  const firstPosition = r.varint("firstPosition");
  const lastPosition = r.varint("lastPosition");
  const merkleRoot = bytesToHex(r.raw(32, "merkleRoot"));
  const dataHash = bytesToHex(r.raw(32, "dataHash"));
  const signature = bytesToHex(r.raw(65, "signature"));
  return { epoch, batchNumber, prevBatchHash, firstPosition, lastPosition, merkleRoot, dataHash, signature };
}

/** Same header fields (the signature aside): re-recording it is idempotent, anything else is equivocation. */
export function sameBatchHeader(a: SignedBatchHeader, b: SignedBatchHeader): boolean {
  return (
    a.epoch === b.epoch &&
    a.batchNumber === b.batchNumber &&
    a.prevBatchHash === b.prevBatchHash &&
    a.firstPosition === b.firstPosition &&
    a.lastPosition === b.lastPosition &&
    a.merkleRoot === b.merkleRoot &&
    a.dataHash === b.dataHash
  );
}
