/**
 * CPU time and resident memory of other processes, from Linux `/proc/<pid>/stat`
 * (utime + stime in clock ticks, rss in pages).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** /proc is not readable for this process (not Linux, or it has exited). */
export class ProcStatError extends Error {
  override readonly name = "ProcStatError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function sysconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

const CLK_TCK = sysconf("CLK_TCK", 100);
const PAGE_SIZE = sysconf("PAGESIZE", 4096);

export interface ProcSample {
  /** utime + stime of the process (not its children), seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

export function sampleProcess(pid: number): ProcSample {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (cause) {
    throw new ProcStatError(`cannot read /proc/${pid}/stat: ${(cause as Error).message}`, { cause });
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime 15, rss 24.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: (utime + stime) / CLK_TCK, rssBytes: rssPages * PAGE_SIZE };
}

/** This process's own CPU (user + system), seconds. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
