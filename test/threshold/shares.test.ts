/**
 * Per-slot key shares on keys from a real DKG: any stake majority gets the slot key and decrypts,
 * every stake minority cannot, and a wrong share is caught and pinned on its member.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  type DkgResult,
  type EpochPublicKey,
  InsufficientSharesError,
  InvalidCiphertextError,
  InvalidKeyShareError,
  InvalidSlotKeyError,
  type KeyShareRelease,
  MalformedThresholdDataError,
  assertKeyShareRelease,
  combineSlotKey,
  decodeKeyShareRelease,
  decrypt,
  encodeKeyShareRelease,
  encrypt,
  g2Combination,
  keyShareReleaseIsValid,
  lagrangeAtZero,
  planStakeUnits,
  prepareEncryptionTarget,
  prepareSlotKey,
  releaseKeyShares,
  shareIndicesOf,
  slotIdentity,
} from "../../node/threshold/index.js";
import { runDkg, seededRandom, subsets } from "./helpers.js";

function epochOf(stakes: bigint[], seed: string): { epoch: EpochPublicKey; results: DkgResult[] } {
  const plan = planStakeUnits(stakes);
  const results = runDkg(plan, seed).results.map((r) => {
    if (r instanceof Error) throw r;
    return r;
  });
  return { epoch: results[0]!, results };
}

describe("threshold: slot key shares", () => {
  const identity = slotIdentity(31337, 7, 3);
  const plaintext = new TextEncoder().encode("a signed transaction");

  it("any stake majority decrypts and every stake minority cannot, on random small stake distributions (every subset)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 5 }), fc.integer({ min: 0, max: 1_000_000 }), (small, salt) => {
        const stakes = small.map(BigInt);
        const { epoch, results } = epochOf(stakes, `subsets/${salt}`);
        expect(epoch.plan.exact).to.equal(true); // total stake ≤ the unit bound: units = stakes is exact, so a plan exists
        const ciphertext = encrypt(prepareEncryptionTarget(epoch.publicKey, identity), plaintext, seededRandom(`tx/${salt}`));
        const releases = results.map((r, m) => releaseKeyShares(m, r.secretShares, identity));
        for (const set of subsets(stakes.length)) {
          const stake = set.reduce((a, i) => a + stakes[i]!, 0n);
          const chosen = set.map((i) => releases[i]!);
          if (2n * stake > epoch.plan.totalStake) {
            const { slotKey, invalid } = combineSlotKey(epoch, identity, chosen);
            expect(invalid).to.deep.equal([]);
            expect(decrypt(slotKey, ciphertext)).to.deep.equal(plaintext);
          } else {
            expect(() => combineSlotKey(epoch, identity, chosen), `set ${set}: ${stake} of ${epoch.plan.totalStake}`).to.throw(InsufficientSharesError);
            // and interpolating whatever shares the minority holds gives no valid slot key
            const indices = set.flatMap((i) => shareIndicesOf(epoch.plan, i));
            if (indices.length > 0) {
              const guess = g2Combination(set.flatMap((i) => releases[i]!.shares), lagrangeAtZero(indices));
              expect(() => prepareSlotKey(epoch.publicKey, identity, guess)).to.throw(InvalidSlotKeyError);
            }
          }
        }
      }),
      { numRuns: 6, seed: 1616 },
    );
  });

  describe("wrong shares", () => {
    const { epoch, results } = epochOf([2n, 1n, 1n, 1n, 1n], "attribution"); // member 0 holds 2 units
    const honest = results.map((r, m) => releaseKeyShares(m, r.secretShares, identity));
    const ciphertext = encrypt(prepareEncryptionTarget(epoch.publicKey, identity), plaintext, seededRandom("attribution tx"));

    it("verifies honest releases, each with one pairing equation", () => {
      for (const r of honest) {
        expect(keyShareReleaseIsValid(epoch, r)).to.equal(true);
        assertKeyShareRelease(epoch, r);
      }
    });

    it("detects a wrong share and names the member and the index", () => {
      const bad: KeyShareRelease = { ...honest[0]!, shares: [honest[0]!.shares[0]!, honest[0]!.shares[1]!.double()] };
      expect(keyShareReleaseIsValid(epoch, bad)).to.equal(false);
      try {
        assertKeyShareRelease(epoch, bad);
        expect.fail("a wrong share passed");
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidKeyShareError);
        expect((error as InvalidKeyShareError).member).to.equal(0);
        expect((error as InvalidKeyShareError).shareIndices).to.deep.equal([2]);
      }
      // another member's valid share passed off as its own, a share for another slot, the wrong count
      expect(keyShareReleaseIsValid(epoch, { ...honest[1]!, member: 2 })).to.equal(false);
      expect(keyShareReleaseIsValid(epoch, { ...releaseKeyShares(1, results[1]!.secretShares, slotIdentity(31337, 7, 4)), identity })).to.equal(false);
      expect(keyShareReleaseIsValid(epoch, { ...honest[0]!, shares: honest[0]!.shares.slice(1) })).to.equal(false);
    });

    it("combines around wrong releases, reporting them, as long as the right ones hold a stake majority", () => {
      const tampered = honest.map((r) => (r.member === 1 ? { ...r, shares: [r.shares[0]!.negate()] } : r));
      const { slotKey, invalid } = combineSlotKey(epoch, identity, tampered);
      expect(invalid.map((e) => [e.member, e.shareIndices])).to.deep.equal([[1, [3]]]);
      expect(decrypt(slotKey, ciphertext)).to.deep.equal(plaintext);
      // members 0 and 1 (3 of 6) plus member 2 releasing member 3's share as its own: not enough right shares
      const short = [honest[0]!, honest[1]!, { ...honest[2]!, shares: [honest[3]!.shares[0]!] }];
      expect(() => combineSlotKey(epoch, identity, short)).to.throw(InsufficientSharesError);
    });

    it("refuses two releases of one member and a release for another identity", () => {
      expect(() => combineSlotKey(epoch, identity, [honest[0]!, honest[0]!])).to.throw(/two releases/);
      expect(() => combineSlotKey(epoch, slotIdentity(1, 1, 1), honest)).to.throw(/another identity/);
    });

    it("a slot key does not decrypt another slot's ciphertexts", () => {
      const other = slotIdentity(31337, 7, 4);
      const { slotKey } = combineSlotKey(epoch, other, results.map((r, m) => releaseKeyShares(m, r.secretShares, other)));
      expect(() => decrypt(slotKey, ciphertext)).to.throw(InvalidCiphertextError);
    });

    it("encodes releases and rejects malformed ones", () => {
      const bytes = encodeKeyShareRelease(honest[0]!);
      const decoded = decodeKeyShareRelease(bytes);
      expect(decoded.member).to.equal(0);
      expect(decoded.shares.every((p, k) => p.equals(honest[0]!.shares[k]!))).to.equal(true);
      expect(() => decodeKeyShareRelease(bytes.subarray(0, bytes.length - 1))).to.throw(MalformedThresholdDataError);
      expect(() => decodeKeyShareRelease(Uint8Array.from([...bytes, 1]))).to.throw(MalformedThresholdDataError);
      const offCurve = bytes.slice();
      offCurve.fill(0xff, bytes.length - 95);
      expect(() => decodeKeyShareRelease(offCurve)).to.throw(MalformedThresholdDataError, /share 1/);
      expect(() => decodeKeyShareRelease(Uint8Array.from([0, 0, 0xff, 0x03]))).to.throw(MalformedThresholdDataError, /cannot fit/);
    });
  });
});
