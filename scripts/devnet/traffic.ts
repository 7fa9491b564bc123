/**
 * The devnet's steady stream of rollup transactions: signed EIP-1559 transactions from a few
 * generated senders with increasing nonces (scripts/bench/lib/presign.ts signs them), sent at a
 * fixed rate round-robin to every node with `eth_sendRawTransaction`.
 */
import { LoadSigner } from "../bench/lib/presign.js";
import { NodeRpcError, nodeRpc } from "../../node/rpc/client.js";

export type TrafficOptions = {
  /** Node JSON-RPC URLs, sent to in turn. */
  readonly urls: readonly string[];
  /** Transactions per second. */
  readonly tps: number;
  readonly chainId: number;
  /** Sender accounts (nonces increase per sender); default: one per 25 tx/s, at least 4. */
  readonly senders?: number;
  /** Requests in flight at most; beyond it the rate is not made up later. */
  readonly maxInFlight?: number;
};

/** Counts since the previous `take()`. */
export type TrafficWindow = {
  readonly seconds: number;
  /** Submissions the nodes acknowledged (durable on a majority). */
  readonly acked: number;
  readonly failed: number;
  /** The latest failure's message, if any failed. */
  readonly lastError?: string;
};

const TICK_MS = 100;

export class TrafficSender {
  private readonly signer: LoadSigner;
  private readonly maxInFlight: number;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private scheduled = 0;
  private next = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private window = { since: 0, acked: 0, failed: 0, lastError: undefined as string | undefined };
  /** Totals over the whole run. */
  readonly totals = { acked: 0, failed: 0 };

  constructor(private readonly opts: TrafficOptions) {
    if (opts.urls.length === 0) throw new RangeError("traffic needs at least one node URL");
    if (!(opts.tps > 0)) throw new RangeError(`tps must be positive, got ${opts.tps}`);
    // A per-run seed: senders differ between runs, so no transaction is ever a resubmission.
    // Enough senders by default that each sends at most 25 tx/s, half of a node's default
    // per-sender budget (senderTxsPerSecond): otherwise admission refuses the traffic itself.
    const senders = opts.senders ?? Math.max(4, Math.ceil(opts.tps / 25));
    this.signer = new LoadSigner({ chainId: opts.chainId, senders, txBytes: 150, seed: Date.now() % 0x7fffffff });
    this.maxInFlight = opts.maxInFlight ?? 256;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.startedAt = performance.now();
    this.window.since = this.startedAt;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.opts.tps);
    // Sends what is due; when the nodes fall behind, the backlog is dropped rather than burst later.
    const room = this.maxInFlight - this.inFlight.size;
    const count = Math.min(due - this.scheduled, room);
    this.scheduled = due;
    if (count <= 0) return;
    for (const raw of this.signer.sign(count)) {
      const url = this.opts.urls[this.next++ % this.opts.urls.length]!;
      const p: Promise<void> = nodeRpc<string>(url, "eth_sendRawTransaction", [raw], { timeoutMs: 15_000 }).then(
        () => {
          this.window.acked++;
          this.totals.acked++;
        },
        (e: unknown) => {
          this.window.failed++;
          this.totals.failed++;
          this.window.lastError = e instanceof NodeRpcError ? e.message : String(e);
        },
      );
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** Counts since the last call (or the start). */
  take(): TrafficWindow {
    const now = performance.now();
    const w = this.window;
    this.window = { since: now, acked: 0, failed: 0, lastError: undefined };
    return { seconds: (now - w.since) / 1000, acked: w.acked, failed: w.failed, ...(w.lastError === undefined ? {} : { lastError: w.lastError }) };
  }

  /** Stops sending and waits for the answers of what is in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }
}
