/**
 * Builds a node's parts in dependency order: it reads its membership from L1 and recovers from
 * disk, then makes the one door into the Raft core first and everything that reaches it after;
 * nothing refers to a part built later. `SequencerNode` connects their events and runs them.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createPublicClient, createWalletClient, defineChain, http, isAddressEqual, type Hex, type PublicClient } from "viem";
import type { NodeId } from "../consensus/index.js";
import type { RpcKind } from "../codec/index.js";
import { RaftNode, type RaftLogStore } from "../raftnode/index.js";
import { NodeStore } from "../storage/index.js";
import { Admission, DecodePool, decryptTransactions, type RateBudget } from "../intake/index.js";
import { Transport, loadPeerKey, peerIdOf, type FaultInjector } from "../transport/index.js";
import { createRpcServer, type RpcServer } from "../rpc/server.js";
import { createLogger, componentLogger, type Logger } from "../ops/logger.js";
import { loadSigner, type Signer } from "../keys/index.js";
import { NodeMetrics } from "../ops/metrics.js";
import { loadDeploymentRecord } from "../l1/deployment.js";
import { RegistryReader } from "../l1/registry.js";
import { L1Follower } from "../l1/follower.js";
import { CommitmentService } from "../app/commitments.js";
import { QuorumCertificates } from "../app/quorum-certificates.js";
import { AppStateMachine } from "../app/machine.js";
import { EpochKeys, type DkgFaults } from "../app/epoch-keys.js";
import { EncryptedSlots, type EncryptedSlotsOptions } from "../app/encrypted-slots.js";
import { EpochKeyAnchor } from "../app/epoch-key-anchor.js";
import { BatchService, type BatchPoster } from "../batching/index.js";
import { Watchtower } from "../watchtower/watchtower.js";
import { storeEvidence } from "../watchtower/evidence.js";
import { domain } from "../commitments/typed-data.js";
import { SubmissionService, type ProposeSubmission } from "./submissions.js";
import { CensorshipService } from "./censorship-service.js";
import { HistorySync } from "./history.js";
import { Compactor } from "./compaction.js";
import { EpochManager, EpochPlans } from "./epochs.js";
import { sequencerMethods } from "./api.js";
import { batchEncodingOf, feeCapsOf, type NodeConfig } from "./config.js";
import { l1AcceptsBlobs } from "../l1/inbox-writer.js";
import { blobKzg } from "../l1/blobs.js";
import { NodeStartError } from "./errors.js";
import { genesisConfig } from "./genesis.js";
import { GaugeExporter } from "./gauges.js";
import { ActivityLog } from "./activity.js";
import { MemberDirectory, nodeIdOf, planOf, reachable, type ClusterMember } from "./members.js";
import { osRandom } from "./random.js";
import { Retirement } from "./retirement.js";
import { nodeStatus, type NodeStatus } from "./status.js";
import { loadStatusPage } from "./page.js";
import { WaitingRpc } from "./waiting.js";

export type SequencerNodeStartOptions = {
  readonly logger?: Logger;
  /** Told when the node had to stop on its own (e.g. the disk failed). */
  readonly onFatal?: (error: Error) => void;
  /**
   * Seams for fault-injection runs only (scripts/nemesis/node.ts, test/fixtures/faulty-leader.ts):
   * a FaultInjector for the transport, a wrapper around the synced Raft writes (a slow disk), and
   * one around the leader's batch poster (a lying leader), one around the leader's proposing of
   * submissions (a censoring leader, test/fixtures/censoring-node.ts). They reach the node only through these
   * programmatic options, never from configuration or environment.
   */
  readonly faults?: FaultInjector;
  readonly wrapRaftLog?: (store: RaftLogStore) => RaftLogStore;
  readonly wrapBatchPoster?: (honest: BatchPoster) => BatchPoster;
  readonly wrapSubmissionPropose?: (honest: ProposeSubmission) => ProposeSubmission;
  /** A reported leader that does not hand leadership over (the censoring fixture): followers must elect without it. */
  readonly refuseToStepAside?: boolean;
  /** A cheating DKG member (test/fixtures/cheating-dealer.ts). */
  readonly dkgFaults?: DkgFaults;
  /** A member that withholds its key share releases (test/fixtures/cheating-dealer.ts with FIXTURE_FAULT=withhold-releases). */
  readonly encryptedFaults?: EncryptedSlotsOptions["faults"];
};

