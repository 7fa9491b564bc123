/**
 * The reaper: a tiny detached process that outlives its parent by a moment. The parent writes
 * `pid N`, `unpid N`, `dir PATH` and `undir PATH` lines to its stdin; when stdin ends (the parent
 * exited, crashed or was SIGKILLed: the kernel closes the pipe in every case) it SIGKILLs every
 * registered process group and removes every registered directory, then exits.
 *
 * Run by `scripts/lib/processes.ts` with plain Node (type stripping, no loader): erasable syntax only.
 */
import { rmSync } from "node:fs";

const groups = new Set<number>();
const dirs = new Set<string>();
let pending = "";

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const space = line.indexOf(" ");
    const verb = line.slice(0, space);
    const arg = line.slice(space + 1);
    if (verb === "pid") groups.add(Number(arg));
    else if (verb === "unpid") groups.delete(Number(arg));
    else if (verb === "dir") dirs.add(arg);
    else if (verb === "undir") dirs.delete(arg);
  }
});
process.stdin.on("end", reap);
process.stdin.on("error", reap);
// Signals meant for the parent's terminal or group must not stop the reaper before it reaps.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);

function reap(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Nothing more to do.
    }
  }
  process.exit(0);
}
