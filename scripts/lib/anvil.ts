/**
 * An Anvil L1: the binary of the `@foundry-rs/anvil-linux-amd64` package, bound to 127.0.0.1 on a
 * free port, started with `processes.ts` so it never outlives this process, with a Hardhat
 * connection to it (viem clients, network helpers). The devnet's `--l1 anvil` and the tests use it.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { connectToChain, freePort, type LocalChain } from "./devnet.js";
import { signalGroup, spawnChild } from "./processes.js";

const ANVIL = path.join(path.dirname(createRequire(import.meta.url).resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil");

export type AnvilOptions = {
  /** Dev accounts (unlocked, 10,000 ETH each); Anvil's default is 10. */
  readonly accounts?: number;
};

/** An Anvil process and its chain. */
export interface AnvilChain extends LocalChain {
  readonly pid: number;
}

/** Starts an automining Anvil and waits until it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilChain> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const args = ["--host", "127.0.0.1", "--port", String(port), ...(options.accounts === undefined ? [] : ["--accounts", String(options.accounts)])];
  const child: ChildProcess = spawnChild(ANVIL, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async () => {
    if (signalGroup(child, "SIGKILL")) await exited;
  };
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`anvil exited before answering on ${url}: ${output}`);
    try {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (attempt >= 200) {
      await kill();
      throw new Error(`anvil did not answer on ${url} within 10 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const connection = await connectToChain(url).catch(async (error: unknown) => {
    await kill();
    throw error;
  });
  // The connection first: it may still be waiting on the chain.
  const close = () => connection.close().finally(kill);
  return { url, connection, close, pid: child.pid! };
}