/** Everything a running node is made of. */
export interface NodeParts {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly self: ClusterMember & { readonly peerId: string };
  readonly follower: L1Follower;
  readonly members: MemberDirectory;
  readonly store: NodeStore;
  readonly raft: RaftNode;
  readonly transport: Transport;
  readonly commitments: CommitmentService;
  readonly quorum: QuorumCertificates;
  readonly batches: BatchService;
  readonly machine: AppStateMachine;
  readonly epochKeys: EpochKeys;
  readonly epochKeyAnchor: EpochKeyAnchor;
  readonly encrypted: EncryptedSlots;
  readonly watchtower: Watchtower | undefined;
  readonly decodePool: DecodePool | undefined;
  readonly submissions: SubmissionService;
  readonly censorship: CensorshipService;
  readonly history: HistorySync;
  readonly epochs: EpochManager;
  readonly retirement: Retirement;
  readonly compactor: Compactor;
  readonly gauges: GaugeExporter;
  readonly activity: ActivityLog;
  readonly rpc: RpcServer;
  readonly status: () => NodeStatus;
}

export type AssembledNode = {
  readonly parts: NodeParts;
  /** When each peer was last heard from (the transport's message handler keeps it). */
  readonly lastHeard: Map<NodeId, number>;
  readonly genesis: readonly NodeId[];
  /** Whether the node started from state on disk. */
  readonly recovered: boolean;
};

export async function assembleNode(config: NodeConfig, options: SequencerNodeStartOptions): Promise<AssembledNode> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = new NodeMetrics();
  const log = componentLogger(logger, "node");
  const statusPage = await loadStatusPage();
  const loadKey = (file: string) => loadConfigKey(config, file, log);
  const signer = await loadKey(config.signerKeyFile);
  const peerKey = await loadPeerKey(config.p2pKeyFile);
  const peerId = peerIdOf(peerKey);
  // The RPC port answers from here on: "waiting" until the node is a member and assembled.
  const waiting = await WaitingRpc.start(
    { host: config.rpcHost, port: config.rpcPort, rollupChainId: config.rollupChainId, signer: signer.address, peerId, logger: componentLogger(logger, "rpc"), metrics },
    config.l1RpcUrl,
  );
  try {
    return await assembleMember(config, options, { logger, metrics, log, statusPage, loadKey, signer, peerKey, peerId, waiting });
  } finally {
    await waiting.close();
  }
}

type Started = {
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly statusPage: Awaited<ReturnType<typeof loadStatusPage>>;
  readonly loadKey: (file: string) => Promise<Signer>;
  readonly signer: Signer;
  readonly peerKey: Awaited<ReturnType<typeof loadPeerKey>>;
  readonly peerId: string;
  readonly waiting: WaitingRpc;
};

