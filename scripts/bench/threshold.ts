/**
 * Threshold encryption costs on this machine, single-threaded, with @noble/curves (pure JS):
 * client encryption per transaction, the DKG for 3, 5 and 21 members, and per slot: key-share
 * generation and verification, combining the slot key, and decryption per transaction; last, what
 * a node does with a keyed slot (decrypt + the intake's checks of each plaintext) inline and on the
 * decode pool's worker threads, wall time.
 *
 *   npm run bench:threshold [-- --quick]
 *
 * The DKG runs every member in one process, so its wall time is the whole set's compute; a member
 * spends about 1/n of it. Randomness comes from node:crypto.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import {
  G1,
  type DkgResult,
  combineSlotKey,
  decrypt,
  encodeCiphertext,
  encrypt,
  g2ToBytes,
  hashIdentity,
  keyShareReleaseIsValid,
  pairPrepared,
  planStakeUnits,
  prepareEncryptionTarget,
  prepareG2,
  releaseKeyShares,
  slotIdentity,
} from "../../node/threshold/index.js";
import { parseGwei } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DecodePool, decryptTransactions } from "../../node/intake/index.js";
import { runDkg } from "../lib/dkg-network.js";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } }, strict: true });
const quick = values.quick!;
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** Median milliseconds per call over `runs` calls after one warm-up call. */
function measure<T>(runs: number, f: (i: number) => T): { ms: number; last: T } {
  let last = f(-1);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    last = f(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, last };
}

const rows: [string, string][] = [];
const row = (what: string, ms: number, extra = ""): void => {
  rows.push([what, `${ms.toFixed(ms < 10 ? 2 : 1)} ms${extra}`]);
  console.log(`${what.padEnd(64)} ${rows.at(-1)![1]}`);
};

console.log(`bench:threshold ${quick ? "(quick) " : ""}node ${process.version}, @noble/curves, one thread`);
const n = quick ? 5 : 20;

// raw group operations, for scale
const q = hashIdentity(new Uint8Array([1]));
const scalar = BigInt(`0x${Buffer.from(random(32)).toString("hex")}`) % G1.Fn.ORDER;
row("pairing e(P, Q) (Miller loop + final exponentiation)", measure(n, () => bls12_381.pairing(G1.BASE.multiply(scalar), q)).ms);
const preparedQ = prepareG2(q);
row("pairing against a prepared G2 point", measure(n, () => pairPrepared(G1.BASE, preparedQ)).ms);
row("hash to G2 (RFC 9380)", measure(n, (i) => hashIdentity(new Uint8Array([i & 0xff, 7, 7]))).ms);
row("G1 scalar multiplication", measure(n, () => G1.BASE.multiply(scalar)).ms);
row("G2 scalar multiplication", measure(n, () => q.multiply(scalar)).ms);

// DKG
const dkgs = new Map<number, DkgResult[]>();
for (const members of [3, 5, 21]) {
  const plan = planStakeUnits(Array.from({ length: members }, () => 32n * 10n ** 18n));
  const runs = quick || members === 21 ? 1 : 3;
  const { ms, last } = measure(runs, () => runDkg(plan, `bench ${members}`, () => random));
  for (const r of last.results) if (r instanceof Error) throw r;
  dkgs.set(members, last.results as DkgResult[]);
  row(`DKG, ${members} members (${plan.totalUnits} units, threshold ${plan.threshold}), all members`, ms, `, ${(ms / members).toFixed(0)} ms per member`);
}
{
  // a weighted set: stakes 1..4 x minimum over 21 members
  const plan = planStakeUnits(Array.from({ length: 21 }, (_, i) => BigInt(1 + (i % 4)) * 32n * 10n ** 18n));
  const { ms } = measure(1, () => runDkg(plan, "bench weighted", () => random));
  row(`DKG, 21 members weighted 1-4 (${plan.totalUnits} units, threshold ${plan.threshold}), all members`, ms, `, ${(ms / 21).toFixed(0)} ms per member`);
}

// per slot and per transaction, with the 21-member key from the DKG above
const members = 21;
const run21 = dkgs.get(members)!;
const key = run21[0]!;
const identity = slotIdentity(31337, 1, 1);
const tx = random(200);

