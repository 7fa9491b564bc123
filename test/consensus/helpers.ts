/**
 * A tiny manual network for driving RaftCore instances message by message.
 * Each node has an in-memory "disk" that the helper updates exactly as the Ready
 * contract says (snapshot, entries, hard state, then send, apply, advance), an
 * application that records committed transactions (for lookupCommittedTx and
 * snapshots), and inboxes that tests can inspect, drop, reorder or deliver.
 */
import { expect } from "chai";
import {
  RaftCore,
  type Entry,
  type HardState,
  type MembershipConfig,
  type Message,
  type NodeId,
  type ProposalOutcome,
  type RaftEvent,
  type RaftOptions,
  type Ready,
  type Snapshot,
  type Tx,
  type Weight,
} from "../../node/consensus/index.js";

/** Deterministic PRNG (mulberry32) in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let txCounter = 0;
/** Distinct transactions with 0x-prefixed hashes. */
export function txs(n: number, tag = "t"): Tx[] {
  const out: Tx[] = [];
  for (let i = 0; i < n; i++) {
    const k = txCounter++;
    out.push({ hash: `0x${tag}${k.toString(16).padStart(8, "0")}`, data: new Uint8Array([k & 0xff]) });
  }
  return out;
}

export interface Disk {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
  applied: number;
}

interface Committed {
  position: number;
  index: number;
  term: number;
}

/** The application: what a node applied. Snapshot data is its serialised tx map. */
class App {
  readonly txs = new Map<string, Committed>();
  readonly entries: Entry[] = [];

  apply(e: Entry): void {
    this.entries.push(e);
    e.txs?.forEach((tx, i) => this.txs.set(tx.hash, { position: e.firstPosition + i, index: e.index, term: e.term }));
  }

  encode(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.txs]));
  }

  restore(data: Uint8Array): void {
    this.txs.clear();
    this.entries.length = 0;
    for (const [h, c] of JSON.parse(new TextDecoder().decode(data)) as [string, Committed][]) this.txs.set(h, c);
  }
}

export interface ClusterOptions {
  electionTicks?: number;
  heartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxTxsPerEntry?: number;
  maxInflight?: number;
  maxEntriesPerMessage?: number;
  seed?: number;
  /** Genesis weights: weights[i] is the stake of voters[i] (default: 1 each). */
  weights?: readonly Weight[];
  /** Per-node veto over adopted membership (RaftOptions.acceptConfig). */
  acceptConfig?: (id: NodeId, config: MembershipConfig) => boolean;
}

export class Cluster {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly disks = new Map<NodeId, Disk>();
  readonly apps = new Map<NodeId, App>();
  readonly outcomes = new Map<NodeId, ProposalOutcome[]>();
  readonly events = new Map<NodeId, RaftEvent[]>();
  /** Every Ready each node produced, in order (for contract assertions). */
  readonly readies = new Map<NodeId, Ready[]>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Every message ever sent, in order. */
  readonly sent: Message[] = [];
  private readonly blocked = new Set<string>();
  private readonly down = new Set<NodeId>();
  readonly genesis: MembershipConfig;

  constructor(
    voters: readonly NodeId[],
    readonly opts: ClusterOptions = {},
    disks: Readonly<Record<NodeId, Disk>> = {},
  ) {
    this.genesis = { voters: [...voters], ...(opts.weights ? { weights: [...opts.weights] } : {}), learners: [] };
    for (const id of voters) this.start(id, disks[id]);
  }

  /** Starts a node: fresh (genesis config) or from what it persisted. */
  start(id: NodeId, persisted = this.disks.get(id)): RaftCore {
    const app = new App();
    if (persisted?.snapshot) app.restore(persisted.snapshot.data);
    this.apps.set(id, app);
    if (persisted) {
      const d = persisted;
      for (const e of d.entries) if (e.index <= d.applied) app.apply(e);
    }
    const options: RaftOptions = {
      id,
      initialConfig: this.genesis,
      random: seeded((this.opts.seed ?? 1) * 7919 + hash(id)),
      electionTicks: this.opts.electionTicks ?? 10,
      heartbeatTicks: this.opts.heartbeatTicks ?? 2,
      ...(this.opts.preVote !== undefined ? { preVote: this.opts.preVote } : {}),
      ...(this.opts.checkQuorum !== undefined ? { checkQuorum: this.opts.checkQuorum } : {}),
      ...(this.opts.maxTxsPerEntry !== undefined ? { maxTxsPerEntry: this.opts.maxTxsPerEntry } : {}),
      ...(this.opts.maxInflight !== undefined ? { maxInflight: this.opts.maxInflight } : {}),
      ...(this.opts.maxEntriesPerMessage !== undefined ? { maxEntriesPerMessage: this.opts.maxEntriesPerMessage } : {}),
      lookupCommittedTx: (h) => app.txs.get(h),
      ...(this.opts.acceptConfig ? { acceptConfig: (config: MembershipConfig) => this.opts.acceptConfig!(id, config) } : {}),
      ...(persisted
        ? {
            persisted: {
              hardState: persisted.hardState,
              ...(persisted.snapshot ? { snapshot: persisted.snapshot } : {}),
              entries: [...persisted.entries],
              applied: persisted.applied,
            },
          }
        : {}),
    };
    const core = new RaftCore(options);
    this.cores.set(id, core);
    this.disks.set(id, persisted ?? { hardState: { term: 0, vote: null, commit: 0 }, entries: [], applied: 0 });
    if (!this.outcomes.has(id)) this.outcomes.set(id, []);
    if (!this.events.has(id)) this.events.set(id, []);
    if (!this.readies.has(id)) this.readies.set(id, []);
    this.down.delete(id);
    return core;
  }

