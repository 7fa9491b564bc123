/**
 * The nemesis's cluster: an interval-mined local chain behind an L1 proxy the nodes use, the
 * contracts, staked operators, and one node process each, started from the nemesis node fixture
 * (scripts/nemesis/node.ts) so each has a fault-injecting transport and a control channel.
 * It knows which nodes are up, killed or paused, and what it takes to heal every fault.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { nodeRpc } from "../../node/rpc/client.js";
import type { NodeConfig } from "../../node/sequencer/config.js";
import { deployAndStake, freePort, spawnNode, startLocalChain, type LocalChain, type NodeProcess, type StakedNetwork } from "../lib/devnet.js";
import { enterNextEpoch } from "../lib/devnet.js";
import { keepTempDir, removeTempDir, signalGroup } from "../lib/processes.js";
import { L1Proxy } from "./l1-proxy.js";
import type { History } from "./history.js";

const FIXTURE = path.resolve(import.meta.dirname, "node.ts");

/** The cluster could not be brought up or a node would not come back. */
export class NemesisClusterError extends Error {
  override readonly name = "NemesisClusterError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The part of `seq_status` the nemesis reads. */
export type NodeStatus = {
  nodeId: string;
  role: string;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  nextPosition: number;
};

export type ClusterOptions = {
  readonly dir: string;
  readonly nodes: number;
  readonly seed: number;
  /** Per-node timer period (ms): different values skew the nodes' clock rates against each other. */
  readonly tickMs: readonly number[];
  readonly epochLength: number;
  readonly blockIntervalMs: number;
  readonly history: History;
  readonly nodeSettings?: Partial<NodeConfig>;
};

type NodeState = "up" | "killed" | "paused";

export class NemesisCluster {
  private readonly procs: (NodeProcess | undefined)[] = [];
  private readonly state: NodeState[] = [];
  private readonly controlPorts: number[] = [];
  /** Process ids ever started, so the caller can check none is left. */
  readonly pids: number[] = [];
  readonly l1: PublicClient;

  private constructor(
    private readonly opts: ClusterOptions,
    readonly chain: LocalChain,
    readonly proxy: L1Proxy,
    readonly net: StakedNetwork,
  ) {
    // cacheTime 0: viem otherwise serves getBlockNumber from a 4 s cache.
    this.l1 = createPublicClient({ transport: http(chain.url), cacheTime: 0 }) as PublicClient;
  }

  static async start(opts: ClusterOptions): Promise<NemesisCluster> {
    if (opts.tickMs.length !== opts.nodes) throw new NemesisClusterError(`tickMs needs one value per node (${opts.nodes}), got ${opts.tickMs.length}`);
    const chain = await startLocalChain(0, { blockIntervalMs: opts.blockIntervalMs });
    let proxy: L1Proxy | undefined;
    try {
      proxy = await L1Proxy.start(chain.url);
      // Stakes differ so the L1 leader schedule rotates among several primaries.
      const stakes = Array.from({ length: opts.nodes }, (_, i) => String(1_000 + 100 * (opts.nodes - 1 - i)));
      const net = await deployAndStake(chain, opts.dir, stakes, { l1RpcUrl: proxy.url, ...opts.nodeSettings }, { deploy: { epochLength: BigInt(opts.epochLength) } });
      for (const op of net.operators) {
        await writeFile(op.configFile, JSON.stringify({ ...op.config, tickMs: opts.tickMs[op.index] }, null, 2));
      }
      await enterNextEpoch(chain, net.deployment.registry);
      const cluster = new NemesisCluster(opts, chain, proxy, net);
      for (let i = 0; i < opts.nodes; i++) {
        cluster.controlPorts.push(await freePort());
        cluster.state.push("killed");
        cluster.procs.push(undefined);
      }
      for (let i = 0; i < opts.nodes; i++) cluster.spawn(i);
      return cluster;
    } catch (error) {
      await proxy?.close();
      await chain.close();
      throw error;
    }
  }

  get size(): number {
    return this.opts.nodes;
  }

  url(i: number): string {
    return this.net.operators[i]!.rpcUrl;
  }

  nodeId(i: number): string {
    return this.net.operators[i]!.operator.toLowerCase();
  }

  indexOf(nodeId: string): number {
    return this.net.operators.findIndex((o) => o.operator.toLowerCase() === nodeId.toLowerCase());
  }

  peerId(i: number): string {
    return this.net.operators[i]!.peerId;
  }

  get registry(): Address {
    return this.net.deployment.registry.address;
  }

  stateOf(i: number): NodeState {
    return this.state[i]!;
  }

  /** Nodes that run and are not paused. */
  running(): number[] {
    return this.state.flatMap((s, i) => (s === "up" ? [i] : []));
  }

  async status(i: number, timeoutMs = 1_000): Promise<NodeStatus | undefined> {
    if (this.state[i] !== "up") return undefined;
    return nodeRpc<NodeStatus>(this.url(i), "seq_status", [], { timeoutMs }).catch(() => undefined);
  }

