/**
 * The L1 pipeline under steady load (issue 14): 3 nodes on an Anvil chain with a fixed block time,
 * blob mode with compression, an open-loop offered rate, warm-up then a steady window. Measures
 * what the cluster commits, what reaches L1 at confirmation depth, the lag between the two, what
 * the batches cost on L1 and what the L1 could carry at all. Prints figures, asserts nothing.
 *
 *   npm run bench:l1                      12-s blocks, 1000 tx/s offered, 60 s warm-up, 300 s window
 *   npm run bench:l1 -- --quick           2-s blocks, 20 s warm-up, 60 s window
 *   npm run bench:l1 -- --block-time 2 --rate 1500 --window 120 --batch-max-bytes 2400000
 *
 * Writes scripts/bench/results/l1-pipeline.json (--quick: l1-pipeline-quick.json).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { hexToBytes, type Hex, type PublicClient } from "viem";
import { decodeBatchPayload } from "../../node/batching/compression.js";
import { BLOB_PAYLOAD_BYTES } from "../../node/l1/blobs.js";
import { readAcceptedBatches, type AcceptedBatch } from "../../node/l1/inbox.js";
import { DEFAULTS, type NodeConfig } from "../../node/sequencer/config.js";
import { startAnvil } from "../lib/anvil.js";
import type { LocalChain } from "../lib/devnet.js";
import { numberOption, optionsOrExit, UsageError } from "../lib/cli.js";
import { makeTempDir, removeTempDir } from "../lib/processes.js";
import { l1CostPerTx, type BatchTxCost } from "./lib/l1-cost.js";
import { RpcHttpClient, runClosedLoop } from "./lib/load.js";
import { LoadSigner, PresignedPool } from "./lib/presign.js";
import { SequencerCluster } from "./lib/sequencer.js";

const ROLLUP_CHAIN_ID = 901;
const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
/** Blobs per block Anvil's default hardfork (Prague/Osaka, EIP-7691) takes at most. */
const DEFAULT_BLOB_LIMIT = 9;
/** Submissions outstanding at most: below the node's limit of calls in flight (256), which answers "server overloaded" above it. */
const RPC_CALLS_OUTSTANDING = 240;

const USAGE =
  "usage: npm run bench:l1 -- [--quick] [--block-time S] [--rate TX_PER_S] [--warmup S] [--window S] [--tx-bytes N]\n" +
  "                          [--per-request N] [--batch-max-bytes N] [--batch-max-txs N] [--batch-interval-ms MS] [--blob-limit N] [--keep]\n" +
  "defaults: 12-s blocks, 1000 tx/s, 60 s warm-up, 300 s window; --quick: 2-s blocks, 20 s warm-up, 60 s window\n" +
  "bench node settings: blob mode, compression on, batchMaxBytes 2,400,000 and batchMaxTxs 12,000 (a cut can fill 6 blobs),\n" +
  "batchIntervalMs = the block time (one cut per block unless full); other settings are the node defaults";

function parseSettings() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      "block-time": { type: "string" },
      rate: { type: "string", default: "1000" },
      warmup: { type: "string" },
      window: { type: "string" },
      "tx-bytes": { type: "string", default: "200" },
      "per-request": { type: "string", default: "10" },
      "batch-max-bytes": { type: "string", default: "2400000" },
      "batch-max-txs": { type: "string", default: "12000" },
      "batch-interval-ms": { type: "string" },
      "blob-limit": { type: "string", default: String(DEFAULT_BLOB_LIMIT) },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const positive = (v: string | undefined, flag: string) => numberOption(v, flag, (n) => n > 0, "a positive number");
  const integer = (v: string | undefined, flag: string) => numberOption(v, flag, (n) => Number.isSafeInteger(n) && n > 0, "a positive integer");
  const quick = values.quick;
  const blockTimeS = integer(values["block-time"], "--block-time") ?? (quick ? 2 : 12);
  const settings = {
    quick,
    blockTimeS,
    rate: positive(values.rate, "--rate")!,
    warmupS: positive(values.warmup, "--warmup") ?? (quick ? 20 : 60),
    windowS: positive(values.window, "--window") ?? (quick ? 60 : 300),
    txBytes: integer(values["tx-bytes"], "--tx-bytes")!,
    perRequest: integer(values["per-request"], "--per-request")!,
    batchMaxBytes: integer(values["batch-max-bytes"], "--batch-max-bytes")!,
    batchMaxTxs: integer(values["batch-max-txs"], "--batch-max-txs")!,
    batchIntervalMs: integer(values["batch-interval-ms"], "--batch-interval-ms") ?? blockTimeS * 1_000,
    blobLimit: integer(values["blob-limit"], "--blob-limit")!,
    keep: values.keep,
  };
  if (settings.windowS < 4 * blockTimeS) throw new UsageError(`--window ${settings.windowS} must span at least 4 blocks (${4 * blockTimeS} s): its halves are compared`);
  return settings;
}

