/**
 * Runs the pure Raft core against real I/O, following the Ready contract of
 * `node/consensus/types.ts`: persist (one synced batch) → send → apply → outcomes/events →
 * advance. Exactly one Ready is in flight; whatever arrives meanwhile (proposals, messages,
 * ticks) accumulates in the core and leaves in the next Ready, which is how many
 * transactions share one fsync (group commit).
 */
import type { Entry, Message, ProposalOutcome, RaftEvent, Snapshot, Tx } from "../consensus/index.js";
import type { RaftCore } from "../consensus/index.js";
import type { NodeStore } from "../storage/index.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";

/** What the driver needs from the rest of the node. */
export interface DriverHooks {
  /** Sends a Raft message (best effort: Raft tolerates loss). */
  send(msg: Message): void;
  /** Installs an application snapshot received from the leader (before later entries apply). */
  installSnapshot(snapshot: Snapshot): Promise<void>;
  /** Applies newly committed entries (all durable locally). */
  apply(entries: readonly Entry[]): Promise<void>;
  outcomes(outcomes: readonly ProposalOutcome[]): void;
  events(events: readonly RaftEvent[]): void;
  /** Persistence failed: the node can no longer make safe progress. */
  fatal(error: Error): void;
}

export interface DriverOptions {
  readonly core: RaftCore;
  readonly store: NodeStore;
  readonly hooks: DriverHooks;
  readonly tickMs: number;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
}

export class RaftDriver {
  private readonly core: RaftCore;
  private readonly store: NodeStore;
  private readonly hooks: DriverHooks;
  private readonly logger: Logger;
  private readonly metrics: NodeMetrics | undefined;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(opts: DriverOptions) {
    this.core = opts.core;
    this.store = opts.store;
    this.hooks = opts.hooks;
    this.tickMs = opts.tickMs;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.kick();
  }

  /** Stops ticking and waits for the Ready in flight to finish (nothing half-written). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle;
  }

  tick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.kick();
  }

  step(msg: Message): void {
    if (this.stopped) return;
    this.core.step(msg);
    this.kick();
  }

  propose(txs: readonly Tx[]): void {
    this.core.propose(txs);
    this.kick();
  }

  proposeApp(data: Uint8Array): boolean {
    const ok = this.core.proposeApp(data);
    this.kick();
    return ok;
  }

  /** Starts the Ready loop unless it is already running. */
  kick(): void {
    if (this.running || this.stopped) return;
    if (!this.core.hasReady()) return;
    this.running = true;
    this.idle = this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
          const started = performance.now();
          await this.store.persistReady(rd);
          this.metrics?.fsyncSeconds.observe((performance.now() - started) / 1000);
        }
        for (const msg of rd.messages) this.hooks.send(msg);
        if (rd.snapshot !== undefined) await this.hooks.installSnapshot(rd.snapshot);
        if (rd.committedEntries.length > 0) await this.hooks.apply(rd.committedEntries);
        if (rd.outcomes.length > 0) this.hooks.outcomes(rd.outcomes);
        if (rd.events.length > 0) this.hooks.events(rd.events);
        this.core.advance();
      }
    } catch (error) {
      this.stopped = true;
      if (this.timer) clearInterval(this.timer);
      this.logger.fatal({ err: error }, "raft driver stopped: persisting or applying failed");
      this.hooks.fatal(error as Error);
    }
  }
}
