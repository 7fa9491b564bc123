/**
 * The one-command devnet (`npm start`): an L1 chain (in-process with interval mining, an Anvil
 * process with `--l1 anvil`, or an external one), the deployed contracts, `nodes` staked operators, one node child process
 * each, a steady stream of transactions, and a status line once a second. With a duration it
 * ends by rebuilding the ordered stream from L1 and comparing it with every node's log.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { STATUS_PAGE_PATH } from "../../node/sequencer/page.js";
import { batchInboxAbi, sequencerRegistryAbi } from "../../node/l1/generated/abi.js";
import { mineToNextEpoch } from "../lib/deploy.js";
import {
  type LocalChain,
  type NodeProcess,
  type StakedNetwork,
  connectToChain,
  deployAndStake,
  spawnNode,
  startLocalChain,
  stopNode,
} from "../lib/devnet.js";
import { nodeRpc } from "../../node/rpc/client.js";
import { compareWithNode, describeCarriers, describeDifference, describeGap, rebuildFromL1, type NodeComparison } from "../lib/rebuild.js";
import { makeTempDir, removeTempDir, signalGroup } from "../lib/processes.js";
import { startAnvil, type AnvilChain } from "../lib/anvil.js";
import { TrafficSender } from "./traffic.js";
import { DevnetStartError, devnetDeployConfig, validateDevnetOptions, type DevnetOptions } from "./options.js";

/** Where output goes: permanent lines, and the status line (rewritten in place on a TTY). */
export type DevnetOutput = {
  line(text: string): void;
  status(text: string): void;
};

export type DevnetResult = {
  /** 0 when everything held; 1 when a node died, nothing was acknowledged, or a log differs from L1. */
  readonly exitCode: number;
  readonly acked: number;
  readonly comparisons: readonly NodeComparison[];
};

/** seq_status as the devnet reads it; `state: "waiting"` while a node is not yet a member (node/sequencer/waiting.ts). */
type NodeStatus = { state?: "waiting"; nodeId: string; role: string; leader: string | null; nextPosition: number };

const LEADER_TIMEOUT_MS = 60_000;

/** Anvil's interval mining takes whole seconds. */
const anvilBlockTimeS = (ms: number) => Math.max(1, Math.round(ms / 1_000));
const COMPARE_RETRY_MS = 15_000;

export class Devnet {
  private readonly stopController = new AbortController();
  private readonly procs: NodeProcess[] = [];
  private stopping = false;

  constructor(
    private readonly opts: DevnetOptions,
    private readonly out: DevnetOutput,
  ) {
    validateDevnetOptions(opts);
  }

  /** Ends the run gracefully (the first Ctrl-C): traffic stops, nodes get SIGTERM, the chain closes. */
  stop(): void {
    this.stopController.abort();
  }

