/** The layer order of CONTRIBUTING.md, enforced: dependency-cruiser over the whole tree (`npm run arch`). */
import { expect } from "chai";
import path from "node:path";
import { runChild } from "../scripts/lib/processes.js";

const REPO_ROOT = path.resolve(import.meta.dirname, "..");

describe("architecture", function () {
  this.timeout(120_000);

  it("has no upward import between node's layers, no cycle, and no import of test/ from node/, scripts/ or sim/", async () => {
    const run = await runChild("npx", ["depcruise", "node", "scripts", "sim", "test", "--config", ".dependency-cruiser.cjs"], { cwd: REPO_ROOT, timeoutMs: 110_000 });
    expect(run.code, `${run.stdout}${run.stderr}`).to.equal(0);
    expect(run.stdout).to.contain("no dependency violations found");
  });
});