  /** A crash: the core is gone, its disk stays (everything handed in a Ready was persisted). */
  crash(id: NodeId): void {
    this.cores.delete(id);
    this.down.add(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  restart(id: NodeId): RaftCore {
    return this.start(id, this.disks.get(id));
  }

  core(id: NodeId): RaftCore {
    const c = this.cores.get(id);
    if (!c) throw new Error(`node ${id} is not running`);
    return c;
  }

  ids(): NodeId[] {
    return [...this.cores.keys()];
  }

  /** Handles one Ready of `id` per the contract; returns it. */
  handleReady(id: NodeId): Ready {
    const core = this.core(id);
    const rd = core.ready();
    this.readies.get(id)!.push(rd);
    const disk = this.disks.get(id)!;
    const app = this.apps.get(id)!;
    if (rd.snapshot) {
      disk.snapshot = rd.snapshot;
      disk.entries = [];
      disk.applied = rd.snapshot.meta.index;
      app.restore(rd.snapshot.data);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      disk.entries = disk.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) disk.hardState = rd.hardState;
    checkPersistedBeforeSend(disk, rd.messages);
    for (const m of rd.messages) {
      this.sent.push(m);
      if (!this.down.has(m.to) && !this.blocked.has(`${m.from}>${m.to}`)) this.queue.push(m);
    }
    for (const e of rd.committedEntries) {
      app.apply(e);
      disk.applied = e.index;
    }
    this.outcomes.get(id)!.push(...rd.outcomes);
    this.events.get(id)!.push(...rd.events);
    core.advance();
    return rd;
  }

  /** Handles every pending Ready of every running node. */
  flush(): void {
    let again = true;
    while (again) {
      again = false;
      for (const [id, core] of this.cores) {
        if (core.hasReady()) {
          this.handleReady(id);
          again = true;
        }
      }
    }
  }

  /** The driver's compaction: snapshot the application at its applied index, persist, drop the prefix. */
  compact(id: NodeId): Snapshot {
    const disk = this.disks.get(id)!;
    const snap = this.core(id).compact(disk.applied, this.apps.get(id)!.encode());
    disk.snapshot = snap;
    disk.entries = disk.entries.filter((e) => e.index > snap.meta.index);
    return snap;
  }

  /** Removes and returns queued messages matching `pred` (default: all). */
  take(pred: (m: Message) => boolean = () => true): Message[] {
    const out = this.queue.filter(pred);
    this.queue = this.queue.filter((m) => !pred(m));
    return out;
  }

  deliver(m: Message): void {
    const core = this.cores.get(m.to);
    if (core) core.step(m);
  }

  /** Delivers all queued messages matching `pred` once (new ones are queued). */
  deliverAll(pred: (m: Message) => boolean = () => true): number {
    const batch = this.take(pred);
    for (const m of batch) this.deliver(m);
    return batch.length;
  }

  /** Flush + deliver until no message is left and no node has a Ready. */
  stabilize(maxRounds = 10_000): number {
    let rounds = 0;
    for (;;) {
      this.flush();
      if (this.queue.length === 0) return rounds;
      if (++rounds > maxRounds) throw new Error("cluster did not stabilize");
      this.deliverAll();
    }
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.core(id).tick();
  }

  /** Ticks every running node `n` times, stabilizing after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const core of this.cores.values()) core.tick();
      this.stabilize();
    }
  }

  /** Ticks only `id` (stabilizing after each tick) until it is leader. */
  elect(id: NodeId): RaftCore {
    const core = this.core(id);
    const et = this.opts.electionTicks ?? 10;
    for (let i = 0; i < 20 * et && core.status().role !== "leader"; i++) {
      core.tick();
      this.stabilize();
    }
    expect(core.status().role, `${id} should have won the election`).to.equal("leader");
    return core;
  }

  isolate(id: NodeId): void {
    for (const other of this.disks.keys()) {
      if (other === id) continue;
      this.blocked.add(`${id}>${other}`);
      this.blocked.add(`${other}>${id}`);
    }
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  cut(a: NodeId, b: NodeId): void {
    this.blocked.add(`${a}>${b}`);
    this.blocked.add(`${b}>${a}`);
    this.queue = this.queue.filter((m) => !((m.from === a && m.to === b) || (m.from === b && m.to === a)));
  }

  heal(): void {
    this.blocked.clear();
  }

  leader(): NodeId | undefined {
    return [...this.cores.entries()].find(([, c]) => c.status().role === "leader")?.[0];
  }

  /** Transactions a node applied, in log order, as hash@position. */
  appliedTxs(id: NodeId): string[] {
    const out: string[] = [];
    for (const e of this.apps.get(id)!.entries) e.txs?.forEach((tx, i) => out.push(`${tx.hash}@${e.firstPosition + i}`));
    return out;
  }

  /** (index, term, kind) of every entry on a node's disk. */
  diskLog(id: NodeId): string[] {
    return this.disks.get(id)!.entries.map((e) => `${e.index}:${e.term}:${e.kind}`);
  }

  outcomesOf(id: NodeId, status?: "committed" | "failed"): ProposalOutcome[] {
    return this.outcomes.get(id)!.filter((o) => status === undefined || o.status === status);
  }

  eventsOf<T extends RaftEvent["type"]>(id: NodeId, type: T): Extract<RaftEvent, { type: T }>[] {
    return this.events.get(id)!.filter((e): e is Extract<RaftEvent, { type: T }> => e.type === type);
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Checks that every running node's disk log is a prefix-consistent copy (same term at each shared index). */
export function expectLogsAgree(c: Cluster, ids: readonly NodeId[]): void {
  const byIndex = new Map<number, string>();
  for (const id of ids) {
    for (const e of c.disks.get(id)!.entries) {
      const key = `${e.term}:${e.kind}:${e.firstPosition}:${e.txs?.map((t) => t.hash).join(",") ?? ""}`;
      const seen = byIndex.get(e.index);
      if (seen === undefined) byIndex.set(e.index, key);
      else expect(key, `entry ${e.index} differs on ${id}`).to.equal(seen);
    }
  }
}

/**
 * The Ready contract seen from the wire: an acknowledgement or a vote may only leave
 * a node once what it vouches for is on that node's disk.
 */
function checkPersistedBeforeSend(disk: Disk, messages: readonly Message[]): void {
  const last = disk.entries.length > 0 ? disk.entries[disk.entries.length - 1]!.index : (disk.snapshot?.meta.index ?? 0);
  for (const m of messages) {
    if (m.type === "appendResp" && m.success) {
      expect(m.matchIndex, `${m.from} acknowledged ${m.matchIndex} with only ${last} on disk`).to.be.at.most(last);
    }
    if (m.type === "voteResp" && m.granted) {
      expect(disk.hardState, `${m.from} granted a vote before persisting it`).to.include({ term: m.term, vote: m.to });
    }
  }
}

/** A core restarted from a log whose entries have the given terms (kind noop, positions 0). */
export function coreWithLog(
  id: NodeId,
  voters: readonly NodeId[],
  terms: readonly number[],
  hard: Partial<HardState> = {},
  extra: Partial<RaftOptions> = {},
): RaftCore {
  const entries: Entry[] = terms.map((term, i) => ({ index: i + 1, term, kind: "noop", firstPosition: 0 }));
  const lastTerm = terms.length > 0 ? terms[terms.length - 1]! : 0;
  return new RaftCore({
    id,
    initialConfig: { voters: [...voters], learners: [] },
    random: seeded(hash(id)),
    electionTicks: 10,
    heartbeatTicks: 2,
    persisted: { hardState: { term: lastTerm, vote: null, commit: 0, ...hard }, entries, applied: 0 },
    ...extra,
  });
}

/** Persisted log for Cluster.start(): noop entries with the given terms. */
export function diskWithLog(terms: readonly number[], term = Math.max(0, ...terms)): Disk {
  return {
    hardState: { term, vote: null, commit: 0 },
    entries: terms.map((t, i) => ({ index: i + 1, term: t, kind: "noop" as const, firstPosition: 0 })),
    applied: 0,
  };
}