  /** The second Ctrl-C: SIGKILL every node now. */
  forceKill(): void {
    for (const p of this.procs) {
      signalGroup(p.child, "SIGKILL");
    }
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Resolves after `ms` or as soon as stop() is called. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopController.signal;
      if (signal.aborted) return resolve();
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  async run(): Promise<DevnetResult> {
    const o = this.opts;
    const ownDir = o.dir === undefined;
    // A temp dir of its own goes with the devnet however it ends, unless --keep.
    const dir = o.dir ?? (o.keep ? await mkdtemp(path.join(tmpdir(), "devnet-")) : makeTempDir("devnet-"));
    if (!ownDir && (await readdir(dir).catch(() => [])).length > 0) {
      throw new DevnetStartError(`--dir ${dir} is not empty: the devnet deploys fresh contracts and keys, give it an empty or new directory`);
    }
    let chain: Pick<LocalChain, "url" | "connection" | "close"> | undefined;
    let traffic: TrafficSender | undefined;
    let failed = false;
    let comparisons: NodeComparison[] = [];
    try {
      this.out.line(`devnet directory: ${dir}${ownDir && !o.keep ? " (removed on exit; --keep keeps it)" : ""}`);
      let anvil: AnvilChain | undefined;
      if (o.l1Rpc === undefined && o.l1 === "anvil") {
        // Automining while it deploys and stakes (a block per transaction), a block a second after.
        anvil = await startAnvil({ accounts: o.nodes + 2 });
        chain = anvil;
        this.out.line(`L1: Anvil (pid ${anvil.pid}) at ${anvil.url}, a block every ${anvilBlockTimeS(o.blockIntervalMs)} s once deployed`);
      } else if (o.l1Rpc === undefined) {
        chain = await startLocalChain(0, { blockIntervalMs: o.blockIntervalMs });
        this.out.line(`L1: in-process Hardhat chain at ${chain.url}, a block every ${o.blockIntervalMs} ms`);
      } else {
        const connection = await connectToChain(o.l1Rpc);
        chain = { url: o.l1Rpc, connection, close: () => connection.close() };
        this.out.line(`L1: ${o.l1Rpc} (epochs advance with its blocks: run Anvil with --block-time 1, or hardhat node with interval mining)`);
      }
      if (this.stopped) return { exitCode: 0, acked: 0, comparisons };

      const stakes = Array.from({ length: o.nodes }, (_, i) => String(1_000 + 100 * (o.nodes - 1 - i)));
      const net = await deployAndStake(chain, dir, stakes, o.nodeSettings ?? {}, { deploy: devnetDeployConfig(o) });
      const { registry } = net.deployment;
      const first = await mineToNextEpoch(chain.connection, registry);
      if (anvil !== undefined) await anvil.connection.provider.request({ method: "anvil_setIntervalMining", params: [anvilBlockTimeS(o.blockIntervalMs)] });
      this.out.line(
        `deployed: registry ${registry.address}, inbox ${net.deployment.contracts.batchInbox.address}; ${o.nodes} operators staked (${stakes.join(", ")} SEQ), active from epoch ${first} (${o.epochLength} blocks each; unbonding ${net.deployment.config.unbondingPeriod} blocks)`,
      );
      this.out.line(`deployment record: ${net.deploymentFile}`);
      if (this.stopped) return { exitCode: 0, acked: 0, comparisons };

      for (const op of net.operators) {
        const p = spawnNode(op);
        this.procs.push(p);
        this.out.line(`node-${op.index}: pid ${p.pid}, rpc ${op.rpcUrl}, operator ${op.operator}, log ${p.logFile}`);
      }
      const urls = net.operators.map((op) => op.rpcUrl);
      for (const [i, p] of this.procs.entries()) {
        void p.exited.then((code) => {
          if (this.stopping) return;
          failed = true;
          this.out.line(`node-${i} exited unexpectedly (${code}); see ${p.logFile}`);
        });
      }

      await this.waitForLeader(urls);
      if (this.stopped) return { exitCode: failed ? 1 : 0, acked: 0, comparisons };
      this.out.line(`status page: ${new URL(STATUS_PAGE_PATH, urls[0]).href} (every node serves its own at ${STATUS_PAGE_PATH} on its rpc port)`);

      traffic = new TrafficSender({ urls, tps: o.tps, chainId: net.operators[0]!.config.rollupChainId });
      traffic.start();
      this.out.line(`sending ${o.tps} tx/s round-robin to ${urls.length} nodes${o.durationS === undefined ? "; Ctrl-C stops everything" : ` for ${o.durationS} s`}`);
      // cacheTime 0: viem otherwise serves getBlockNumber from a 4 s cache.
      const client = createPublicClient({ transport: http(chain.url), cacheTime: 0 }) as PublicClient;
      const deadline = o.durationS === undefined ? Infinity : performance.now() + o.durationS * 1000;
      const names = new Map(net.operators.map((op) => [op.operator.toLowerCase(), `node-${op.index}`]));
      const primaries = new Map<bigint, string>();
      while (!this.stopped && performance.now() < deadline) {
        await this.sleep(Math.min(1_000, deadline - performance.now()));
        if (this.stopped) break;
        this.out.status(await this.statusLine(client, net, urls, traffic, names, primaries));
      }
      await traffic.stop();
      if (traffic.totals.acked === 0) {
        failed = true;
        this.out.line("no transaction was acknowledged during the run");
      }
      if (o.durationS !== undefined && !this.stopped) {
        const compared = await this.compareWithL1(client, net, urls);
        comparisons = compared.comparisons;
        if (compared.gaps > 0 || comparisons.some((c) => c.difference !== null) || comparisons.length < urls.length) failed = true;
      }
      return { exitCode: failed ? 1 : 0, acked: traffic.totals.acked, comparisons };
    } finally {
      this.stopping = true;
      await traffic?.stop();
      await Promise.all(this.procs.map((p) => stopNode(p, "SIGTERM", 5_000)));
      if (this.procs.length > 0) this.out.line(`stopped ${this.procs.length} nodes (pids ${this.procs.map((p) => p.pid).join(", ")})`);
      await chain?.close();
      if (ownDir && !o.keep) {
        await removeTempDir(dir);
        this.out.line(`removed ${dir}`);
      } else {
        this.out.line(`kept ${dir} (node logs in node-*/node.log)`);
      }
    }
  }

  private async waitForLeader(urls: readonly string[]): Promise<void> {
    const deadline = performance.now() + LEADER_TIMEOUT_MS;
    while (!this.stopped) {
      for (const url of urls) {
        const s = await nodeRpc<NodeStatus>(url, "seq_status", [], { timeoutMs: 2_000 }).catch(() => undefined);
        if (s?.leader != null) {
          this.out.line(`leader elected: ${s.leader}`);
          return;
        }
      }
      if (this.procs.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)) {
        throw new DevnetStartError(`every node exited before electing a leader; see ${this.procs.map((p) => p.logFile).join(", ")}`);
      }
      if (performance.now() > deadline) {
        throw new DevnetStartError(`no leader after ${LEADER_TIMEOUT_MS / 1000} s; see the node logs: ${this.procs.map((p) => p.logFile).join(", ")}`);
      }
      await this.sleep(250);
    }
  }

