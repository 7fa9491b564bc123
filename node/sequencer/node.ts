/**
 * The sequencer node, wiring only: `assembleNode` (assemble.ts) builds its parts in dependency
 * order; this class hands the Raft core its Ready hooks once everything they reach exists,
 * routes events between the parts, and starts and stops them.
 */
import { LeadershipTransferError, NotLeaderError, type Entry, type NodeId, type RaftEvent } from "../consensus/index.js";
import { componentLogger, type Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import { COMMITMENTS_TOPIC } from "./api.js";
import { assembleNode, type NodeParts, type SequencerNodeStartOptions } from "./assemble.js";
import type { NodeConfig } from "./config.js";
import { planOf } from "./members.js";
import type { NodeStatus } from "./status.js";

export { NodeStartError } from "./errors.js";
export type { SequencerNodeStartOptions } from "./assemble.js";

export class SequencerNode {
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly parts: NodeParts,
    private readonly onFatal: (error: Error) => void,
  ) {
    this.logger = parts.logger;
    this.metrics = parts.metrics;
  }

  /** Starts a node (see SequencerNodeStartOptions for the fault seams). */
  static async start(config: NodeConfig, options: SequencerNodeStartOptions = {}): Promise<SequencerNode> {
    const { parts, lastHeard, genesis, recovered } = await assembleNode(config, options);
    const node = new SequencerNode(parts, options.onFatal ?? (() => undefined));
    node.run(lastHeard);
    const { self, rpc, transport, follower } = parts;
    componentLogger(parts.logger, "node").info(
      { nodeId: self.nodeId, peerId: self.peerId, rpc: rpc.url, p2p: transport.addresses(), epoch: Number(follower.epoch), genesis, recovered },
      "sequencer node started",
    );
    return node;
  }

  get rpcUrl(): string {
    return this.parts.rpc.url;
  }

  get wsUrl(): string {
    return this.parts.rpc.wsUrl;
  }

  get nodeId(): NodeId {
    return this.parts.self.nodeId;
  }

  get p2pAddresses(): string[] {
    return this.parts.transport.addresses();
  }

  status(): NodeStatus {
    return this.parts.status();
  }

  /** Connects the parts' events and starts every loop. */
  private run(lastHeard: Map<NodeId, number>): void {
    const { config, follower, transport, raft, metrics, members, machine, history, compactor, submissions, censorship, batches, quorum, watchtower, gauges, activity, epochKeys, epochKeyAnchor, encrypted } = this.parts;
    follower.onEpoch(() => void this.onNewEpoch());
    transport.onMessage((msg) => {
      lastHeard.set(msg.from, Date.now());
      metrics.transportReceived.inc({ type: msg.type });
      raft.step(msg);
    });
    transport.onPeerDisconnected((id) => raft.peerDisconnected(id));
    transport.onRequest("submit", (payload) => submissions.handleForwarded(payload));
    transport.onRequest("batchSignature", (payload) => batches.handleSignatureRequest(payload));
    transport.onRequest("certificateSignature", (payload) => quorum.handleSignatureRequest(payload));
    transport.onRequest("history", (payload) => history.serve(payload));
    transport.onRequest("dkgShares", (payload, from) => epochKeys.handleShares(payload, from.nodeId));
    transport.onRequest("dkgMessage", (payload) => epochKeys.handleMessage(payload));
    transport.onRequest("epochKeySignature", (payload) => epochKeyAnchor.handleSignatureRequest(payload));
    transport.onRequest("censorshipReport", (payload) => censorship.handleReport(payload));
    transport.onRequest("keyRelease", (payload) => encrypted.handleRelease(payload));
    this.followEpochKeys(Number(follower.epoch));
    history.kick();
    raft.start({
      send: (msg) => {
        const to = members.get(msg.to);
        if (to === undefined || to.peerId === null) return;
        metrics.transportSent.inc({ type: msg.type });
        transport.send(to.peerId, msg);
      },
      installSnapshot: async (snapshot) => {
        await machine.restore(snapshot);
        history.kick();
      },
      apply: async (entries) => {
        await machine.apply(entries);
        censorship.committed(entries);
        this.publishCommitted(entries);
        await compactor.maybeCompact();
      },
      outcomes: (outcomes) => submissions.outcomes(outcomes),
      events: (events) => this.onEvents(events),
      fatal: (error) => this.onFatal(error),
    });
    batches.start();
    watchtower?.start();
    this.every(1_000, () => {
      gauges.update();
      activity.sample().catch((error: Error) => this.logger.warn({ err: error.message }, "could not sample the node's activity"));
    });
    this.every(config.quorumCertificateIntervalMs, () => {
      if (!this.stopping) quorum.step().catch((error: Error) => this.logger.warn({ err: error.message }, "quorum certificate step failed"));
    });
    this.every(Math.max(50, Math.min(250, config.tickMs * 2)), () => this.epochTick());
    this.every(250, () => {
      if (!this.stopping && !this.parts.retirement.retired) censorship.tick().catch((error: Error) => this.logger.warn({ err: error.message }, "censorship step failed"));
    });
    this.every(250, () => {
      if (!this.stopping) epochKeys.tick().catch((error: Error) => this.logger.warn({ err: error.message }, "epoch key step failed"));
    });
    this.every(50, () => {
      if (!this.stopping) encrypted.tick().catch((error: Error) => this.logger.warn({ err: error.message }, "encrypted slot step failed"));
    });
    this.every(1_000, () => {
      if (!this.stopping) epochKeyAnchor.step().catch((error: Error) => this.logger.warn({ err: error.message }, "epoch key anchor step failed"));
    });
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async onNewEpoch(): Promise<void> {
    if (this.stopping) return;
    const { members, epochs, follower, transport, raft, self } = this.parts;
    members.remember(); // before the plans: status() looks new members up by id
    epochs.setPlans(follower.recent().map(planOf));
    this.followEpochKeys(Number(follower.epoch));
    try {
      await members.refreshPeers(transport, raft.status().config, self.nodeId);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, "could not update peers for the new epoch");
    }
  }

  /** Starts following `epoch`'s key generation (its members deal from the next tick on). */
  private followEpochKeys(epoch: number): void {
    this.parts.epochKeys.ensure(epoch).catch((error: Error) => this.logger.warn({ epoch, err: error.message }, "could not start the epoch's key generation"));
  }

  private epochTick(): void {
    const { epochs, retirement, raft, follower } = this.parts;
    if (this.stopping || retirement.retired) return;
    epochs.tick();
    if (retirement.check(epochs.latest?.voters, raft.status().config, raft.basicStatus().leader, Number(follower.epoch))) {
      this.logger.info({ epoch: retirement.retiredAt }, "left the sequencer set: consensus stopped, still serving reads");
      void raft.stop();
    }
  }

  /** Transfers leadership to the most up-to-date voter; false if there is none or the core refused. */
  private handOffLeadership(why: string): boolean {
    const { raft, self } = this.parts;
    const s = raft.status();
    const best = Object.entries(s.progress ?? {})
      .filter(([id]) => id !== self.nodeId && s.config.voters.includes(id))
      .sort(([, a], [, b]) => b.match - a.match)[0];
    if (best === undefined) return false;
    this.logger.info({ to: best[0] }, why);
    try {
      raft.transferLeadership(best[0]);
      return true;
    } catch (error) {
      if (error instanceof LeadershipTransferError || error instanceof NotLeaderError) return false;
      throw error;
    }
  }

  /**
   * A leader that stops gracefully hands leadership over first and waits (up to two election
   * timeouts) until it has left: what it holds is then completed through the new leader instead
   * of failing, and the cluster does not wait out an election timeout.
   */
  private async leaveLeadership(): Promise<void> {
    const { raft, config } = this.parts;
    if (raft.basicStatus().role !== "leader") return;
    if (!this.handOffLeadership("stopping: handing leadership over first")) return;
    const until = Date.now() + 2 * config.electionTicks * config.tickMs;
    while (raft.basicStatus().role === "leader" && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, config.tickMs));
  }

  private onEvents(events: readonly RaftEvent[]): void {
    const { history, epochs, submissions, raft, metrics } = this.parts;
    for (const e of events) {
      if (e.type === "becameLeader" && !history.complete) this.handOffLeadership("won an election while still backfilling history: handing leadership over");
      if (e.type === "becameLeader" || e.type === "lostLeadership") epochs.onLeadership(e.type === "becameLeader");
      if (e.type === "leaderChanged") epochs.onLeaderChanged(e.leader);
      if (e.type === "leaderChanged" || e.type === "transferAborted") submissions.leaderChanged();
      if (e.type === "campaignStarted") {
        metrics.campaigns.inc({ cause: e.cause });
        this.logger.info({ event: e.type, term: e.term, cause: e.cause }, "leadership");
      }
      if (e.type === "becameLeader" || e.type === "lostLeadership" || e.type === "leaderChanged") {
        this.logger.info({ event: e.type, term: e.term, ...("leader" in e ? { leader: e.leader } : {}) }, "leadership");
      }
    }
    const s = raft.basicStatus();
    metrics.setRole(s.role);
    metrics.term.set(s.term);
  }

  private publishCommitted(entries: readonly Entry[]): void {
    const txs: { position: number; txHash: string }[] = [];
    for (const e of entries) e.txs?.forEach((tx, i) => txs.push({ position: e.firstPosition + i, txHash: tx.hash }));
    if (txs.length === 0) return;
    this.metrics.commitPosition.set(txs.at(-1)!.position);
    this.parts.rpc.publish(COMMITMENTS_TOPIC, { firstPosition: txs[0]!.position, lastPosition: txs.at(-1)!.position, transactions: txs });
  }

  /** Graceful stop: no new work, finish the Ready in flight, close everything. */
  stop(): Promise<void> {
    const { follower, history, submissions, batches, watchtower, rpc, decodePool, raft, transport, store } = this.parts;
    this.stopping ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      follower.stop();
      history.stop();
      await this.leaveLeadership();
      await submissions.drain(Math.min(this.parts.config.submitTimeoutMs, 3_000));
      await batches.stop();
      await watchtower?.stop();
      await rpc.close({ timeoutMs: 2_000 });
      await decodePool?.close();
      await raft.stop();
      await transport.stop();
      await store.close();
      this.logger.info({}, "sequencer node stopped");
    })();
    return this.stopping;
  }
}
