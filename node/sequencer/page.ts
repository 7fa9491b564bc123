/**
 * The node's status page (GET /ui/ on the RPC port): a fixed set of files shipped with the node
 * in `page/` (plain HTML, CSS and JavaScript that read the public JSON-RPC), read once at start
 * and served from memory. `npm run build:node` copies them next to the compiled module.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { StaticFile } from "../rpc/index.js";
import { NodeStartError } from "./errors.js";

/** Where the page is served; its own files use absolute `/ui/...` paths. */
export const STATUS_PAGE_PATH = "/ui/";

const PAGE_DIR = path.join(import.meta.dirname, "page");

/** Served path, file in `page/`, content type: nothing else is served. */
const FILES: readonly (readonly [string, string, string])[] = [
  [STATUS_PAGE_PATH, "index.html", "text/html; charset=utf-8"],
  ["/ui/status.js", "status.js", "text/javascript; charset=utf-8"],
  ["/ui/status.css", "status.css", "text/css; charset=utf-8"],
];

/** The page's files by served path. */
export async function loadStatusPage(dir = PAGE_DIR): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for (const [route, name, contentType] of FILES) {
    const file = path.join(dir, name);
    try {
      files.set(route, { contentType, body: await readFile(file) });
    } catch (cause) {
      throw new NodeStartError(`cannot read the status page file ${file}: ${(cause as Error).message} (a compiled node needs \`npm run build:node\`, which copies node/sequencer/page)`, { cause });
    }
  }
  return files;
}
