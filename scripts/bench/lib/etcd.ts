/**
 * The reference side of the benchmark: an etcd cluster of real `etcd` processes on 127.0.0.1
 * (Debian's etcd-server 3.4), each with its own data dir, default fsync and the default
 * 100 ms heartbeat / 1000 ms election timeout, written through the v3 JSON gateway
 * (`POST /v3/kv/put`, base64 key and value).
 */
import { execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { freePort } from "../../lib/devnet.js";
import { signalGroup, spawnChild } from "../../lib/processes.js";
import type { CallResult } from "./load.js";

const INSTALLER = path.resolve(import.meta.dirname, "../../install-etcd.sh");

/** etcd is missing and could not be installed, or a member did not come up. */
export class EtcdError extends Error {
  override readonly name = "EtcdError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The `etcd` binary's version line, or undefined when it is not on PATH. */
function etcdVersion(): string | undefined {
  const r = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n")[0]!.trim() : undefined;
}

/**
 * Makes sure `etcd` is installed (Debian's etcd-server through scripts/install-etcd.sh) and
 * returns its version; throws EtcdError with the installer's output when that fails.
 */
export function ensureEtcd(log: (line: string) => void): string {
  const found = etcdVersion();
  if (found) return found;
  log("etcd is not installed: running scripts/install-etcd.sh (apt-get install etcd-server etcd-client)");
  const r = spawnSync("sh", [INSTALLER], { encoding: "utf8", timeout: 600_000 });
  const installed = etcdVersion();
  if (r.status !== 0 || !installed) {
    const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-5).join("\n");
    throw new EtcdError(`could not install etcd (exit ${r.status ?? r.signal}): ${tail || r.error?.message || "no output"}`);
  }
  return installed;
}

export interface EtcdMember {
  readonly name: string;
  readonly dataDir: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly logFile: string;
  child?: ChildProcess;
  exited?: Promise<void>;
}

export interface EtcdStatus {
  readonly memberId: string;
  readonly leader: string;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly dbSize: number;
}

/** The timeouts etcd runs with here (its defaults), for the report. */
export const ETCD_TIMEOUTS = { heartbeatMs: 100, electionMs: 1000 } as const;

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly initialCluster: string,
    private readonly token: string,
  ) {}

  /** Creates `size` members under `baseDir` (ports picked free) and starts them; resolves once a leader is elected. */
  static async start(baseDir: string, size: number): Promise<EtcdCluster> {
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const dir = path.join(baseDir, `etcd-${i}`);
      await mkdir(dir, { recursive: true });
      members.push({
        name: `m${i}`,
        dataDir: path.join(dir, "data"),
        clientUrl: `http://127.0.0.1:${await freePort()}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        logFile: path.join(dir, "etcd.log"),
      });
    }
    const cluster = new EtcdCluster(members, members.map((m) => `${m.name}=${m.peerUrl}`).join(","), `bench-${randomBytes(4).toString("hex")}`);
    for (let i = 0; i < size; i++) cluster.startMember(i);
    await cluster.leaderIndex(30_000);
    return cluster;
  }

  get urls(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  pid(i: number): number | undefined {
    return this.members[i]!.child?.pid;
  }

  isRunning(i: number): boolean {
    const c = this.members[i]!.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Starts (or restarts, on its existing data dir) member `i`. */
  startMember(i: number): void {
    const m = this.members[i]!;
    if (this.isRunning(i)) throw new EtcdError(`etcd member ${m.name} is already running (pid ${m.child!.pid})`);
    const out = createWriteStream(m.logFile, { flags: "a" });
    // Flags as etcd's own docs start a local cluster; timeouts, fsync and snapshot count stay at their defaults.
    const child = spawnChild(
      "etcd",
      [
        "--name", m.name,
        "--data-dir", m.dataDir,
        "--listen-client-urls", m.clientUrl,
        "--advertise-client-urls", m.clientUrl,
        "--listen-peer-urls", m.peerUrl,
        "--initial-advertise-peer-urls", m.peerUrl,
        "--initial-cluster", this.initialCluster,
        "--initial-cluster-token", this.token,
        "--initial-cluster-state", "new",
        "--logger", "zap",
        "--log-outputs", "stderr",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    if (child.pid === undefined) throw new EtcdError(`could not start etcd member ${m.name}`);
    m.child = child;
    m.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Sends `signal` to member `i` (by its pid) and waits for it to exit (SIGKILL after `graceMs`). */
  async stopMember(i: number, signal: NodeJS.Signals = "SIGKILL", graceMs = 10_000): Promise<void> {
    const m = this.members[i]!;
    if (!this.isRunning(i)) return;
    signalGroup(m.child!, signal);
    const timer = setTimeout(() => signalGroup(m.child!, "SIGKILL"), graceMs);
    await m.exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopMember(i, "SIGTERM")));
  }

  async status(i: number): Promise<EtcdStatus> {
    const r = await postJson(`${this.members[i]!.clientUrl}/v3/maintenance/status`, {});
    const header = r.header as { member_id: string; raft_term?: string };
    return {
      memberId: header.member_id,
      leader: String(r.leader ?? "0"),
      raftIndex: Number(r.raftIndex ?? 0),
      raftTerm: Number(r.raftTerm ?? header.raft_term ?? 0),
      dbSize: Number(r.dbSize ?? 0),
    };
  }

  /** The index of the member all running members agree is the leader (waits up to `timeoutMs`). */
  async leaderIndex(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const running = () => this.members.map((_, i) => i).filter((i) => this.isRunning(i));
    while (Date.now() < deadline) {
      for (const [i, m] of this.members.entries()) {
        if (m.child && !this.isRunning(i) && m.child.signalCode === null) throw new EtcdError(`etcd member ${m.name} exited (${m.child.exitCode}); see ${m.logFile}`);
      }
      try {
        const live = running();
        const s = await Promise.all(live.map((i) => this.status(i)));
        const leader = s[0]!.leader;
        if (leader !== "0" && s.every((x) => x.leader === leader)) {
          const at = s.findIndex((x) => x.memberId === leader);
          if (at >= 0) return live[at]!;
        }
      } catch {
        // Not serving yet.
      }
      await sleep(50);
    }
    throw new EtcdError(`no etcd leader all running members agree on within ${timeoutMs} ms`);
  }

  /** Waits until every running member has applied the same raft index (a restarted member caught up). */
  async settle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const live = this.members.map((_, i) => i).filter((i) => this.isRunning(i));
        const s = await Promise.all(live.map((i) => this.status(i)));
        if (s.every((x) => x.raftIndex === s[0]!.raftIndex && x.leader !== "0")) return;
      } catch {
        // A restarted member is not serving yet.
      }
      await sleep(50);
    }
    throw new EtcdError(`etcd members did not converge on one raft index within ${timeoutMs} ms`);
  }

  /** Hands leadership to member `to` (etcd's move-leader, sent to the current leader). */
  async transferLeadership(from: number, to: number): Promise<void> {
    const target = await this.status(to);
    await postJson(`${this.members[from]!.clientUrl}/v3/maintenance/transfer-leadership`, { targetID: target.memberId });
  }

  /** Compacts the keyspace at the current revision, then defragments every member (etcd's documented maintenance). */
  async compactAndDefrag(): Promise<void> {
    const leader = await this.leaderIndex();
    const r = await postJson(`${this.members[leader]!.clientUrl}/v3/kv/range`, { key: b64("bench/") });
    const revision = (r.header as { revision: string }).revision;
    // Physical: answered once the compaction is done, which takes a while after millions of puts.
    await postJson(`${this.members[leader]!.clientUrl}/v3/kv/compaction`, { revision, physical: true }, 120_000);
    for (const m of this.members) await postJson(`${m.clientUrl}/v3/maintenance/defragment`, {}, 120_000);
  }
}

/**
 * Request bodies for the load: puts of distinct keys (`bench/<n>`) with one `valueBytes`-byte
 * random value, pre-encoded once (the load generator's cost stays the same per request).
 */
export function etcdPutBodies(valueBytes: number): () => { body: string; txs: number } {
  const value = randomBytes(valueBytes).toString("base64");
  let n = 0;
  return () => ({ body: `{"key":"${b64(`bench/${(n++).toString(36).padStart(8, "0")}`)}","value":"${value}"}`, txs: 1 });
}

/** A gateway put answered 200 with a header: committed by a majority and applied on the member. */
export function tallyEtcdReply(status: number, text: string, txs: number): CallResult {
  if (status === 200 && text.includes('"header"')) return { ok: txs, failed: 0 };
  let message = `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as { error?: string; message?: string };
    message = `${message} ${(body.message ?? body.error ?? "").slice(0, 60)}`.trim();
  } catch {
    // Not JSON: the status says enough.
  }
  return { ok: 0, failed: txs, errors: [message] };
}

/** Size in bytes of a directory tree (`du -sb`). */
export function diskBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

function b64(s: string): string {
  return Buffer.from(s).toString("base64");
}

async function postJson(url: string, body: unknown, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (cause) {
    const what = (cause as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (cause as Error).message;
    throw new EtcdError(`POST ${url}: ${what}`, { cause });
  }
  if (!res.ok) throw new EtcdError(`POST ${url} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