type Settings = NonNullable<ReturnType<typeof parseSettings>>;

/** One look at the system, about every second. */
interface Sample {
  readonly ms: number;
  readonly head: bigint;
  /** Positions the leader has committed (its nextPosition). */
  readonly committed: number;
  /** Batch transactions in Anvil's mempool. */
  readonly mempool: number;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const positionsOf = (b: AcceptedBatch) => Number(b.header.lastPosition - b.header.firstPosition) + 1;

async function run(s: Settings) {
  const nodeSettings: Partial<NodeConfig> = {
    batchDataMode: "blobs",
    batchCompression: "on",
    batchMaxBytes: s.batchMaxBytes,
    batchMaxTxs: s.batchMaxTxs,
    batchIntervalMs: s.batchIntervalMs,
  };
  const confirmations = DEFAULTS.l1Confirmations;
  const dir = makeTempDir("seq-bench-l1-");
  const signer = new LoadSigner({ chainId: ROLLUP_CHAIN_ID, senders: 1_000, txBytes: s.txBytes, seed: 14 });
  await signer.checkAgainstViem();
  const pool = new PresignedPool(signer, "seq_sendRawTransaction");
  const total = Math.ceil(s.rate * (s.warmupS + s.windowS) * 1.05);
  console.log(`signing ${total} transactions of ${s.txBytes} bytes...`);
  pool.ensure(total);

  // Anvil automines while the system deploys (each step waits for its block), then mines every blockTimeS from before the nodes start, as the devnet does.
  const beforeNodes = (chain: LocalChain) => chain.connection.provider.request({ method: "anvil_setIntervalMining", params: [s.blockTimeS] }).then(() => undefined);
  const cluster = await SequencerCluster.start(dir, 3, {}, { startChain: () => startAnvil(), nodeSettings, beforeNodes });
  const client = new RpcHttpClient(64);
  try {
    const { provider } = cluster.chain.connection;
    const publicClient = (await cluster.chain.connection.viem.getPublicClient()) as PublicClient;
    const leader = await cluster.leaderIndex();
    const startBlock = await publicClient.getBlockNumber();
    console.log(`3 nodes on Anvil, leader node ${leader}, a block every ${s.blockTimeS} s from block ${startBlock}; offering ${s.rate} tx/s for ${s.warmupS} s warm-up + ${s.windowS} s window`);

    const samples: Sample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const t0 = performance.now();
        try {
          const [head, status, pool] = await Promise.all([
            publicClient.getBlockNumber({ cacheTime: 0 }),
            cluster.status(leader),
            provider.request({ method: "txpool_status", params: [] }) as Promise<{ pending: Hex; queued: Hex }>,
          ]);
          samples.push({ ms: t0, head, committed: status.nextPosition, mempool: Number(pool.pending) + Number(pool.queued) });
        } catch (error) {
          console.error(`sample failed: ${(error as Error).message.slice(0, 120)}`);
        }
        await sleep(Math.max(0, 1_000 - (performance.now() - t0)));
      }
    })();
    let windowStartMs = 0;
    let windowEndMs = 0;
    const load = await runClosedLoop(client, {
      // Paced; at most 240 calls outstanding, under the node's 256 in flight, so the status samples still get in.
      concurrency: Math.max(1, Math.floor(RPC_CALLS_OUTSTANDING / s.perRequest)),
      warmupMs: s.warmupS * 1_000,
      durationMs: s.windowS * 1_000,
      urlFor: () => cluster.urls[leader]!,
      nextBody: () => pool.body(s.perRequest),
      maxRequestsPerSec: s.rate / s.perRequest,
      window: { onWindowStart: () => (windowStartMs = performance.now()), onWindowEnd: () => (windowEndMs = performance.now()) },
    });
    // Let the window's last cuts reach L1 before reading it (the figures still count only the window).
    await sleep((confirmations + 2) * s.blockTimeS * 1_000);
    sampling = false;
    await sampler;

    const endBlock = await publicClient.getBlockNumber({ cacheTime: 0 });
    const inbox = cluster.net.deployment.contracts.batchInbox.address;
    const batches = (await readAcceptedBatches(publicClient, inbox, startBlock, endBlock)).filter((b): b is AcceptedBatch => b.readable);
    const finalizedAt = (head: bigint) => batches.filter((b) => b.l1BlockNumber + BigInt(confirmations) <= head).reduce((n, b) => n + positionsOf(b), 0);
    const inWindow = samples.filter((x) => x.ms >= windowStartMs && x.ms <= windowEndMs);
    if (inWindow.length < 4) throw new Error(`only ${inWindow.length} samples fell inside the window`);
    const first = inWindow[0]!;
    const last = inWindow.at(-1)!;
    const spanS = (last.ms - first.ms) / 1_000;
    const commitTxPerSec = (last.committed - first.committed) / spanS;
    const finalizedTxPerSec = (finalizedAt(last.head) - finalizedAt(first.head)) / spanS;

    // Lag at each sample: positions committed but not yet at depth, and how many blocks ago the oldest of them was committed.
    const lags = inWindow.map((x) => {
      const finalized = finalizedAt(x.head);
      const committedAt = samples.find((y) => y.committed > finalized);
      const lagBlocks = x.committed > finalized && committedAt !== undefined ? Number(x.head - committedAt.head) : 0;
      const includedUnconfirmed = batches.filter((b) => b.l1BlockNumber <= x.head && b.l1BlockNumber + BigInt(confirmations) > x.head).length;
      return { ms: x.ms, positions: Math.max(0, x.committed - finalized), blocks: lagBlocks, inFlight: x.mempool + includedUnconfirmed };
    });
    const half = (first.ms + last.ms) / 2;
    const maxOf = (xs: number[]) => xs.reduce((m, v) => Math.max(m, v), 0);
    const lagFirstHalf = maxOf(lags.filter((l) => l.ms < half).map((l) => l.positions));
    const lagSecondHalf = maxOf(lags.filter((l) => l.ms >= half).map((l) => l.positions));

    // Costs of the batches that landed in the window's blocks.
    const windowBatches = batches.filter((b) => b.l1BlockNumber > first.head && b.l1BlockNumber <= last.head);
    const costs: BatchTxCost[] = await Promise.all(
      windowBatches.map(async (b) => {
        const [receipt, tx] = await Promise.all([publicClient.getTransactionReceipt({ hash: b.l1TxHash }), publicClient.getTransaction({ hash: b.l1TxHash })]);
        const txs = decodeBatchPayload(hexToBytes(b.payload));
        return { gasUsed: receipt.gasUsed, blobGasUsed: receipt.blobGasUsed ?? 0n, calldataBytes: (tx.input.length - 2) / 2, blobs: b.blobs, txs: txs.length, rawBytes: txs.reduce((n, t) => n + t.length, 0) };
      }),
    );
    const cost = l1CostPerTx(costs);
    const windowBlocks = Number(last.head - first.head);
    const blobsPerBlock = windowBlocks > 0 ? costs.reduce((n, c) => n + c.blobs, 0) / windowBlocks : 0;
    const l1CapacityTxPerSec = (s.blobLimit * BLOB_PAYLOAD_BYTES) / s.blockTimeS / cost.l1BytesPerTx;
    const perBatch = (f: (c: BatchTxCost) => number) => (costs.length === 0 ? 0 : costs.reduce((n, c) => n + f(c), 0) / costs.length);

    const bar = Math.min(commitTxPerSec, l1CapacityTxPerSec);
    const l1IsLimit = l1CapacityTxPerSec < commitTxPerSec;
    // Bounded: the second half's worst lag no more than the first half's plus one block of commits (a cut may land a block later).
    const lagBound = lagFirstHalf * 1.1 + commitTxPerSec * s.blockTimeS;
    const targets = {
      finalized: { met: finalizedTxPerSec >= 0.95 * bar, rule: `finalizedTxPerSec >= 95 % of min(commit, capacity) = ${round(0.95 * bar)}` },
      blobsPerBlock: l1IsLimit
        ? { met: blobsPerBlock >= 0.9 * s.blobLimit, rule: `blobs per block >= 90 % of ${s.blobLimit} (the L1 is the limit)` }
        : { met: true, rule: "n/a: the L1 is not the limit (capacity above what the cluster commits)" },
      lagBounded: { met: lagSecondHalf <= lagBound, rule: `max lag of the second half (${lagSecondHalf}) <= 1.1 x the first half's (${lagFirstHalf}) + one block of commits = ${Math.round(lagBound)}` },
      l1GasPerTx: { met: cost.l1GasPerTx <= 100, rule: "l1GasPerTx <= 100 (blob mode)" },
    };
    const maxBatchesInFlight = maxOf(lags.map((l) => l.inFlight));
    const holding = holdingStages({
      s,
      offered: s.rate,
      commitTxPerSec,
      finalizedTxPerSec,
      l1IsLimit,
      meanRawBytesPerBatch: perBatch((c) => c.rawBytes),
      meanTxsPerBatch: perBatch((c) => c.txs),
      meanBlobsPerBatch: perBatch((c) => c.blobs),
      batchesPerBlock: windowBlocks > 0 ? costs.length / windowBlocks : 0,
      maxBatchesInFlight,
      lagBlocks: maxOf(lags.map((l) => l.blocks)),
      missed: Object.values(targets).some((t) => !t.met),
    });
    return {
      blockTimeS: s.blockTimeS,
      offeredTxPerSec: s.rate,
      sentTxPerSec: round((load.committed + load.errors) / (load.windowMs / 1_000)),
      acceptedTxPerSec: round(load.opsPerSec),
      submitErrors: load.errors,
      submitErrorKinds: load.errorKinds,
      commitTxPerSec: round(commitTxPerSec),
      finalizedTxPerSec: round(finalizedTxPerSec),
      maxLagBlocks: maxOf(lags.map((l) => l.blocks)),
      maxLagPositions: maxOf(lags.map((l) => l.positions)),
      maxLagPositionsFirstHalf: lagFirstHalf,
      maxLagPositionsSecondHalf: lagSecondHalf,
      ...cost,
      maxBatchesInFlight,
      l1CapacityTxPerSec: round(l1CapacityTxPerSec),
      blobLimitPerBlock: s.blobLimit,
      blobsPerBlock: round(blobsPerBlock, 2),
      windowBlocks,
      windowBatches: costs.length,
      meanTxsPerBatch: round(perBatch((c) => c.txs)),
      meanBlobsPerBatch: round(perBatch((c) => c.blobs), 2),
      confirmations,
      targets,
      holdingBack: holding,
      settings: { ...nodeSettings, batchMaxInFlight: DEFAULTS.batchMaxInFlight, batchMaxBlobs: DEFAULTS.batchMaxBlobs, l1Confirmations: confirmations, txBytes: s.txBytes, perRequest: s.perRequest, warmupS: s.warmupS, windowS: s.windowS },
    };
  } finally {
    client.close();
    await cluster.stop();
    if (s.keep) console.log(`kept ${dir}`);
    else await removeTempDir(dir);
  }
}

