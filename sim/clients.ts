/**
 * Simulated clients: propose transactions (fresh hashes, sometimes resubmissions of
 * earlier ones) to random nodes, follow not-leader hints, retry after failures and
 * broken connections, and remember every outcome they were told.
 */
import type { NodeId, ProposalOutcome, Tx } from "../node/consensus/index.js";
import type { Cluster, ClusterListener, SimNode } from "./cluster.js";
import type { Prng } from "./prng.js";

export interface ClientOptions {
  /** Most txs per proposal. */
  readonly batchMax: number;
  /** Chance that a slot in a batch resubmits an earlier tx instead of a fresh one. */
  readonly resubmitProb: number;
  /** Most retries of one tx after failures. */
  readonly maxAttempts: number;
}

interface TxRecord {
  readonly tx: Tx;
  attempts: number;
  /** Position the client was told (committed outcome), if any. */
  committedAt?: number;
  probe: boolean;
}

export interface ClientStats {
  created: number;
  resubmitted: number;
  retries: number;
  committed: number;
  failed: Record<string, number>;
  disconnected: number;
}

export class Clients implements ClusterListener {
  readonly records = new Map<string, TxRecord>();
  private readonly list: TxRecord[] = [];
  private counter = 0;
  /** Clients stop retrying once the run winds down (so the cluster quiesces). */
  retrying = true;
  private leaderGuess: NodeId | null = null;
  private probeHash: string | null = null;
  /** Virtual time at which the current probe got its committed outcome. */
  probeCommittedAt: number | null = null;
  readonly stats: ClientStats = { created: 0, resubmitted: 0, retries: 0, committed: 0, failed: {}, disconnected: 0 };

  constructor(
    private readonly cluster: Cluster,
    private readonly rng: Prng,
    private readonly opts: ClientOptions,
    private readonly seed: number,
  ) {
    cluster.listeners.push(this);
  }

  private fresh(probe = false): TxRecord {
    const n = this.counter++;
    const hash = `0x${(this.seed >>> 0).toString(16).padStart(8, "0")}${n.toString(16).padStart(56, "0")}`;
    const rec: TxRecord = { tx: { hash, data: new Uint8Array([n & 0xff, (n >> 8) & 0xff]) }, attempts: 0, probe };
    this.records.set(hash, rec);
    if (!probe) this.list.push(rec);
    this.stats.created++;
    return rec;
  }

  private liveNodes(): SimNode[] {
    return this.cluster.nodes.filter((n) => n.up && n.member);
  }

  private pickTarget(): SimNode | undefined {
    const guess = this.leaderGuess ? this.cluster.node(this.leaderGuess) : undefined;
    if (guess?.up && this.rng.chance(0.6)) return guess;
    const live = this.liveNodes();
    return live.length > 0 ? this.rng.pick(live) : undefined;
  }

  /** One client request: a batch of fresh txs and maybe resubmissions. */
  submitBatch(): void {
    const target = this.pickTarget();
    if (!target) return;
    const size = this.rng.range(1, this.opts.batchMax);
    const txs: Tx[] = [];
    const inBatch = new Set<string>();
    for (let i = 0; i < size; i++) {
      let rec: TxRecord | undefined;
      if (this.list.length > 0 && this.rng.chance(this.opts.resubmitProb)) {
        const old = this.rng.pick(this.list);
        // The same hash twice in one request, or again at a node still holding it, is a
        // client bug we do not model; a resubmission goes elsewhere or later.
        if (!inBatch.has(old.tx.hash) && !target.pending.has(old.tx.hash)) {
          rec = old;
          this.stats.resubmitted++;
        }
      }
      rec ??= this.fresh();
      inBatch.add(rec.tx.hash);
      txs.push(rec.tx);
    }
    this.cluster.propose(target.id, txs);
  }

  onOutcome(node: SimNode, o: ProposalOutcome): void {
    const rec = this.records.get(o.txHash);
    if (!rec) return;
    if (o.status === "committed") {
      this.stats.committed++;
      rec.committedAt = o.position;
      this.leaderGuess = node.id;
      if (rec.probe && this.probeCommittedAt === null) this.probeCommittedAt = this.cluster.now;
      return;
    }
    this.stats.failed[o.reason] = (this.stats.failed[o.reason] ?? 0) + 1;
    if (o.leader) this.leaderGuess = o.leader;
    // not-leader answers come at once: follow the hint quickly; other failures back off.
    const delay = o.reason === "not-leader" ? this.rng.range(1, 3) : this.rng.range(5, 40);
    this.retry(rec, o.leader, delay);
  }

  onDisconnected(_node: SimNode, hash: string): void {
    const rec = this.records.get(hash);
    if (!rec) return;
    this.stats.disconnected++;
    this.retry(rec, null, this.rng.range(5, 40));
  }

  private retry(rec: TxRecord, hint: NodeId | null, delayMs: number): void {
    if (rec.probe) {
      this.cluster.schedule(hint ? 1 : this.cluster.tickMs, () => this.sendProbe(hint));
      return;
    }
    if (!this.retrying || rec.attempts >= this.opts.maxAttempts || rec.committedAt !== undefined) return;
    rec.attempts++;
    this.stats.retries++;
    this.cluster.schedule(delayMs, () => {
      if (!this.retrying) return;
      let target = hint ? this.cluster.node(hint) : this.pickTarget();
      if (!target?.up || !target.member) target = this.pickTarget();
      if (!target || target.pending.has(rec.tx.hash)) return;
      this.cluster.propose(target.id, [rec.tx]);
    });
  }

  /** Starts the liveness probe: one fresh tx, re-sent until some node reports it committed. */
  startProbe(): void {
    this.probeHash = this.fresh(true).tx.hash;
    this.probeCommittedAt = null;
    this.sendProbe(null);
  }

  private sendProbe(hint: NodeId | null): void {
    if (this.probeHash === null || this.probeCommittedAt !== null) return;
    const rec = this.records.get(this.probeHash)!;
    if (this.cluster.nodes.some((n) => n.pending.has(rec.tx.hash))) return;
    let target = hint ? this.cluster.node(hint) : this.pickTarget();
    if (!target?.up || !target.member) target = this.pickTarget();
    if (!target || !this.cluster.propose(target.id, [rec.tx])) {
      this.cluster.schedule(this.cluster.tickMs, () => this.sendProbe(null));
    }
  }

  /** Every tx the clients created (probes included). */
  allRecords(): IterableIterator<TxRecord> {
    return this.records.values();
  }
}
