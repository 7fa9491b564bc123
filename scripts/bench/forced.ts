/**
 * Forced inclusion on the devnet's setup (in-process chain mining a block a second, devnet epochs,
 * default node settings, background traffic): the time from `forceTransaction` to the order
 * commitment and to coverage on L1, for N transactions forced one after another. Prints figures,
 * asserts nothing. Usage: npm run bench:forced [-- <count> [<nodes>]]
 */
import { createPublicClient, http, parseGwei, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { forceTransaction } from "../../node/l1/force.js";
import { nodeRpc } from "../../node/rpc/client.js";
import { DEVNET_DEFAULTS, devnetDeployConfig } from "../devnet/options.js";
import { deployAndStake, enterNextEpoch, spawnNode, startLocalChain, stopNode, type NodeProcess } from "../lib/devnet.js";
import { makeTempDir, removeTempDir } from "../lib/processes.js";

const count = Number(process.argv[2] ?? 10);
const nodes = Number(process.argv[3] ?? DEVNET_DEFAULTS.nodes);
const ROLLUP_CHAIN_ID = 901;

const dir = makeTempDir("seq-bench-forced-");
const chain = await startLocalChain(0, { blockIntervalMs: DEVNET_DEFAULTS.blockIntervalMs });
const procs: NodeProcess[] = [];
let traffic: NodeJS.Timeout | undefined;
try {
  const client = createPublicClient({ transport: http(chain.url) }) as PublicClient;
  const stakes = Array.from({ length: nodes }, (_, i) => String(3000 - 100 * i));
  const net = await deployAndStake(chain, dir, stakes, {}, { deploy: devnetDeployConfig({ epochLength: DEVNET_DEFAULTS.epochLength }) });
  await enterNextEpoch(chain, net.deployment.registry);
  for (const o of net.operators) procs.push(spawnNode(o));
  const user = privateKeyToAccount(generatePrivateKey());
  let nonce = 0;
  const sign = () =>
    user.signTransaction({ type: "eip1559", chainId: ROLLUP_CHAIN_ID, nonce: nonce++, to: user.address, value: 1n, gas: 21_000n, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") });
  // Wait for a leader, then keep the devnet's background traffic going (errors during elections are expected).
  for (;;) {
    const s = await nodeRpc<{ leader: string | null }>(net.operators[0]!.rpcUrl, "seq_status").catch(() => ({ leader: null }));
    if (s.leader !== null) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  let k = 0;
  traffic = setInterval(() => void sign().then((raw) => nodeRpc(net.operators[k++ % nodes]!.rpcUrl, "seq_sendRawTransaction", [raw]).catch(() => undefined)), 1000 / DEVNET_DEFAULTS.tps);
  const payer = (await chain.connection.viem.getWalletClients())[nodes + 5]!;
  const ordered: number[] = [];
  const covered: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = await forceTransaction({
      publicClient: client,
      wallet: payer as never,
      queue: net.deployment.contracts.forcedInclusionQueue.address,
      inbox: net.deployment.contracts.batchInbox.address,
      raw: await sign(),
      rpc: net.operators[i % nodes]!.rpcUrl,
      pollMs: 50,
    });
    ordered.push(r.orderedAfterMs!);
    covered.push(r.coveredAfterMs);
    console.log(`forced ${i + 1}/${count}: item ${r.item}, position ${r.position}, ordered after ${r.orderedAfterMs} ms, covered on L1 after ${r.coveredAfterMs} ms (deadline block ${r.deadlineBlock})`);
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `min ${s[0]} ms, median ${s[Math.floor(s.length / 2)]} ms, max ${s.at(-1)} ms`;
  };
  console.log(`${nodes} nodes, ${DEVNET_DEFAULTS.tps} tx/s background, 1 s L1 blocks, ${count} forced transactions`);
  console.log(`force -> ordered (order commitment): ${stats(ordered)}`);
  console.log(`force -> covered on L1:              ${stats(covered)}`);
} finally {
  clearInterval(traffic);
  await Promise.all(procs.map((p) => stopNode(p, "SIGKILL")));
  await chain.close();
  await removeTempDir(dir);
}
