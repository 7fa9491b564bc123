/** Helpers for tests that drive node processes over JSON-RPC. */
import { parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEFAULTS } from "../../node/sequencer/config.js";
import { mineToNextEpoch, type Registry } from "../../scripts/lib/deploy.js";
import type { LocalChain } from "../../scripts/lib/devnet.js";

const ROLLUP_CHAIN_ID = 901;

export async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw Object.assign(new Error(`${method}: ${body.error.message}`), { code: body.error.code });
  return body.result as T;
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

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
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
  const out: { position: number; txHash: string }[] = [];
  for (let p = from; p < from + count; p += 1000) {
    const chunk = await rpc<{ position: number; txHash: string }[]>(url, "seq_getRange", [p, Math.min(1000, from + count - p)]);
    out.push(...chunk.map((t) => ({ position: t.position, txHash: t.txHash })));
  }
  return out;
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
 * Mines into the next epoch and past the nodes' confirmation depth, so they act on it: nodes
 * read L1 `l1Confirmations` blocks behind the head.
 */
export async function enterNextEpoch(chain: LocalChain, registry: Registry): Promise<bigint> {
  const epoch = await mineToNextEpoch(chain.connection, registry);
  await chain.connection.networkHelpers.mine(DEFAULTS.l1Confirmations);
  return epoch;
}
