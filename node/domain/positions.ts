/**
 * Position-level records of the encrypted flow (docs/threshold-encryption.md, "The encrypted
 * flow"): bytes at a position of the stream, like a transaction, whose first byte lies in
 * 0xb1–0xb4. No EIP-2718 transaction starts there (typed ones start below 0x80, legacy RLP lists
 * at 0xc0 or above), so a reader of the stream tells them apart by the first byte, and the batch
 * format carries them as it carries any position's bytes.
 *
 * | first byte | record | |
 * | --- | --- | --- |
 * | 0xb1 | `0xb1 ‖ ciphertext` | an encrypted transaction (node/threshold/ibe.ts's encoding); its order commitment covers keccak256 of these bytes |
 * | 0xb2 | `0xb2 ‖ u64 epoch ‖ u64 slot` | the leader closes every slot of `epoch` up to `slot`: ciphertexts for them at later positions are late |
 * | 0xb3 | `0xb3 ‖ u64 epoch ‖ u64 slot ‖ d` | the slot key (96-byte compressed G2), checked against the epoch key; a wrong one is a no-op |
 * | 0xb4 | `0xb4 ‖ u64 epoch ‖ u64 slot` | the slot is undecryptable (its key did not come within the leader's deadline) |
 */
import { CodecError, Reader, Writer } from "../codec/index.js";

export const POSITION_TAG = { ciphertext: 0xb1, close: 0xb2, slotKey: 0xb3, undecryptable: 0xb4 } as const;
/** A compressed G2 point: the slot key's size. */
export const SLOT_KEY_BYTES = 96;

export type SlotRef = { readonly epoch: number; readonly slot: number };

export type PositionRecord =
  | { readonly kind: "ciphertext"; readonly ciphertext: Uint8Array }
  | ({ readonly kind: "close" } & SlotRef)
  | ({ readonly kind: "slotKey"; readonly key: Uint8Array } & SlotRef)
  | ({ readonly kind: "undecryptable" } & SlotRef);

/** Whether a position's bytes are a record of the encrypted flow (by the first byte alone). */
export function isPositionRecord(data: Uint8Array): boolean {
  return data.length > 0 && data[0]! >= POSITION_TAG.ciphertext && data[0]! <= POSITION_TAG.undecryptable;
}

export function encodePositionRecord(record: PositionRecord): Uint8Array {
  if (record.kind === "ciphertext") {
    const out = new Uint8Array(1 + record.ciphertext.length);
    out[0] = POSITION_TAG.ciphertext;
    out.set(record.ciphertext, 1);
    return out;
  }
  const w = new Writer(17 + SLOT_KEY_BYTES);
  w.u8(POSITION_TAG[record.kind]);
  w.u64be(record.epoch, "epoch");
  w.u64be(record.slot, "slot");
  if (record.kind === "slotKey") {
    if (record.key.length !== SLOT_KEY_BYTES) throw new RangeError(`a slot key is ${SLOT_KEY_BYTES} bytes, got ${record.key.length}`);
    w.raw(record.key);
  }
  return w.finish();
}

/** The record at a position, undefined for a transaction. @throws CodecError for a malformed record (a 0xb2–0xb4 of the wrong length). */
export function decodePositionRecord(data: Uint8Array): PositionRecord | undefined {
  if (!isPositionRecord(data)) return undefined;
  const tag = data[0]!;
  if (tag === POSITION_TAG.ciphertext) return { kind: "ciphertext", ciphertext: data.subarray(1) };
  const r = new Reader(data.subarray(1), "position record");
  const epoch = r.u64be("epoch");
  const slot = r.u64be("slot");
  if (tag === POSITION_TAG.slotKey) {
    const key = r.raw(SLOT_KEY_BYTES, "slot key").slice();
    r.end();
    return { kind: "slotKey", epoch, slot, key };
  }
  r.end();
  if (tag === POSITION_TAG.close) return { kind: "close", epoch, slot };
  if (tag === POSITION_TAG.undecryptable) return { kind: "undecryptable", epoch, slot };
  throw new CodecError(`unknown position record 0x${tag.toString(16)}`);
}
