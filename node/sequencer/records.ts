/**
 * Application records the sequencer replicates through the Raft log (`app` entries).
 * Certificates travel this way so every member can serve any transaction's order
 * commitment and a new leader knows which positions still lack one.
 */
import { CodecError, Reader, Writer, bytesToHex } from "../codec/index.js";
import type { StoredCertificate } from "../storage/index.js";

const RECORD_VERSION = 1;

const RecordKind = { certificate: 1 } as const;

export type AppRecord = { readonly kind: "certificate"; readonly certificate: StoredCertificate };

export function encodeAppRecord(record: AppRecord): Uint8Array {
  const w = new Writer(160);
  w.varint(RECORD_VERSION);
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

