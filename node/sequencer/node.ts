/**
 * The sequencer node: reads its membership from L1, recovers from disk, and runs the Raft
 * core behind libp2p and level, with the JSON-RPC API in front.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { createPublicClient, createWalletClient, defineChain, http, isHex, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { RaftCore, type NodeId, type RaftEvent, type RaftStatus } from "../consensus/index.js";
import { NodeStore } from "../storage/index.js";
import { DecodePool } from "../intake/index.js";
import { Transport, loadPeerKey, peerIdOf, type FaultInjector, type TransportStats } from "../transport/index.js";
import { createRpcServer, type RpcServer } from "../rpc/server.js";
import { createLogger, componentLogger, type Logger } from "../ops/logger.js";
import { NodeMetrics } from "../ops/metrics.js";
import { loadDeploymentRecord, type NodeDeployment } from "../l1/deployment.js";
import { RegistryReader, type EpochView } from "../l1/registry.js";
import { L1Follower } from "../l1/follower.js";
import { RaftDriver } from "./driver.js";
import { CommitmentService } from "./commitments.js";
import { BatchService, type BatchStatus } from "../batching/index.js";
import { Watchtower, type WatchtowerStats } from "../watchtower/watchtower.js";
import { storeEvidence } from "../watchtower/evidence.js";
import { domain } from "../commitments/typed-data.js";
import { SubmissionService } from "./submissions.js";
import { HistorySync } from "./history.js";
import { compactionDue, type CompactionPoint } from "./compaction.js";
import { EpochManager, type EpochPlan } from "./epochs.js";
import { sequencerMethods, COMMITMENTS_TOPIC } from "../rpc/sequencer-api.js";
import type { NodeConfig } from "./config.js";

/** The node cannot start (not a member, unreadable key, corrupt store...). */
export class NodeStartError extends Error {
  override readonly name = "NodeStartError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A member of the Raft cluster as the node knows it from L1. */
export interface ClusterMember {
  readonly nodeId: NodeId;
  readonly operator: Address;
  readonly signer: Address;
  /** Null when the member's peer-id proof does not verify: never dialled or trusted (offline). */
  readonly peerId: string | null;
  readonly addrs: readonly string[];
  readonly stake: bigint;
}

/** Node ids are lower-case operator addresses: the identity the L1 schedule speaks in. */
export function nodeIdOf(operator: Address): NodeId {
  return operator.toLowerCase();
}

export async function loadSignerKey(file: string): Promise<LocalAccount> {
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (cause) {
    throw new NodeStartError(`cannot read the signer key file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (!isHex(text) || text.length !== 66) throw new NodeStartError(`${file} must hold a 32-byte 0x-hex private key`);
  return privateKeyToAccount(text as Hex);
}

type DropCounter = keyof TransportStats & `dropped${string}`;
/** The transport's drop counters and the `reason` label each one is exported under. */
const DROP_REASONS: readonly (readonly [DropCounter, string])[] = [
  ["droppedQueueOverflow", "queue_overflow"],
  ["droppedOversized", "oversized"],
  ["droppedNotAllowed", "not_allowed"],
  ["droppedUnknownPeer", "unknown_peer"],
  ["droppedForgedFrom", "forged_from"],
  ["droppedMisrouted", "misrouted"],
  ["droppedByFault", "fault_injection"],
];

/** A generator for the core's election jitter: seeded from the OS, not from Math.random. */
function osRandom(): () => number {
  let pool = randomBytes(4096);
  let offset = 0;
  return () => {
    if (offset + 4 > pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const v = pool.readUInt32LE(offset);
    offset += 4;
    return v / 0x1_0000_0000;
  };
}

export class SequencerNode {
  readonly logger: Logger;
  readonly metrics = new NodeMetrics();
  private store!: NodeStore;
  private core!: RaftCore;
  private driver!: RaftDriver;
  private transport!: Transport;
  private rpc!: RpcServer;
  private commitments!: CommitmentService;
  private batches!: BatchService;
  private watchtower: Watchtower | undefined;
  private submissions!: SubmissionService;
  private decodePool: DecodePool | undefined;
  private history!: HistorySync;
  /** Every member of the epochs this node knows (peer ids and addresses for the transport). */
  private memberById = new Map<NodeId, ClusterMember>();
  private follower!: L1Follower;
  private epochs!: EpochManager;
  private lastHeard = new Map<NodeId, number>();
  private epochTimer: NodeJS.Timeout | undefined;
  /** Set once this node left the sequencer set: consensus stopped, reads still served. */
  private retiredAt: number | null = null;
  private removedSince: number | undefined;
  private deployment!: NodeDeployment;
  private signer!: LocalAccount;
  private self!: ClusterMember & { readonly peerId: string };
  private stopping: Promise<void> | undefined;
  /** Where the latest snapshot was taken. */
  private lastCompacted: CompactionPoint = { applied: 0, nextPosition: 0 };
  private gaugeTimer: NodeJS.Timeout | undefined;
  /** Transport counters as last exported, so /metrics counts each drop or denial once. */
  private readonly transportSeen: Partial<Record<DropCounter | "connectionsDenied", number>> = {};
  private onFatal: (error: Error) => void = () => undefined;
  private faults: FaultInjector | undefined;

  private constructor(
    readonly config: NodeConfig,
    logger?: Logger,
  ) {
    this.logger = logger ?? createLogger({ level: config.logLevel });
  }

  /**
   * Starts a node; `onFatal` is told when it had to stop on its own (e.g. the disk failed).
   * `faults` is for fault-injection tests only (test/fixtures/nemesis-node.ts): it reaches the
   * transport only through this programmatic option, never from configuration or environment.
   */
  static async start(config: NodeConfig, options: { logger?: Logger; onFatal?: (error: Error) => void; faults?: FaultInjector } = {}): Promise<SequencerNode> {
    const node = new SequencerNode(config, options.logger);
    if (options.onFatal) node.onFatal = options.onFatal;
    node.faults = options.faults;
    await node.init();
    return node;
  }

  get rpcUrl(): string {
    return this.rpc.url;
  }

  get wsUrl(): string {
    return this.rpc.wsUrl;
  }

  get nodeId(): NodeId {
    return this.self.nodeId;
  }

  get p2pAddresses(): string[] {
    return this.transport.addresses();
  }

  private async init(): Promise<void> {
    const { config } = this;
    const log = componentLogger(this.logger, "node");
    this.signer = await loadSignerKey(config.signerKeyFile);
    const peerKey = await loadPeerKey(config.p2pKeyFile);
    const peerId = peerIdOf(peerKey);

    this.deployment = await loadDeploymentRecord(config.deployment);
    const client = createPublicClient({ transport: http(config.l1RpcUrl, { retryCount: 3 }) }) as PublicClient;
    // L1 may be briefly unreachable when the node (re)starts: wait for it rather than exit.
    const l1ChainId = await this.untilL1Answers(log, "reading the chain id", () => client.getChainId());
    if (l1ChainId !== this.deployment.chainId) {
      throw new NodeStartError(`L1 at ${config.l1RpcUrl} has chain id ${l1ChainId}, the deployment record ${config.deployment} says ${this.deployment.chainId}`);
    }
    const registry = new RegistryReader(client, this.deployment.sequencerRegistry, this.deployment.chainId);
    this.follower = new L1Follower({
      client,
      registry,
      confirmations: config.l1Confirmations,
      pollMs: config.l1PollMs,
      logger: componentLogger(this.logger, "l1"),
      onError: () => this.metrics.l1Errors.inc({ operation: "follow" }),
    });
    await this.untilL1Answers(log, "reading the sequencer set", () => this.follower.init());
    this.follower.start();
    const self = await this.waitForMembership(log);
    if (self.peerId !== peerId) {
      const registered = self.peerId ?? "a peer id whose proof does not verify";
      throw new NodeStartError(`the libp2p key in ${config.p2pKeyFile} is ${peerId}, but the registry has ${registered} for operator ${self.operator}`);
    }
    this.self = { ...self, peerId };

    await mkdir(config.dataDir, { recursive: true });
    this.store = await NodeStore.open(path.join(config.dataDir, "db"));
    const persisted = await this.store.loadPersistedState();
    const fresh = persisted.hardState.term === 0 && persisted.entries.length === 0 && persisted.snapshot === undefined;
    const genesis = await this.genesisVoters(registry);
    this.core = new RaftCore({
      id: self.nodeId,
      // Every node starts from the same index-0 configuration: the first non-empty set on L1.
      // A node outside it (a later joiner) is not a voter until the cluster adds it.
      initialConfig: { voters: genesis, learners: [] },
      acceptConfig: (c) => this.epochs.acceptConfig(c),
      ...(fresh ? {} : { persisted }),
      random: osRandom(),
      electionTicks: config.electionTicks,
      electionJitterTicks: config.electionJitterTicks,
      heartbeatTicks: config.heartbeatTicks,
      maxTxsPerEntry: config.maxTxsPerEntry,
      lookupCommittedTx: (hash) => this.store.lookupCommittedTx(hash),
    });
    this.lastCompacted = { applied: persisted.snapshot?.meta.index ?? 0, nextPosition: persisted.snapshot?.meta.nextPosition ?? 0 };

    const transportLog = componentLogger(this.logger, "transport");
    this.transport = await Transport.create({
      privateKey: peerKey,
      listen: config.p2pListen,
      allowedPeers: reachable([...this.memberById.values()]).map((m) => m.peerId),
      nodeIds: new Map(reachable([...this.memberById.values()]).map((m) => [m.peerId, m.nodeId])),
      localNodeId: self.nodeId,
      logger: transportLog,
      ...(this.faults === undefined ? {} : { faults: this.faults }),
    });
    await this.refreshPeers();

    this.commitments = new CommitmentService({
      store: this.store,
      signer: this.signer,
      chainId: this.deployment.chainId,
      registry: this.deployment.sequencerRegistry,
      logger: componentLogger(this.logger, "commitments"),
      epoch: () => Number(this.follower.epoch),
      leaderTerm: () => {
        const s = this.core.basicStatus();
        return s.role === "leader" ? s.term : null;
      },
      proposeApp: (data) => this.driver.proposeApp(data),
      onRecord: (record) => {
        if (record.kind === "epochLeader") this.epochs.onEpochLeader(record.epoch, record.leader);
      },
    });
    await this.commitments.recover();

    // L1 gas for batches: the batcher key, or the signer key when none is configured.
    const batcher = config.batcherKeyFile === "" ? this.signer : await loadSignerKey(config.batcherKeyFile);
    const l1Chain = defineChain({ id: l1ChainId, name: this.deployment.network, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [config.l1RpcUrl] } } });
    const l1Wallet = createWalletClient({ account: batcher, chain: l1Chain, transport: http(config.l1RpcUrl, { retryCount: 0 }) });
    this.batches = new BatchService({
      store: this.store,
      signer: this.signer,
      chainId: this.deployment.chainId,
      registry: this.deployment.sequencerRegistry,
      inbox: this.deployment.batchInbox,
      inboxFromBlock: this.deployment.deploymentBlock,
      publicClient: client,
      wallet: l1Wallet,
      limits: {
        maxTxs: config.batchMaxTxs,
        maxBytes: config.batchMaxBytes,
        intervalMs: config.batchIntervalMs,
        deadlineMs: config.batchDeadlineMs,
        maxUnpostedTxs: config.maxUnpostedTxs,
        l1Confirmations: config.l1Confirmations,
      },
      logger: componentLogger(this.logger, "batches"),
      metrics: this.metrics,
      selfId: self.nodeId,
      isLeader: () => this.acting(),
      epoch: () => Number(this.follower.epoch),
      epochView: async (epoch) => ({
        members: (await this.follower.view(BigInt(epoch))).members.map((m) => ({ nodeId: nodeIdOf(m.operator), signer: m.signer })),
      }),
      request: (to, payload, timeoutMs) => this.transport.request(this.peerIdOfNode(to), "batchSignature", payload, { timeoutMs }),
      proposeApp: (data) => this.driver.proposeApp(data),
      pollMs: Math.min(250, config.l1PollMs, config.batchIntervalMs),
    });
    await this.batches.recover();

    if (config.watchtower) {
      this.watchtower = new Watchtower({
        publicClient: client,
        wallet: l1Wallet,
        deployment: this.deployment,
        evidence: storeEvidence(this.store, domain(this.deployment.chainId, this.deployment.sequencerRegistry)),
        stateFile: path.join(config.dataDir, "watchtower.json"),
        logger: componentLogger(this.logger, "watchtower"),
        confirmations: config.l1Confirmations,
        pollMs: config.l1PollMs,
      });
    }

    const intake = { chainId: config.rollupChainId, maxBytes: config.maxTxBytes };
    if (config.intakeWorkers > 0) this.decodePool = await DecodePool.create({ ...intake, size: config.intakeWorkers });
    this.submissions = new SubmissionService({
      store: this.store,
      commitments: this.commitments,
      intake,
      decodePool: this.decodePool,
      timeoutMs: config.submitTimeoutMs,
      logger: componentLogger(this.logger, "submissions"),
      metrics: this.metrics,
      overloaded: () => this.batches.overloaded(),
      isLeader: () => this.acting(),
      leader: () => (this.retiredAt === null ? this.core.basicStatus().leader : null),
      propose: (tx) => this.driver.propose([tx]),
      forward: (to, payload, timeoutMs, signal) => this.transport.request(this.peerIdOfNode(to), "submit", payload, { timeoutMs, signal }),
    });

    this.driver = new RaftDriver({
      core: this.core,
      store: this.store,
      tickMs: config.tickMs,
      logger: componentLogger(this.logger, "raft"),
      metrics: this.metrics,
      hooks: {
        send: (msg) => {
          const to = this.memberById.get(msg.to);
          if (to === undefined || to.peerId === null) return;
          this.metrics.transportSent.inc({ type: msg.type });
          this.transport.send(to.peerId, msg);
        },
        installSnapshot: async (snapshot) => {
          // Batch state first: it must be durable before the applied index jumps (commitments).
          await this.batches.installSnapshot(snapshot);
          await this.commitments.installSnapshot(snapshot);
          this.history.kick();
        },
        apply: async (entries) => {
          // Batch records are written before applyCommitted of the same entries (crash-safe order).
          await this.batches.apply(entries);
          await this.commitments.apply(entries);
          this.publishCommitted(entries);
          await this.maybeCompact();
        },
        outcomes: (outcomes) => this.submissions.outcomes(outcomes),
        events: (events) => this.onEvents(events),
        fatal: (error) => {
          this.onFatal(error);
        },
      },
    });

    this.epochs = new EpochManager({
      self: self.nodeId,
      core: this.core,
      kick: () => this.driver.kick(),
      proposeApp: (data) => this.driver.proposeApp(data),
      lastHeard: (id) => this.lastHeard.get(id),
      reachableWithinMs: 2 * config.electionTicks * config.tickMs,
      takeoverMs: config.leaderTakeoverMs,
      settleMs: config.electionTicks * config.tickMs,
      missedDeadline: () => this.batches.missedDeadline(),
      logger: componentLogger(this.logger, "epochs"),
    });
    this.epochs.setPlans(this.follower.recent().map(planOf));
    this.follower.onEpoch(() => void this.onNewEpoch());

    this.transport.onMessage((msg) => {
      this.lastHeard.set(msg.from, Date.now());
      this.metrics.transportReceived.inc({ type: msg.type });
      this.driver.step(msg);
    });
    this.transport.onRequest("submit", (payload) => this.submissions.handleForwarded(payload));
    this.transport.onRequest("batchSignature", (payload) => this.batches.handleSignatureRequest(payload));
    this.history = new HistorySync({
      store: this.store,
      logger: componentLogger(this.logger, "history"),
      sources: () => {
        const leader = this.core.basicStatus().leader;
        const others = [...this.memberById.keys()].filter((id) => id !== this.self.nodeId && id !== leader);
        return leader !== null && leader !== this.self.nodeId ? [leader, ...others] : others;
      },
      request: (to, payload) => this.transport.request(this.peerIdOfNode(to), "history", payload, { timeoutMs: 10_000 }),
    });
    this.transport.onRequest("history", (payload) => this.history.serve(payload));
    this.history.kick();

    this.rpc = await createRpcServer({
      host: config.rpcHost,
      port: config.rpcPort,
      logger: componentLogger(this.logger, "rpc"),
      metrics: this.metrics,
      methods: sequencerMethods({
        rollupChainId: config.rollupChainId,
        submissions: this.submissions,
        commitments: this.commitments,
        store: this.store,
        status: () => this.status(),
      }),
      extraRoutes: {
        status: () => this.status(),
        health: () => {
          const s = this.core.basicStatus();
          return { healthy: s.leader !== null, role: s.role, leader: s.leader, term: s.term };
        },
      },
    });
    this.driver.start();
    this.batches.start();
    this.watchtower?.start();
    this.gaugeTimer = setInterval(() => this.updateGauges(), 1_000);
    this.gaugeTimer.unref();
    this.epochTimer = setInterval(() => this.epochTick(), Math.max(50, Math.min(250, config.tickMs * 2)));
    this.epochTimer.unref();
    log.info(
      { nodeId: self.nodeId, peerId, rpc: this.rpc.url, p2p: this.transport.addresses(), epoch: Number(this.follower.epoch), genesis, recovered: !fresh },
      "sequencer node started",
    );
  }

  /** Retries an L1 read with back-off (1 s doubling to 30 s), logging each failure. */
  private async untilL1Answers<T>(log: Logger, what: string, read: () => Promise<T>): Promise<T> {
    for (let delay = 1_000; ; delay = Math.min(30_000, delay * 2)) {
      try {
        return await read();
      } catch (error) {
        this.metrics.l1Errors.inc({ operation: "start" });
        log.warn({ err: (error as Error).message, l1: this.config.l1RpcUrl, retryInMs: delay }, `L1 did not answer ${what}: retrying`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Resolves with this node's member record once it is in one of the confirmed epochs' sets
   * (the latest first). A node registered for a later epoch waits here instead of failing.
   */
  private async waitForMembership(log: Logger): Promise<ClusterMember> {
    const signer = this.signer.address.toLowerCase();
    let warned = -1n;
    for (;;) {
      this.rememberMembers();
      for (const view of this.follower.recent()) {
        const m = view.members.find((x) => x.signer.toLowerCase() === signer);
        if (m) return this.memberById.get(nodeIdOf(m.operator))!;
      }
      if (this.follower.epoch !== warned) {
        warned = this.follower.epoch;
        log.warn({ signer: this.signer.address, epoch: Number(warned) }, "not in the active set of a confirmed epoch yet: waiting (register and stake; membership starts at the next epoch)");
      }
      await new Promise((r) => setTimeout(r, this.config.l1PollMs));
    }
  }

  /** Adds the members of every known epoch to the member table (later epochs win for addresses). */
  private rememberMembers(): void {
    for (const view of [...this.follower.recent()].reverse()) for (const m of membersOf(view)) this.memberById.set(m.nodeId, m);
  }

  /** Lets the transport talk to the members of the known epochs and of the current Raft configuration. */
  private async refreshPeers(): Promise<void> {
    this.rememberMembers();
    const config = this.core.status().config;
    const wanted = new Set([...this.follower.recent().flatMap((v) => membersOf(v).map((m) => m.nodeId)), ...config.voters, ...(config.outgoing ?? []), ...config.learners]);
    const peers = reachable([...wanted].map((id) => this.memberById.get(id)));
    this.transport.setNodeIds(new Map(peers.map((m) => [m.peerId, m.nodeId])));
    this.transport.setAllowedPeers(peers.map((m) => m.peerId));
    for (const m of peers) if (m.nodeId !== this.self.nodeId) await this.transport.setPeerAddresses(m.peerId, m.addrs);
  }

  private async onNewEpoch(): Promise<void> {
    if (this.stopping) return;
    this.rememberMembers(); // before the plans: status() looks new members up by id
    this.epochs.setPlans(this.follower.recent().map(planOf));
    try {
      await this.refreshPeers();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, "could not update peers for the new epoch");
    }
  }

  private epochTick(): void {
    if (this.stopping || this.retiredAt !== null) return;
    this.epochs.tick();
    this.maybeRetire();
  }

  /**
   * Leaves consensus once L1's latest set no longer holds this node and, for a few election
   * timeouts, either its configuration no longer names it or no leader talks to it. The second
   * case is the common one: the leader stops replicating to a removed node as soon as C(new)
   * commits, and the node (which may have vetoed the change until its own L1 view caught up)
   * never learns it. Leaving then is no worse for the cluster than this node crashing.
   */
  private maybeRetire(): void {
    const self = this.self.nodeId;
    if (this.epochs.latest?.voters.includes(self) !== false) {
      this.removedSince = undefined;
      return;
    }
    const c = this.core.status().config;
    const named = c.voters.includes(self) || (c.outgoing?.includes(self) ?? false) || c.learners.includes(self);
    if (named && this.core.basicStatus().leader !== null) {
      this.removedSince = undefined;
      return;
    }
    const now = Date.now();
    this.removedSince ??= now;
    if (now - this.removedSince < 3 * this.config.electionTicks * this.config.tickMs) return;
    this.retiredAt = Number(this.follower.epoch);
    this.logger.info({ epoch: this.retiredAt }, "left the sequencer set: consensus stopped, still serving reads");
    void this.driver.stop();
  }

  /** Reads (once, then from the data dir) the first non-empty active set: the cluster's index-0 configuration. */
  private async genesisVoters(registry: RegistryReader): Promise<NodeId[]> {
    const file = path.join(this.config.dataDir, "genesis.json");
    try {
      const saved = JSON.parse(await readFile(file, "utf8")) as { epoch: number; voters: NodeId[] };
      if (Array.isArray(saved.voters) && saved.voters.length > 0) return saved.voters;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new NodeStartError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    const at = this.follower.confirmedBlock;
    for (let e = 0n; e <= this.follower.epoch; e++) {
      const view = await registry.epochView(e, at);
      if (view.members.length === 0) continue;
      const voters = membersOf(view).map((m) => m.nodeId);
      await writeFile(`${file}.tmp`, JSON.stringify({ epoch: Number(e), voters }));
      await rename(`${file}.tmp`, file);
      return voters;
    }
    throw new NodeStartError("no epoch up to the current one has an active set: nothing to bootstrap from");
  }

  /** Replication lag per peer (leader only), the applied position and transport drops, for /metrics. */
  private updateGauges(): void {
    const stats = this.transport.stats();
    const sinceLast = (key: DropCounter | "connectionsDenied"): number => {
      const delta = stats[key] - (this.transportSeen[key] ?? 0);
      this.transportSeen[key] = stats[key];
      return delta;
    };
    for (const [key, reason] of DROP_REASONS) this.metrics.transportDropped.inc({ reason }, sinceLast(key));
    this.metrics.transportConnectionsDenied.inc(sinceLast("connectionsDenied"));
    const s = this.core.status();
    this.metrics.appliedPosition.set(this.store.status().nextPosition);
    this.metrics.replicationLag.reset();
    for (const [id, p] of Object.entries(s.progress ?? {})) {
      if (id !== this.self.nodeId) this.metrics.replicationLag.set({ peer: id }, Math.max(0, s.lastIndex - p.match));
    }
  }

  /**
   * This node acts as the leader (sequences, cuts and posts batches): it leads, has not left the
   * set, and holds its whole history (a leader still backfilling could give a resubmitted old
   * transaction a second position).
   */
  private acting(): boolean {
    return this.retiredAt === null && this.core.basicStatus().role === "leader" && this.history.complete;
  }

  /** Transfers leadership to the most up-to-date voter (this node cannot lead yet). */
  private handOffLeadership(): void {
    const s = this.core.status();
    const best = Object.entries(s.progress ?? {})
      .filter(([id]) => id !== this.self.nodeId && s.config.voters.includes(id))
      .sort(([, a], [, b]) => b.match - a.match)[0];
    if (best === undefined) return;
    this.logger.info({ to: best[0] }, "won an election while still backfilling history: handing leadership over");
    this.core.transferLeadership(best[0]);
    this.driver.kick();
  }

  private peerIdOfNode(nodeId: NodeId): string {
    const m = this.memberById.get(nodeId);
    if (m?.peerId == null) throw new Error(`member ${nodeId} is unknown or has no proven peer id`);
    return m.peerId;
  }

  private onEvents(events: readonly RaftEvent[]): void {
    for (const e of events) {
      if (e.type === "becameLeader" && !this.history.complete) this.handOffLeadership();
      if (e.type === "becameLeader" || e.type === "lostLeadership") this.epochs.onLeadership(e.type === "becameLeader");
      if (e.type === "leaderChanged") {
        this.epochs.onLeaderChanged(e.leader);
        this.submissions.leaderChanged();
      }
      if (e.type === "becameLeader" || e.type === "lostLeadership" || e.type === "leaderChanged") {
        this.logger.info({ event: e.type, term: e.term, ...("leader" in e ? { leader: e.leader } : {}) }, "leadership");
      }
    }
    const s = this.core.basicStatus();
    this.metrics.setRole(s.role);
    this.metrics.term.set(s.term);
  }

  private publishCommitted(entries: readonly { firstPosition: number; txs?: readonly { hash: string }[] }[]): void {
    const txs: { position: number; txHash: string }[] = [];
    for (const e of entries) e.txs?.forEach((tx, i) => txs.push({ position: e.firstPosition + i, txHash: tx.hash }));
    if (txs.length === 0) return;
    this.metrics.commitPosition.set(txs.at(-1)!.position);
    this.rpc.publish(COMMITMENTS_TOPIC, { firstPosition: txs[0]!.position, lastPosition: txs.at(-1)!.position, transactions: txs });
  }

  /** Takes a snapshot and drops applied log entries once the compaction policy says so. */
  private async maybeCompact(): Promise<void> {
    const now = this.store.status();
    if (!compactionDue(now, this.lastCompacted, this.config)) return;
    // The sequencer's state lives in the store's keyspaces; the snapshot carries the small batch
    // state a node installing it needs (last cut, last posted).
    const snapshot = this.core.compact(now.applied, this.batches.snapshotData());
    await this.store.saveSnapshot(snapshot);
    await this.store.compact(now.applied);
    this.lastCompacted = { applied: now.applied, nextPosition: now.nextPosition };
  }

  status(): NodeStatus {
    const s: RaftStatus = this.core.status();
    const health = s.progress
      ? Object.fromEntries(Object.entries(s.progress).map(([id, p]) => [id, { match: p.match, lagEntries: Math.max(0, s.lastIndex - p.match), active: p.recentActive }]))
      : undefined;
    return {
      nodeId: this.self.nodeId,
      operator: this.self.operator,
      signer: this.self.signer,
      peerId: this.self.peerId,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      lastIndex: s.lastIndex,
      nextPosition: s.nextPosition,
      nextUncertifiedPosition: this.commitments.nextUncertified,
      batches: this.batches.status(),
      watchtower: this.watchtower ? watchtowerStatus(this.watchtower.stats()) : null,
      epoch: Number(this.follower.epoch),
      l1ConfirmedBlock: Number(this.follower.confirmedBlock),
      l1Error: this.follower.lastError,
      schedule: this.epochs.latest?.schedule ?? [],
      rotation: this.epochs.status(),
      retiredAtEpoch: this.retiredAt,
      l1ChainId: this.deployment.chainId,
      registry: this.deployment.sequencerRegistry,
      config: s.config,
      members: (this.epochs.latest?.voters ?? []).map((id) => {
        const m = this.memberById.get(id)!;
        return {
          nodeId: id,
          operator: m.operator,
          peerId: m.peerId,
          voter: s.config.voters.includes(id),
          ...(health?.[id] ? { replication: health[id] } : {}),
        };
      }),
    };
  }

  /** Graceful stop: no new work, finish the Ready in flight, close everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.gaugeTimer);
      clearInterval(this.epochTimer);
      this.follower.stop();
      this.history.stop();
      this.submissions.close();
      await this.batches.stop();
      await this.watchtower?.stop();
      await this.rpc.close({ timeoutMs: 2_000 });
      await this.decodePool?.close();
      await this.driver.stop();
      await this.transport.stop();
      await this.store.close();
      this.logger.info({}, "sequencer node stopped");
    })();
    return this.stopping;
  }
}

export interface NodeStatus {
  readonly nodeId: NodeId;
  readonly operator: Address;
  readonly signer: Address;
  readonly peerId: string;
  readonly role: RaftStatus["role"];
  readonly term: number;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly nextPosition: number;
  readonly nextUncertifiedPosition: number;
  readonly batches: BatchStatus;
  readonly watchtower: ReturnType<typeof watchtowerStatus> | null;
  /** Latest epoch confirmed on L1 (behind `l1Confirmations`). */
  readonly epoch: number;
  readonly l1ConfirmedBlock: number;
  /** The last L1 poll's error, null when it succeeded. */
  readonly l1Error: string | null;
  /** The epoch's leader schedule (node ids): primary first. */
  readonly schedule: readonly NodeId[];
  readonly rotation: ReturnType<EpochManager["status"]>;
  /** The epoch at which this node left the set, null while it is a member. */
  readonly retiredAtEpoch: number | null;
  readonly l1ChainId: number;
  readonly registry: Address;
  /** The Raft membership in force (may lag the epoch's set while a change is under way). */
  readonly config: RaftStatus["config"];
  /** The latest epoch's active set. */
  readonly members: readonly {
    nodeId: NodeId;
    operator: Address;
    peerId: string | null;
    voter: boolean;
    replication?: { match: number; lagEntries: number; active: boolean };
  }[];
}

function membersOf(view: EpochView): ClusterMember[] {
  return view.members.map((m) => ({
    nodeId: nodeIdOf(m.operator),
    operator: m.operator,
    signer: m.signer,
    peerId: m.peerId,
    addrs: m.addrs,
    stake: m.stake,
  }));
}

/** The members the transport may talk to: known, with a proven peer id. */
function reachable(members: readonly (ClusterMember | undefined)[]): (ClusterMember & { peerId: string })[] {
  return members.filter((m): m is ClusterMember & { peerId: string } => m !== undefined && m.peerId !== null);
}

function planOf(view: EpochView): EpochPlan {
  return {
    epoch: Number(view.epoch),
    voters: view.members.map((m) => nodeIdOf(m.operator)),
    schedule: view.schedule.map((op) => nodeIdOf(op)),
  };
}

function watchtowerStatus(s: WatchtowerStats) {
  return {
    batchesChecked: s.batchesChecked,
    mismatches: s.mismatches,
    slashesSubmitted: s.slashesSubmitted,
    lastCheckedBlock: s.lastCheckedBlock === null ? null : Number(s.lastCheckedBlock),
    waitingForPosition: s.waitingForPosition === null ? null : Number(s.waitingForPosition),
    lastError: s.lastError,
  };
}
