/** Helpers for tests that drive node processes over JSON-RPC. */
import { readFile } from "node:fs/promises";
import { parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
export { enterNextEpoch } from "../../scripts/lib/devnet.js";
import { NodeRpcError, fetchRange, nodeRpc } from "../../node/rpc/client.js";
import { keepTempDir, removeTempDir } from "../../scripts/lib/processes.js";
import { enterNextEpoch, type LocalChain, type NodeProcess } from "../../scripts/lib/devnet.js";
import type { Registry } from "../../scripts/lib/deploy.js";

const ROLLUP_CHAIN_ID = 901;

/** JSON-RPC call to a node (a NodeRpcError carries the node's error `code`); generous timeout: a submission may wait out an election. */
export function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  return nodeRpc<T>(url, method, params, { timeoutMs: 60_000 });
}

/**
 * Submits like a client does: an error the node marks `retryable` (an election or handover in
 * progress, a forward cut short, an overload) or a node that cannot be reached is retried with the
 * same bytes, which can never take a second position. Anything else, or the deadline, throws.
 */
export async function submit<T = unknown>(url: string, raw: Hex, timeoutMs = 30_000, method = "seq_sendRawTransaction"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(1_000, delay * 2)) {
    try {
      return await rpc<T>(url, method, [raw]);
    } catch (error) {
      if (!(error instanceof NodeRpcError) || !error.retryable || Date.now() + delay > deadline) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The value of the first series named `name` on a node's /metrics, undefined when it has none. */
export async function metricValue(rpcUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(new URL("/metrics", rpcUrl))).text();
  const line = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return line === null ? undefined : Number(line[1]);
}

export interface Status {
  role: string;
  term: number;
  leader: string | null;
  nodeId: string;
  nextPosition: number;
  commitIndex: number;
  appliedIndex: number;
}

/**
 * The end of a test file's temp dir (call it from `after`, passing `this.test?.parent`): removed,
 * unless `KEEP_TEST_DIR` is set and a test of `suite` did not pass (a failure, or a failed hook
 * that kept tests from running), or `KEEP_TEST_DIR=always`; a kept dir (the nodes' `node.log`
 * files, their data) is handed back from the reaper and its path printed.
 */
export async function releaseTestDir(dir: string | undefined, suite: Mocha.Suite | undefined): Promise<void> {
  if (dir === undefined) return;
  const keep = process.env.KEEP_TEST_DIR;
  const failed = suite === undefined || suite.tests.some((t) => t.state !== "passed");
  if (keep === "always" || (keep && failed)) {
    keepTempDir(dir);
    console.log(`      kept ${dir}`);
  } else await removeTempDir(dir);
}

/** For a failure message: each node process that has exited, how, and the end of its node.log ("" when all run). */
export async function exitedNodes(procs: ReadonlyMap<number, NodeProcess>, lines = 15): Promise<string> {
  const exited = [...procs].filter(([, p]) => p.child.exitCode !== null || p.child.signalCode !== null);
  const parts = await Promise.all(
    exited.map(async ([i, p]) => {
      const tail = (await readFile(p.logFile, "utf8").catch(() => "")).trimEnd().split("\n").slice(-lines).join("\n");
      return `node ${i} exited (${p.child.exitCode ?? p.child.signalCode}); the end of ${p.logFile}:\n${tail}`;
    }),
  );
  return parts.join("\n");
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
      last = undefined; // an error reported at the deadline is the last attempt's, not an early one's
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

export const sender = privateKeyToAccount(generatePrivateKey());
let nonce = 0;
export async function signedTx(): Promise<Hex> {
  return sender.signTransaction({
    type: "eip1559",
    chainId: ROLLUP_CHAIN_ID,
    nonce: nonce++,
    to: sender.address,
    value: 1n,
    gas: 21_000n,
    maxFeePerGas: parseGwei("2"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
}


export async function rangeOf(url: string, from: number, count: number): Promise<{ position: number; txHash: string }[]> {
  const txs = await fetchRange<{ position: number; txHash: string }>(url, from, count, { timeoutMs: 60_000 });
  return txs.map((t) => ({ position: t.position, txHash: t.txHash }));
}

/**
 * The index in `operators` of the leader that every node at `urls` reports (waits until they
 * agree on one), skipping the operator at index `not`. With `settled`, also until every node has
 * settled its latest epoch with that leader (the rotation to the epoch's schedule is over), and
 * with `atLeastEpoch`, until every node has read that epoch from L1.
 */
export async function agreedLeader(urls: readonly string[], operators: readonly { operator: string }[], not = -1, settled = false, atLeastEpoch = -1): Promise<number> {
  return until(settled ? "every node to settle its epoch on one leader" : "a leader all live nodes agree on", async () => {
    const statuses = await Promise.all(urls.map((u) => rpc<Status & { epoch: number; rotation: { settledEpoch: number; settledLeader: string | null } }>(u, "seq_status")));
    const leader = statuses[0]!.leader;
    if (leader === null || !statuses.every((s) => s.leader === leader && s.epoch >= atLeastEpoch)) return undefined;
    if (settled && !statuses.every((s) => s.rotation.settledEpoch === s.epoch && s.rotation.settledLeader === leader)) return undefined;
    const i = operators.findIndex((o) => o.operator.toLowerCase() === leader);
    return i >= 0 && i !== not ? i : undefined;
  }, settled ? 60_000 : 30_000);
}

export async function converged(targets: string[]): Promise<number> {
  return until("all nodes to hold the same committed log", async () => {
    const statuses = await Promise.all(targets.map((u) => rpc<Status>(u, "seq_status")));
    const next = statuses[0]!.nextPosition;
    // Applied, not just committed: the logs are read back from what each node applied.
    const same = statuses.every((s) => s.nextPosition === next && s.commitIndex === statuses[0]!.commitIndex && s.appliedIndex === s.commitIndex);
    return same ? next : undefined;
  });
}

/**
 * Enters epochs (at most `tries`) until `operator` (lowercase address) is the settled leader on
 * every node at `urls`: the schedule is stake-weighted from an L1 seed, and a primary that was not
 * reachable yet is passed over for its epoch.
 */
export async function enterEpochsUntilLeader(chain: LocalChain, registry: Registry, urls: readonly string[], operator: string, tries = 10): Promise<void> {
  let epoch = await registry.read.currentEpoch();
  for (let n = 0; ; n++) {
    const primary = (await registry.read.leaderSchedule([epoch]))[0]!.toLowerCase();
    if (primary === operator) {
      const settled = await until(`the nodes to settle epoch ${epoch}'s leader`, async () => {
        const all = await Promise.all(urls.map((u) => rpc<{ leader: string | null; rotation: { settledEpoch: number; settledLeader: string | null } }>(u, "seq_status")));
        const leader = all[0]!.rotation.settledLeader;
        return all.every((s) => s.rotation.settledEpoch === Number(epoch) && s.rotation.settledLeader === leader && s.leader === leader) ? leader : undefined;
      }, 60_000);
      if (settled === operator) return;
    }
    if (n === tries) throw new Error(`operator ${operator} never became an epoch's settled leader`);
    epoch = await enterNextEpoch(chain, registry);
  }
}
