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

async function scrape(rpcUrl: string): Promise<string> {
  const res = await fetch(new URL("/metrics", rpcUrl), { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${rpcUrl}metrics answered HTTP ${res.status}`);
  return res.text();
}

/** Where a node's resident memory is: the V8 heap in use, and memory outside it (buffers, native addons). */
export interface NodeMemory {
  readonly heapUsedMb: number;
  /** Heap the V8 isolate holds (used + free pages it has not returned). */
  readonly heapTotalMb: number;
  readonly externalMb: number;
}

export async function scrapeMemory(rpcUrl: string): Promise<NodeMemory> {
  const text = await scrape(rpcUrl);
  const mb = (name: string) => Math.round((sampleValue(text, name) / 2 ** 20) * 10) / 10;
  return { heapUsedMb: mb("nodejs_heap_size_used_bytes"), heapTotalMb: mb("nodejs_heap_size_total_bytes"), externalMb: mb("nodejs_external_memory_bytes") };
}

export async function scrapeCounters(rpcUrl: string): Promise<NodeCounters> {
  const text = await scrape(rpcUrl);
  return {
    fsyncCount: sampleValue(text, "seq_fsync_seconds_count"),
    fsyncSeconds: sampleValue(text, "seq_fsync_seconds_sum"),
    commitCount: sampleValue(text, "seq_commit_latency_seconds_count"),
    commitSeconds: sampleValue(text, "seq_commit_latency_seconds_sum"),
  };
}
