import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { NodeStartError } from "../../node/sequencer/errors.js";
import { STATUS_PAGE_PATH, loadStatusPage } from "../../node/sequencer/page.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

describe("status page files", () => {
  it("are the page and its script and style, with their content types, and nothing else", async () => {
    const files = await loadStatusPage();
    expect([...files.keys()].sort()).to.deep.equal([STATUS_PAGE_PATH, "/ui/status.css", "/ui/status.js"]);
    expect(files.get(STATUS_PAGE_PATH)!.contentType).to.equal("text/html; charset=utf-8");
    expect(files.get("/ui/status.js")!.contentType).to.equal("text/javascript; charset=utf-8");
    expect(files.get("/ui/status.css")!.contentType).to.equal("text/css; charset=utf-8");
    const html = files.get(STATUS_PAGE_PATH)!.body.toString("utf8");
    // Everything the page loads is one of the served files: it works without any network.
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(loaded.filter((u) => !u.startsWith("data:")).sort()).to.deep.equal(["/ui/status.css", "/ui/status.js"]);
    const page = path.resolve(import.meta.dirname, "../../node/sequencer/page");
    expect(files.get("/ui/status.js")!.body).to.deep.equal(await readFile(path.join(page, "status.js")));
  });

  it("stop the node's start with the missing file named when they are not there (a build without them)", async () => {
    const dir = makeTempDir("seq-page-");
    try {
      const error = await loadStatusPage(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(NodeStartError);
      expect((error as Error).message).to.contain(path.join(dir, "index.html")).and.contain("npm run build:node");
    } finally {
      await removeTempDir(dir);
    }
  });
});
