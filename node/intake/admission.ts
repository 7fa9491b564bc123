/**
 * Admission control at intake: each sender (recovered address) and each client (remote address)
 * draws on token buckets, one counting transactions and one counting bytes, so that no single
 * sender or client can take more than its budget of the node's throughput and of what waits to
 * be posted to L1. A bucket refills at `perSecond` up to `burst`; a submission takes one
 * transaction and its size in bytes from both of its key's buckets, or nothing when either falls
 * short, and is then refused with the budget that ran out and when it will have refilled.
 *
 * Buckets of keys that have refilled completely hold nothing worth keeping and are dropped, so
 * the map holds only keys active within the last refill time (a burst's worth of seconds): at
 * most what the node admitted in that time, however many senders or clients try.
 */

/** A refill rate and the most a bucket holds. */
export interface RateBudget {
  readonly perSecond: number;
  readonly burst: number;
}

/** A key's transaction and byte budgets; an absent one does not limit. */
export interface AdmissionBudgets {
  readonly txs?: RateBudget | undefined;
  readonly bytes?: RateBudget | undefined;
}

/** Whose budget: a sender (recovered address) or a client (`clientKeyOf` its remote address). */
export type AdmissionKind = "sender" | "client";

/** The budgets a submission can run out of: the reason a refused client sees. */
export const ADMISSION_BUDGETS = ["sender-txs", "sender-bytes", "client-txs", "client-bytes"] as const;

export interface AdmissionRefusal {
  /** Which budget ran out. */
  readonly budget: (typeof ADMISSION_BUDGETS)[number];
  /** When the budget will have refilled enough for this submission. */
  readonly retryAfterMs: number;
  readonly message: string;
}

type Bucket = { txs: number; bytes: number; at: number };

/** Buckets tracked before the first sweep of refilled ones; later sweeps run at twice what the last one kept. */
const FIRST_SWEEP = 1024;

export class Admission {
  private readonly buckets = new Map<string, Bucket>();
  private nextSweep = FIRST_SWEEP;

  constructor(
    readonly kind: AdmissionKind,
    private readonly budgets: AdmissionBudgets,
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const [name, budget] of Object.entries(budgets) as [string, RateBudget | undefined][]) {
      if (budget === undefined) continue;
      if (!(budget.perSecond > 0) || !(budget.burst >= 1)) {
        throw new RangeError(`${kind} ${name} budget needs a positive rate and a burst of at least 1, got ${budget.perSecond}/s, burst ${budget.burst}`);
      }
    }
  }

  /** Keys with a bucket that has not refilled yet. */
  get tracked(): number {
    return this.buckets.size;
  }

  /**
   * Takes one transaction of `bytes` from `key`'s budgets, or refuses and takes nothing. A
   * transaction larger than the byte burst is admitted from a full bucket (leaving it in debt),
   * so that no valid size is refused for ever.
   */
  admit(key: string, bytes: number): AdmissionRefusal | undefined {
    const now = this.now();
    const bucket = this.refilled(key, now);
    const { txs, bytes: byteBudget } = this.budgets;
    const short =
      (txs !== undefined ? this.shortfall("txs", txs, bucket.txs, 1, key) : undefined) ??
      (byteBudget !== undefined ? this.shortfall("bytes", byteBudget, bucket.bytes, bytes, key) : undefined);
    if (short !== undefined) return short;
    bucket.txs -= 1;
    bucket.bytes -= bytes;
    this.buckets.set(key, bucket);
    if (this.buckets.size >= this.nextSweep) this.sweep(now);
    return undefined;
  }

  private shortfall(name: "txs" | "bytes", budget: RateBudget, tokens: number, cost: number, key: string): AdmissionRefusal | undefined {
    const needed = Math.min(cost, budget.burst);
    if (tokens >= needed) return undefined;
    const retryAfterMs = Math.ceil(((needed - tokens) / budget.perSecond) * 1000);
    const unit = name === "txs" ? "transactions" : "bytes";
    return {
      budget: `${this.kind}-${name}`,
      retryAfterMs,
      message: `${this.kind} ${key} is over its budget of ${budget.perSecond} ${unit} per second (burst ${budget.burst}): retry in ${retryAfterMs} ms`,
    };
  }

  /** The key's bucket as of `now` (a full one for a key not seen lately). */
  private refilled(key: string, now: number): Bucket {
    const { txs, bytes } = this.budgets;
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return { txs: txs?.burst ?? 0, bytes: bytes?.burst ?? 0, at: now };
    const seconds = Math.max(0, now - bucket.at) / 1000;
    if (txs !== undefined) bucket.txs = Math.min(txs.burst, bucket.txs + seconds * txs.perSecond);
    if (bytes !== undefined) bucket.bytes = Math.min(bytes.burst, bucket.bytes + seconds * bytes.perSecond);
    bucket.at = now;
    return bucket;
  }

  private sweep(now: number): void {
    const { txs, bytes } = this.budgets;
    for (const key of [...this.buckets.keys()]) {
      const bucket = this.refilled(key, now);
      if ((txs === undefined || bucket.txs >= txs.burst) && (bytes === undefined || bucket.bytes >= bytes.burst)) this.buckets.delete(key);
    }
    this.nextSweep = Math.max(FIRST_SWEEP, 2 * this.buckets.size);
  }
}
