/** Test clients and a small, realistic method registry for the RPC server tests. */
import http from "node:http";
import { WebSocket } from "ws";
import { InvalidParamsError, NO_LEADER, NOT_FOUND, RpcError, TX_REJECTED } from "../../node/rpc/errors.js";
import { defineMethod, positionalParams, subscriptionMethods, type RpcMethods } from "../../node/rpc/methods.js";

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return read(response);
}

/**
 * POSTs with `node:http` from the local address `from` (e.g. 127.0.0.2: every 127/8 address is
 * loopback), so a test can be a second client of a server on 127.0.0.1. Never reuses a connection.
 */
export function postFrom(from: string, url: string, body: unknown): Promise<{ status: number; json: any }> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", localAddress: from, agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) } }, (res) => {
      let reply = "";
      res.setEncoding("utf8");
      res.on("data", (part: string) => (reply += part));
      res.on("end", () => resolve({ status: res.statusCode!, json: reply === "" ? undefined : JSON.parse(reply) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(text);
  });
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return read(await fetch(url, { headers }));
}

async function read(response: Response): Promise<HttpReply> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function rpc(method: string, params?: unknown, id: number | string | null = 1): Record<string, unknown> {
  return params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
}

/** A promise with its resolver exposed, to hold handlers open until a test lets them go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** WebSocket client that queues every message and lets a test wait for the one it wants. */
export class TestWsClient {
  readonly received: any[] = [];
  private waiters: { match: (message: any) => boolean; resolve: (message: any) => void }[] = [];
  private nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString());
      const waiter = this.waiters.find((w) => w.match(message));
      if (waiter) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      } else this.received.push(message);
    });
    this.closed = new Promise((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options: { origin?: string } = {}): Promise<TestWsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options.origin ? { origin: options.origin } : {});
      socket.once("open", () => resolve(new TestWsClient(socket)));
      socket.once("error", reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Resolves with the first message (already received or future) that matches. */
  next(match: (message: any) => boolean = () => true): Promise<any> {
    const index = this.received.findIndex(match);
    if (index >= 0) return Promise.resolve(this.received.splice(index, 1)[0]);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  async call(method: string, params?: unknown): Promise<any> {
    const id = this.nextId++;
    this.send(rpc(method, params, id));
    return this.next((message) => !Array.isArray(message) && message.id === id);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await this.closed;
  }
}

export const TOPICS = ["newCommitments"];

const HASH = /^0x[0-9a-f]{64}$/;

/**
 * What the lead's real registration will look like: typed validators that throw
 * InvalidParamsError, handlers that throw RpcError with application codes.
 */
export function exampleMethods(state: { leader: boolean; commitments: Map<string, { position: bigint; root: Uint8Array }> }): RpcMethods {
  const txHashParam = (raw: unknown): string => {
    const [hash] = positionalParams(raw, 1);
    if (typeof hash !== "string" || !HASH.test(hash)) {
      throw new InvalidParamsError(`invalid params: txHash must be a 0x-prefixed 32-byte lowercase hex string, got ${JSON.stringify(hash)}`);
    }
    return hash;
  };
  return {
    ...subscriptionMethods(TOPICS),
    seq_getCommitment: defineMethod({
      params: txHashParam,
      handler: (hash) => {
        const commitment = state.commitments.get(hash);
        if (commitment === undefined) throw new RpcError(NOT_FOUND, `no commitment for transaction ${hash}`);
        return { txHash: hash, ...commitment };
      },
    }),
    eth_sendRawTransaction: defineMethod({
      params: (raw) => {
        const [data] = positionalParams(raw, 1);
        if (typeof data !== "string" || !/^0x([0-9a-f]{2})*$/i.test(data)) throw new InvalidParamsError("invalid params: expected raw transaction hex data");
        return data;
      },
      handler: async (data) => {
        if (!state.leader) throw new RpcError(NO_LEADER, "no leader: election in progress");
        if (data.length < 4) throw new RpcError(TX_REJECTED, "transaction rejected: empty transaction");
        return `0x${"ab".repeat(32)}`;
      },
    }),
  };
}
