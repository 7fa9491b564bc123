/**
 * Child processes and temp dirs that cannot outlive the process that made them.
 *
 * Every child starts in its own process group (signals reach all it started) and is registered
 * with one reaper per parent (`reaper.ts`): a detached process that SIGKILLs the registered groups
 * and removes the registered directories as soon as its stdin closes, which the kernel does on
 * every exit of the parent, a crash or a SIGKILL included. On an ordinary exit the parent also
 * kills what is left synchronously.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Writable } from "node:stream";

const REAPER = path.join(import.meta.dirname, "reaper.ts");

const live = new Set<number>();
const dirs = new Set<string>();
let reaper: Writable | undefined;

function tell(line: string): void {
  if (reaper === undefined) {
    const child = spawn(process.execPath, [REAPER], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    child.unref();
    const stdin = child.stdin!;
    // The pipe must not keep this process alive, and a dead reaper must not crash it.
    (stdin as unknown as { unref?: () => void }).unref?.();
    stdin.on("error", () => undefined);
    reaper = stdin;
    process.once("exit", killAllSync);
  }
  reaper.write(`${line}\n`);
}

/** SIGKILLs every live child group and removes the registered dirs (an `exit` handler: synchronous only). */
function killAllSync(): void {
  for (const pgid of live) signalGroupId(pgid, "SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function signalGroupId(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * `spawn` in a new process group, registered with the reaper until it exits. Use
 * {@link signalGroup} to signal it (and whatever it started).
 */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  const pid = child.pid;
  if (pid === undefined) return child; // spawn failed: its 'error' event says why
  live.add(pid);
  tell(`pid ${pid}`);
  child.once("exit", () => {
    live.delete(pid);
    tell(`unpid ${pid}`);
  });
  return child;
}

const HOG = "let x = 0; for (;;) x = (x * 1103515245 + 12345) >>> 0;";

/**
 * Starts `count` CPU-bound processes (each keeps one core busy, as other tenants of a shared host
 * do); they go with this process however it ends. Stop them with {@link signalGroup}.
 */
export function startCpuHogs(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawnChild(process.execPath, ["-e", HOG], { stdio: "ignore" }));
}

/** Sends `signal` to the child's process group; false when it is already gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  return signalGroupId(child.pid, signal);
}

export type RunResult = { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string; readonly stderr: string; readonly timedOut: boolean };

/** Runs a command to its end (SIGKILL of its group after `timeoutMs`), collecting its output. */
export function runChild(command: string, args: readonly string[], options: SpawnOptions & { readonly timeoutMs?: number } = {}): Promise<RunResult> {
  const { timeoutMs = 60_000, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawnChild(command, args, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, "SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A fresh temp dir that the reaper removes if this process dies before {@link removeTempDir}. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.add(dir);
  tell(`dir ${dir}`);
  return dir;
}

/** Removes a dir made by {@link makeTempDir} (or any dir) and forgets it. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  if (dirs.delete(dir)) tell(`undir ${dir}`);
}

/** Forgets a dir made by {@link makeTempDir} without removing it (kept for a look after the run). */
export function keepTempDir(dir: string): void {
  if (dirs.delete(dir)) tell(`undir ${dir}`);
}

/** Whether a process with this pid exists (one owned by another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
