/**
 * Sender-recovery throughput: pure-JS noble vs native libsecp256k1, for the bare recovery
 * (signature -> address) and for the whole intake path (decode, checks, recovery), on one
 * thread and on the DecodePool. Usage: npm run bench:recovery [-- <transactions>]
 */
import { availableParallelism, loadavg } from "node:os";
import { hexToBytes, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  DecodePool,
  decodeTransaction,
  loadNativeBackend,
  nobleBackend,
  recoverSignerAddress,
  type RecoveryBackend,
} from "../../node/intake/index.js";

const count = Number(process.argv[2] ?? 4000);
const CHAIN_ID = 31337;
const OPTS = { chainId: CHAIN_ID, maxBytes: 128 * 1024 };

const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const raws: Hex[] = [];
for (let i = 0; i < count; i++) {
  raws.push(
    await account.signTransaction({
      type: "eip1559",
      chainId: CHAIN_ID,
      nonce: i,
      to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      gas: 60_000n,
      maxFeePerGas: 2n * 10n ** 9n,
      maxPriorityFeePerGas: 10n ** 9n,
      // ERC-20 transfer calldata: a typical rollup transaction size.
      data: `0xa9059cbb${"00".repeat(12)}${"11".repeat(20)}${"00".repeat(31)}0a`,
    }),
  );
}
const signatures = raws.map((raw) => {
  const tx = decodeTransaction(raw, OPTS);
  const compact = new Uint8Array(64);
  compact.set(hexToBytes(tx.signature.r), 0);
  compact.set(hexToBytes(tx.signature.s), 32);
  return { hash: hexToBytes(tx.signingHash), compact, yParity: tx.signature.yParity };
});

/**
 * Rate per wall-clock second and per CPU second of this process: on a shared machine the CPU
 * figure is the stable one (wall time includes time other processes held the core).
 */
function rate(label: string, n: number, run: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, n); i++) run(i); // warm-up
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) run(i);
  const wallSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`${label.padEnd(44)} ${fmt(n / wallSeconds)} /s wall  ${fmt(n / cpuSeconds)} /s per CPU-second`);
  return n / cpuSeconds;
}

function fmt(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US").padStart(9);
}

const native = loadNativeBackend();
const recoverWith = (backend: RecoveryBackend) => (i: number) => {
  const { hash, compact, yParity } = signatures[i];
  if (recoverSignerAddress(hash, compact, yParity, backend) !== account.address) throw new Error("wrong sender");
};
const decodeWith = (backend: RecoveryBackend) => (i: number) => {
  decodeTransaction(raws[i], { ...OPTS, backend });
};

console.log(`${count} signed EIP-1559 transactions (${hexToBytes(raws[0]).length} bytes), Node ${process.version}`);
console.log("single thread:");
const nobleN = Math.min(count, 1000);
const nobleRecover = rate("  recovery, @noble/curves", nobleN, recoverWith(nobleBackend));
const nativeRecover = rate("  recovery, native secp256k1", count, recoverWith(native));
rate("  decode + checks + recovery, @noble/curves", nobleN, decodeWith(nobleBackend));
rate("  decode + checks + recovery, native", count, decodeWith(native));
console.log(`  native/noble recovery: ${(nativeRecover / nobleRecover).toFixed(1)}x`);

// The pool is about wall-clock throughput (its CPU time is spread over worker threads).
for (const size of [...new Set([1, 2, availableParallelism()])]) {
  const pool = await DecodePool.create({ ...OPTS, size });
  await pool.decode(raws.slice(0, 500)); // warm-up
  const start = performance.now();
  const results = await pool.decode(raws);
  const perSecond = count / ((performance.now() - start) / 1000);
  await pool.close();
  if (!results.every((r) => r.ok)) throw new Error("pool rejected a valid transaction");
  const label = `pool, ${size} worker${size > 1 ? "s" : ""} (native, decode + recovery)`;
  console.log(`${label.padEnd(44)} ${fmt(perSecond)} /s wall`);
}
console.log(`cores available: ${availableParallelism()}; load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
