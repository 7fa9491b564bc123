/**
 * Our side of the benchmark: a local L1 (in-process Hardhat chain), the contracts, `size`
 * staked operators and one `seq start` process each, with durable level storage, on 127.0.0.1.
 */
import path from "node:path";
import { existsSync, mkdirSync } from "node:fs";
import { nodeRpc as rpc } from "../../../node/rpc/client.js";
import { DEFAULTS, type NodeConfig } from "../../../node/sequencer/config.js";
import { mineToNextEpoch } from "../../lib/deploy.js";
import { COMPILED_CLI, deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../lib/devnet.js";

/** The cluster did not reach a usable state (no leader, a node exited). */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface SequencerStatus {
  readonly role: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly nextPosition: number;
  readonly epoch: number;
}

/**
 * The bench's L1 mines a block every second besides one per transaction, as a real chain keeps
 * producing blocks: batches reach their confirmation depth. Epochs last an hour of such blocks so
 * no scheduled rotation falls inside a measurement; the handover phase moves epochs on purpose.
 */
const L1_BLOCK_INTERVAL_MS = 1_000;
const EPOCH_BLOCKS = 3_600n;

/** Stakes by operator: distinct (the L1 schedule is not a tie) and at least the default minStake of 1000. */
const STAKES = ["2500", "2200", "1900", "1600", "1300", "1150", "1000"];

/** The node's own election timing (config defaults, unless overridden by SEQ_* variables in `env`), for the report. */
export function sequencerTimeouts(env: NodeJS.ProcessEnv = process.env) {
  const tickMs = Number(env.SEQ_TICK_MS ?? DEFAULTS.tickMs);
  const electionTicks = Number(env.SEQ_ELECTION_TICKS ?? DEFAULTS.electionTicks);
  const heartbeatTicks = Number(env.SEQ_HEARTBEAT_TICKS ?? DEFAULTS.heartbeatTicks);
  const jitterTicks = Number(env.SEQ_ELECTION_JITTER_TICKS ?? DEFAULTS.electionJitterTicks);
  return {
    heartbeatMs: tickMs * heartbeatTicks,
    /** Base election timeout: a node's effective one is base * (1 + schedule rank, counted without the leader) plus [0, jitter). */
    electionMs: tickMs * electionTicks,
    electionJitterMs: tickMs * jitterTicks,
    leaderTakeoverMs: Number(env.SEQ_LEADER_TAKEOVER_MS ?? DEFAULTS.leaderTakeoverMs),
  };
}

export type ClusterOptions = {
  /** The L1 to run on (it must mine blocks on demand until start() resolves: deployment and epoch entry wait for them). */
  readonly startChain?: () => Promise<LocalChain>;
  /** Settings written into every node's config file (SEQ_* variables in `env` still override them). */
  readonly nodeSettings?: Partial<NodeConfig>;
  /** Called once the staked set is in force, before the nodes start (e.g. to switch the chain to a fixed block time). */
  readonly beforeNodes?: (chain: LocalChain) => Promise<void>;
};

export class SequencerCluster {
  private cleaning: Promise<void> | undefined;

  private constructor(
    readonly chain: LocalChain,
    readonly net: StakedNetwork,
    readonly procs: NodeProcess[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Starts a chain (`options.startChain`, default an in-process one mining a block a second),
   * deploys, stakes `size` operators under `dir` with `options.nodeSettings` in their configs and
   * starts their nodes; resolves once they agree on a leader. The cluster owns the chain: stop() closes it.
   */
  static async start(dir: string, size: number, env: NodeJS.ProcessEnv = {}, options: ClusterOptions = {}): Promise<SequencerCluster> {
    if (size > STAKES.length) throw new RangeError(`at most ${STAKES.length} nodes, asked for ${size}`);
    if (!existsSync(COMPILED_CLI)) throw new ClusterError(`${COMPILED_CLI} is missing: run \`npm run build:node\` (npm run bench does)`);
    mkdirSync(dir, { recursive: true });
    const chain = await (options.startChain ?? (() => startLocalChain(0, { blockIntervalMs: L1_BLOCK_INTERVAL_MS })))();
    try {
      // The inbox requires unbondingPeriod >= (maxBatchEpochLag + 2) epochs.
      const deploy = { epochLength: EPOCH_BLOCKS, unbondingPeriod: 4n * EPOCH_BLOCKS };
      const net = await deployAndStake(chain, dir, STAKES.slice(0, size), options.nodeSettings ?? {}, { deploy });
      const cluster = new SequencerCluster(chain, net, [], env);
      // The staked set takes effect at the next epoch, once buried under the nodes' confirmation depth.
      await cluster.advanceEpoch();
      await options.beforeNodes?.(chain);
      for (let i = 0; i < size; i++) cluster.startNode(i);
      try {
        await cluster.leaderIndex(90_000);
      } catch (error) {
        await cluster.stop();
        throw error;
      }
      return cluster;
    } catch (error) {
      await chain.close().catch(() => undefined);
      throw error;
    }
  }

  get size(): number {
    return this.net.operators.length;
  }

  get urls(): string[] {
    return this.net.operators.map((o) => o.rpcUrl);
  }

  dataDir(i: number): string {
    return path.resolve(this.net.operators[i]!.config.dataDir);
  }

  isRunning(i: number): boolean {
    const p = this.procs[i];
    return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  }

  /** Starts (or restarts on its data dir) node `i`; `extraEnv` adds SEQ_* overrides for this start only. */
  startNode(i: number, extraEnv: NodeJS.ProcessEnv = {}): NodeProcess {
    if (this.isRunning(i)) throw new ClusterError(`node ${i} is already running (pid ${this.procs[i]!.pid})`);
    // Measured as operators run it: compiled, no TypeScript loader in the process.
    const p = spawnNode(this.net.operators[i]!, { ...this.env, ...extraEnv }, COMPILED_CLI);
    this.procs[i] = p;
    void p.exited.then((code) => {
      if (this.cleaning === undefined && this.procs[i] === p && code !== "SIGKILL" && code !== "SIGTERM" && code !== 0) {
        console.error(`node ${i} (pid ${p.pid}) exited (${code}); see ${p.logFile}`);
      }
    });
    return p;
  }

  async stopNode(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.procs[i];
    if (p) await stopNode(p, signal, 15_000);
  }

  /** The index of the node every running node names as leader (waits up to `timeoutMs`). */
  async leaderIndex(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = this.live();
      if (live.length === 0) throw new ClusterError("no node is running");
      try {
        const statuses = await Promise.all(live.map((i) => rpc<SequencerStatus>(this.urls[i]!, "seq_status")));
        const leader = statuses[0]!.leader;
        if (leader !== null && statuses.every((s) => s.leader === leader)) {
          const i = this.net.operators.findIndex((o) => o.operator.toLowerCase() === leader);
          if (i >= 0 && live.includes(i)) return i;
        }
      } catch {
        // Not serving yet.
      }
      await sleep(50);
    }
    throw new ClusterError(`no leader all running nodes agree on within ${timeoutMs} ms; logs under ${this.net.baseDir}`);
  }

  status(i: number): Promise<SequencerStatus> {
    return rpc<SequencerStatus>(this.urls[i]!, "seq_status");
  }

  /** Waits until every running node has applied the same entries (a previous scenario or a restarted node caught up). */
  async settle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const s = await Promise.all(this.live().map((i) => this.status(i)));
        if (s.every((x) => x.leader !== null && x.appliedIndex === s[0]!.appliedIndex && x.nextPosition === s[0]!.nextPosition)) return true;
      } catch {
        // A restarted node is not serving yet.
      }
      await sleep(50);
    }
    return false;
  }

  /** Mines the L1 into the next epoch and past the nodes' confirmation depth; returns that epoch. */
  async advanceEpoch(): Promise<number> {
    const epoch = await mineToNextEpoch(this.chain.connection, this.net.deployment.registry);
    await this.chain.connection.networkHelpers.mine(this.net.operators[0]!.config.l1Confirmations + 1);
    return Number(epoch);
  }

  live(): number[] {
    return this.procs.map((_, i) => i).filter((i) => this.isRunning(i));
  }

  /** Stops every node (SIGTERM, SIGKILL after a grace) and the chain. */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    this.cleaning ??= (async () => {
      await Promise.all(this.procs.map((p) => stopNode(p, signal, 15_000)));
      await this.chain.close().catch(() => undefined);
    })();
    return this.cleaning;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