  private async statusLine(
    client: PublicClient,
    net: StakedNetwork,
    urls: readonly string[],
    traffic: TrafficSender,
    names: ReadonlyMap<string, string>,
    primaries: Map<bigint, string>,
  ): Promise<string> {
    const registry = net.deployment.registry.address;
    const inbox: Address = net.deployment.contracts.batchInbox.address;
    const window = traffic.take();
    const errors: string[] = [];
    const [l1, statuses] = await Promise.all([
      (async () => {
        const block = await client.getBlockNumber();
        const epoch = await client.readContract({ address: registry, abi: sequencerRegistryAbi, functionName: "currentEpoch", blockNumber: block });
        if (!primaries.has(epoch)) {
          const schedule = await client.readContract({ address: registry, abi: sequencerRegistryAbi, functionName: "leaderSchedule", args: [epoch], blockNumber: block });
          primaries.set(epoch, schedule[0] === undefined ? "none" : (names.get(schedule[0].toLowerCase()) ?? schedule[0]));
        }
        const [batches, last] = await client.readContract({ address: inbox, abi: batchInboxAbi, functionName: "lastBatch", blockNumber: block });
        return { block, epoch, batches, postedTo: batches === 0n ? undefined : last.lastPosition };
      })().catch((e: unknown) => {
        errors.push(`L1: ${(e as Error).message.split("\n")[0]}`);
        return undefined;
      }),
      Promise.all(urls.map((u) => nodeRpc<NodeStatus>(u, "seq_status", [], { timeoutMs: 900 }).catch(() => undefined))),
    ]);
    const waiting = statuses.filter((s) => s?.state === "waiting").length;
    const up = statuses.filter((s): s is NodeStatus => s !== undefined && s.state !== "waiting");
    const leaderId = up.find((s) => s.role === "leader")?.nodeId ?? up.find((s) => s.leader !== null)?.leader ?? null;
    const committed = up.length === 0 ? "?" : String(Math.max(...up.map((s) => s.nextPosition)));
    if (window.failed > 0) errors.push(`${window.failed} submissions failed (${window.lastError})`);
    const parts = [
      l1 === undefined ? "L1 ?" : `L1 block ${l1.block}`,
      l1 === undefined ? "epoch ?" : `epoch ${l1.epoch}`,
      `leader ${leaderId === null ? "none" : (names.get(leaderId) ?? leaderId)}${l1 === undefined ? "" : ` (scheduled ${primaries.get(l1.epoch)})`}`,
      `committed ${committed}`,
      l1 === undefined ? "batches ?" : `batches ${l1.batches}${l1.postedTo === undefined ? "" : ` (to position ${l1.postedTo})`}`,
      `${(window.acked / Math.max(window.seconds, 0.001)).toFixed(1)} tx/s`,
      `nodes up ${up.length}/${urls.length}${waiting > 0 ? ` (${waiting} waiting to enter the set)` : ""}`,
    ];
    return `${parts.join(" | ")}${errors.length > 0 ? ` | errors: ${errors.join("; ")}` : ""}`;
  }

  /** The issue's end check: the ordered stream rebuilt from L1 equals every node's log (and has no gaps: an unreadable batch fails the run). */
  private async compareWithL1(client: PublicClient, net: StakedNetwork, urls: readonly string[]): Promise<{ comparisons: NodeComparison[]; gaps: number }> {
    const stream = await rebuildFromL1(client, { inbox: net.deployment.contracts.batchInbox.address, deploymentBlock: net.deployment.contracts.batchInbox.block });
    this.out.line(
      stream.batches.length === 0
        ? "rebuilt from L1: no batches were posted yet, so there is nothing to compare"
        : `rebuilt from L1: ${stream.batches.length} batches, ${stream.txs.length} transactions (positions ${stream.firstPosition}..${stream.firstPosition + BigInt(stream.txs.length) - 1n}), ${describeCarriers(stream.batches)}; header chain and Merkle roots check out`,
    );
    for (const g of stream.gaps) this.out.line(describeGap(g));
    const results: NodeComparison[] = [];
    for (const url of urls) {
      const deadline = performance.now() + COMPARE_RETRY_MS;
      let result: NodeComparison | undefined;
      // A follower may still be applying the tail the quorum already holds: a missing position is retried for a while.
      for (;;) {
        try {
          result = await compareWithNode(url, stream.txs);
        } catch (e) {
          this.out.line(`${url}: cannot compare: ${(e as Error).message}`);
          result = undefined;
        }
        if (result !== undefined && (result.difference === null || result.difference.node !== null)) break;
        if (performance.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      if (result === undefined) continue;
      this.out.line(describeDifference(result));
      results.push(result);
    }
    return { comparisons: results, gaps: stream.gaps.length };
  }
}
