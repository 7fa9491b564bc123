/**
 * The node's recent activity, for the status page (`seq_activity`): one sample a second over the
 * last ten minutes (a bounded ring), of the transactions it applied and, while it led, how long
 * submissions took to their order commitment. Kept in memory: a restarted node starts empty.
 */
import type { Histogram } from "prom-client";
import { bucketQuantile, cumulativeBuckets, type CumulativeBucket } from "../ops/metrics.js";

export interface ActivitySample {
  /** End of the sampled interval, ms since the Unix epoch. */
  readonly at: number;
  /** Transactions applied so far (the next position). */
  readonly nextPosition: number;
  /** Transactions applied per second over the interval. */
  readonly commitsPerSecond: number;
  /** Submissions this node, as leader, saw committed in the interval. */
  readonly commitments: number;
  /** Their latency from reaching this node to commitment, estimated from the histogram's buckets; null without any. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
}

export interface ActivityLogOptions {
  /** The next position after the last applied transaction. */
  readonly nextPosition: () => number;
  /** Submission to commitment latency, in seconds (`seq_commit_latency_seconds`). */
  readonly latency: Histogram<string>;
  /** Samples kept (default 600: ten minutes at one a second). */
  readonly capacity?: number;
  readonly now?: () => number;
}

const DEFAULT_CAPACITY = 600;

export class ActivityLog {
  private readonly samples: ActivitySample[] = [];
  private previous: { at: number; nextPosition: number; buckets: CumulativeBucket[] } | undefined;
  private sampling = false;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(private readonly opts: ActivityLogOptions) {
    this.capacity = opts.capacity ?? DEFAULT_CAPACITY;
    this.now = opts.now ?? Date.now;
  }

  /** Records the interval since the previous call (the first call only sets the baseline). */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const buckets = await cumulativeBuckets(this.opts.latency);
      const at = this.now();
      const nextPosition = this.opts.nextPosition();
      const previous = this.previous;
      this.previous = { at, nextPosition, buckets };
      if (previous === undefined || at <= previous.at) return;
      // What the interval added to each cumulative bucket.
      const added = buckets.map((b, i) => ({ le: b.le, count: b.count - (previous.buckets[i]?.count ?? 0) }));
      const ms = (q: number) => {
        const s = bucketQuantile(q, added);
        return s === null ? null : s * 1000;
      };
      this.samples.push({
        at,
        nextPosition,
        commitsPerSecond: (Math.max(0, nextPosition - previous.nextPosition) * 1000) / (at - previous.at),
        commitments: added.at(-1)?.count ?? 0,
        latencyP50Ms: ms(0.5),
        latencyP99Ms: ms(0.99),
      });
      if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
    } finally {
      this.sampling = false;
    }
  }

  /** The kept samples taken after `afterMs` (all of them by default), oldest first. */
  since(afterMs = -Infinity): ActivitySample[] {
    const first = this.samples.findIndex((s) => s.at > afterMs);
    return first < 0 ? [] : this.samples.slice(first);
  }
}