  /** The leader most running nodes name (a node that calls itself leader if none is named), or undefined. */
  async leader(): Promise<number | undefined> {
    const statuses = await Promise.all(this.running().map((i) => this.status(i, 800)));
    const votes = new Map<string, number>();
    for (const s of statuses) if (s?.leader) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
    const named = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? statuses.find((s) => s?.role === "leader")?.nodeId;
    if (named === undefined) return undefined;
    const i = this.indexOf(named);
    return i >= 0 && this.state[i] === "up" ? i : undefined;
  }

  private spawn(i: number): void {
    const op = this.net.operators[i]!;
    const p = spawnNode(op, { NEMESIS_CONTROL_PORT: String(this.controlPorts[i]), NEMESIS_SEED: String((this.opts.seed + i) >>> 0) }, FIXTURE);
    this.procs[i] = p;
    this.state[i] = "up";
    this.pids.push(p.pid);
    void p.exited.then((code) => {
      // Only an exit the nemesis did not cause is news.
      if (this.procs[i] !== p || this.state[i] === "killed") return;
      this.state[i] = "killed";
      this.opts.history.add({ kind: "crash", node: i, exit: String(code), logFile: p.logFile });
    });
  }

  /** Waits until node i answers seq_status. */
  async waitUp(i: number, timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.state[i] === "killed") throw new NemesisClusterError(`node-${i} exited while starting; see ${this.procs[i]?.logFile}`);
      if ((await this.status(i, 1_000)) !== undefined) return;
      await sleep(200);
    }
    throw new NemesisClusterError(`node-${i} did not answer within ${timeoutMs} ms of its start; see ${this.procs[i]?.logFile}`);
  }

  async kill(i: number): Promise<void> {
    const p = this.procs[i];
    if (p === undefined || this.state[i] === "killed") return;
    this.state[i] = "killed";
    signalGroup(p.child, "SIGKILL");
    await p.exited;
  }

  /** Starts a killed (or crashed) node again and waits until it answers. */
  async restart(i: number): Promise<void> {
    if (this.state[i] !== "killed") return;
    this.spawn(i);
    await this.waitUp(i);
  }

  pause(i: number): void {
    if (this.state[i] !== "up") return;
    signalGroup(this.procs[i]!.child, "SIGSTOP");
    this.state[i] = "paused";
  }

  resume(i: number): void {
    if (this.state[i] !== "paused") return;
    signalGroup(this.procs[i]!.child, "SIGCONT");
    this.state[i] = "up";
  }

  /** Sends a command to node i's fault injector; a node that is down has none in force. */
  async control(i: number, command: Record<string, unknown>): Promise<void> {
    if (this.state[i] !== "up") return;
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${this.controlPorts[i]}/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(command),
        signal: AbortSignal.timeout(3_000),
      });
    } catch (cause) {
      if (this.state[i] !== "up") return;
      throw new NemesisClusterError(`node-${i}'s control channel did not answer ${JSON.stringify(command)}: ${(cause as Error).message}`, { cause });
    }
    if (!res.ok) throw new NemesisClusterError(`node-${i} refused fault command ${JSON.stringify(command)}: ${await res.text()}`);
  }

  /** Cuts every link between the two groups (both directions). */
  async partition(a: readonly number[], b: readonly number[]): Promise<void> {
    await Promise.all([
      ...a.map((i) => this.control(i, { op: "partition", peers: b.map((j) => this.peerId(j)) })),
      ...b.map((j) => this.control(j, { op: "partition", peers: a.map((i) => this.peerId(i)) })),
    ]);
  }

  async resetFaults(): Promise<void> {
    await Promise.all(this.running().map((i) => this.control(i, { op: "reset" })));
  }

  /** Ends every fault: L1 back, nodes resumed, network faults cleared, dead nodes restarted. */
  async healAll(): Promise<void> {
    this.proxy.restore();
    for (let i = 0; i < this.size; i++) this.resume(i);
    await this.resetFaults();
    const dead = this.state.flatMap((s, i) => (s === "killed" ? [i] : []));
    for (const i of dead) this.spawn(i);
    await Promise.all(dead.map((i) => this.waitUp(i)));
  }

  /**
   * Kills every node process (paused ones included), closes the proxy and the chain, removes the
   * directory unless `keepDir`, and either way hands it back from the reaper (a kept one outlives
   * this process; `runNemesis` registers the temp dir it makes, so a killed run leaves none).
   */
  async close(keepDir: boolean): Promise<void> {
    if (keepDir) keepTempDir(this.opts.dir); // first: kept even if closing fails
    for (const [i, p] of this.procs.entries()) {
      if (p === undefined) continue;
      this.state[i] = "killed";
      signalGroup(p.child, "SIGKILL");
      await p.exited;
    }
    await this.proxy.close();
    await this.chain.close();
    if (!keepDir) await removeTempDir(this.opts.dir);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