const target = measure(n, (i) => prepareEncryptionTarget(key.publicKey, slotIdentity(31337, 2, 1000 + i)));
row("client: prepare a slot (hash identity to G2, its Miller-loop lines), once per slot", target.ms);
const slot = prepareEncryptionTarget(key.publicKey, identity);
const enc = measure(quick ? 20 : 100, () => encrypt(slot, tx, random));
row(`client: encrypt a ${tx.length}-byte transaction`, enc.ms, `, ${encodeCiphertext(enc.last).length} bytes`);

const gen = measure(n, (i) => releaseKeyShares(0, run21[0]!.secretShares, slotIdentity(31337, 1, 100 + i)));
row("member: key share for a new slot (1 unit: hash to G2 + G2 multiplication)", gen.ms);
const releases = run21.map((r, m) => releaseKeyShares(m, r.secretShares, identity));
row("verify one member's key share (one pairing equation, identity hashed already)", measure(n, (i) => keyShareReleaseIsValid(key, releases[(i + 21) % 21]!)).ms);
const verifyAll = measure(quick ? 1 : 3, () => releases.every((r) => keyShareReleaseIsValid(key, r)));
row(`verify all ${members} members' shares of a slot`, verifyAll.ms);
const combine = measure(n, () => combineSlotKey(key, identity, releases));
row(`combine ${key.plan.threshold} shares into the slot key and check it (optimistic path)`, combine.ms);
const ciphertexts = Array.from({ length: quick ? 20 : 100 }, () => encrypt(slot, tx, random));
const dec = measure(ciphertexts.length, (i) => decrypt(combine.last.slotKey, ciphertexts[(i + ciphertexts.length) % ciphertexts.length]!));
row("decrypt one transaction with the slot key", dec.ms, `, ${(1000 / dec.ms).toFixed(0)} tx/s per core`);
for (const txs of [1, 64, 256]) {
  const perSlot = combine.ms + txs * dec.ms;
  row(`combine + decrypt a slot of ${txs} transactions`, perSlot, `, ${(perSlot / txs).toFixed(1)} ms per tx`);
}

// what a node does with a keyed slot: decrypt each ciphertext and check the plaintext as a transaction
{
  const account = privateKeyToAccount(generatePrivateKey());
  const intake = { chainId: 901, maxBytes: 64 * 1024 };
  const slotId = slotIdentity(901, 1, 2);
  const keyed = combineSlotKey(key, slotId, run21.map((r, m) => releaseKeyShares(m, r.secretShares, slotId))).slotKey;
  const wire = { identity: slotId, key: g2ToBytes(keyed.key) };
  const txTarget = prepareEncryptionTarget(key.publicKey, slotId);
  const count = quick ? 16 : 64;
  const signed = await Promise.all(
    Array.from({ length: count }, (_, i) => account.signTransaction({ type: "eip1559", chainId: 901, nonce: i, to: account.address, value: 1n, gas: 21_000n, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") })),
  );
  const sealed = signed.map((raw) => encodeCiphertext(encrypt(txTarget, Uint8Array.from(Buffer.from(raw.slice(2), "hex")), random)));
  let start = performance.now();
  const inline = decryptTransactions(wire, sealed, intake);
  if (!inline.every((r) => r.ok)) throw new Error("a benchmark ciphertext did not decrypt to a valid transaction");
  const inlineMs = performance.now() - start;
  row(`node: decrypt + check a slot of ${count} transactions on the event loop`, inlineMs, `, ${(inlineMs / count).toFixed(1)} ms per tx`);
  for (const size of [1, 2]) {
    const pool = await DecodePool.create({ ...intake, size });
    await pool.decrypt(wire, sealed.slice(0, 2)); // warm-up: the workers load their modules
    start = performance.now();
    await pool.decrypt(wire, sealed);
    const ms = performance.now() - start;
    row(`node: decrypt + check a slot of ${count} transactions on ${size} worker thread(s)`, ms, `, ${(count / (ms / 1000)).toFixed(0)} tx/s`);
    await pool.close();
  }
}
