/** The encrypted-transaction format: round trip, CCA (every tampering refused), codec bounds. */
import { expect } from "chai";
import {
  G1,
  InvalidCiphertextError,
  InvalidSlotKeyError,
  MAX_PLAINTEXT_BYTES,
  MalformedThresholdDataError,
  decodeCiphertext,
  decrypt,
  encodeCiphertext,
  encrypt,
  hashIdentity,
  prepareEncryptionTarget,
  prepareSlotKey,
  slotIdentity,
} from "../../node/threshold/index.js";
import { seededRandom } from "./helpers.js";

describe("threshold: identity-based encryption of transactions", () => {
  const secret = 0x2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2an;
  const publicKey = G1.BASE.multiply(secret);
  const identity = slotIdentity(31337, 4, 17);
  const target = prepareEncryptionTarget(publicKey, identity);
  const slotKey = prepareSlotKey(publicKey, identity, hashIdentity(identity).multiply(secret));
  const plaintext = new TextEncoder().encode("0x02f8 a signed transaction, in the clear only after its slot is committed");
  const ciphertext = encrypt(target, plaintext, seededRandom("ibe"));
  const encoded = encodeCiphertext(ciphertext);

  it("round-trips: encrypt, encode, decode, decrypt", () => {
    expect(decrypt(slotKey, decodeCiphertext(encoded))).to.deep.equal(plaintext);
    expect(encoded.length).to.equal(1 + 1 + identity.length + 48 + 64 + 1 + plaintext.length + 16);
  });

  it("is deterministic given its randomness, and different randomness gives unrelated ciphertexts", () => {
    expect(encodeCiphertext(encrypt(target, plaintext, seededRandom("ibe")))).to.deep.equal(encoded);
    expect(encodeCiphertext(encrypt(target, plaintext, seededRandom("other")))).to.not.deep.equal(encoded);
  });

  it("encrypts the empty payload and the largest one", () => {
    for (const p of [new Uint8Array(0), new Uint8Array(MAX_PLAINTEXT_BYTES).fill(7)]) {
      expect(decrypt(slotKey, decodeCiphertext(encodeCiphertext(encrypt(target, p, seededRandom("sizes")))))).to.deep.equal(p);
    }
    expect(() => encrypt(target, new Uint8Array(MAX_PLAINTEXT_BYTES + 1), seededRandom("big"))).to.throw(RangeError);
  });

  it("refuses every single-byte tampering of an encoded ciphertext (CCA: header, identity and payload are bound)", () => {
    // every byte position of the header, and a spread over the payload
    const positions = [...Array.from({ length: 1 + 1 + identity.length + 48 + 64 + 1 }, (_, i) => i), encoded.length - 20, encoded.length - 1];
    for (const at of positions) {
      const bad = encoded.slice();
      bad[at]! ^= 0x01;
      let refused = false;
      try {
        decrypt(slotKey, decodeCiphertext(bad));
      } catch (error) {
        refused = error instanceof InvalidCiphertextError || error instanceof MalformedThresholdDataError;
      }
      expect(refused, `byte ${at} flipped`).to.equal(true);
    }
  });

  it("refuses a ciphertext mixed from two (U, V, W of one, payload of another)", () => {
    const other = encrypt(target, plaintext, seededRandom("second"));
    expect(() => decrypt(slotKey, { ...ciphertext, payload: other.payload })).to.throw(InvalidCiphertextError);
    expect(() => decrypt(slotKey, { ...ciphertext, header: { ...ciphertext.header, u: other.header.u } })).to.throw(InvalidCiphertextError);
  });

  it("does not decrypt under another slot's key, nor with the key of another epoch secret", () => {
    const otherIdentity = slotIdentity(31337, 4, 18);
    const otherSlot = prepareSlotKey(publicKey, otherIdentity, hashIdentity(otherIdentity).multiply(secret));
    expect(() => decrypt(otherSlot, ciphertext)).to.throw(InvalidCiphertextError, /another identity/);
    // a key for the right identity under a different secret is refused before use
    expect(() => prepareSlotKey(publicKey, identity, hashIdentity(identity).multiply(secret + 1n))).to.throw(InvalidSlotKeyError);
    // and forced past that check, FullIdent's re-encryption check refuses it
    const forged = { ...slotKey, ...prepareSlotKey(G1.BASE.multiply(secret + 1n), identity, hashIdentity(identity).multiply(secret + 1n)) };
    expect(() => decrypt(forged, ciphertext)).to.throw(InvalidCiphertextError, /re-encryption/);
  });

  it("rejects malformed encodings with MalformedThresholdDataError", () => {
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["unknown version", Uint8Array.from([2, ...encoded.subarray(1)])],
      ["truncated", encoded.subarray(0, encoded.length - 1)],
      ["trailing byte", Uint8Array.from([...encoded, 0])],
      ["identity too long", Uint8Array.from([1, 65, ...new Uint8Array(65)])],
      ["U not on the curve", (() => { const b = encoded.slice(); b.fill(0xff, 2 + identity.length + 1, 2 + identity.length + 48); return b; })()],
      ["U the identity", (() => { const b = encoded.slice(); b.fill(0, 2 + identity.length, 2 + identity.length + 48); b[2 + identity.length] = 0xc0; return b; })()],
      ["payload shorter than its tag", (() => { const b = encoded.slice(0, 2 + identity.length + 112); return Uint8Array.from([...b, 3, 1, 2, 3]); })()],
    ];
    for (const [what, bytes] of cases) expect(() => decodeCiphertext(bytes), what).to.throw(MalformedThresholdDataError);
  });

  it("names the slot in its identity: chain id, epoch, slot", () => {
    expect(slotIdentity(1, 2, 3)).to.deep.equal(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3]));
  });
});
