/**
 * Rebuilds the ordered transaction list from L1 alone and, with --compare, checks it position
 * by position against nodes' logs.
 *
 *   npm run rebuild -- --l1-rpc <url> --deployment <record.json> [--from-block N] [--to-block N]
 *                      [--compare <node rpc url> ...] [--out file] [--rollup-chain-id N]
 *
 * Encrypted transactions (0xb1 positions) are decrypted with the slot keys the stream carries,
 * each checked against the epoch key anchored in the deployment's EpochKeys: --out adds each
 * encrypted position's outcome (`decrypted`: status and the plaintext transaction).
 *
 * Exit codes: 0 the stream is valid (and equals every compared node's log), 1 a node differs or
 * cannot be asked, 2 bad usage or the L1 batches do not chain, 3 the stream has gaps: batches
 * whose transactions L1 does not give, each reported with its positions (the rest is still
 * rebuilt, written and compared; docs/batch-format.md, "Unreadable batches").
 */
import { UsageError } from "./lib/cli.js";
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createPublicClient, http, type PublicClient } from "viem";
import { loadDeploymentRecord } from "../node/l1/deployment.js";
import { compareWithNode, describeCarriers, describeDifference, describeGap, rebuildFromL1, type NodeComparison } from "./lib/rebuild.js";
import { decryptStream, describeDecrypted } from "./lib/decrypt-stream.js";

const USAGE = "usage: npm run rebuild -- --l1-rpc <url> --deployment <record.json> [--from-block N] [--to-block N] [--compare <node rpc url> ...] [--out file] [--rollup-chain-id N (default 901)]";

function block(value: string | undefined, flag: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a block number, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "l1-rpc": { type: "string" },
      deployment: { type: "string" },
      "from-block": { type: "string" },
      "to-block": { type: "string" },
      compare: { type: "string", multiple: true },
      out: { type: "string" },
      "rollup-chain-id": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (values["l1-rpc"] === undefined || values.deployment === undefined) throw new UsageError("--l1-rpc and --deployment are required");
  const rollupChainId = values["rollup-chain-id"] === undefined ? 901 : Number(values["rollup-chain-id"]);
  if (!Number.isSafeInteger(rollupChainId) || rollupChainId <= 0) throw new UsageError(`--rollup-chain-id must be a positive integer, got ${JSON.stringify(values["rollup-chain-id"])}`);
  const deployment = await loadDeploymentRecord(values.deployment);
  const client = createPublicClient({ transport: http(values["l1-rpc"]) }) as PublicClient;
  const chainId = await client.getChainId();
  if (chainId !== deployment.chainId) throw new UsageError(`${values["l1-rpc"]} is chain ${chainId}, the deployment record is for chain ${deployment.chainId}`);

  const stream = await rebuildFromL1(client, {
    inbox: deployment.batchInbox,
    deploymentBlock: deployment.deploymentBlock,
    fromBlock: block(values["from-block"], "--from-block"),
    toBlock: block(values["to-block"], "--to-block"),
  });
  const last = stream.batches.at(-1);
  const lastPosition = last === undefined ? 0n : last.readable ? last.header.lastPosition : last.accepted.lastPosition;
  console.log(
    last === undefined
      ? `L1 blocks ${stream.fromBlock}..${stream.toBlock}: no accepted batches`
      : `L1 blocks ${stream.fromBlock}..${stream.toBlock}: batches ${stream.batches[0]!.batchNumber}..${last.batchNumber}, ` +
          `${stream.txs.length} transactions at positions ${stream.firstPosition}..${lastPosition} (${describeCarriers(stream.batches)}); chain, positions, data hashes, versioned hashes and Merkle roots check out` +
          (stream.gaps.length === 0 ? "" : ` except for ${stream.gaps.length} unreadable batch(es)`),
  );
  for (const g of stream.gaps) console.log(describeGap(g));
  const decrypted = deployment.epochKeys === undefined ? new Map() : await decryptStream(stream.txs, { client, epochKeys: deployment.epochKeys, rollupChainId });
  if (decrypted.size > 0) console.log(describeDecrypted(decrypted));
  if (values.out !== undefined) {
    const lines = stream.txs.map((t) => {
      const outcome = decrypted.get(Number(t.position));
      return JSON.stringify({ position: Number(t.position), txHash: t.txHash, raw: t.raw, ...(outcome === undefined ? {} : { decrypted: outcome }) });
    });
    await writeFile(values.out, lines.length === 0 ? "" : `${lines.join("\n")}\n`);
    console.log(`wrote ${stream.txs.length} transactions (JSON lines) to ${values.out}`);
  }

  let failed = false;
  for (const url of values.compare ?? []) {
    let result: NodeComparison;
    try {
      result = await compareWithNode(url, stream.txs);
    } catch (e) {
      console.log(`${url}: cannot compare: ${(e as Error).message}`);
      failed = true;
      continue;
    }
    console.log(describeDifference(result));
    if (result.difference !== null) failed = true;
  }
  if (failed) return 1;
  return stream.gaps.length === 0 ? 0 : 3;
}

try {
  process.exitCode = await main();
} catch (e) {
  console.error(e instanceof UsageError ? `${e.message}\n${USAGE}` : `rebuild failed: ${(e as Error).message}`);
  process.exitCode = 2;
}
