/**
 * The nemesis's clients: an open-loop load of signed transactions sent at a steady rate to random
 * nodes with `seq_sendRawTransaction`, every request and answer recorded in the history. Open
 * loop: a request stuck on a paused or cut-off node does not hold the next ones back, so a silent
 * stretch in the acknowledgements means the cluster committed nothing, not that the clients were
 * all waiting. A transaction whose fate is unknown (timeout, retryable error) is sometimes
 * resubmitted, to another node, as a wallet would: that exercises "a transaction never gets two
 * positions".
 */
import { keccak256, type Hex } from "viem";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { NodeRpcError, nodeRpc } from "../../node/rpc/client.js";
import { LoadSigner } from "../bench/lib/presign.js";
import { Prng } from "../../sim/prng.js";
import type { History } from "./history.js";

export type ClientOptions = {
  /** Node JSON-RPC URLs; each request goes to one at random. */
  readonly urls: readonly string[];
  readonly chainId: number;
  /** Sender accounts; a request's `client` in the history is its sender. */
  readonly senders: number;
  /** Requests per second. */
  readonly tps: number;
  /** Requests in flight at most: beyond it a slot is skipped (and not made up later). */
  readonly maxInFlight: number;
  /** A request without an answer for this long is recorded as a timeout. */
  readonly timeoutMs: number;
  readonly seed: number;
  readonly history: History;
};

type Pending = { readonly raw: Hex; readonly txHash: Hex; readonly sender: number; tries: number };

/** Unknown outcomes kept for resubmission, and how often a slot resubmits one. */
const MAX_PENDING = 64;
const RESUBMIT_CHANCE = 0.2;
const MAX_TRIES = 4;
const TICK_MS = 50;

export class Clients {
  private readonly signer: LoadSigner;
  private readonly prng: Prng;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sent = 0;
  private signed = 0;
  /** Slots skipped because `maxInFlight` requests were waiting. */
  skipped = 0;

  constructor(private readonly opts: ClientOptions) {
    this.signer = new LoadSigner({ chainId: opts.chainId, senders: opts.senders, txBytes: 150, seed: opts.seed });
    this.prng = new Prng(opts.seed ^ 0x5eed);
  }

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stops sending; resolves once every request in flight has its answer (or timed out). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.opts.tps);
    for (; this.sent < due; this.sent++) {
      if (this.inFlight.size >= this.opts.maxInFlight) {
        this.skipped++;
        continue;
      }
      const p = this.request();
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  private nextTx(): { tx: Pending; retry: boolean } {
    if (this.pending.length > 0 && this.prng.chance(RESUBMIT_CHANCE)) {
      return { tx: this.pending.splice(this.prng.int(this.pending.length), 1)[0]!, retry: true };
    }
    // LoadSigner cycles through its senders: the n-th transaction is from sender n mod senders.
    const raw = this.signer.sign(1)[0]!;
    return { tx: { raw, txHash: keccak256(raw), sender: this.signed++ % this.opts.senders, tries: 0 }, retry: false };
  }

  private async request(): Promise<void> {
    const { history, urls } = this.opts;
    const { tx, retry } = this.nextTx();
    tx.tries++;
    const node = this.prng.int(urls.length);
    const op = history.newOp();
    const client = tx.sender;
    history.add({ kind: "invoke", op, client, node, txHash: tx.txHash, retry });
    const started = performance.now();
    try {
      const c = await nodeRpc<OrderCommitmentProofJson>(urls[node]!, "seq_sendRawTransaction", [tx.raw], { timeoutMs: this.opts.timeoutMs });
      history.add({ kind: "ok", op, client, node, txHash: tx.txHash, position: Number(BigInt(c.position)), latencyMs: Math.round(performance.now() - started), commitment: c });
    } catch (error) {
      const e = error as NodeRpcError;
      const timedOut = e.code === undefined && (e.cause as Error | undefined)?.name === "TimeoutError";
      if (timedOut) history.add({ kind: "timeout", op, client, node, txHash: tx.txHash });
      else history.add({ kind: "fail", op, client, node, txHash: tx.txHash, code: e.code ?? null, error: e.message.slice(0, 200) });
      if ((timedOut || e.retryable) && tx.tries < MAX_TRIES && this.pending.length < MAX_PENDING) this.pending.push(tx);
    }
  }
}
