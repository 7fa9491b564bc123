/**
 * Deterministic cluster simulator: real `RaftCore`s driven exactly as a production
 * driver drives them (the Ready contract of node/consensus/types.ts), over a simulated
 * network (delay, loss, duplication, reordering, partitions) and simulated durable
 * storage (fsync latency; a crash loses whatever was not yet synced), in virtual time.
 *
 * Everything random comes from one seed: a run is a pure function of its options.
 */
import { RaftCore } from "../node/consensus/index.js";
import type {
  Entry,
  HardState,
  MembershipConfig,
  Message,
  NodeId,
  PersistedState,
  ProposalOutcome,
  RaftEvent,
  RaftStatus,
  Ready,
  Snapshot,
  Tx,
  Weight,
} from "../node/consensus/index.js";
import { AppState } from "./app.js";
import { Checker } from "./checker.js";
import { EventQueue } from "./event-queue.js";
import { Prng } from "./prng.js";
import { Trace } from "./trace.js";

export interface NetworkConditions {
  /** One-way delay range in ms. */
  delayMs: readonly [number, number];
  /** Chance that a message instead takes up to `longDelayMs` (reordering across ticks). */
  longDelayProb: number;
  longDelayMs: number;
  loss: number;
  dup: number;
}

export interface ClusterOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Stakes of the initial voters (weights[i] for n<i>); default: unweighted, one each. */
  readonly weights?: readonly Weight[];
  /** Extra node ids (not started) available to membership changes. */
  readonly spareNodes?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Tick-rate multiplier range per node (clock skew). */
  readonly skew?: readonly [number, number];
  readonly fsyncMs?: readonly [number, number];
  readonly net?: Partial<NetworkConditions>;
  /** Applied entries between application snapshots (compact()); 0 disables. */
  readonly compactEvery?: number;
  /** Chance the application flushes its state after a Ready (else a crash rolls it back). */
  readonly appFlushProb?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxTxsPerEntry?: number;
  readonly maxInflight?: number;
  readonly maxEntriesPerMessage?: number;
  readonly traceCapacity?: number;
}

/** What a node has durably: the driver's view of its disk. */
export interface DurableStore {
  hardState?: HardState;
  snapshot?: Snapshot;
  /** Contiguous, starting right after the snapshot (or at 1). */
  entries: Entry[];
}

type Input =
  | { readonly k: "tick" }
  | { readonly k: "msg"; readonly m: Message }
  | { readonly k: "propose"; readonly txs: readonly Tx[] }
  | { readonly k: "call"; readonly f: (core: RaftCore) => void };

type SimEvent =
  | { readonly k: "tick"; readonly node: SimNode; readonly inc: number }
  | { readonly k: "deliver"; readonly m: Message }
  | { readonly k: "persisted"; readonly node: SimNode; readonly inc: number; readonly rd: Ready }
  | { readonly k: "call"; readonly f: () => void };

export class SimNode {
  core: RaftCore | null = null;
  /** Incarnation: bumped on every crash so events of a dead incarnation are ignored. */
  inc = 0;
  /** A Ready is being persisted; inputs wait (single-threaded driver loop). */
  busy = false;
  inbox: Input[] = [];
  store: DurableStore = { entries: [] };
  readonly app: AppState;
  /** Proposals (by tx hash) handed to this node that have not had their outcome yet. */
  readonly pending = new Map<string, number>();
  /** False once removed from the cluster and shut down. */
  member = false;
  /** Latest configuration the core reported (configChanged), and the one before it. */
  config: MembershipConfig;
  prevConfig: MembershipConfig;

  constructor(
    readonly id: NodeId,
    readonly index: number,
    readonly rng: Prng,
    readonly skew: number,
    readonly initialConfig: MembershipConfig,
  ) {
    this.app = new AppState(initialConfig);
    this.config = initialConfig;
    this.prevConfig = initialConfig;
  }

  get up(): boolean {
    return this.core !== null;
  }

  /** True if the durable log holds entry `index` of `term` (or a snapshot covering it). */
  durablyHolds(index: number, term: number): boolean {
    const base = this.store.snapshot?.meta.index ?? 0;
    if (index <= base) return this.store.snapshot !== undefined;
    return this.store.entries[index - base - 1]?.term === term;
  }

