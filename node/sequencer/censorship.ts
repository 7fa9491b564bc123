/**
 * The strike rule (docs/censorship.md), pure: time, the log and the leader are inputs. A follower
 * watches every transaction it forwarded; a watch ends in a strike against (leader, term) when the
 * leader took the forward without refusing it, the transaction is still not committed
 * `timeoutMs` after the forward, and the same leader in the same term meanwhile committed at least
 * `minProgressTxs` transactions in entries past the watch's horizon: the last index of this
 * follower's log `graceMs` after the forward, by when a leader that takes transactions in arrival
 * order (FIFO intake) has appended this one. A leader that commits nothing (stalled, slow) is never
 * struck, nor one that refuses (`overloaded`, any retryable or final answer), nor one that commits
 * only what it had taken before this transaction: only a leader that orders later work ahead of it.
 */
import type { NodeId } from "../consensus/index.js";
import { CensorshipError } from "./errors.js";

export interface StrikeRule {
  /** How long a forwarded transaction may stay uncommitted (many times the commit latency). */
  readonly timeoutMs: number;
  /** After the forward, when the horizon is taken (generous for the leader's intake queue). */
  readonly graceMs: number;
  /** Transactions the leader must commit past the horizon before a missing one counts. */
  readonly minProgressTxs: number;
}

/** A strike: the evidence a signed report carries. */
export interface Strike {
  readonly txHash: string;
  readonly leader: NodeId;
  readonly term: number;
  readonly raw: Uint8Array;
}

interface Watch {
  readonly txHash: string;
  readonly raw: Uint8Array;
  readonly leader: NodeId;
  readonly term: number;
  readonly since: number;
  horizon?: number;
  progress: number;
  struck: boolean;
}

/** A committed entry as the rule needs it. */
export interface CommittedEntry {
  readonly index: number;
  readonly term: number;
  readonly txHashes: readonly string[];
}

export class CensorshipWatch {
  private readonly watches = new Map<string, Watch>();
  private strikes = 0;

  constructor(private readonly rule: StrikeRule) {
    if (!(rule.timeoutMs > 0) || !(rule.graceMs >= 0) || rule.graceMs >= rule.timeoutMs) {
      throw new CensorshipError(`the censorship grace (${rule.graceMs} ms) must be non-negative and below the timeout (${rule.timeoutMs} ms)`);
    }
    if (!Number.isSafeInteger(rule.minProgressTxs) || rule.minProgressTxs < 1) throw new CensorshipError(`minProgressTxs must be a positive integer, got ${rule.minProgressTxs}`);
  }

  /** This follower forwarded `txHash` to `leader` in `term` at `now`. A watch already open for the same leader and term keeps its start. */
  forwarded(txHash: string, raw: Uint8Array, leader: NodeId, term: number, now: number): void {
    const open = this.watches.get(txHash);
    if (open !== undefined && open.leader === leader && open.term === term) return;
    this.watches.set(txHash, { txHash, raw, leader, term, since: now, progress: 0, struck: false });
  }

  /**
   * The leader answered the forward: with the commitment (the transaction was committed, perhaps
   * long ago), or with a refusal (overloaded, rejected, not the leader: it did not take the
   * transaction). Either way there is nothing to hold against it.
   */
  answered(txHash: string): void {
    const w = this.watches.get(txHash);
    if (w !== undefined && !w.struck) this.watches.delete(txHash);
  }

  /** Committed entries, in log order: their transactions' watches end; the others count them as progress past their horizon. */
  committed(entries: readonly CommittedEntry[]): void {
    for (const e of entries) {
      for (const hash of e.txHashes) this.watches.delete(hash);
      if (e.txHashes.length === 0) continue;
      for (const w of this.watches.values()) {
        if (w.horizon !== undefined && e.index > w.horizon && e.term === w.term) w.progress += e.txHashes.length;
      }
    }
  }

  /**
   * Called periodically with this follower's view: its log's last index and the leader it follows.
   * Returns the new strikes. Watches against another leader or term end: their transactions are
   * returned in `moved` for the caller to forward again (a strike already reported stays counted).
   */
  tick(now: number, lastIndex: number, leader: NodeId | null, term: number): { strikes: Strike[]; moved: Strike[] } {
    const strikes: Strike[] = [];
    const moved: Strike[] = [];
    for (const w of [...this.watches.values()]) {
      const strike = { txHash: w.txHash, leader: w.leader, term: w.term, raw: w.raw };
      if (w.leader !== leader || w.term !== term) {
        this.watches.delete(w.txHash);
        moved.push(strike);
        continue;
      }
      if (w.horizon === undefined && now - w.since >= this.rule.graceMs) w.horizon = lastIndex;
      if (!w.struck && now - w.since >= this.rule.timeoutMs && w.progress >= this.rule.minProgressTxs) {
        w.struck = true;
        this.strikes++;
        strikes.push(strike);
      }
    }
    return { strikes, moved };
  }

  watching(txHash: string): boolean {
    return this.watches.has(txHash);
  }

  status(): { watching: number; strikes: number } {
    return { watching: this.watches.size, strikes: this.strikes };
  }
}
