/**
 * The nemesis proper: faults drawn one after another from a seeded schedule and applied to the
 * real cluster, each recorded (start and end) in the history. Targets are drawn from the same
 * seed, among what is true at that moment (who leads, who is up); the leader is preferred,
 * because that is where a fault hurts.
 */
import { Prng } from "../../sim/prng.js";
import { type NemesisCluster, sleep } from "./cluster.js";
import type { History } from "./history.js";

export const FAULT_KINDS = ["kill", "pause", "partition", "degrade", "slow-disk", "l1-outage", "crash-majority"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Relative frequency of each fault. */
const WEIGHTS: Readonly<Record<FaultKind, number>> = { kill: 3, pause: 2, partition: 3, degrade: 2, "slow-disk": 2, "l1-outage": 2, "crash-majority": 1 };

export type NemesisTiming = {
  /** How long a fault is held, ms (uniform in [min, max]). */
  readonly holdMs: readonly [number, number];
  /** L1 outages are held longer: the batcher and the L1 follower must ride them out. */
  readonly l1OutageMs: readonly [number, number];
  /** Quiet time between two faults, ms. */
  readonly gapMs: readonly [number, number];
};

export class Nemesis {
  private nextId = 1;

  constructor(
    private readonly cluster: NemesisCluster,
    private readonly history: History,
    private readonly prng: Prng,
    private readonly timing: NemesisTiming,
  ) {}

  /** Draws the next fault, applies it, holds it, heals it. */
  async runOne(): Promise<FaultKind> {
    const kind = this.draw();
    await this[kindMethod[kind]]();
    return kind;
  }

  /** Quiet time before the next fault. */
  async gap(): Promise<void> {
    await sleep(this.range(this.timing.gapMs));
  }

  private draw(): FaultKind {
    const total = FAULT_KINDS.reduce((s, k) => s + WEIGHTS[k], 0);
    let r = this.prng.float() * total;
    for (const k of FAULT_KINDS) {
      r -= WEIGHTS[k];
      if (r < 0) return k;
    }
    return FAULT_KINDS.at(-1)!;
  }

  private range([lo, hi]: readonly [number, number]): number {
    return this.prng.range(lo, hi);
  }

  private start(fault: FaultKind, detail: string): number {
    const id = this.nextId++;
    this.history.add({ kind: "nemesis", id, fault, phase: "start", detail });
    return id;
  }

  private end(id: number, fault: FaultKind, detail: string): void {
    this.history.add({ kind: "nemesis", id, fault, phase: "end", detail });
  }

  /** The leader with probability `p` when there is one, else a random running node. */
  private async target(p: number): Promise<{ node: number; leader: boolean } | undefined> {
    const leader = await this.cluster.leader();
    if (leader !== undefined && this.prng.chance(p)) return { node: leader, leader: true };
    const running = this.cluster.running();
    if (running.length === 0) return undefined;
    const node = this.prng.pick(running);
    return { node, leader: node === leader };
  }

  private async restart(nodes: readonly number[]): Promise<string> {
    const results = await Promise.allSettled(nodes.map((i) => this.cluster.restart(i)));
    const failed = results.flatMap((r, k) => (r.status === "rejected" ? [`node-${nodes[k]} (${(r.reason as Error).message})`] : []));
    return failed.length === 0 ? `restarted ${nodes.map((i) => `node-${i}`).join(", ")}` : `could not restart ${failed.join(", ")}`;
  }

  async kill(): Promise<void> {
    const t = await this.target(0.7);
    if (t === undefined) return;
    const id = this.start("kill", `SIGKILL node-${t.node}${t.leader ? " (leader)" : ""}`);
    await this.cluster.kill(t.node);
    await sleep(this.range(this.timing.holdMs));
    this.end(id, "kill", await this.restart([t.node]));
  }

  async crashMajority(): Promise<void> {
    const leader = await this.cluster.leader();
    const majority = Math.floor(this.cluster.size / 2) + 1;
    const others = this.prng.shuffle(this.cluster.running().filter((i) => i !== leader));
    const victims = [...(leader === undefined ? [] : [leader]), ...others].slice(0, majority).sort((a, b) => a - b);
    const id = this.start("crash-majority", `SIGKILL ${victims.map((i) => `node-${i}`).join(", ")} at once${leader === undefined ? "" : ` (leader node-${leader})`}`);
    await Promise.all(victims.map((i) => this.cluster.kill(i)));
    await sleep(this.range(this.timing.holdMs));
    this.end(id, "crash-majority", await this.restart(victims));
  }

  async pause(): Promise<void> {
    const t = await this.target(0.8);
    if (t === undefined) return;
    const id = this.start("pause", `SIGSTOP node-${t.node}${t.leader ? " (leader)" : ""}`);
    this.cluster.pause(t.node);
    await sleep(this.range(this.timing.holdMs));
    this.cluster.resume(t.node);
    this.end(id, "pause", `SIGCONT node-${t.node}`);
  }

  async partition(): Promise<void> {
    const all = Array.from({ length: this.cluster.size }, (_, i) => i);
    const leader = await this.cluster.leader();
    const shape = this.prng.pick(["isolate-leader", "leader-in-minority", "random-halves"] as const);
    let minority: number[];
    if (shape !== "random-halves" && leader !== undefined) {
      const rest = this.prng.shuffle(all.filter((i) => i !== leader));
      minority = shape === "isolate-leader" ? [leader] : [leader, rest[0]!];
    } else {
      minority = this.prng.shuffle([...all]).slice(0, Math.floor(this.cluster.size / 2));
    }
    const majority = all.filter((i) => !minority.includes(i));
    const names = (g: number[]) => `{${[...g].sort((a, b) => a - b).map((i) => `node-${i}`).join(", ")}}`;
    const id = this.start("partition", `${shape}: ${names(minority)} | ${names(majority)}${leader === undefined ? "" : ` (leader node-${leader})`}`);
    await this.cluster.partition(minority, majority);
    await sleep(this.range(this.timing.holdMs));
    await this.cluster.resetFaults();
    this.end(id, "partition", "healed");
  }

  async degrade(): Promise<void> {
    const count = this.prng.range(1, Math.max(1, this.cluster.size - 2));
    const nodes = this.prng.shuffle(this.cluster.running()).slice(0, count).sort((a, b) => a - b);
    if (nodes.length === 0) return;
    const settings = nodes.map((i) => ({ i, drop: this.prng.range(5, 35) / 100, delay: this.prng.range(5, 120) }));
    const id = this.start("degrade", settings.map((s) => `node-${s.i} drops ${Math.round(s.drop * 100)}% and delays ${s.delay} ms of its outbound Raft messages`).join("; "));
    for (const s of settings) {
      const peers = Array.from({ length: this.cluster.size }, (_, j) => j).filter((j) => j !== s.i).map((j) => this.cluster.peerId(j));
      await this.cluster.control(s.i, { op: "drop", peers, probability: s.drop });
      await this.cluster.control(s.i, { op: "delay", peers, ms: s.delay });
    }
    await sleep(this.range(this.timing.holdMs));
    await this.cluster.resetFaults();
    this.end(id, "degrade", "links restored");
  }

  async slowDisk(): Promise<void> {
    const leader = await this.cluster.leader();
    const others = this.prng.shuffle(this.cluster.running().filter((i) => i !== leader));
    const nodes = [...(leader === undefined ? [] : [leader]), ...others].slice(0, this.prng.range(1, 2));
    if (nodes.length === 0) return;
    const ms = this.prng.range(20, 250);
    const id = this.start("slow-disk", `every synced Raft write of ${nodes.map((i) => `node-${i}${i === leader ? " (leader)" : ""}`).join(", ")} takes ${ms} ms longer`);
    await Promise.all(nodes.map((i) => this.cluster.control(i, { op: "slow-disk", ms })));
    await sleep(this.range(this.timing.holdMs));
    await this.cluster.resetFaults();
    this.end(id, "slow-disk", "disk speed restored");
  }

  async l1Outage(): Promise<void> {
    const mode = this.prng.pick(["reset", "hang"] as const);
    const id = this.start("l1-outage", mode === "reset" ? "L1 RPC refuses every connection" : "L1 RPC accepts requests and never answers");
    this.cluster.proxy.cut(mode);
    await sleep(this.range(this.timing.l1OutageMs));
    this.cluster.proxy.restore();
    this.end(id, "l1-outage", "L1 RPC back");
  }
}

const kindMethod = {
  kill: "kill",
  pause: "pause",
  partition: "partition",
  degrade: "degrade",
  "slow-disk": "slowDisk",
  "l1-outage": "l1Outage",
  "crash-majority": "crashMajority",
} as const satisfies Record<FaultKind, keyof Nemesis>;