interface StageInputs {
  readonly s: Settings;
  readonly offered: number;
  readonly commitTxPerSec: number;
  readonly finalizedTxPerSec: number;
  readonly l1IsLimit: boolean;
  readonly meanRawBytesPerBatch: number;
  readonly meanTxsPerBatch: number;
  readonly meanBlobsPerBatch: number;
  readonly batchesPerBlock: number;
  readonly maxBatchesInFlight: number;
  readonly lagBlocks: number;
  readonly missed: boolean;
}

/** The stages that hold a missed target back, judged from what the window's batches looked like. */
function holdingStages(x: StageInputs): string[] {
  if (!x.missed) return [];
  const out: string[] = [];
  if (x.commitTxPerSec < 0.95 * x.offered) out.push(`the cluster commits ${round(x.commitTxPerSec)} of ${x.offered} tx/s offered (intake/consensus on this machine)`);
  const maxBlobs = DEFAULTS.batchMaxBlobs;
  if (x.meanBlobsPerBatch < 0.9 * maxBlobs) {
    if (x.meanRawBytesPerBatch >= 0.9 * x.s.batchMaxBytes) out.push(`batchMaxBytes (${x.s.batchMaxBytes}): cuts end at it with ${round(x.meanBlobsPerBatch, 2)} of ${maxBlobs} blobs used`);
    else if (x.meanTxsPerBatch >= 0.9 * x.s.batchMaxTxs) out.push(`batchMaxTxs (${x.s.batchMaxTxs}): cuts end at it with ${round(x.meanBlobsPerBatch, 2)} of ${maxBlobs} blobs used`);
    else if (x.l1IsLimit) out.push(`batchIntervalMs (${x.s.batchIntervalMs}): cuts leave on the timer with ${round(x.meanBlobsPerBatch, 2)} of ${maxBlobs} blobs used`);
  }
  if (x.maxBatchesInFlight >= DEFAULTS.batchMaxInFlight) out.push(`batchMaxInFlight (${DEFAULTS.batchMaxInFlight}): up to ${x.maxBatchesInFlight} batch transactions were unconfirmed at once`);
  if (x.lagBlocks > DEFAULTS.l1Confirmations + 2) out.push(`L1 inclusion and confirmations: the oldest unfinalized position waited up to ${x.lagBlocks} blocks (confirmation depth ${DEFAULTS.l1Confirmations})`);
  if (out.length === 0) out.push(`none singled out: ${round(x.batchesPerBlock, 2)} batches per block, ${round(x.meanBlobsPerBatch, 2)} blobs per batch`);
  return out;
}