  storeLastIndex(): number {
    const base = this.store.snapshot?.meta.index ?? 0;
    return base + this.store.entries.length;
  }

  storeLastTerm(): number {
    const n = this.store.entries.length;
    return n > 0 ? this.store.entries[n - 1].term : (this.store.snapshot?.meta.term ?? 0);
  }
}

export interface ClusterListener {
  onOutcome?(node: SimNode, outcome: ProposalOutcome): void;
  /** The client connection to `node` broke with this proposal unanswered. */
  onDisconnected?(node: SimNode, hash: string): void;
  onEvent?(node: SimNode, event: RaftEvent): void;
}

export interface ClusterStats {
  messagesSent: number;
  messagesDelivered: number;
  messagesLost: number;
  messagesDuplicated: number;
  messagesPartitioned: number;
  readies: number;
  fsyncs: number;
  crashes: number;
  crashesDuringFsync: number;
  restarts: number;
  snapshotsInstalled: number;
  compactions: number;
  proposals: number;
  outcomes: number;
}

export class Cluster {
  readonly rng: Prng;
  readonly checker = new Checker();
  readonly trace: Trace;
  readonly nodes: SimNode[] = [];
  readonly byId = new Map<NodeId, SimNode>();
  readonly initialVoters: NodeId[];
  readonly tickMs: number;
  readonly electionTicks: number;
  net: NetworkConditions;
  now = 0;
  /** Scenario hook: return false to drop a message at send time. */
  filter: ((m: Message) => boolean) | null = null;
  readonly listeners: ClusterListener[] = [];
  readonly stats: ClusterStats = {
    messagesSent: 0,
    messagesDelivered: 0,
    messagesLost: 0,
    messagesDuplicated: 0,
    messagesPartitioned: 0,
    readies: 0,
    fsyncs: 0,
    crashes: 0,
    crashesDuringFsync: 0,
    restarts: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    proposals: 0,
    outcomes: 0,
  };
  /** The trace as it was at the first violation. */
  traceAtFailure: string | null = null;
  private readonly queue = new EventQueue<SimEvent>();
  /** blocked[from * n + to] = 1: the directed link drops everything. */
  private readonly blocked: Uint8Array;
  private readonly opts: Required<Omit<ClusterOptions, "net" | "seed" | "nodes" | "spareNodes" | "weights">>;

  constructor(options: ClusterOptions) {
    this.rng = new Prng(options.seed);
    this.opts = {
      tickMs: options.tickMs ?? 10,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      skew: options.skew ?? [0.7, 1.3],
      fsyncMs: options.fsyncMs ?? [0.2, 4],
      compactEvery: options.compactEvery ?? 0,
      appFlushProb: options.appFlushProb ?? 1,
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      maxTxsPerEntry: options.maxTxsPerEntry ?? 64,
      maxInflight: options.maxInflight ?? 8,
      maxEntriesPerMessage: options.maxEntriesPerMessage ?? 16,
      traceCapacity: options.traceCapacity ?? 600,
    };
    this.tickMs = this.opts.tickMs;
    this.electionTicks = this.opts.electionTicks;
    this.trace = new Trace(this.opts.traceCapacity);
    this.checker.onFirstViolation = () => {
      this.traceAtFailure = this.trace.format();
    };
    this.net = {
      delayMs: options.net?.delayMs ?? [1, 8],
      longDelayProb: options.net?.longDelayProb ?? 0,
      longDelayMs: options.net?.longDelayMs ?? 60,
      loss: options.net?.loss ?? 0,
      dup: options.net?.dup ?? 0,
    };
    const total = options.nodes + (options.spareNodes ?? 0);
    this.initialVoters = Array.from({ length: options.nodes }, (_, i) => `n${i}`);
    const initialConfig: MembershipConfig = { voters: this.initialVoters, ...(options.weights ? { weights: options.weights } : {}), learners: [] };
    const [skewLo, skewHi] = this.opts.skew;
    for (let i = 0; i < total; i++) {
      const id = `n${i}`;
      const node = new SimNode(id, i, this.rng.fork(), skewLo + this.rng.float() * (skewHi - skewLo), initialConfig);
      this.nodes.push(node);
      this.byId.set(id, node);
    }
    this.blocked = new Uint8Array(total * total);
    for (let i = 0; i < options.nodes; i++) this.start(this.nodes[i]);
  }

