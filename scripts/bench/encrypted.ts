/**
 * Encrypted transactions end to end beside plaintext, in the same run on the same 3-node cluster
 * (scripts/bench/lib/sequencer.ts: an in-process Hardhat L1, `seq start` processes): for each
 * concurrency C, C closed-loop clients for a window each, sending signed transactions either in
 * plaintext (`seq_sendRawTransaction`) or encrypted to the leader's open slot
 * (`seq_sendEncryptedTransaction`, encrypted in this process, a slot closed on the way answered by
 * encrypting again), counting commitments; for a sample of encrypted ones, the time from the
 * commitment to the plaintext on the leader (`seq_getDecryptedTransaction`, polled every 10 ms).
 *
 *   npm run build:node && npx tsx scripts/bench/encrypted.ts [-- --seconds 10 --concurrency 64,256]
 *
 * The client's encryption (one pairing per transaction, pure JS) runs on this process's thread,
 * on the same machine as the nodes: the figures bound what one such client and these nodes reach
 * together, not the nodes alone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { encryptTransaction, type EncryptionTarget } from "../../node/l1/encrypt-transaction.js";
import { NodeRpcError, nodeRpc } from "../../node/rpc/client.js";
import { SequencerCluster } from "./lib/sequencer.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, concurrency: { type: "string", default: "64,256" } }, strict: true });
const seconds = Number(values.seconds);
const levels = values.concurrency!.split(",").map(Number);
if (!Number.isFinite(seconds) || seconds <= 0 || levels.some((c) => !Number.isSafeInteger(c) || c <= 0)) {
  console.error("usage: encrypted.ts [--seconds N] [--concurrency C,C...]");
  process.exit(2);
}

const quantile = (sorted: readonly number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-encrypted-"));
  const cluster = await SequencerCluster.start(dir, 3);
  try {
    const leader = cluster.urls[await cluster.leaderIndex()]!;
    const started = Date.now();
    for (;;) {
      if ((await nodeRpc<EncryptionTarget | null>(leader, "seq_getEncryptionTarget")) !== null) break;
      if (Date.now() - started > 120_000) throw new Error("no epoch key after 2 minutes");
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`bench:encrypted 3 nodes, ${seconds} s per point, epoch key after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const c of levels) {
      for (const mode of ["plaintext", "encrypted"] as const) {
        const result = await load(leader, c, mode);
        const lat = result.latencies.sort((a, b) => a - b);
        console.log(
          `C=${String(c).padEnd(4)} ${mode.padEnd(10)} ${(result.committed / seconds).toFixed(1).padStart(7)} committed tx/s` +
            (mode === "encrypted" ? `, commitment -> plaintext p50 ${quantile(lat, 0.5).toFixed(0)} ms, p99 ${quantile(lat, 0.99).toFixed(0)} ms (${lat.length} sampled), ${result.reEncrypted} re-encrypted` : "") +
            (result.errors > 0 ? `, ${result.errors} errors` : ""),
        );
      }
    }
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function load(url: string, clients: number, mode: "plaintext" | "encrypted") {
  const until = Date.now() + seconds * 1000;
  let committed = 0;
  let errors = 0;
  let reEncrypted = 0;
  const latencies: number[] = [];
  const polls: Promise<void>[] = [];
  let target: EncryptionTarget | undefined;
  // This process encrypts for every client on one thread (~15 ms each): aim that many slots (150 ms each) ahead.
  const ahead = Math.min(60, Math.ceil((clients * 15) / 150) + 1);
  const client = async (k: number) => {
    const account = privateKeyToAccount(generatePrivateKey());
    for (let nonce = 0; Date.now() < until; nonce++) {
      const raw = await account.signTransaction({ type: "eip1559", chainId: 901, nonce, to: account.address, value: 1n, gas: 21_000n, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") });
      try {
        if (mode === "plaintext") await nodeRpc(url, "seq_sendRawTransaction", [raw], { timeoutMs: 30_000 });
        else {
          const commitment = await sendEncrypted(url, raw, ahead, () => target, (t) => (target = t), () => reEncrypted++);
          if (k % 4 === 0) polls.push(plaintextAfter(url, commitment.txHash, performance.now()).then((ms) => void latencies.push(ms)));
        }
        committed++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  await Promise.all(polls);
  return { committed, errors, reEncrypted, latencies };
}

async function sendEncrypted(url: string, raw: Hex, slotsAhead: number, get: () => EncryptionTarget | undefined, set: (t: EncryptionTarget) => void, again: () => void): Promise<{ txHash: Hex }> {
  for (let attempt = 0; ; attempt++) {
    let target = get();
    if (target === undefined) {
      target = (await nodeRpc<EncryptionTarget>(url, "seq_getEncryptionTarget"))!;
      set(target);
    }
    const ciphertext = await encryptTransaction({ serializedTransaction: raw, client: url, target, slotsAhead });
    try {
      return await nodeRpc<{ txHash: Hex }>(url, "seq_sendEncryptedTransaction", [ciphertext], { timeoutMs: 30_000 });
    } catch (error) {
      const closed = error instanceof NodeRpcError && (error.data as { reason?: string } | undefined)?.reason === "slot-closed";
      if (!closed || attempt >= 5) throw error;
      again();
      set((await nodeRpc<EncryptionTarget>(url, "seq_getEncryptionTarget"))!);
    }
  }
}

async function plaintextAfter(url: string, hash: Hex, since: number): Promise<number> {
  for (;;) {
    try {
      const outcome = await nodeRpc<{ status: string } | null>(url, "seq_getDecryptedTransaction", [hash]);
      if (outcome !== null && outcome.status !== "pending") return performance.now() - since;
    } catch (error) {
      // Hundreds of clients and pollers exceed the node's connections per client: a refused poll is asked again.
      if (!(error instanceof NodeRpcError) || !error.retryable) throw error;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

await main();
