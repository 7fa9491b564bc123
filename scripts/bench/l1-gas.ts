/**
 * What a batch costs on L1 per transaction in each data format: calldata v1, compressed calldata
 * v2 and blobs (v3 carrying v2), on the in-process Hardhat chain (calldata only: it takes no blob
 * transactions) and on Anvil. A staked deployment of 3 operators; the benchmark's transactions
 * (`lib/presign.ts`, 200 bytes by default); every batch signed by all three and sent by operator
 * 0's batcher, as the leader sends it. Prints a table and writes
 * scripts/bench/results/l1-gas.json. Not the pipeline benchmark of issue 14 (cluster, offered
 * rate, finalized tx/s): this measures the L1 side of one batch.
 *
 *   npm run bench:l1-gas [-- --tx-bytes 200]
 */
import { writeFile } from "node:fs/promises";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";
import { bytesToHex, createWalletClient, custom, defineChain, encodeFunctionData, hexToBytes, keccak256, parseGwei, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildBatch, toBatchHeader, type BatchEncoding } from "../../node/batching/header.js";
import { domain, signBatchHeader, ZERO_HASH, batchHash, type BatchHeader } from "../../node/commitments/typed-data.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { BLOB_PAYLOAD_BYTES, blobKzg } from "../../node/l1/blobs.js";
import { GETH_MAX_TX_BYTES, submitBatchTxBytes } from "../../node/l1/inbox-writer.js";
import { mineToNextEpoch } from "../lib/deploy.js";
import { deployAndStake, startLocalChain, type LocalChain } from "../lib/devnet.js";
import { startAnvil } from "../lib/anvil.js";
import { makeTempDir, removeTempDir } from "../lib/processes.js";
import { LoadSigner } from "./lib/presign.js";
import { l1CostPerTx } from "./lib/l1-cost.js";

const { values } = parseArgs({ options: { "tx-bytes": { type: "string", default: "200" } } });
const txBytes = Number(values["tx-bytes"]);

interface Row {
  readonly l1: string;
  readonly format: string;
  readonly txs: number;
  readonly blobs: number;
  readonly gasUsed: number;
  readonly l1GasPerTx: number;
  readonly blobGasPerTx: number;
  readonly l1BytesPerTx: number;
  readonly rawBytesPerTx: number;
}

/** As many transactions as one calldata v1 batch carries with 100 signature seats (the leader's rule). */
function calldataFit(txSize: number): number {
  let n = 1;
  while (submitBatchTxBytes(1 + 3 + (n + 1) * (txSize + 2), 100) <= GETH_MAX_TX_BYTES && (n + 1) * (txSize + 2) <= 120_000) n++;
  return n;
}

async function run(l1: "hardhat" | "anvil"): Promise<Row[]> {
  const chain: LocalChain = l1 === "anvil" ? await startAnvil() : await startLocalChain();
  const dir = makeTempDir("bench-l1-gas-");
  try {
    const net = await deployAndStake(chain, dir, ["1200", "1100", "1000"]);
    const { registry } = net.deployment;
    await mineToNextEpoch(chain.connection, registry);
    const epoch = Number(await registry.read.currentEpoch());
    const signers = await Promise.all(net.operators.map(async (op) => privateKeyToAccount((await readFile(op.config.signerKeyFile, "utf8")).trim() as Hex)));
    const publicClient = await chain.connection.viem.getPublicClient();
    const chainId = await publicClient.getChainId();
    const d = domain(chainId, registry.address);
    const viemChain = defineChain({ id: chainId, name: l1, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [chain.url] } } });
    const wallet = createWalletClient({ account: signers[0]!, chain: viemChain, transport: custom(chain.connection.provider) });
    const load = new LoadSigner({ chainId: 901, senders: 256, txBytes, seed: 11 });
    const inbox = net.deployment.contracts.batchInbox.address;
    const fit = calldataFit(txBytes);
    const cases: [string, BatchEncoding, number][] = [
      ["calldata v1", { compress: false }, fit],
      ["calldata v2", { compress: true }, fit],
      ...(l1 === "anvil"
        ? ([
            ["blobs (v2), same batch", { compress: true, maxBlobs: 6 }, fit],
            ["blobs (v2), 6 blobs full", { compress: true, maxBlobs: 6 }, 0],
          ] as [string, BatchEncoding, number][])
        : []),
    ];
    const rows: Row[] = [];
    let prev: BatchHeader | undefined;
    let next = 0;
    for (const [format, encoding, wanted] of cases) {
      // 0: as many as 6 blobs take of compressed payload (measured on a first try, then 97 % of it).
      let count = wanted;
      if (count === 0) {
        const probe = buildBatch({ epoch, batchNumber: 1, prevBatchHash: ZERO_HASH, firstPosition: 0 }, load.sign(2_000).map((raw) => ({ hash: keccak256(raw), data: hexToBytes(raw) })), { compress: true });
        count = Math.floor(((2_000 * 6 * BLOB_PAYLOAD_BYTES) / probe.payload.length) * 0.97);
      }
      const raws = load.sign(count);
      const built = buildBatch(
        { epoch, batchNumber: rows.length + 1, prevBatchHash: prev === undefined ? ZERO_HASH : batchHash(prev), firstPosition: next },
        raws.map((raw) => ({ hash: keccak256(raw), data: hexToBytes(raw) })),
        encoding,
      );
      const header = toBatchHeader(built.header);
      const signatures = await Promise.all(signers.map((s) => signBatchHeader(s, d, header)));
      const data = encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [header, bytesToHex(built.data), signatures] });
      const hash = await wallet.sendTransaction({
        to: inbox,
        data,
        ...(built.blobs === undefined ? {} : { blobs: built.blobs.blobs, kzg: blobKzg(), maxFeePerBlobGas: parseGwei("10") }),
      } as Parameters<typeof wallet.sendTransaction>[0]);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${l1} ${format}: the batch transaction reverted`);
      const blobs = built.blobs?.blobs.length ?? 0;
      const rawBytes = raws.reduce((sum, r) => sum + (r.length - 2) / 2, 0);
      const cost = l1CostPerTx([{ gasUsed: receipt.gasUsed, blobGasUsed: receipt.blobGasUsed ?? 0n, calldataBytes: (data.length - 2) / 2, blobs, txs: count, rawBytes }]);
      rows.push({ l1, format, txs: count, blobs, gasUsed: Number(receipt.gasUsed), ...cost });
      prev = header;
      next += count;
    }
    return rows;
  } finally {
    await chain.close();
    await removeTempDir(dir);
  }
}

const rows = [...(await run("hardhat")), ...(await run("anvil"))];
console.log(`\n${txBytes}-byte EIP-1559 benchmark transactions, 3 signatures per batch\n`);
console.log("| L1 | format | txs | blobs | gasUsed | l1GasPerTx | blobGasPerTx | l1BytesPerTx | rawBytesPerTx |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(`| ${r.l1} | ${r.format} | ${r.txs} | ${r.blobs} | ${r.gasUsed} | ${r.l1GasPerTx} | ${r.blobGasPerTx} | ${r.l1BytesPerTx} | ${r.rawBytesPerTx} |`);
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
const out = { txBytes, rows, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, commit, at: new Date().toISOString() };
await writeFile(new URL("./results/l1-gas.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log("\nwrote scripts/bench/results/l1-gas.json");