function gitHead(): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

const settings = optionsOrExit(parseSettings, USAGE);
const loadAtStart = loadavg();
const result = await run(settings);
const out = {
  ...result,
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverage: { start: loadAtStart, end: loadavg() }, shared: "2 cores shared with other tenants' test runs" },
  commit: gitHead(),
  at: new Date().toISOString(),
};
const rows: [string, string][] = [
  ["block time", `${out.blockTimeS} s`],
  ["offered / sent / accepted", `${out.offeredTxPerSec} / ${out.sentTxPerSec} / ${out.acceptedTxPerSec} tx/s (${out.submitErrors} refused)`],
  ["committed", `${out.commitTxPerSec} tx/s`],
  ["finalized (depth " + out.confirmations + ")", `${out.finalizedTxPerSec} tx/s`],
  ["L1 capacity", `${out.l1CapacityTxPerSec} tx/s (${out.blobLimitPerBlock} blobs x ${BLOB_PAYLOAD_BYTES} B / ${out.blockTimeS} s / ${out.l1BytesPerTx} B per tx)`],
  ["max lag", `${out.maxLagBlocks} blocks, ${out.maxLagPositions} positions (halves: ${out.maxLagPositionsFirstHalf} / ${out.maxLagPositionsSecondHalf})`],
  ["L1 gas / blob gas per tx", `${out.l1GasPerTx} / ${out.blobGasPerTx}`],
  ["L1 bytes / raw bytes per tx", `${out.l1BytesPerTx} / ${out.rawBytesPerTx}`],
  ["batches in window", `${out.windowBatches} over ${out.windowBlocks} blocks: ${out.meanTxsPerBatch} txs, ${out.meanBlobsPerBatch} blobs each; ${out.blobsPerBlock} blobs per block`],
  ["max batches in flight", `${out.maxBatchesInFlight} (batchMaxInFlight ${DEFAULTS.batchMaxInFlight})`],
];
console.log(`\nL1 pipeline, blob mode, compression on, batchMaxBytes raised to ${settings.batchMaxBytes} (default 120,000) and batchMaxTxs to ${settings.batchMaxTxs} so a cut can fill 6 blobs\n`);
for (const [k, v] of rows) console.log(`${k.padEnd(30)} ${v}`);
console.log("\ntargets:");
for (const [k, t] of Object.entries(out.targets)) console.log(`  ${t.met ? "met   " : "MISSED"} ${k}: ${t.rule}`);
if (out.holdingBack.length > 0) console.log(`holding back: ${out.holdingBack.join("; ")}`);
const file = settings.quick ? "l1-pipeline-quick.json" : "l1-pipeline.json";
writeFileSync(new URL(`./results/${file}`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote scripts/bench/results/${file}`);
