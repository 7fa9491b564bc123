/**
 * Test-only fault injection. A Transport applies faults only when an instance is passed
 * explicitly as its `faults` constructor option; nothing reads it from configuration or the
 * environment, so production transports never drop or delay anything on purpose.
 *
 * - partition(peer): nothing is sent to or delivered from that peer (requests time out);
 * - setDropRate(peer, p): each outbound Raft message to that peer is dropped with probability p;
 * - setDelay(peer, ms): outbound Raft messages to that peer are held for `ms` before queueing.
 */
export class FaultInjector {
  private readonly partitioned = new Set<string>();
  private readonly dropRates = new Map<string, number>();
  private readonly delays = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  partition(peerId: string): void {
    this.partitioned.add(peerId);
  }

  heal(peerId: string): void {
    this.partitioned.delete(peerId);
  }

  setDropRate(peerId: string, probability: number): void {
    if (!(probability >= 0 && probability <= 1)) throw new RangeError(`drop probability must be in [0, 1], got ${probability}`);
    if (probability === 0) this.dropRates.delete(peerId);
    else this.dropRates.set(peerId, probability);
  }

  setDelay(peerId: string, ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${ms}`);
    if (ms === 0) this.delays.delete(peerId);
    else this.delays.set(peerId, ms);
  }

  reset(): void {
    this.partitioned.clear();
    this.dropRates.clear();
    this.delays.clear();
  }

  isPartitioned(peerId: string): boolean {
    return this.partitioned.has(peerId);
  }

  shouldDrop(peerId: string): boolean {
    if (this.partitioned.has(peerId)) return true;
    const p = this.dropRates.get(peerId);
    return p !== undefined && this.random() < p;
  }

  delayFor(peerId: string): number {
    return this.delays.get(peerId) ?? 0;
  }
}
