/**
 * Decryption of a keyed slot's ciphertexts and the intake's checks on the plaintexts
 * (node/intake/decrypt.ts), inline and on the decode pool's workers: the same verdicts either way.
 */
import { expect } from "chai";
import { bytesToHex, parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DecodePool, UndecryptableCiphertextError, WrongChainIdError, decryptTransactions, type DecodeResult } from "../../node/intake/index.js";
import { encodeCiphertext, encrypt, g2ToBytes, planStakeUnits, prepareEncryptionTarget, releaseKeyShares, combineSlotKey, slotIdentity } from "../../node/threshold/index.js";
import { runDkg, seededRandom } from "../threshold/helpers.js";

const OPTS = { chainId: 901, maxBytes: 64 * 1024 };
const account = privateKeyToAccount(generatePrivateKey());
const sign = (chainId: number, nonce: number): Promise<Hex> =>
  account.signTransaction({ type: "eip1559", chainId, nonce, to: account.address, value: 1n, gas: 21_000n, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") });

describe("intake: decrypting a keyed slot", function () {
  this.timeout(60_000);
  const plan = planStakeUnits([3n, 2n, 2n]);
  const results = runDkg(plan, "decrypt").results.map((r) => {
    if (r instanceof Error) throw r;
    return r;
  });
  const identity = slotIdentity(901, 4, 11);
  const slotKey = combineSlotKey(results[0]!, identity, results.map((r, m) => releaseKeyShares(m, r.secretShares, identity))).slotKey;
  const wire = { identity, key: g2ToBytes(slotKey.key) };
  const target = prepareEncryptionTarget(results[0]!.publicKey, identity);
  const other = prepareEncryptionTarget(results[0]!.publicKey, slotIdentity(901, 4, 12));
  let pool: DecodePool | undefined;

  after(async () => {
    await pool?.close();
  });

  const verdicts = (out: DecodeResult[]) => out.map((r) => (r.ok ? { ok: true, hash: r.tx.hash, raw: r.tx.raw } : { ok: false, error: r.error.name }));

  it("opens each ciphertext, checks the plaintext as a transaction, and gives the same verdicts on the workers as inline", async () => {
    const raws = [await sign(901, 0), await sign(901, 1), await sign(5, 2)];
    const cts = raws.map((raw, i) => encodeCiphertext(encrypt(target, Uint8Array.from(Buffer.from(raw.slice(2), "hex")), seededRandom(`ct${i}`))));
    const tampered = cts[0]!.slice();
    tampered[tampered.length - 1]! ^= 1;
    const wrongSlot = encodeCiphertext(encrypt(other, Uint8Array.from(Buffer.from(raws[0]!.slice(2), "hex")), seededRandom("other")));
    const inputs = [...cts, tampered, wrongSlot, Uint8Array.of(1, 2, 3)];
    const inline = decryptTransactions(wire, inputs, OPTS);
    expect(inline[0]).to.deep.include({ ok: true });
    expect(inline.slice(0, 2).map((r) => r.ok && r.tx.raw)).to.deep.equal(raws.slice(0, 2));
    expect(!inline[2]!.ok && inline[2]!.error).to.be.instanceOf(WrongChainIdError);
    for (const r of inline.slice(3)) expect(!r.ok && r.error).to.be.instanceOf(UndecryptableCiphertextError);
    pool = await DecodePool.create({ ...OPTS, size: 2 });
    expect(verdicts(await pool.decrypt(wire, inputs))).to.deep.equal(verdicts(inline));
    expect(bytesToHex(inputs[0]!)).to.not.include(raws[0]!.slice(2)); // the ciphertext hides the transaction
  });
});
