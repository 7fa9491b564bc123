import { expect } from "chai";
import { NodeMetrics, bucketQuantile } from "../../node/ops/metrics.js";
import { ActivityLog } from "../../node/sequencer/activity.js";

describe("histogram quantiles from cumulative buckets", () => {
  it("interpolates inside the bucket holding the rank, as Prometheus does", () => {
    const buckets = [
      { le: 0.01, count: 0 },
      { le: 0.1, count: 10 },
      { le: 1, count: 10 },
      { le: Infinity, count: 10 },
    ];
    expect(bucketQuantile(0.5, buckets)).to.be.closeTo(0.055, 1e-12);
    expect(bucketQuantile(0.99, buckets)).to.be.closeTo(0.0991, 1e-12);
  });

  it("answers the highest finite bound for a rank in the +Inf bucket, and null without observations", () => {
    expect(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 4 }])).to.equal(1);
    expect(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).to.equal(null);
  });
});

describe("activity log (seq_activity)", () => {
  let now: number;
  let nextPosition: number;
  let metrics: NodeMetrics;
  const log = (capacity?: number) =>
    new ActivityLog({ nextPosition: () => nextPosition, latency: metrics.commitLatencySeconds, now: () => now, ...(capacity === undefined ? {} : { capacity }) });

  beforeEach(() => {
    now = 1_000_000;
    nextPosition = 40;
    metrics = new NodeMetrics({ processMetrics: false });
  });

  it("samples each interval's commit rate and the latency of the commitments observed in it", async () => {
    const activity = log();
    await activity.sample();
    expect(activity.since(), "the first call only sets the baseline").to.deep.equal([]);

    now += 2_000;
    nextPosition += 10;
    for (let i = 0; i < 10; i++) metrics.commitLatencySeconds.observe(0.02);
    await activity.sample();
    now += 1_000;
    metrics.commitLatencySeconds.observe(3); // before this interval's sample: it counts here only
    await activity.sample();
    now += 1_000;
    await activity.sample();

    const [first, second, quiet] = activity.since();
    expect(first).to.deep.include({ at: 1_002_000, nextPosition: 50, commitsPerSecond: 5, commitments: 10 });
    // 0.02 s lies in the 10-25 ms bucket.
    expect(first!.latencyP50Ms).to.be.within(10, 25);
    expect(first!.latencyP99Ms).to.be.within(10, 25);
    expect(second).to.deep.include({ commitsPerSecond: 0, commitments: 1 });
    expect(second!.latencyP50Ms).to.be.within(2_500, 5_000);
    expect(quiet).to.deep.include({ commitsPerSecond: 0, commitments: 0, latencyP50Ms: null, latencyP99Ms: null });
  });

  it("keeps only the newest samples up to its capacity, and answers those after a given time", async () => {
    const activity = log(3);
    for (let i = 0; i <= 5; i++) {
      await activity.sample();
      now += 1_000;
      nextPosition += i;
    }
    const kept = activity.since();
    expect(kept.map((s) => s.at)).to.deep.equal([1_003_000, 1_004_000, 1_005_000]);
    expect(kept.map((s) => s.commitsPerSecond)).to.deep.equal([2, 3, 4]);
    expect(activity.since(1_004_000).map((s) => s.at)).to.deep.equal([1_005_000]);
    expect(activity.since(1_005_000)).to.deep.equal([]);
  });
});
