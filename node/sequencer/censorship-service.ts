/**
 * Followers replace a censoring leader (docs/censorship.md). This service runs the pure strike
 * rule (`censorship.ts`) over this node's forwards and committed entries, signs a report for each
 * strike and sends it to every member peer to peer, tallies the reports it holds (its own and the
 * ones it is sent), and once members holding more than half of the epoch's stake reported the
 * current leader of the current term: deposes it in the core (no lease, no timer reset for it; the
 * next in the epoch's schedule campaigns at once), or, if this node is the reported leader, hands
 * leadership to that successor itself. Transactions watched against a leader that is gone are
 * forwarded again, to the new one.
 */
import { bytesToHex, hexToBytes, type Hex } from "viem";
import type { Entry, NodeId } from "../consensus/index.js";
import type { Signer } from "../keys/index.js";
import type { Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { CensorshipWatch, type StrikeRule } from "./censorship.js";
import { decodeReport, encodeReport, reportSignedByReporter, ReportTally, signReport, successorOf, type CensorshipReport, type ReportDomain, type StakedMember } from "./censorship-reports.js";
import type { EpochPlan } from "./epochs.js";
import type { ForwardObserver } from "./submissions.js";

/** What the service needs of the Raft door (a `RaftNode`). */
export interface CensorshipRaft {
  status(): { readonly role: string; readonly term: number; readonly leader: NodeId | null; readonly lastIndex: number };
  depose(leader: NodeId, term: number, campaign: boolean): void;
  transferLeadership(to: NodeId): void;
}

export interface CensorshipOptions {
  readonly rule: StrikeRule;
  readonly selfId: NodeId;
  readonly signer: Signer;
  readonly domain: ReportDomain;
  readonly raft: CensorshipRaft;
  /** The latest confirmed epoch's plan (its schedule names the successor). */
  readonly plan: () => EpochPlan | undefined;
  /** An epoch's members with their signers and stakes (L1). */
  readonly epochMembers: (epoch: number) => Promise<readonly StakedMember[]>;
  /** Sends a report to every other member (best effort; each answers on its own). */
  readonly broadcast: (payload: Uint8Array) => void;
  /** Submits a transaction again (it is forwarded to whoever leads now). */
  readonly resubmit: (raw: Uint8Array) => Promise<unknown>;
  /** Whether this node, reported as leader by the majority, hands leadership to the successor (false only in the censoring fixture). */
  readonly stepAside?: boolean;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
  readonly now?: () => number;
}

export interface CensorshipStatus {
  /** Forwarded transactions this node is watching. */
  readonly watching: number;
  /** Strikes this node counted (one report each). */
  readonly strikes: number;
  /** Valid reports held (this node's and the ones it was sent). */
  readonly reports: number;
  /** The reports against the current leader in the current term, if any. */
  readonly againstLeader: { readonly leader: NodeId; readonly term: number; readonly reporters: readonly NodeId[]; readonly stake: string; readonly total: string } | null;
  readonly lastEjection: { readonly epoch: number; readonly term: number; readonly leader: NodeId; readonly successor: NodeId | null; readonly at: number } | null;
}

export class CensorshipService implements ForwardObserver {
  private readonly watch: CensorshipWatch;
  private readonly tally = new ReportTally();
  private readonly now: () => number;
  /** Leaders ejected, per epoch: rotation passes over them for the rest of that epoch. */
  private readonly ejected = new Map<number, Set<NodeId>>();
  /** The (term, leader) last acted on, so an ejection is acted on once. */
  private acted: string | undefined;
  private lastEjection: CensorshipStatus["lastEjection"] = null;

  constructor(private readonly opts: CensorshipOptions) {
    this.watch = new CensorshipWatch(opts.rule);
    this.now = opts.now ?? Date.now;
  }

  forwarded(hash: string, raw: Uint8Array, leader: NodeId): void {
    this.watch.forwarded(hash, raw, leader, this.opts.raft.status().term, this.now());
  }

  answered(hash: string): void {
    this.watch.answered(hash);
  }

  committed(entries: readonly Entry[]): void {
    this.watch.committed(entries.map((e) => ({ index: e.index, term: e.term, txHashes: e.txs?.map((t) => t.hash) ?? [] })));
  }

  /** The members ejected in `epoch` (rotation skips them). */
  ejectedIn(epoch: number): ReadonlySet<NodeId> {
    return this.ejected.get(epoch) ?? new Set();
  }

  /** Periodic: strikes become reports; watches against a leader that is gone are forwarded again; an ejection due is acted on. */
  async tick(): Promise<void> {
    const s = this.opts.raft.status();
    const { strikes, moved } = this.watch.tick(this.now(), s.lastIndex, s.role === "follower" ? s.leader : null, s.term);
    for (const m of moved) {
      this.opts.resubmit(m.raw).catch((error: Error) => this.opts.logger.debug({ txHash: m.txHash, err: error.message }, "a watched transaction forwarded again did not complete"));
    }
    const plan = this.opts.plan();
    for (const strike of strikes) {
      if (plan === undefined) break;
      this.opts.metrics?.censorshipStrikes.inc();
      const report = await signReport(this.opts.signer, this.opts.domain, { epoch: plan.epoch, term: strike.term, leader: strike.leader, txHash: strike.txHash as Hex, reporter: this.opts.selfId });
      this.opts.logger.warn({ leader: strike.leader, term: strike.term, txHash: strike.txHash }, "the leader committed later transactions but not one this node forwarded: reporting it for censorship");
      await this.count(report);
      this.opts.broadcast(encodeReport({ report, rawTx: bytesToHex(strike.raw) }));
    }
    this.maybeEject();
  }

  /**
   * A report sent by another member; answers with an empty payload (the sender does not wait on
   * it). A verified report's transaction is forwarded from here too (unless already committed or
   * watched): this member then judges the leader by its own strike rule, so one user's submission
   * to one member is enough for every honest member to report.
   */
  async handleReport(payload: Uint8Array): Promise<Uint8Array> {
    const { report, rawTx } = decodeReport(payload);
    const counted = await this.count(report);
    this.maybeEject();
    if (counted && rawTx !== undefined && !this.watch.watching(report.txHash) && this.opts.raft.status().role === "follower") {
      this.opts.resubmit(hexToBytes(rawTx)).catch((error: Error) => this.opts.logger.debug({ txHash: report.txHash, err: error.message }, "a reported transaction forwarded from here did not complete"));
    }
    return new Uint8Array();
  }

  /** Verifies and tallies a report, true if it counted; forged, duplicate, stale or foreign ones are dropped (and counted by outcome). */
  private async count(report: CensorshipReport): Promise<boolean> {
    this.tally.advance(this.opts.raft.status().term);
    let members: readonly StakedMember[];
    try {
      members = await this.opts.epochMembers(report.epoch);
    } catch {
      this.opts.metrics?.censorshipReports.inc({ outcome: "unknown-epoch" });
      return false;
    }
    if (!(await reportSignedByReporter(this.opts.domain, report, members))) {
      this.opts.metrics?.censorshipReports.inc({ outcome: "forged" });
      return false;
    }
    const outcome = this.tally.add(report, members);
    this.opts.metrics?.censorshipReports.inc({ outcome });
    return outcome === "counted";
  }

  private maybeEject(): void {
    const s = this.opts.raft.status();
    if (s.leader === null) return;
    const key = `${s.term}/${s.leader}`;
    if (this.acted === key) return;
    const t = this.tally.against(s.leader, s.term);
    if (t === undefined || !t.ejects) return;
    this.acted = key;
    const plan = this.opts.plan();
    const skip = new Set(plan === undefined ? [] : this.ejectedIn(plan.epoch));
    const successor = plan === undefined ? undefined : successorOf(plan.schedule, s.leader, skip);
    if (plan !== undefined) this.ejected.set(plan.epoch, skip.add(s.leader));
    this.lastEjection = { epoch: t.epoch, term: s.term, leader: s.leader, successor: successor ?? null, at: this.now() };
    this.opts.metrics?.censorshipEjections.inc();
    this.opts.logger.warn({ leader: s.leader, term: s.term, reporters: t.reporters, stake: String(t.stake), total: String(t.total), successor }, "members holding more than half of the stake reported the leader for censorship: ejecting it");
    if (s.leader === this.opts.selfId) {
      // An honest leader reported by a majority (e.g. a bug in its intake) steps aside itself.
      if (successor === undefined || this.opts.stepAside === false) return;
      try {
        this.opts.raft.transferLeadership(successor);
      } catch (error) {
        this.opts.logger.warn({ to: successor, err: (error as Error).message }, "could not hand leadership over after being reported: the members' deposal elects the successor without it");
      }
      return;
    }
    this.opts.raft.depose(s.leader, s.term, successor === this.opts.selfId);
  }

  status(): CensorshipStatus {
    const s = this.opts.raft.status();
    const t = s.leader === null ? undefined : this.tally.against(s.leader, s.term);
    return {
      ...this.watch.status(),
      reports: this.tally.reports,
      againstLeader: t === undefined ? null : { leader: t.leader, term: t.term, reporters: t.reporters, stake: String(t.stake), total: String(t.total) },
      lastEjection: this.lastEjection,
    };
  }
}
