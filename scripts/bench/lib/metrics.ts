/**
 * Reads a node's Prometheus `/metrics` for the figures that explain its latency: how many
 * synced writes (group commits) it made and how long they took, and the proposal-to-outcome
 * commit latency the leader measures itself.
 */

/** Cumulative histogram totals at one instant. */
export interface NodeCounters {
  readonly fsyncCount: number;
  readonly fsyncSeconds: number;
  readonly commitCount: number;
  readonly commitSeconds: number;
}

/** The value of an unlabelled sample line `name value` in Prometheus text format (0 when absent). */
export function sampleValue(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

export async function scrapeCounters(rpcUrl: string): Promise<NodeCounters> {
  const res = await fetch(new URL("/metrics", rpcUrl), { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${rpcUrl}metrics answered HTTP ${res.status}`);
  const text = await res.text();
  return {
    fsyncCount: sampleValue(text, "seq_fsync_seconds_count"),
    fsyncSeconds: sampleValue(text, "seq_fsync_seconds_sum"),
    commitCount: sampleValue(text, "seq_commit_latency_seconds_count"),
    commitSeconds: sampleValue(text, "seq_commit_latency_seconds_sum"),
  };
}