  node(id: NodeId): SimNode {
    const n = this.byId.get(id);
    if (!n) throw new RangeError(`unknown node ${id}`);
    return n;
  }

  // ---------------------------------------------------------------- time

  schedule(delayMs: number, f: () => void): void {
    this.queue.push(this.now + delayMs, { k: "call", f });
  }

  /** Runs events until virtual time `t` (or until `stop()` returns true, checked after each event). */
  runUntil(t: number, stop?: () => boolean): boolean {
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > t) break;
      const ev = this.queue.pop()!;
      this.now = ev.time;
      this.checker.now = ev.time;
      this.dispatch(ev.item);
      if (stop?.()) return true;
    }
    this.now = t;
    this.checker.now = t;
    return false;
  }

  runFor(ms: number, stop?: () => boolean): boolean {
    return this.runUntil(this.now + ms, stop);
  }

  private dispatch(ev: SimEvent): void {
    switch (ev.k) {
      case "tick": {
        const node = ev.node;
        if (node.inc !== ev.inc || !node.core) return;
        this.queue.push(this.now + this.tickMs * node.skew, ev);
        this.input(node, TICK);
        return;
      }
      case "deliver": {
        const node = this.byId.get(ev.m.to);
        if (!node?.core) return;
        if (this.blocked[this.byId.get(ev.m.from)!.index * this.nodes.length + node.index]) {
          this.stats.messagesPartitioned++;
          return;
        }
        this.stats.messagesDelivered++;
        this.trace.add(this.now, "recv", ev.m);
        this.input(node, { k: "msg", m: ev.m });
        return;
      }
      case "persisted": {
        const node = ev.node;
        if (node.inc !== ev.inc || !node.core) return;
        node.busy = false;
        this.complete(node, ev.rd);
        this.drive(node);
        return;
      }
      case "call":
        ev.f();
        return;
    }
  }

  // ---------------------------------------------------------------- lifecycle

  private coreOptions(node: SimNode, persisted: PersistedState | undefined) {
    const app = node.app;
    return {
      id: node.id,
      initialConfig: node.initialConfig,
      persisted,
      random: () => node.rng.float(),
      electionTicks: this.opts.electionTicks,
      heartbeatTicks: this.opts.heartbeatTicks,
      preVote: this.opts.preVote,
      checkQuorum: this.opts.checkQuorum,
      maxTxsPerEntry: this.opts.maxTxsPerEntry,
      maxInflight: this.opts.maxInflight,
      maxEntriesPerMessage: this.opts.maxEntriesPerMessage,
      lookupCommittedTx: (hash: string) => app.lookup(hash),
    };
  }

  private start(node: SimNode): void {
    const st = node.store;
    let persisted: PersistedState | undefined;
    if (st.hardState || st.snapshot || st.entries.length > 0) {
      if (st.snapshot && node.app.applied < st.snapshot.meta.index) node.app.restore(st.snapshot);
      persisted = {
        hardState: st.hardState ?? { term: 0, vote: null, commit: 0 },
        snapshot: st.snapshot,
        entries: st.entries.slice(),
        applied: node.app.applied,
      };
    }
    try {
      node.core = new RaftCore(this.coreOptions(node, persisted));
    } catch (err) {
      this.coreThrew(node, "constructor", err);
      return;
    }
    node.config = node.prevConfig = node.core.status().config;
    node.member = true;
    node.busy = false;
    node.inbox = [];
    this.queue.push(this.now + this.tickMs * node.skew * this.rng.float(), { k: "tick", node, inc: node.inc });
    this.drive(node);
  }

  /** Power loss: everything not yet synced is gone, in-flight Ready messages never leave. */
  crash(id: NodeId): void {
    const node = this.node(id);
    if (!node.core) return;
    this.stats.crashes++;
    if (node.busy) this.stats.crashesDuringFsync++;
    this.trace.add(this.now, "CRASH", id, node.busy ? "(Ready in flight: its writes and messages are lost)" : "");
    this.halt(node);
  }

  private halt(node: SimNode): void {
    node.core = null;
    node.inc++;
    node.busy = false;
    node.inbox = [];
    node.app.rollback();
    const pending = [...node.pending];
    node.pending.clear();
    for (const [hash, count] of pending) {
      for (let i = 0; i < count; i++) for (const l of this.listeners) l.onDisconnected?.(node, hash);
    }
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.core || !node.member) return;
    this.stats.restarts++;
    this.trace.add(this.now, "RESTART", id, `durable last=${node.storeLastIndex()}@t${node.storeLastTerm()} hs=${JSON.stringify(node.store.hardState ?? null)} applied=${node.app.applied}`);
    this.start(node);
  }

  /** Starts a never-started (spare) node with an empty disk, to be added by a membership change. */
  join(id: NodeId): void {
    const node = this.node(id);
    if (node.member) throw new RangeError(`join: ${id} already started`);
    this.trace.add(this.now, "JOIN", id);
    this.start(node);
  }

  /** Shuts a removed node down for good. */
  remove(id: NodeId): void {
    const node = this.node(id);
    this.trace.add(this.now, "SHUTDOWN", id);
    if (node.core) this.halt(node);
    node.member = false;
  }

  // ---------------------------------------------------------------- network faults

  setLink(from: NodeId, to: NodeId, up: boolean): void {
    this.blocked[this.node(from).index * this.nodes.length + this.node(to).index] = up ? 0 : 1;
  }

  /** Symmetric partition: links between different groups drop everything. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.trace.add(this.now, "PARTITION", groups.map((g) => `{${g.join(",")}}`).join(" | "));
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        const ga = groupOf.get(a.id);
        const gb = groupOf.get(b.id);
        if (ga !== undefined && gb !== undefined && ga !== gb) this.setLink(a.id, b.id, false);
      }
    }
  }

  /** One-way partition: `from` can no longer reach `to` (the reverse still works). */
  blockOneWay(from: NodeId, to: NodeId): void {
    this.trace.add(this.now, "ONE-WAY", `${from} -x-> ${to}`);
    this.setLink(from, to, false);
  }

  heal(): void {
    this.trace.add(this.now, "HEAL");
    this.blocked.fill(0);
  }

  isPartitioned(): boolean {
    return this.blocked.some((b) => b === 1);
  }

  reachable(from: NodeId, to: NodeId): boolean {
    return this.blocked[this.node(from).index * this.nodes.length + this.node(to).index] === 0;
  }

  /**
   * Persist-before-send, checked on the wire: a granted vote must already be durable, and
   * an acknowledgement may only cover entries the sender holds durably. A reply created
   * in an older term than the durable one is exempt: input queued behind an fsync may
   * have moved the node to a newer leader (and truncated its log) before the reply
   * leaves, which is no different from the reply being delayed by the network.
   */
  private checkDurableBeforeSend(node: SimNode, m: Message): void {
    const hs = node.store.hardState;
    if (hs && hs.term > m.term) return;
    if (m.type === "voteResp" && m.granted) {
      if (!hs || hs.term !== m.term || hs.vote !== m.to) {
        this.checker.fail(node.id, "vote-durable-before-reply", `${node.id} grants its term-${m.term} vote to ${m.to}, durable hard state is ${JSON.stringify(hs ?? null)}`);
      }
    } else if ((m.type === "appendResp" || m.type === "snapshotResp") && m.success && m.matchIndex > node.storeLastIndex()) {
      this.checker.fail(node.id, "ack-durable-before-reply", `${node.id} acknowledges index ${m.matchIndex} to ${m.to}, durable log ends at ${node.storeLastIndex()}`);
    }
  }

  private send(m: Message): void {
    this.stats.messagesSent++;
    const to = this.byId.get(m.to);
    if (!to) {
      this.trace.add(this.now, "drop", "unknown peer", m);
      return;
    }
    if (this.blocked[this.byId.get(m.from)!.index * this.nodes.length + to.index]) {
      this.stats.messagesPartitioned++;
      return;
    }
    if (this.filter && !this.filter(m)) {
      this.trace.add(this.now, "drop", "scenario filter", m);
      return;
    }
    const net = this.net;
    if (net.loss > 0 && this.rng.float() < net.loss) {
      this.stats.messagesLost++;
      this.trace.add(this.now, "lost", m);
      return;
    }
    this.queue.push(this.now + this.delay(), { k: "deliver", m });
    if (net.dup > 0 && this.rng.float() < net.dup) {
      this.stats.messagesDuplicated++;
      this.queue.push(this.now + this.delay(), { k: "deliver", m });
    }
  }

  private delay(): number {
    const net = this.net;
    if (net.longDelayProb > 0 && this.rng.float() < net.longDelayProb) return this.rng.float() * net.longDelayMs;
    return net.delayMs[0] + this.rng.float() * (net.delayMs[1] - net.delayMs[0]);
  }

  // ---------------------------------------------------------------- driving a node

  /** Hands txs to `id` as a client would; false if the node is down (connection refused). */
  propose(id: NodeId, txs: readonly Tx[]): boolean {
    const node = this.node(id);
    if (!node.core) return false;
    this.stats.proposals++;
    for (const tx of txs) node.pending.set(tx.hash, (node.pending.get(tx.hash) ?? 0) + 1);
    this.trace.add(this.now, "propose", id, txs.map((t) => t.hash.slice(-6)).join(","));
    this.input(node, { k: "propose", txs });
    return true;
  }

  /**
   * `at`'s transport reports its connection to `peer` closed (the peer crashed, or a reset that
   * leaves the peer running): the driver hands it to the core at its next free point.
   */
  connectionLost(at: NodeId, peer: NodeId): boolean {
    this.trace.add(this.now, "CONN-LOST", at, `connection to ${peer} closed`);
    return this.call(at, (core) => core.leaderConnectionLost(peer));
  }

  /** Runs `f` against the node's core at the next point its driver loop is free. */
  call(id: NodeId, f: (core: RaftCore) => void): boolean {
    const node = this.node(id);
    if (!node.core) return false;
    this.input(node, { k: "call", f });
    return true;
  }

  status(id: NodeId): RaftStatus | null {
    return this.node(id).core?.status() ?? null;
  }

  /** Nodes that currently believe they lead, highest term first. */
  leaders(): SimNode[] {
    return this.nodes
      .filter((n) => n.core && n.core.status().role === "leader")
      .sort((a, b) => b.core!.status().term - a.core!.status().term);
  }

  private input(node: SimNode, inp: Input): void {
    if (!node.core) return;
    if (node.busy) {
      node.inbox.push(inp);
      return;
    }
    this.handle(node, inp);
    this.drive(node);
  }

  private handle(node: SimNode, inp: Input): void {
    const core = node.core;
    if (!core) return;
    try {
      switch (inp.k) {
        case "tick":
          core.tick();
          return;
        case "msg":
          core.step(inp.m);
          return;
        case "propose":
          core.propose(inp.txs);
          return;
        case "call":
          inp.f(core);
          return;
      }
    } catch (err) {
      this.coreThrew(node, inp.k, err);
    }
  }

  private coreThrew(node: SimNode, where: string, err: unknown): void {
    const e = err as Error;
    this.checker.fail(node.id, "core-threw", `${where}: ${e?.name}: ${e?.message}\n${e?.stack?.split("\n").slice(1, 6).join("\n") ?? ""}`);
    this.trace.add(this.now, "THREW", node.id, where, `${e?.name}: ${e?.message}`);
    // The core's memory may be inconsistent now: treat it as a process crash.
    if (node.core) this.halt(node);
  }

  /** Takes Readies until the node has nothing to do or waits for an fsync. */
  private drive(node: SimNode): void {
    while (node.core && !node.busy) {
      let rd: Ready;
      try {
        if (!node.core.hasReady()) return;
        rd = node.core.ready();
      } catch (err) {
        this.coreThrew(node, "ready", err);
        return;
      }
      this.stats.readies++;
      if (rd.entries.length > 0 || rd.hardState !== undefined || rd.snapshot !== undefined) {
        this.stats.fsyncs++;
        node.busy = true;
        const [lo, hi] = this.opts.fsyncMs;
        this.queue.push(this.now + lo + this.rng.float() * (hi - lo), { k: "persisted", node, inc: node.inc, rd });
        return;
      }
      this.complete(node, rd);
    }
  }

  /** Steps 1-5 of the Ready contract, once the Ready's writes are durable. */
  private complete(node: SimNode, rd: Ready): void {
    this.persist(node, rd);
    for (const m of rd.messages) {
      this.checkDurableBeforeSend(node, m);
      this.send(m);
    }
    this.applyReady(node, rd);
    if (!node.core) return;
    // Configuration changes first: a commitment in this Ready may rest on the new one.
    for (const ev of rd.events) {
      if (ev.type === "configChanged") {
        node.prevConfig = node.config;
        node.config = ev.config;
      }
    }
    const ce = rd.committedEntries;
    const fresh = ce.length > 0 ? [ce[0].index, ce[ce.length - 1].index] as const : null;
    for (const o of rd.outcomes) this.deliverOutcome(node, o, fresh);
    for (const ev of rd.events) this.onEvent(node, ev);
    if (!node.core) return;
    try {
      node.core.advance();
    } catch (err) {
      this.coreThrew(node, "advance", err);
      return;
    }
    this.maybeCompact(node);
    const inbox = node.inbox;
    node.inbox = [];
    for (const inp of inbox) {
      if (!node.core) return;
      this.handle(node, inp);
    }
  }

  private persist(node: SimNode, rd: Ready): void {
    const st = node.store;
    if (rd.snapshot) {
      // An installed snapshot replaces the whole log (the core's log does the same).
      st.snapshot = rd.snapshot;
      st.entries = [];
      this.trace.add(this.now, "snap-in", node.id, `index=${rd.snapshot.meta.index}@t${rd.snapshot.meta.term} nextPos=${rd.snapshot.meta.nextPosition}`);
    }
    if (rd.entries.length > 0) {
      const base = st.snapshot?.meta.index ?? 0;
      const first = rd.entries[0].index;
      const last = base + st.entries.length;
      if (first <= base || first > last + 1) {
        this.checker.fail(node.id, "ready-contract", `Ready.entries start at ${first}; durable log covers (${base}, ${last}]`);
      } else {
        st.entries.length = first - base - 1;
        for (const e of rd.entries) st.entries.push(e);
      }
    }
    if (rd.hardState) {
      st.hardState = rd.hardState;
      this.checker.onHardState(node.id, rd.hardState, node.storeLastIndex());
    }
  }

  private applyReady(node: SimNode, rd: Ready): void {
    const app = node.app;
    try {
      if (rd.snapshot && rd.snapshot.meta.index > app.applied) {
        app.restore(rd.snapshot);
        this.stats.snapshotsInstalled++;
        this.checker.onSnapshotRestore(node.id, rd.snapshot, app);
      }
      for (const e of rd.committedEntries) {
        if (e.index > node.storeLastIndex()) {
          this.checker.fail(node.id, "ready-contract", `committed entry ${e.index} is not durable locally (durable last index ${node.storeLastIndex()})`);
        }
        this.checker.onApply(node.id, e);
        app.apply(e);
        if (e.kind === "txs") this.trace.add(this.now, "apply", node.id, `${e.index}@t${e.term} p${e.firstPosition}+${e.txs?.length ?? 0}`);
        else this.trace.add(this.now, "apply", node.id, `${e.index}@t${e.term} ${e.kind}`);
      }
    } catch (err) {
      this.checker.fail(node.id, "apply", (err as Error).message);
      this.halt(node);
      return;
    }
    if (this.opts.appFlushProb >= 1 || this.rng.float() < this.opts.appFlushProb) app.checkpoint();
  }

  /** `fresh`: index range this Ready committed (outcomes in it are new commitments). */
  private deliverOutcome(node: SimNode, o: ProposalOutcome, fresh: readonly [number, number] | null): void {
    this.stats.outcomes++;
    const count = node.pending.get(o.txHash) ?? 0;
    if (count === 0) {
      this.checker.fail(node.id, "one-outcome-per-proposal", `outcome ${JSON.stringify(o)} for a tx with no pending proposal at ${node.id}`);
    } else if (count === 1) node.pending.delete(o.txHash);
    else node.pending.set(o.txHash, count - 1);
    this.trace.add(this.now, "outcome", node.id, o.status === "committed" ? `${o.txHash.slice(-6)} committed p${o.position} (${o.index}@t${o.term})` : `${o.txHash.slice(-6)} failed ${o.reason} leader=${o.leader}`);
    this.checker.onOutcome(node.id, o, node.app);
    if (o.status === "committed" && fresh && o.index >= fresh[0] && o.index <= fresh[1]) {
      // The configuration may have moved on since the commit decision: either may apply.
      this.checker.onFreshCommitment(node.id, o, [node.config, node.prevConfig], (id) => this.byId.get(id)?.durablyHolds(o.index, o.term) ?? false);
    }
    for (const l of this.listeners) l.onOutcome?.(node, o);
  }

  private onEvent(node: SimNode, ev: RaftEvent): void {
    if (ev.type !== "commitAdvanced") this.trace.add(this.now, ev.type, node.id, ev);
    if (ev.type === "becameLeader") {
      const st = node.store;
      const base = st.snapshot?.meta.index ?? 0;
      this.checker.onBecameLeader(node.id, ev.term, { snapshotIndex: base, termAt: (i) => st.entries[i - base - 1]?.term });
      // The election ran under the configuration before any the new leader appended in the same Ready.
      this.checker.onElected(node.id, ev.term, [node.config, node.prevConfig]);
    }
    for (const l of this.listeners) l.onEvent?.(node, ev);
  }

  /** The application snapshots its state and lets the core drop the log prefix. */
  private maybeCompact(node: SimNode): void {
    const every = this.opts.compactEvery;
    const core = node.core;
    if (every <= 0 || !core) return;
    const st = node.store;
    const base = st.snapshot?.meta.index ?? 0;
    const app = node.app;
    if (app.applied - base < every) return;
    const entry = st.entries[app.applied - base - 1];
    if (!entry || entry.index !== app.applied) {
      this.checker.fail(node.id, "ready-contract", `applied index ${app.applied} is not in the durable log (${base}, ${node.storeLastIndex()}]`);
      return;
    }
    app.checkpoint();
    let snapshot: Snapshot;
    try {
      snapshot = core.compact(app.applied, app.encode());
    } catch (err) {
      this.coreThrew(node, "compact", err);
      return;
    }
    this.stats.compactions++;
    const meta = snapshot.meta;
    if (meta.index !== app.applied || meta.term !== entry.term || meta.nextPosition !== app.nextPosition || !sameConfig(meta.config, app.config)) {
      this.checker.fail(node.id, "snapshot-meta", `compact(${app.applied}) recorded ${JSON.stringify(meta)}; the application is at ${app.applied}@t${entry.term}, nextPosition ${app.nextPosition}, config ${JSON.stringify(app.config)}`);
    }
    // The driver persists the snapshot first, then deletes the entries it covers.
    st.snapshot = snapshot;
    st.entries = st.entries.slice(app.applied - base);
    this.trace.add(this.now, "compact", node.id, `through ${app.applied}@t${entry.term} nextPos=${app.nextPosition}`);
  }
}

const TICK: Input = { k: "tick" };

function sameConfig(a: MembershipConfig, b: MembershipConfig): boolean {
  const same = (x: readonly string[] | undefined, y: readonly string[] | undefined) =>
    (x === undefined) === (y === undefined) && (x ?? []).length === (y ?? []).length && (x ?? []).every((id, i) => id === (y ?? [])[i]);
  return same(a.voters, b.voters) && same(a.weights, b.weights) && same(a.outgoing, b.outgoing) && same(a.outgoingWeights, b.outgoingWeights) && same(a.learners, b.learners);
}
