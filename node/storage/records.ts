/**
 * Key layout and record framing of the node store.
 *
 * Every value is `payload ‖ crc32(key ‖ payload)` (4 bytes, big-endian). Covering the key too
 * catches a valid record that ended up under the wrong key. CRC32 is zlib's native one: at
 * about a GB/s it costs far less than the fsync it protects (see scripts/bench/storage.ts).
 *
 * Keys (integers big-endian so that level's byte order is numeric order):
 *   00 'F'                  format marker
 *   00 'H'                  hard state
 *   00 'S'                  latest snapshot (meta + data)
 *   00 'A'                  applied index + next position
 *   01 u64 index            Raft log entry
 *   02 hash[32]             tx hash -> { position, index, term } (first position wins)
 *   03 u64 position         committed tx: index, term, hash, raw bytes
 *   04 u64 firstPosition    order-commitment certificate + signature
 *   05 u64 batchNumber u64 epoch   batch header this member signed + its signature
 *   06 u64 batchNumber      batch cut through the replicated log (latest cut of that number) + L1 posted mark
 */
import { crc32 } from "node:zlib";
import { CodecError, Writer, bytesToHex, readU64BE, writeU64BE } from "../codec/index.js";
import { StorageCorruptionError } from "./errors.js";

export const FORMAT = "seq-node-store/1";

export const PREFIX = { meta: 0x00, log: 0x01, txHash: 0x02, position: 0x03, certificate: 0x04, batchHeader: 0x05, batch: 0x06, quorumCertificate: 0x07 } as const;

export const KEY_FORMAT = Uint8Array.of(PREFIX.meta, 0x46);
export const KEY_HARD_STATE = Uint8Array.of(PREFIX.meta, 0x48);
export const KEY_SNAPSHOT = Uint8Array.of(PREFIX.meta, 0x53);
export const KEY_APPLIED = Uint8Array.of(PREFIX.meta, 0x41);
/** Positions a snapshot install skipped, still to be fetched from a member ({from, to}). */
export const KEY_HISTORY_GAP = Uint8Array.of(PREFIX.meta, 0x47);

export function u64Key(prefix: number, n: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = prefix;
  writeU64BE(k, 1, n);
  return k;
}

export function u64FromKey(key: Uint8Array): number {
  return readU64BE(key, 1);
}

/** Key of the header signed for (batchNumber, epoch): a member may sign one header per pair. */
export function signedHeaderKey(batchNumber: number, epoch: number): Uint8Array {
  const k = new Uint8Array(17);
  k[0] = PREFIX.batchHeader;
  writeU64BE(k, 1, batchNumber);
  writeU64BE(k, 9, epoch);
  return k;
}

export function txHashKey(hash: Uint8Array): Uint8Array {
  const k = new Uint8Array(33);
  k[0] = PREFIX.txHash;
  k.set(hash, 1);
  return k;
}

/** Upper bound (exclusive) of a one-byte-prefix keyspace. */
export function prefixEnd(prefix: number): Uint8Array {
  return Uint8Array.of(prefix + 1);
}

const PREFIX_NAMES: Record<number, string> = { 0: "meta", 1: "log", 2: "txHash", 3: "position", 4: "certificate", 5: "batchHeader", 6: "batch", 7: "quorumCertificate" };

/** Human-readable key for error messages: `log/42 (0x01000…)`. */
export function describeKey(key: Uint8Array): string {
  const name = PREFIX_NAMES[key[0]!] ?? "unknown";
  let detail = "";
  if (key[0] === PREFIX.meta) detail = String.fromCharCode(key[1] ?? 63);
  else if (key.length === 9) detail = String(u64FromKey(key));
  else if (key[0] === PREFIX.batchHeader && key.length === 17) detail = `${u64FromKey(key)}@epoch${readU64BE(key, 9)}`;
  else if (key[0] === PREFIX.txHash) detail = bytesToHex(key.subarray(1));
  return `${name}/${detail} (${bytesToHex(key)})`;
}

function checksum(key: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(key));
}

/** Appends the record checksum to what `w` holds and returns the value to store. */
export function seal(key: Uint8Array, w: Writer): Uint8Array {
  const crc = checksum(key, w.finish());
  w.u32be(crc);
  return w.finish();
}

export function sealBytes(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const w = new Writer(payload.length + 4);
  w.raw(payload);
  return seal(key, w);
}

/** Verifies the checksum and returns the payload; throws StorageCorruptionError naming the key. */
export function unseal(key: Uint8Array, value: Uint8Array): Uint8Array {
  if (value.length < 4) throw new StorageCorruptionError(describeKey(key), `record of ${value.length} bytes is shorter than its checksum`);
  const payload = value.subarray(0, value.length - 4);
  const stored = readU32BE(value, value.length - 4);
  const actual = checksum(key, payload);
  if (stored !== actual) {
    throw new StorageCorruptionError(describeKey(key), `checksum mismatch: stored 0x${hex32(stored)}, computed 0x${hex32(actual)}`);
  }
  return payload;
}

/** Decodes a verified payload; a decoding failure is corruption of that key. */
export function decodeRecord<T>(key: Uint8Array, value: Uint8Array, decode: (payload: Uint8Array) => T): T {
  const payload = unseal(key, value);
  try {
    return decode(payload);
  } catch (cause) {
    if (cause instanceof CodecError) throw new StorageCorruptionError(describeKey(key), `undecodable record: ${cause.message}`, { cause });
    throw cause;
  }
}

function readU32BE(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}
