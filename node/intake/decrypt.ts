/**
 * Decryption of a keyed slot's encrypted transactions, then the intake's checks on each plaintext
 * (envelope, chain id, size, signature, sender): deterministic, so every node and a rebuild from
 * L1 reach the same verdict for each ciphertext. One pairing per ciphertext (its own U = r·G1),
 * which is why the node runs this on the decode pool's workers (docs/threshold-encryption.md).
 */
import { ThresholdError, decodeCiphertext, decrypt, g2FromBytes, prepareG2, type SlotKey } from "../threshold/index.js";
import { decodeTransactions, type DecodeOptions, type DecodeResult } from "./decode.js";
import { UndecryptableCiphertextError } from "./errors.js";

/** A slot key as it crosses a worker boundary: the identity and the compressed key, already checked against the epoch key. */
export type SlotKeyWire = { readonly identity: Uint8Array; readonly key: Uint8Array };

/** `ciphertexts` (each a ciphertext's encoding, without the 0xb1 tag) opened with the slot key and checked as transactions, in input order. */
export function decryptTransactions(slot: SlotKeyWire, ciphertexts: readonly Uint8Array[], opts: DecodeOptions): DecodeResult[] {
  const point = g2FromBytes(slot.key, "slot key");
  const slotKey: SlotKey = { identity: slot.identity, key: point, prepared: prepareG2(point) };
  return ciphertexts.map((bytes): DecodeResult => {
    let plaintext: Uint8Array;
    try {
      plaintext = decrypt(slotKey, decodeCiphertext(bytes));
    } catch (error) {
      if (!(error instanceof ThresholdError)) throw error;
      return { ok: false, error: new UndecryptableCiphertextError(error.message) };
    }
    return decodeTransactions([plaintext], opts)[0]!;
  });
}
