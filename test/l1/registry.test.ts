/** RegistryReader on a real chain: the operator standing the node exports as `seq_operator_jailed`. */
import { expect } from "chai";
import { network } from "hardhat";
import type { PublicClient } from "viem";
import { RegistryReader } from "../../node/l1/registry.js";
import { registryFixture } from "../contracts/registry.fixture.js";

describe("RegistryReader.operatorJailed", function () {
  this.timeout(60_000);

  it("is false for a registered operator and true from the block of its slash on", async () => {
    const connection = await network.create();
    try {
      const { publicClient, registry, operators, outsider, register, slashAs } = await registryFixture(connection);
      const reader = new RegistryReader(publicClient as unknown as PublicClient, registry.address, await publicClient.getChainId());
      await register(0);
      await register(1);
      expect(await reader.operatorJailed(operators[0]!)).to.equal(false);
      expect(await reader.operatorJailed(outsider), "never registered").to.equal(false);

      const before = await publicClient.getBlockNumber();
      await slashAs(operators[0]!);
      expect(await reader.operatorJailed(operators[0]!)).to.equal(true);
      expect(await reader.operatorJailed(operators[0]!, before), "read at a block before the slash").to.equal(false);
      expect(await reader.operatorJailed(operators[1]!), "another operator").to.equal(false);
    } finally {
      await connection.close();
    }
  });
});
