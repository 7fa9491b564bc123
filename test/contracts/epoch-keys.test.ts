/** EpochKeys: an epoch's threshold-encryption key recorded on L1 only with a stake majority's signatures. */
import { expect } from "chai";
import { type Hex, bytesToHex, hashTypedData, keccak256 } from "viem";
import { signEpochKey, types } from "../../node/commitments/typed-data.js";
import { G1, g1ToBytes, randomScalar } from "../../node/threshold/index.js";
import { type Operator, type SequencerFixture, deploySequencer } from "./helpers/sequencer.js";
import { seededRandom } from "../threshold/helpers.js";

const keyOf = (seed: string): Hex => bytesToHex(g1ToBytes(G1.BASE.multiply(randomScalar(seededRandom(seed)))));

describe("EpochKeys", () => {
  let f: SequencerFixture;
  // Stakes 400, 300, 200, 100 (of 1000, times 100 tokens): {0, 3} holds exactly half (refused), {0, 2} a majority.
  before(async () => {
    f = await deploySequencer(4, { stakes: [400n, 300n, 200n, 100n].map((s) => s * 10n ** 20n) });
  });

  const sign = (signers: readonly Operator[], epoch: bigint, publicKey: Hex) => Promise.all(signers.map((o) => signEpochKey(o.signer, f.domain, { epoch, publicKey })));
  const submit = (epoch: bigint, publicKey: Hex, signatures: readonly Hex[]) => f.epochKeys.write.submitEpochKey([epoch, publicKey, [...signatures]]);
  const expectError = (promise: Promise<unknown>, name: string, args: unknown[]) =>
    f.viem.assertions.revertWithCustomErrorWithArgs(promise as Promise<Hex>, f.epochKeys, name as never, args as never);

  it("computes the digest members sign as the node's EIP-712 types do", async () => {
    const publicKey = keyOf("digest");
    const expected = hashTypedData({ domain: f.domain, types, primaryType: "EpochKey", message: { epoch: f.epoch, publicKey } });
    expect(await f.epochKeys.read.epochKeyDigest([f.epoch, publicKey])).to.equal(expected);
  });

  it("refuses a key signed by at most half of the stake, a foreign signer, a duplicate and a malformed signature", async () => {
    const publicKey = keyOf("minority");
    const [a, b, c, d] = f.operators as [Operator, Operator, Operator, Operator];
    await expectError(submit(f.epoch, publicKey, await sign([a, d], f.epoch, publicKey)), "InsufficientStakeSigned", [500n * 10n ** 20n, 1000n * 10n ** 20n]);
    const [sa, sb] = await sign([a, b], f.epoch, publicKey);
    await expectError(submit(f.epoch, publicKey, [sa!, sa!]), "DuplicateSigner", [1n, a.signer.address]);
    await expectError(submit(f.epoch, publicKey, [sa!, `0x${"00".repeat(65)}`]), "MalformedSignature", [1n]);
    const [wrongKey] = await sign([c], f.epoch, keyOf("other"));
    // A signature of another key recovers to some other address: not in the set.
    await f.viem.assertions.revertWithCustomError(submit(f.epoch, publicKey, [sa!, sb!, wrongKey!]) as Promise<Hex>, f.epochKeys, "SignerNotInActiveSet");
    expect(await f.epochKeys.read.hasEpochKey([f.epoch])).to.equal(false);
  });

  it("refuses keys that are not a compressed non-identity G1 encoding and epochs that have not started", async () => {
    const short = keyOf("short").slice(0, -2) as Hex;
    await expectError(submit(f.epoch, short, []), "InvalidPublicKey", [short]);
    const uncompressedFlag = `0x${"00"}${keyOf("flag").slice(4)}` as Hex;
    await expectError(submit(f.epoch, uncompressedFlag, []), "InvalidPublicKey", [uncompressedFlag]);
    const infinity = `0xc0${"00".repeat(47)}` as Hex;
    await expectError(submit(f.epoch, infinity, []), "InvalidPublicKey", [infinity]);
    const publicKey = keyOf("future");
    await expectError(submit(f.epoch + 1n, publicKey, await sign(f.operators.slice(0, 2), f.epoch + 1n, publicKey)), "EpochInFuture", [f.epoch + 1n, f.epoch]);
  });

  it("records a majority-signed key once, with an event; the same key again is a no-op, another key reverts", async () => {
    const publicKey = keyOf("epoch key");
    const [a, , c] = f.operators as [Operator, Operator, Operator];
    const signatures = await sign([a, c], f.epoch, publicKey);
    await f.viem.assertions.emitWithArgs(submit(f.epoch, publicKey, signatures), f.epochKeys, "EpochKeyRecorded", [f.epoch, publicKey, f.owner.account.address]);
    expect(await f.epochKeys.read.epochKey([f.epoch])).to.equal(publicKey);
    expect(await f.epochKeys.read.hasEpochKey([f.epoch])).to.equal(true);
    expect(await f.epochKeys.simulate.submitEpochKey([f.epoch, publicKey, []]).then((r) => r.result)).to.equal(false);
    const other = keyOf("another key");
    await expectError(submit(f.epoch, other, await sign([a, c], f.epoch, other)), "ConflictingEpochKey", [f.epoch, keccak256(publicKey), keccak256(other)]);
    await expectError(f.epochKeys.read.epochKey([f.epoch + 5n]), "UnknownEpochKey", [f.epoch + 5n]);
  });

  it("checks signatures against the epoch's own frozen set: a signature of epoch e does not record epoch e + 1", async () => {
    await f.mineToNextEpoch();
    const next = f.epoch + 1n;
    const publicKey = keyOf("next");
    const [a, b] = f.operators as [Operator, Operator];
    const signedForOld = await sign([a, b], f.epoch, publicKey);
    await f.viem.assertions.revertWithCustomError(submit(next, publicKey, signedForOld) as Promise<Hex>, f.epochKeys, "SignerNotInActiveSet");
    await submit(next, publicKey, await sign([a, b], next, publicKey));
    expect(await f.epochKeys.read.epochKey([next])).to.equal(publicKey);
  });
});
