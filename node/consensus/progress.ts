/**
 * Leader-side replication state of one peer, as in etcd's tracker:
 * - probe: one append at a time (paused until any response) while the match point is searched;
 * - replicate: optimistic pipelining, `next` advances on send, up to `maxInflight` appends unacknowledged;
 * - snapshot: a snapshot was sent; nothing else until it is acknowledged (or the send is deemed lost).
 */
import type { PeerProgress } from "./types.js";

export type ProgressState = "probe" | "replicate" | "snapshot";

/** Ring buffer of the last index carried by each unacknowledged append. */
export class Inflights {
  private readonly buf: number[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.size;
  }

  full(): boolean {
    return this.size >= this.capacity;
  }

  add(lastIndex: number): void {
    this.buf[(this.start + this.size) % this.capacity] = lastIndex;
    this.size++;
  }

  /** Frees every append whose last index is <= `index` (they are acknowledged). */
  freeTo(index: number): void {
    while (this.size > 0 && this.buf[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
  }

  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** Probe state: an append is outstanding, wait for a response before the next one. */
  paused = false;
  /** Index of the snapshot being sent (snapshot state). */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Heartbeat rounds without acknowledged progress while appends or a snapshot were outstanding. */
  stalledRounds = 0;
  matchAtLastRound = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  /** The snapshot was refused or lost: probe again from what the follower is known to hold. */
  snapshotFailed(): void {
    this.pendingSnapshot = 0;
    this.becomeProbe();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
      this.pendingSnapshot = 0;
    } else {
      this.next = this.match + 1;
    }
    this.state = "probe";
    this.paused = false;
    this.stalledRounds = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.paused = false;
    this.stalledRounds = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = index;
    this.paused = false;
    this.stalledRounds = 0;
    this.inflights.reset();
  }

  /** Records a successful acknowledgement up to `index`; false if it told nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.stalledRounds = 0;
    }
    if (this.next < index + 1) this.next = index + 1;
    this.paused = false;
    return updated;
  }

  /**
   * Handles a rejection of the append whose prevIndex was `rejected`; `probeFrom` is
   * the leader-side estimate of the last index that may match (from the follower's hint).
   * Returns false for stale rejections.
   */
  maybeDecrTo(rejected: number, probeFrom: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(this.match + 1, Math.min(rejected, probeFrom + 1));
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(this.match + 1, Math.min(rejected, probeFrom + 1));
    this.paused = false;
    return true;
  }

  /** True when nothing may be sent right now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.paused;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  view(): PeerProgress {
    return {
      match: this.match,
      next: this.next,
      inflight: this.inflights.count,
      recentActive: this.recentActive,
      snapshotting: this.state === "snapshot",
    };
  }
}
