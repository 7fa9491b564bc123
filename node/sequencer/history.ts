/**
 * History backfill. A follower brought up to date by a leader's snapshot skips the log
 * entries the snapshot covers; the committed transactions at those positions are fetched
 * from members (`history` requests) so every node serves the whole ordered stream.
 * The gap is persisted by the store, so a restart resumes the backfill. Until it is filled
 * the node's idempotency lookup is incomplete, so it must not lead (see `complete`).
 */
import { Reader, Writer, bytesToHex } from "../codec/index.js";
import type { NodeId } from "../consensus/index.js";
import type { NodeStore } from "../storage/index.js";
import type { CommittedTx } from "../domain/index.js";
import type { Logger } from "../ops/logger.js";

/** Most transactions one history response carries. */
export const HISTORY_CHUNK = 1000;
const MAX_TX_BYTES = 1_048_576;
/** Most transaction bytes per response: well under the RPC payload limit (RPC_MAX_PAYLOAD_BYTES). */
const MAX_RESPONSE_TX_BYTES = 8 * 1_048_576;

export function encodeHistoryRequest(from: number, count: number): Uint8Array {
  const w = new Writer(16);
  w.varint(from, "from");
  w.varint(count, "count");
  return w.finish();
}

export function decodeHistoryRequest(bytes: Uint8Array): { from: number; count: number } {
  const r = new Reader(bytes, "history request");
  const req = { from: r.varint("from"), count: Math.min(r.varint("count"), HISTORY_CHUNK) };
  r.end();
  return req;
}

export function encodeHistoryResponse(txs: readonly CommittedTx[]): Uint8Array {
  const w = new Writer(64 + txs.reduce((n, t) => n + t.data.length + 48, 0));
  w.varint(txs.length, "count");
  for (const t of txs) {
    w.varint(t.position, "position");
    w.varint(t.index, "index");
    w.varint(t.term, "term");
    w.hex(t.hash, 32, "tx hash");
    w.bytes(t.data, MAX_TX_BYTES, "tx");
  }
  return w.finish();
}

export function decodeHistoryResponse(bytes: Uint8Array): CommittedTx[] {
  const r = new Reader(bytes, "history response");
  const n = r.count(HISTORY_CHUNK, 36, "history txs");
  const out: CommittedTx[] = [];
  for (let i = 0; i < n; i++) {
    const position = r.varint("position");
    const index = r.varint("index");
    const term = r.varint("term");
    const hash = bytesToHex(r.raw(32, "tx hash"));
    out.push({ position, index, term, hash, data: r.bytes(MAX_TX_BYTES, "tx") });
  }
  r.end();
  return out;
}

export interface HistorySyncOptions {
  readonly store: NodeStore;
  readonly logger: Logger;
  /** Members to ask, best first (the leader, then the others). */
  readonly sources: () => NodeId[];
  readonly request: (to: NodeId, payload: Uint8Array) => Promise<Uint8Array>;
}

export class HistorySync {
  private running = false;
  private stopped = false;
  /** Until the gap is filled this node cannot tell every committed hash, so it must not propose. */
  private gapOpen = true;

  constructor(private readonly opts: HistorySyncOptions) {}

  /** Answers a member's history request from the local store. */
  async serve(payload: Uint8Array): Promise<Uint8Array> {
    const { from, count } = decodeHistoryRequest(payload);
    const txs = await this.opts.store.getTxRange(from, count);
    let bytes = 0;
    let n = 0;
    while (n < txs.length && (n === 0 || bytes + txs[n]!.data.length <= MAX_RESPONSE_TX_BYTES)) bytes += txs[n++]!.data.length;
    return encodeHistoryResponse(txs.slice(0, n));
  }

  /** Whether this node holds every committed transaction below its applied position. */
  get complete(): boolean {
    return !this.gapOpen;
  }

  /** Starts filling the store's history gap, if any, in the background. */
  kick(): void {
    this.gapOpen = true;
    if (this.running || this.stopped) return;
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (this.stopped) return;
      const gap = await this.opts.store.historyGap();
      if (gap === undefined) {
        this.gapOpen = false;
        return;
      }
      const sources = this.opts.sources();
      const source = sources[attempt % Math.max(1, sources.length)];
      try {
        if (source === undefined) throw new Error("no member to fetch history from");
        const txs = decodeHistoryResponse(await this.opts.request(source, encodeHistoryRequest(gap.from, Math.min(HISTORY_CHUNK, gap.to - gap.from))));
        if (txs.length === 0) throw new Error(`${source} has no history at position ${gap.from}`);
        await this.opts.store.backfillHistory(txs);
        attempt = 0;
        if (gap.from + txs.length >= gap.to) this.opts.logger.info({ from: gap.from, to: gap.to }, "history backfill complete");
      } catch (error) {
        attempt++;
        this.opts.logger.warn({ err: error, source, gap }, "history backfill attempt failed; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
    }
  }
}
