/**
 * `npm run seq`: the seq CLI from the compiled dist/ (`npm run build:node`) when it is at least as
 * new as every source file under node/, which starts several times faster than through a
 * TypeScript loader; else from the sources through tsx, as before. Plain JavaScript, so that Node
 * runs it without a loader. LOG_LEVEL=debug says which one runs.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
const compiled = path.join(root, "dist/node/cli/main.js");

/** Whether every node/**\/*.ts has its dist/**\/*.js (and every status page file its copy) no older than itself. */
function compiledIsCurrent() {
  if (!existsSync(compiled)) return false;
  const pending = [path.join(root, "node")];
  while (pending.length > 0) {
    const dir = pending.pop();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const source = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        pending.push(source);
        continue;
      }
      const relative = path.relative(root, source);
      const page = relative.startsWith(path.join("node", "sequencer", "page") + path.sep);
      if (!page && !(entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))) continue;
      const output = path.join(root, "dist", page ? relative : relative.replace(/\.ts$/, ".js"));
      if (!existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs) return false;
    }
  }
  return true;
}

const current = compiledIsCurrent();
if (process.env.LOG_LEVEL === "debug") console.error(`seq: running ${current ? compiled : "node/cli/main.ts through tsx (dist/ is missing or older than node/: npm run build:node)"}`);
if (current) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(path.join(root, "node/cli/main.ts")).href);
}
