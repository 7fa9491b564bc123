/**
 * Closed-loop JSON-RPC load over keep-alive HTTP: `concurrency` clients, each sending its next
 * request as soon as the previous one is answered. Only requests answered inside the
 * measurement window (after the warm-up) count; latency is per HTTP request.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";

/** What one HTTP request carried and how it went. */
export interface CallResult {
  /** Transactions answered successfully. */
  readonly ok: number;
  /** Transactions answered with an error (JSON-RPC error, HTTP error, transport failure). */
  readonly failed: number;
  /** Error codes/messages seen, for the report. */
  readonly errors?: readonly string[];
}

export interface LoadWindow {
  /** Called when the measured window opens / closes (CPU snapshots). */
  onWindowStart(): void;
  onWindowEnd(): void;
}

export interface LoadOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Target URL for client `i` (lets a scenario spread clients over several nodes). */
  readonly urlFor: (client: number) => string;
  /** The next request body, or undefined when the pre-signed load is used up. */
  readonly nextBody: () => { body: string; txs: number } | undefined;
  readonly window?: LoadWindow;
  /** Client-side timeout per HTTP request (the node answers TIMEOUT itself well before). */
  readonly requestTimeoutMs?: number;
  /** Reads a reply (default: JSON-RPC, single or batch); lets the same loop drive other systems. */
  readonly tally?: (status: number, text: string, txs: number) => CallResult;
  /** Caps the offered rate (requests/s over all clients); unset, each client sends as fast as it is answered. */
  readonly maxRequestsPerSec?: number;
  /** Called on every answer inside the window with its completion time (performance.now() ms) and outcome. */
  readonly onAnswer?: (doneMs: number, result: CallResult) => void;
}

export interface LoadResult {
  /** Successful transactions per second of the measured window. */
  readonly opsPerSec: number;
  readonly committed: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly windowMs: number;
  /** The pre-signed load ran out before the window closed (figures cover a shorter window). */
  readonly exhausted: boolean;
}

/** A keep-alive HTTP client for JSON-RPC POSTs, reusing up to `maxSockets` connections. */
export class RpcHttpClient {
  private readonly agent: http.Agent;

  constructor(maxSockets: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** POSTs `body`; resolves with the response status and text (never rejects on HTTP status). */
  post(url: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        { method: "POST", agent: this.agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface RpcReply {
  readonly result?: unknown;
  readonly error?: { readonly code: number; readonly message: string };
}

/** Counts successes and errors in a JSON-RPC reply (single or batch) carrying `txs` calls. */
export function tallyReply(status: number, text: string, txs: number): CallResult {
  if (status !== 200) return { ok: 0, failed: txs, errors: [`HTTP ${status}`] };
  let parsed: RpcReply | RpcReply[];
  try {
    parsed = JSON.parse(text) as RpcReply | RpcReply[];
  } catch {
    return { ok: 0, failed: txs, errors: ["unparseable reply"] };
  }
  const replies = Array.isArray(parsed) ? parsed : [parsed];
  let ok = 0;
  const errors: string[] = [];
  for (const r of replies) {
    if (r.error === undefined && r.result !== undefined && r.result !== null) ok++;
    else errors.push(r.error ? `${r.error.code} ${r.error.message.slice(0, 60)}` : "empty result");
  }
  // A batch reply missing items counts the missing ones as failed.
  return { ok, failed: txs - ok, errors };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs one closed-loop scenario to completion: warm-up, measured window, then drains the clients. */
export async function runClosedLoop(client: RpcHttpClient, opts: LoadOptions): Promise<LoadResult> {
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const start = performance.now();
  const windowStart = start + opts.warmupMs;
  let windowEnd = windowStart + opts.durationMs;
  let stopped = false;
  let exhausted = false;
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  let committed = 0;
  let errors = 0;
  let requests = 0;

  let windowOpened = false;
  const openWindow = () => {
    windowOpened = true;
    opts.window?.onWindowStart();
  };
  const opened = setTimeout(openWindow, opts.warmupMs);
  const closed = setTimeout(() => {
    stopped = true;
    opts.window?.onWindowEnd();
  }, opts.warmupMs + opts.durationMs);

  const tally = opts.tally ?? tallyReply;
  // Pacing: requests take consecutive slots 1/rate apart; a client waits for its slot.
  const slotMs = opts.maxRequestsPerSec === undefined ? 0 : 1000 / opts.maxRequestsPerSec;
  let nextSlot = start;
  const clientLoop = async (i: number): Promise<void> => {
    const url = opts.urlFor(i);
    while (!stopped) {
      if (slotMs > 0) {
        const now = performance.now();
        nextSlot = Math.max(nextSlot + slotMs, now);
        if (nextSlot > now) await new Promise((r) => setTimeout(r, nextSlot - now));
        if (stopped) return;
      }
      const next = opts.nextBody();
      if (next === undefined) {
        exhausted = true;
        return;
      }
      const t0 = performance.now();
      let result: CallResult;
      try {
        const { status, text } = await client.post(url, next.body, timeoutMs);
        result = tally(status, text, next.txs);
      } catch (error) {
        result = { ok: 0, failed: next.txs, errors: [(error as Error).message.slice(0, 60)] };
      }
      const t1 = performance.now();
      if (t1 < windowStart || t1 > windowEnd) continue;
      requests++;
      latencies.push(t1 - t0);
      committed += result.ok;
      errors += result.failed;
      opts.onAnswer?.(t1, result);
      for (const e of result.errors ?? []) errorKinds[e] = (errorKinds[e] ?? 0) + 1;
    }
  };

  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => clientLoop(i)));
  clearTimeout(opened);
  clearTimeout(closed);
  if (exhausted && !stopped) {
    // Ran dry inside the window: measure over the part that actually ran.
    windowEnd = Math.max(windowStart, performance.now());
    if (!windowOpened) openWindow();
    opts.window?.onWindowEnd();
  }
  latencies.sort((a, b) => a - b);
  const windowMs = Math.max(0, Math.min(windowEnd, windowStart + opts.durationMs) - windowStart);
  return {
    opsPerSec: windowMs > 0 ? committed / (windowMs / 1000) : 0,
    committed,
    errors,
    errorKinds,
    requests,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? latencies.at(-1)! : Number.NaN,
    meanMs: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : Number.NaN,
    windowMs,
    exhausted,
  };
}