/** The node's parts once it has read L1 and found its operator in a confirmed epoch's set; the RPC server last, on the port `waiting` frees. */
async function assembleMember(config: NodeConfig, options: SequencerNodeStartOptions, started: Started): Promise<AssembledNode> {
  const { logger, metrics, log, statusPage, loadKey, signer, peerKey, peerId, waiting } = started;

  const deployment = await loadDeploymentRecord(config.deployment);
  const client = createPublicClient({ transport: http(config.l1RpcUrl, { retryCount: 3 }) }) as PublicClient;
  // L1 may be briefly unreachable when the node (re)starts: wait for it rather than exit.
  const untilL1 = <T>(what: string, read: () => Promise<T>) => untilL1Answers(log, metrics, config.l1RpcUrl, what, read);
  const l1ChainId = await untilL1("reading the chain id", () => client.getChainId());
  if (l1ChainId !== deployment.chainId) {
    throw new NodeStartError(`L1 at ${config.l1RpcUrl} has chain id ${l1ChainId}, the deployment record ${config.deployment} says ${deployment.chainId}`);
  }
  const registry = new RegistryReader(client, deployment.sequencerRegistry, deployment.chainId);
  const follower = new L1Follower({
    client,
    registry,
    confirmations: config.l1Confirmations,
    pollMs: config.l1PollMs,
    logger: componentLogger(logger, "l1"),
    onError: () => metrics.l1Errors.inc({ operation: "follow" }),
  });
  await untilL1("reading the sequencer set", () => follower.init());
  follower.start();
  const members = new MemberDirectory(follower);
  const member = await members.waitFor(signer.address, config.l1PollMs, log, (epoch) => waiting.update({ what: "membership", epoch }));
  if (member.peerId !== peerId) {
    const registered = member.peerId ?? "a peer id whose proof does not verify";
    throw new NodeStartError(`the libp2p key in ${config.p2pKeyFile} is ${peerId}, but the registry has ${registered} for operator ${member.operator}`);
  }
  const self = { ...member, peerId };

  await mkdir(config.dataDir, { recursive: true });
  const store = await NodeStore.open(path.join(config.dataDir, "db"));
  const persisted = await store.loadPersistedState();
  const fresh = persisted.hardState.term === 0 && persisted.entries.length === 0 && persisted.snapshot === undefined;
  const genesis = await genesisConfig(config.dataDir, follower, registry);
  const plans = new EpochPlans(componentLogger(logger, "epochs"));
  const raft = new RaftNode({
    raft: {
      id: self.nodeId,
      // Every node starts from the same index-0 configuration: the first non-empty set on L1,
      // weighted by stake. A node outside it (a later joiner) is not a voter until the cluster adds it.
      initialConfig: genesis,
      acceptConfig: (proposed, current) => plans.accepts(proposed, current),
      ...(fresh ? {} : { persisted }),
      random: osRandom(),
      electionTicks: config.electionTicks,
      electionJitterTicks: config.electionJitterTicks,
      heartbeatTicks: config.heartbeatTicks,
      maxTxsPerEntry: config.maxTxsPerEntry,
      lookupCommittedTx: (hash) => store.lookupCommittedTx(hash),
    },
    store: options.wrapRaftLog ? options.wrapRaftLog(store) : store,
    tickMs: config.tickMs,
    logger: componentLogger(logger, "raft"),
    metrics,
  });

  members.remember();
  const transport = await Transport.create({
    privateKey: peerKey,
    listen: config.p2pListen,
    allowedPeers: reachable(members.all()).map((m) => m.peerId),
    nodeIds: new Map(reachable(members.all()).map((m) => [m.peerId, m.nodeId])),
    localNodeId: self.nodeId,
    logger: componentLogger(logger, "transport"),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  await members.refreshPeers(transport, raft.status().config, self.nodeId);
  const request = (to: NodeId, protocol: RpcKind, payload: Uint8Array, timeoutMs: number, signal?: AbortSignal) =>
    transport.request(members.peerIdOf(to), protocol, payload, { timeoutMs, ...(signal ? { signal } : {}) });

  const sequencerDomain = domain(deployment.chainId, deployment.sequencerRegistry);
  const epochView = async (epoch: number) => ({
    members: (await follower.view(BigInt(epoch))).members.map((m) => ({ nodeId: nodeIdOf(m.operator), signer: m.signer, stake: m.stake })),
  });
  const leaderTerm = () => {
    const s = raft.basicStatus();
    return s.role === "leader" ? s.term : null;
  };
  // Filled in once the batch state exists: positions on L1 need no quorum certificate.
  let postedNext = () => 0;
  const quorum = new QuorumCertificates({
    store,
    signer,
    domain: sequencerDomain,
    selfId: self.nodeId,
    logger: componentLogger(logger, "quorum"),
    epochView,
    request: (to, payload, timeoutMs) => request(to, "certificateSignature", payload, timeoutMs),
    proposeApp: (data) => raft.proposeApp(data),
    // Only while acting as leader (defined below: history complete, not retired).
    leaderTerm: () => (acting() ? raft.basicStatus().term : null),
    epoch: () => Number(follower.epoch),
    postedNext: () => postedNext(),
  });
  await quorum.recover();
  const commitments = new CommitmentService({
    store,
    signer,
    chainId: deployment.chainId,
    registry: deployment.sequencerRegistry,
    logger: componentLogger(logger, "commitments"),
    epoch: () => Number(follower.epoch),
    leaderTerm,
    proposeApp: (data) => raft.proposeApp(data),
    quorum,
  });
  await commitments.recover();

  const history = new HistorySync({
    store,
    logger: componentLogger(logger, "history"),
    sources: () => {
      const leader = raft.basicStatus().leader;
      const others = members.ids().filter((id) => id !== self.nodeId && id !== leader);
      return leader !== null && leader !== self.nodeId ? [leader, ...others] : others;
    },
    request: (to, payload) => request(to, "history", payload, 10_000),
  });
  const retirement = new Retirement(self.nodeId, 3 * config.electionTicks * config.tickMs);
  // This node acts as the leader (sequences, cuts and posts batches): it leads, has not left the
  // set, and holds its whole history (a leader still backfilling could give a resubmitted old
  // transaction a second position).
  const acting = () => !retirement.retired && raft.basicStatus().role === "leader" && history.complete;

  // L1 gas for batches: the batcher key, or the signer key when none is configured. The inbox
  // takes batches only from the batcher the registry names for the operator (S3).
  const batcher: Signer = config.batcherKeyFile === "" ? signer : await loadKey(config.batcherKeyFile);
  const registeredBatcher = await untilL1("reading the operator's batcher", () => registry.batcherOf(self.operator));
  if (!isAddressEqual(registeredBatcher, batcher.address)) {
    log.error(
      { batcher: batcher.address, registered: registeredBatcher, operator: self.operator },
      "this node pays for batches from an account the registry does not name as its operator's batcher: the inbox will refuse its batches (NotBatcher); run `seq set-batcher --config <this config>` with the operator's key, or point batcherKeyFile at the registered account",
    );
  }
  const l1Chain = defineChain({ id: l1ChainId, name: deployment.network, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [config.l1RpcUrl] } } });
  const l1Wallet = createWalletClient({ account: batcher, chain: l1Chain, transport: http(config.l1RpcUrl, { retryCount: 0 }) });
  const encoding = batchEncodingOf(config, config.batchDataMode !== "calldata" && (await l1AcceptsBlobs(client, batcher.address, feeCapsOf(config).maxFeePerBlobGas)));
  // Loading the trusted setup takes seconds of CPU: now, before the node runs, not at its first blob cut.
  if (encoding.maxBlobs !== undefined) blobKzg();
  logger.info({ mode: encoding.maxBlobs === undefined ? "calldata" : "blobs", compression: encoding.compress, maxBlobs: encoding.maxBlobs ?? 0 }, "batch data encoding");
  const batches: BatchService = new BatchService({
    store,
    signer,
    chainId: deployment.chainId,
    registry: deployment.sequencerRegistry,
    inbox: deployment.batchInbox,
    inboxFromBlock: deployment.deploymentBlock,
    publicClient: client,
    wallet: l1Wallet,
    limits: {
      maxTxs: config.batchMaxTxs,
      maxBytes: config.batchMaxBytes,
      maxL1TxBytes: config.batchMaxL1TxBytes,
      intervalMs: config.batchIntervalMs,
      deadlineMs: config.batchDeadlineMs,
      maxInFlight: config.batchMaxInFlight,
      maxUnpostedTxs: config.maxUnpostedTxs,
      maxUnpostedBytes: config.maxUnpostedBytes,
      l1Confirmations: config.l1Confirmations,
      replaceAfterBlocks: config.l1ReplaceAfterBlocks,
      encoding,
    },
    feeCaps: feeCapsOf(config),
    logger: componentLogger(logger, "batches"),
    metrics,
    selfId: self.nodeId,
    isLeader: acting,
    epoch: () => Number(follower.epoch),
    epochView,
    request: (to, payload, timeoutMs) => request(to, "batchSignature", payload, timeoutMs),
    proposeApp: (data) => raft.proposeApp(data),
    pollMs: Math.min(250, config.l1PollMs, config.batchIntervalMs),
    proposeTxs: (txs) => {
      if (!acting()) return false;
      raft.propose(txs);
      return true;
    },
    ...(deployment.forcedInclusionQueue === undefined
      ? {}
      : {
          forcedQueue: {
            address: deployment.forcedInclusionQueue,
            confirmations: config.l1Confirmations,
            pollMs: config.l1PollMs,
            // Declared below; only called once the node runs.
            order: (raw: Hex): Promise<unknown> => submissions.submitForced(raw),
          },
        }),
    ...(options.wrapBatchPoster ? { wrapPoster: options.wrapBatchPoster } : {}),
  });
  await batches.recover();
  postedNext = () => {
    const p = batches.status().lastPosted;
    return p === null ? 0 : p.lastPosition + 1;
  };
  const epochKeys = new EpochKeys({
    chainId: deployment.chainId,
    registry: deployment.sequencerRegistry,
    selfId: self.nodeId,
    signer,
    dir: path.join(config.dataDir, "threshold"),
    logger: componentLogger(logger, "epoch-keys"),
    epochView,
    request: (to, kind, payload, timeoutMs) => request(to, kind, payload, timeoutMs),
    proposeApp: (data) => raft.proposeApp(data),
    isLeader: acting,
    leader: () => (retirement.retired ? null : raft.basicStatus().leader),
    random: (n) => new Uint8Array(randomBytes(n)),
    ...(options.dkgFaults === undefined ? {} : { faults: options.dkgFaults }),
  });
  const intake = { chainId: config.rollupChainId, maxBytes: config.maxTxBytes };
  const decodePool = config.intakeWorkers > 0 ? await DecodePool.create({ ...intake, size: config.intakeWorkers }) : undefined;
  const encrypted = new EncryptedSlots({
    rollupChainId: config.rollupChainId,
    chainId: deployment.chainId,
    registry: deployment.sequencerRegistry,
    selfId: self.nodeId,
    signer,
    logger: componentLogger(logger, "encrypted"),
    epochKey: (epoch) => epochKeys.epochKey(epoch),
    loadEpoch: (epoch) => epochKeys.ensure(epoch),
    currentEpoch: () => Number(follower.epoch),
    request: (to, payload, timeoutMs) => request(to, "keyRelease", payload, timeoutMs),
    proposeApp: (data) => raft.proposeApp(data),
    propose: (tx) => raft.propose([tx]),
    isLeader: acting,
    leader: () => (retirement.retired ? null : raft.basicStatus().leader),
    decrypt: (slot, ciphertexts) => (decodePool ? decodePool.decrypt(slot, ciphertexts) : Promise.resolve(decryptTransactions(slot, ciphertexts, intake))),
    closeIntervalMs: config.encryptedSlotMs,
    deadlineMs: config.encryptedDeadlineMs,
    ...(options.encryptedFaults === undefined ? {} : { faults: options.encryptedFaults }),
  });
  const machine = new AppStateMachine({ batches, commitments, epochKeys, encrypted });
  const epochKeyAnchor = new EpochKeyAnchor({
    keys: epochKeys,
    signer,
    domain: sequencerDomain,
    selfId: self.nodeId,
    contract: deployment.epochKeys,
    publicClient: client,
    sender: batches.l1Sender,
    logger: componentLogger(logger, "epoch-keys"),
    request: (to, payload, timeoutMs) => request(to, "epochKeySignature", payload, timeoutMs),
    isLeader: acting,
  });

  // Slash proofs go from their own account: sharing the batcher's, each would take nonces the
  // other counts on (and a slash proof would queue behind a batch stuck under the fee cap).
  const watchtowerKey: Signer | undefined = !config.watchtower ? undefined : config.watchtowerKeyFile === "" ? signer : await loadKey(config.watchtowerKeyFile);
  if (watchtowerKey !== undefined && isAddressEqual(watchtowerKey.address, batcher.address)) {
    throw new NodeStartError(`the watchtower's key (${config.watchtowerKeyFile || config.signerKeyFile}) is the batcher's account ${batcher.address}: give the watchtower its own funded key (watchtowerKeyFile), or set "watchtower": false`);
  }
  const watchtower = watchtowerKey
    ? new Watchtower({
        publicClient: client,
        wallet: createWalletClient({ account: watchtowerKey, chain: l1Chain, transport: http(config.l1RpcUrl, { retryCount: 0 }) }),
        deployment,
        evidence: storeEvidence(store, domain(deployment.chainId, deployment.sequencerRegistry)),
        stateFile: path.join(config.dataDir, "watchtower.json"),
        logger: componentLogger(logger, "watchtower"),
        confirmations: config.l1Confirmations,
        pollMs: config.l1PollMs,
        metrics,
        ...(deployment.forcedInclusionQueue === undefined ? {} : { forcedQueue: deployment.forcedInclusionQueue }),
      })
    : undefined;

  const censorship: CensorshipService = new CensorshipService({
    rule: { timeoutMs: config.censorshipTimeoutMs, graceMs: config.censorshipGraceMs, minProgressTxs: 1 },
    selfId: self.nodeId,
    signer,
    domain: { chainId: deployment.chainId, registry: deployment.sequencerRegistry },
    raft,
    plan: () => plans.latest,
    epochMembers: async (epoch) => (await epochView(epoch)).members,
    broadcast: (payload) => {
      for (const to of plans.latest?.voters ?? []) {
        if (to === self.nodeId) continue;
        request(to, "censorshipReport", payload, 5_000).catch((error: Error) => log.debug({ to, err: error.message }, "could not deliver a censorship report"));
      }
    },
    resubmit: (raw): Promise<unknown> => submissions.submit(raw),
    stepAside: options.refuseToStepAside !== true,
    logger: componentLogger(logger, "censorship"),
    metrics,
  });
  const honestPropose: ProposeSubmission = (tx) => raft.propose([tx]);
  const submissions = new SubmissionService({
    store,
    commitments,
    intake,
    decodePool,
    timeoutMs: config.submitTimeoutMs,
    logger: componentLogger(logger, "submissions"),
    metrics,
    overloaded: () => batches.overloaded(),
    admitCiphertext: (ciphertext) => encrypted.admit(ciphertext),
    admission: {
      sender: new Admission("sender", { txs: rateBudget(config.senderTxsPerSecond, config.senderTxBurst), bytes: rateBudget(config.senderBytesPerSecond, config.senderByteBurst) }),
      client: new Admission("client", { txs: rateBudget(config.clientTxsPerSecond, config.clientTxBurst), bytes: rateBudget(config.clientBytesPerSecond, config.clientByteBurst) }),
    },
    isLeader: acting,
    leader: () => (retirement.retired ? null : raft.basicStatus().leader),
    propose: options.wrapSubmissionPropose ? options.wrapSubmissionPropose(honestPropose) : honestPropose,
    forwards: censorship,
    forward: (to, payload, timeoutMs, signal) => request(to, "submit", payload, timeoutMs, signal),
  });

  const lastHeard = new Map<NodeId, number>();
  const epochs = new EpochManager({
    self: self.nodeId,
    plans,
    raft,
    lastHeard: (id) => lastHeard.get(id),
    reachableWithinMs: 2 * config.electionTicks * config.tickMs,
    takeoverMs: config.leaderTakeoverMs,
    settleMs: config.electionTicks * config.tickMs,
    missedDeadline: () => batches.missedDeadline(),
    settled: () => machine.latestSettlement(),
    ejected: (epoch) => censorship.ejectedIn(epoch),
    logger: componentLogger(logger, "epochs"),
  });
  epochs.setPlans(follower.recent().map(planOf));
  const epochLog = componentLogger(logger, "epochs");
  machine.onEpochLeader((epoch, leader) => epochLog.info({ epoch, leader }, "epoch leader settled"));

  const compactor = new Compactor(
    { store, raft, machine, policy: config },
    { applied: persisted.snapshot?.meta.index ?? 0, nextPosition: persisted.snapshot?.meta.nextPosition ?? 0 },
  );
  const gauges = new GaugeExporter({ self, metrics, transport, raft, store, batches, follower, registry, dataDir: config.dataDir, logger: componentLogger(logger, "node") });
  const activity = new ActivityLog({ nextPosition: () => store.status().nextPosition, latency: metrics.commitLatencySeconds });
  await encrypted.recover((from, limit) => store.getTxRange(from, limit));
  const status = () => nodeStatus({ self, raft, commitments, batches, watchtower, follower, epochs, retirement, deployment, members, epochKeys, epochKeyAnchor, encrypted, censorship });
  await waiting.close();
  const rpc = await createRpcServer({
    host: config.rpcHost,
    port: config.rpcPort,
    limits: {
      maxConnections: config.rpcMaxConnections,
      maxConnectionsPerClient: config.rpcMaxConnectionsPerClient,
      idleTimeoutMs: config.rpcIdleTimeoutMs,
      maxWsConnections: config.rpcMaxWsConnections,
    },
    logger: componentLogger(logger, "rpc"),
    metrics,
    methods: sequencerMethods({ rollupChainId: config.rollupChainId, submissions, commitments, store, status, activity: (since) => activity.since(since), encrypted }),
    extraRoutes: {
      status,
      health: () => {
        const s = raft.basicStatus();
        return { healthy: s.leader !== null, role: s.role, leader: s.leader, term: s.term };
      },
      files: statusPage,
    },
  });


  return {
    parts: { config, logger, metrics, self, follower, members, store, raft, transport, commitments, quorum, batches, machine, epochKeys, epochKeyAnchor, encrypted, watchtower, decodePool, submissions, censorship, history, epochs, retirement, compactor, gauges, activity, rpc, status },
    lastHeard,
    genesis: genesis.voters,
    recovered: !fresh,
  };
}

/** An admission budget from a rate and a burst of the config; none at a rate of 0. */
function rateBudget(perSecond: number, burst: number): RateBudget | undefined {
  return perSecond > 0 ? { perSecond, burst } : undefined;
}

/** A key file of the config (keystore or plain hex); any failure stops the start with the file named. */
async function loadConfigKey(config: NodeConfig, file: string, log: Logger): Promise<Signer> {
  try {
    return await loadSigner(file, { passwordFile: config.keystorePasswordFile, warn: (message) => log.warn({ file }, message) });
  } catch (cause) {
    throw new NodeStartError((cause as Error).message, { cause });
  }
}

/** Retries an L1 read with back-off (1 s doubling to 30 s), logging each failure. */
async function untilL1Answers<T>(log: Logger, metrics: NodeMetrics, url: string, what: string, read: () => Promise<T>): Promise<T> {
  for (let delay = 1_000; ; delay = Math.min(30_000, delay * 2)) {
  try {
    return await read();
  } catch (error) {
    metrics.l1Errors.inc({ operation: "start" });
    log.warn({ err: (error as Error).message, l1: url, retryInMs: delay }, `L1 did not answer ${what}: retrying`);
    await new Promise((r) => setTimeout(r, delay));
  }
  }
}
