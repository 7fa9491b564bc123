/**
 * The one door into the Raft core (etcd's RawNode plus its driver loop): it owns the pure core,
 * runs it against real I/O following the Ready contract of `node/consensus/types.ts` (persist in
 * one synced batch → send → apply → outcomes/events → advance), and wakes itself after every
 * call. Exactly one Ready is in flight; whatever arrives meanwhile (proposals, messages, ticks,
 * membership changes, transfers) accumulates in the core and leaves in the next Ready, which is
 * how many transactions share one fsync (group commit). Nothing else in the node holds a
 * `RaftCore`.
 */
import {
  RaftCore,
  type BasicStatus,
  type Entry,
  type Message,
  type NodeId,
  type ProposalOutcome,
  type RaftEvent,
  type RaftOptions,
  type RaftStatus,
  type Snapshot,
  type Tx,
  type Weight,
} from "../consensus/index.js";
import type { PersistRequest } from "../storage/index.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";

/** Where the Ready's durable part goes (the node's store, or a wrapper around it in fault tests). */
export interface RaftLogStore {
  /** Persists the Ready's hard state, entries and snapshot, synced, before anything is sent. */
  persistReady(rd: PersistRequest): Promise<void>;
}

/** What the Ready loop hands to the rest of the node. */
export interface RaftNodeHooks {
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

export interface RaftNodeOptions {
  readonly raft: RaftOptions;
  readonly store: RaftLogStore;
  readonly tickMs: number;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
}

/** What membership, rotation and leadership hand-off need of the core (a `RaftNode`, or a bare core in tests). */
export interface RaftControl {
  basicStatus(): BasicStatus;
  status(): RaftStatus;
  proposeApp(data: Uint8Array): boolean;
  changeMembership(voters: readonly NodeId[], weights?: readonly Weight[]): void;
  transferLeadership(to: NodeId): void;
  setElectionRank(rank: number): void;
}

export class RaftNode implements RaftControl {
  private readonly core: RaftCore;
  private readonly store: RaftLogStore;
  private hooks: RaftNodeHooks | undefined;
  private readonly logger: Logger;
  private readonly metrics: NodeMetrics | undefined;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** When the tick timer last fired, and the loop's un-stalled time not yet turned into a tick (ms). */
  private lastFire = 0;
  private credit = 0;
  private running = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(opts: RaftNodeOptions) {
    this.core = new RaftCore(opts.raft);
    this.store = opts.store;
    this.tickMs = opts.tickMs;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
  }

  /**
   * Starts ticking and handing Readys to `hooks` (the rest of the node, built after this door:
   * until then calls accumulate in the core).
   */
  start(hooks: RaftNodeHooks): void {
    this.hooks = hooks;
    this.lastFire = performance.now();
    this.timer = setInterval(() => this.onTimer(), this.tickMs);
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

  /**
   * The tick timer fired. A leader ticks at once: its heartbeats keep the others in place. Any
   * other role judges the leader's silence against its own event loop: the tick is counted only
   * for the part of the interval this loop was not itself running late (a loop starved by a busy
   * machine assumes the leader was starved too, so a loop a whole tick late counts nothing), and
   * after the I/O that queued up meanwhile has been read (a starved loop runs timers before it
   * polls the heartbeats waiting on its sockets; setImmediate runs after the poll phase).
   */
  private onTimer(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.lastFire - this.tickMs);
    this.lastFire = now;
    if (this.core.basicStatus().role === "leader") {
      this.credit = 0;
      this.tick();
      return;
    }
    this.credit += Math.max(0, this.tickMs - late);
    if (this.credit < this.tickMs) {
      this.metrics?.ticksWithheld.inc();
      return;
    }
    this.credit -= this.tickMs;
    setImmediate(() => this.tick());
  }

  /** The transport lost its last connection to `id`: if that is the leader, campaign now (see RaftCore.leaderConnectionLost). */
  peerDisconnected(id: NodeId): void {
    if (this.stopped) return;
    this.core.leaderConnectionLost(id);
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

  /** Starts moving the voters to `voters` with their stakes (learners first, then joint, then final); throws as the core does. */
  changeMembership(voters: readonly NodeId[], weights?: readonly Weight[]): void {
    this.core.changeMembership(voters, weights);
    this.kick();
  }

  transferLeadership(to: NodeId): void {
    this.core.transferLeadership(to);
    this.kick();
  }

  setElectionRank(rank: number): void {
    this.core.setElectionRank(rank);
    this.kick();
  }

  /** Members holding a majority of stake reported `leader` of `term` (see RaftCore.depose). */
  depose(leader: NodeId, term: number, campaign: boolean): void {
    this.core.depose(leader, term, campaign);
    this.kick();
  }

  /** Records an application snapshot at `index` and drops the log up to it (the caller persists the snapshot). */
  compact(index: number, data: Uint8Array): Snapshot {
    return this.core.compact(index, data);
  }

  basicStatus(): BasicStatus {
    return this.core.basicStatus();
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /** Starts the Ready loop unless it is already running. */
  private kick(): void {
    const hooks = this.hooks;
    if (this.running || this.stopped || hooks === undefined) return;
    if (!this.core.hasReady()) return;
    this.running = true;
    this.idle = this.loop(hooks).finally(() => {
      this.running = false;
    });
  }

  private async loop(hooks: RaftNodeHooks): Promise<void> {
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
          const started = performance.now();
          await this.store.persistReady(rd);
          this.metrics?.fsyncSeconds.observe((performance.now() - started) / 1000);
        }
        for (const msg of rd.messages) hooks.send(msg);
        if (rd.snapshot !== undefined) await hooks.installSnapshot(rd.snapshot);
        if (rd.committedEntries.length > 0) await hooks.apply(rd.committedEntries);
        if (rd.outcomes.length > 0) hooks.outcomes(rd.outcomes);
        if (rd.events.length > 0) hooks.events(rd.events);
        this.core.advance();
      }
    } catch (error) {
      this.stopped = true;
      if (this.timer) clearInterval(this.timer);
      this.logger.fatal({ err: error }, "raft node stopped: persisting or applying failed");
      hooks.fatal(error as Error);
    }
  }
}
