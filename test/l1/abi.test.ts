import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { ABI_MODULE_PATH, renderAbiModule } from "../../scripts/lib/abi-export.js";

describe("node/l1/generated/abi.ts", () => {
  it("matches the compiled contracts (run `npm run abi` after changing a contract)", async () => {
    const committed = await readFile(ABI_MODULE_PATH, "utf8");
    expect(committed === (await renderAbiModule(process.cwd())), "node/l1/generated/abi.ts is stale: run `npm run abi`").to.equal(true);
  });
});
