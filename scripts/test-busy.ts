/**
 * `npm run test:busy [-- <files or mocha options>]`: the test suite while two CPU-bound processes
 * keep both cores of this machine busy, as other tenants do on a shared CI host. Exits with the
 * suite's exit code; the hogs go with this process however it ends (`processes.ts`).
 */
import { cpus } from "node:os";
import path from "node:path";
import { signalGroup, spawnChild, startCpuHogs } from "./lib/processes.js";

const REPO_ROOT = path.resolve(import.meta.dirname, "..");

const hogCount = Math.max(2, cpus().length);
const hogs = startCpuHogs(hogCount);
console.log(`test:busy: ${hogCount} CPU-bound processes (pids ${hogs.map((h) => h.pid).join(", ")}) keep every core busy during the suite`);

// `npm test`, so its pretest (system dependencies) runs too.
const suite = spawnChild("npm", ["test", "--", ...process.argv.slice(2)], { cwd: REPO_ROOT, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => signalGroup(suite, signal));
const code = await new Promise<number>((resolve) => suite.once("exit", (c, s) => resolve(c ?? (s ? 128 : 1))));
for (const hog of hogs) signalGroup(hog, "SIGKILL");
console.log(`test:busy: suite exited with ${code}`);
process.exit(code);
