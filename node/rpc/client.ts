/**
 * A minimal JSON-RPC client for a sequencer node (CLI, watchtower, scripts, tests): one call per request, a
 * timeout, and errors that keep the node's code and data (e.g. `data.retryable`).
 */
import { MAX_RANGE } from "../domain/api.js";
import { RpcLayerError } from "./errors.js";

/** A JSON-RPC call failed: the node answered with an error, or could not be reached. */
export class NodeRpcError extends RpcLayerError {
  override readonly name = "NodeRpcError";
  constructor(
    readonly url: string,
    readonly method: string,
    message: string,
    /** The JSON-RPC error code; undefined when the request itself failed. */
    readonly code?: number,
    readonly data?: unknown,
    options?: { cause?: unknown },
  ) {
    super(`${method} at ${url}: ${message}`, options);
  }

  /** The node said so (`data.retryable`), or it could not be reached (it may come back). */
  get retryable(): boolean {
    if (this.code === undefined) return true;
    return typeof this.data === "object" && this.data !== null && (this.data as { retryable?: unknown }).retryable === true;
  }
}

export type NodeRpcOptions = { readonly timeoutMs?: number };

/** Calls `method` on the node at `url`; resolves with `result`. */
export async function nodeRpc<T>(url: string, method: string, params: unknown[] = [], options: NodeRpcOptions = {}): Promise<T> {
  let body: { result?: T; error?: { code: number; message: string; data?: unknown } };
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    body = (await res.json()) as typeof body;
  } catch (cause) {
    throw new NodeRpcError(url, method, (cause as Error).message, undefined, undefined, { cause });
  }
  if (body.error) throw new NodeRpcError(url, method, body.error.message, body.error.code, body.error.data);
  return body.result as T;
}

/**
 * The node's committed transactions at positions [from, from + count) through `seq_getRange`, a
 * page at a time. A page may come back short (large transactions fill the node's response
 * budget), so the next one starts after the last position received; an empty page is the end of
 * the node's log.
 */
export async function fetchRange<T extends { readonly position: number }>(url: string, from: number, count: number, options: NodeRpcOptions = {}): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const page = await nodeRpc<T[]>(url, "seq_getRange", [from + out.length, Math.min(MAX_RANGE, count - out.length)], options);
    if (page.length === 0) break;
    out.push(...page);
  }
  return out;
}
