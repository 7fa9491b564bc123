/**
 * The nemesis's clients: a few concurrent workers that submit signed transactions to random
 * nodes at a paced overall rate with `seq_sendRawTransaction` and record every request and answer
 * in the history. A transaction whose fate is unknown (timeout, retryable error) is sometimes
 * resubmitted, to another node, as a wallet would: that exercises "a transaction never gets two
 * positions".
 */
import type { Hex } from "viem";
import { keccak256 } from "viem";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { NodeRpcError, nodeRpc } from "../../node/rpc/client.js";
import { LoadSigner } from "../bench/lib/presign.js";
import { Prng } from "../../test/sim/prng.js";
import type { History } from "./history.js";

export type ClientOptions = {
  /** Node JSON-RPC URLs; a worker picks one at random for each request. */
  readonly urls: readonly string[];
  readonly chainId: number;
  readonly workers: number;
  /** Submissions per second over all workers at most. */
  readonly tps: number;
  /** A request without an answer for this long is recorded as a timeout. */
  readonly timeoutMs: number;
  readonly seed: number;
  readonly history: History;
};

type Pending = { raw: Hex; txHash: Hex; tries: number };

/** Unknown outcomes a worker keeps for resubmission, and how often it resubmits one. */
const MAX_PENDING = 8;
const RESUBMIT_CHANCE = 0.3;
const MAX_TRIES = 4;

export class Clients {
  private readonly signer: LoadSigner;
  private stopped = false;
  private nextSlot = 0;
  private readonly running: Promise<void>[] = [];

  constructor(private readonly opts: ClientOptions) {
    this.signer = new LoadSigner({ chainId: opts.chainId, senders: opts.workers, txBytes: 150, seed: opts.seed });
  }

  start(): void {
    const root = new Prng(this.opts.seed ^ 0x5eed);
    this.nextSlot = performance.now();
    for (let w = 0; w < this.opts.workers; w++) this.running.push(this.worker(w, root.fork()));
  }

  /** Stops sending; resolves once every request in flight has its answer (or timed out). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** The next send time of the shared pace (one slot per 1/tps s; slots missed are not made up). */
  private async paced(): Promise<void> {
    const now = performance.now();
    this.nextSlot = Math.max(this.nextSlot + 1000 / this.opts.tps, now - 1000 / this.opts.tps);
    const wait = this.nextSlot - now;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  private async worker(client: number, prng: Prng): Promise<void> {
    const { history, urls } = this.opts;
    const pending: Pending[] = [];
    while (!this.stopped) {
      await this.paced();
      if (this.stopped) break;
      let tx: Pending;
      let retry = false;
      if (pending.length > 0 && prng.chance(RESUBMIT_CHANCE)) {
        tx = pending.splice(prng.int(pending.length), 1)[0]!;
        retry = true;
      } else {
        const raw = this.signer.sign(1)[0]!;
        tx = { raw, txHash: keccak256(raw), tries: 0 };
      }
      tx.tries++;
      const node = prng.int(urls.length);
      const op = history.newOp();
      history.add({ kind: "invoke", op, client, node, txHash: tx.txHash, retry });
      const started = performance.now();
      try {
        const c = await nodeRpc<OrderCommitmentProofJson>(urls[node]!, "seq_sendRawTransaction", [tx.raw], { timeoutMs: this.opts.timeoutMs });
        history.add({ kind: "ok", op, client, node, txHash: tx.txHash, position: Number(BigInt(c.position)), latencyMs: Math.round(performance.now() - started), commitment: c });
        continue;
      } catch (error) {
        const e = error as NodeRpcError;
        const timedOut = e.code === undefined && (e.cause as Error | undefined)?.name === "TimeoutError";
        if (timedOut) history.add({ kind: "timeout", op, client, node, txHash: tx.txHash });
        else history.add({ kind: "fail", op, client, node, txHash: tx.txHash, code: e.code ?? null, error: e.message.slice(0, 200) });
        if ((timedOut || e.retryable) && tx.tries < MAX_TRIES && pending.length < MAX_PENDING) pending.push(tx);
      }
    }
  }
}
