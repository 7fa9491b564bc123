/**
 * A stand-in for a node's JSON-RPC `seq_getRange` over a log the test controls, so a comparison
 * can be shown a log that differs from L1 in a chosen way. Binds 127.0.0.1 only.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { Hex } from "viem";

export type FakeLogEntry = { position: number; txHash: Hex; raw: Hex };

export type FakeNode = {
  readonly url: string;
  /** Every seq_getRange call as [from, count]. */
  readonly calls: [number, number][];
  close(): Promise<void>;
};

/** Serves `log` (indexed by position) like node/sequencer/api.ts, including its 1000 cap. */
export async function startFakeNode(log: readonly FakeLogEntry[]): Promise<FakeNode> {
  const calls: [number, number][] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { id, method, params } = JSON.parse(body) as { id: number; method: string; params: [number, number] };
      const reply = (payload: object) => res.end(JSON.stringify({ jsonrpc: "2.0", id, ...payload }));
      if (method !== "seq_getRange") return reply({ error: { code: -32601, message: `the method ${method} does not exist` } });
      const [from, count] = params;
      calls.push([from, count]);
      if (count < 1 || count > 1000) return reply({ error: { code: -32602, message: "invalid params: count must be 1..1000" } });
      reply({ result: log.filter((e) => e.position >= from && e.position < from + count).map((e) => ({ ...e, logIndex: 0, term: 1 })) });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    calls,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
