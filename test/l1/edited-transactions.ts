/**
 * What a reader sees of a batch it cannot read back, without posting one (the inbox refuses them
 * since S3): the L1 answers as they are, except that chosen transactions come back edited, e.g.
 * calling another address than the inbox, as a batch relayed through a contract did. For
 * in-process readers a client wrapper; for child processes (`npm run rebuild`, `seq slash`) an
 * HTTP JSON-RPC proxy on 127.0.0.1.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { Address, Hash, PublicClient, Transaction } from "viem";

/** `client`, except that `getTransaction` passes every transaction through `edit`. */
export function editedTransactions(client: PublicClient, edit: (tx: Transaction) => Transaction): PublicClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "getTransaction") return async (args: { hash: Hash }) => edit(await target.getTransaction(args));
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** `client`, with transaction `txHash` shown as a call to `to` (a relay) instead of the inbox. */
export function relayedLooking(client: PublicClient, txHash: Hash, to: Address): PublicClient {
  return editedTransactions(client, (tx) => (tx.hash === txHash ? { ...tx, to } : tx));
}

export interface EditingRpc {
  readonly url: string;
  close(): Promise<void>;
}

type JsonRpcMessage = { id?: unknown; method?: string; result?: unknown };

/**
 * An HTTP JSON-RPC proxy to `upstream` on 127.0.0.1 that shows transaction `txHash` (in
 * `eth_getTransactionByHash` answers) as a call to `to`.
 */
export async function startRelayedLookingRpc(upstream: string, txHash: Hash, to: Address): Promise<EditingRpc> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const answer = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
        const text = await answer.text();
        const asked = [JSON.parse(body) as JsonRpcMessage | JsonRpcMessage[]].flat();
        const got = JSON.parse(text) as JsonRpcMessage | JsonRpcMessage[];
        for (const a of [got].flat()) {
          const tx = a.result as { hash?: string } | null | undefined;
          const method = asked.find((q) => q.id === a.id)?.method;
          if (method === "eth_getTransactionByHash" && tx?.hash?.toLowerCase() === txHash.toLowerCase()) a.result = { ...tx, to };
        }
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(JSON.stringify(got));
      })().catch((error: Error) => {
        res.writeHead(502);
        res.end(error.message);
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
