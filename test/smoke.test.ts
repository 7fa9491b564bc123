import { expect } from "chai";
import { network } from "hardhat";
describe("smoke", () => {
  it("deploys", async () => {
    const { viem } = await network.create();
    const c = await viem.deployContract("Smoke");
    await c.write.set([5n]);
    expect(await c.read.x()).to.equal(5n);
  });
});
