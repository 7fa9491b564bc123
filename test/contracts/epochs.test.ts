import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Hex, encodeAbiParameters, getAddress, keccak256, parseEther, toHex } from "viem";
import { InvalidSeedError, InvalidWeightError, leaderSchedule, weightedOrder } from "../../node/l1/schedule.js";
import { MIN_STAKE, type RegistryFixture, registryFixture } from "./registry.fixture.js";

const E = (n: number) => parseEther(String(n));

/** The leader schedule of `epoch` as a node computes it from registry reads. */
async function scheduleOffChain(f: RegistryFixture, epoch: bigint) {
  const [operators, stakes] = await f.registry.read.activeStakes([epoch]);
  const seed = await f.registry.read.epochSeed([epoch]);
  return leaderSchedule(
    seed,
    operators.map((operator, i) => ({ operator, stake: stakes[i]! })),
  ).map((m) => m.operator);
}

async function activeOperators(f: RegistryFixture, epoch: bigint) {
  return (await f.registry.read.activeSet([epoch])).map((m) => [m.operator, m.stake] as const);
}

describe("SequencerRegistry: epochs, frozen active sets, leader schedule", () => {
  let connection: NetworkConnection;
  before(async () => {
    connection = await network.create();
  });
  const load = () => connection.networkHelpers.loadFixture(registryFixture);

  it("freezes an epoch's set and schedule: mid-epoch changes show from the next epoch", async () => {
    const f = await load();
    const { registry, operators: ops } = f;
    await f.register(0, E(200));
    await f.register(1, E(300));
    await f.register(2, E(400));
    const epoch = await f.mineToNextEpoch();
    const frozenSet = await activeOperators(f, epoch);
    const frozenSchedule = await registry.read.leaderSchedule([epoch]);
    const frozenSeed = await registry.read.epochSeed([epoch]);
    expect(frozenSet).to.deep.equal([
      [getAddress(ops[2]!), E(400)],
      [getAddress(ops[1]!), E(300)],
      [getAddress(ops[0]!), E(200)],
    ]);

    await registry.write.topUp([E(1000)], { account: ops[0]! });
    await registry.write.requestUnstake([E(250)], { account: ops[2]! });
    await f.register(3, E(600));
    expect(await registry.read.currentEpoch()).to.equal(epoch);
    expect(await activeOperators(f, epoch)).to.deep.equal(frozenSet);
    expect(await registry.read.leaderSchedule([epoch])).to.deep.equal(frozenSchedule);
    expect(await registry.read.epochSeed([epoch])).to.equal(frozenSeed);

    const expectedNext = [
      [getAddress(ops[0]!), E(1200)],
      [getAddress(ops[3]!), E(600)],
      [getAddress(ops[1]!), E(300)],
    ];
    expect(await activeOperators(f, epoch + 1n)).to.deep.equal(expectedNext);
    await f.mineToNextEpoch();
    expect(await activeOperators(f, epoch + 1n)).to.deep.equal(expectedNext);
    expect(await activeOperators(f, epoch)).to.deep.equal(frozenSet);
    const frozenSigners = await Promise.all(frozenSet.map(async ([op]) => (await registry.read.operatorInfo([op])).signer));
    expect(await registry.read.activeSigners([epoch])).to.deep.equal(frozenSigners);
  });

  it("ranks by stake, then registration order, caps at maxActive and filters by minStake", async () => {
    const f = await load();
    const { registry, operators: ops } = f;
    const stakes = [E(200), E(300), E(300), E(100), E(500)];
    for (let i = 0; i < stakes.length; i++) await f.register(i, stakes[i]);
    let epoch = await f.mineToNextEpoch();
    expect((await activeOperators(f, epoch)).map(([op]) => op)).to.deep.equal([ops[4], ops[1], ops[2]].map((a) => getAddress(a!)));

    await registry.write.setMaxActive([4n]);
    // Governance changes, too, wait for the next epoch.
    expect((await activeOperators(f, epoch)).length).to.equal(3);
    epoch = await f.mineToNextEpoch();
    expect((await activeOperators(f, epoch)).map(([op]) => op)).to.deep.equal(
      [ops[4], ops[1], ops[2], ops[0]].map((a) => getAddress(a!)),
    );

    await registry.write.setMinStake([E(250)]);
    epoch = await f.mineToNextEpoch();
    expect((await activeOperators(f, epoch)).map(([op]) => op)).to.deep.equal([ops[4], ops[1], ops[2]].map((a) => getAddress(a!)));

    // Shrinking the cap drops the weakest; raising it back restores them in order.
    await registry.write.setMinStake([1n]);
    await registry.write.setMaxActive([1n]);
    epoch = await f.mineToNextEpoch();
    expect((await activeOperators(f, epoch)).map(([op]) => op)).to.deep.equal([getAddress(ops[4]!)]);
    await registry.write.setMaxActive([100n]);
    epoch = await f.mineToNextEpoch();
    expect((await activeOperators(f, epoch)).map(([op]) => op)).to.deep.equal(
      [ops[4], ops[1], ops[2], ops[0], ops[3]].map((a) => getAddress(a!)),
    );
  });

  it("a slashed operator stays in the current epoch's set and leaves from the next", async () => {
    const f = await load();
    await f.register(0, E(200));
    await f.register(1, E(300));
    const epoch = await f.mineToNextEpoch();
    await f.slashAs(f.operators[1]!);
    expect((await activeOperators(f, epoch)).map(([op]) => op)).to.deep.equal(
      [f.operators[1], f.operators[0]].map((a) => getAddress(a!)),
    );
    expect((await activeOperators(f, epoch + 1n)).map(([op]) => op)).to.deep.equal([getAddress(f.operators[0]!)]);
    expect(await f.registry.read.leaderSchedule([epoch])).to.have.length(2);
  });

  it("resolves epochs without a checkpoint to the next checkpoint and refuses the undetermined future", async () => {
    const f = await load();
    const { registry } = f;
    await f.register(0, E(200));
    const first = await f.mineToNextEpoch();
    await f.networkHelpers.mine(30n); // three quiet epochs
    const mutated = await f.mineToNextEpoch();
    expect(await registry.read.hasCheckpoint([mutated])).to.equal(false);
    await f.register(1, E(300));
    expect(await registry.read.hasCheckpoint([mutated])).to.equal(true);
    for (let e = first; e <= mutated; e++) {
      expect(await registry.read.hasCheckpoint([e])).to.equal(e === mutated);
      expect((await activeOperators(f, e)).map(([op]) => op)).to.deep.equal([getAddress(f.operators[0]!)]);
    }
    expect(await activeOperators(f, mutated + 1n)).to.have.length(2);
    await f.viem.assertions.revertWithCustomErrorWithArgs(
      registry.read.activeSet([mutated + 2n]),
      registry,
      "EpochNotDetermined",
      [mutated + 2n, mutated + 1n],
    );
    for (const read of [registry.read.activeSigners, registry.read.leaderSchedule, registry.read.epochSeed]) {
      await f.viem.assertions.revertWithCustomError(read([mutated + 2n]), registry, "EpochNotDetermined");
    }
    // Epochs before the deployment resolve to the deployment checkpoint: empty.
    expect(await registry.read.activeSet([0n])).to.deep.equal([]);
  });

  it("checkpoints once per epoch and reuses the snapshot when the ranking did not change", async () => {
    const f = await load();
    const { registry, viem } = f;
    await f.register(0, E(200));
    const e1 = await f.mineToNextEpoch();
    await viem.assertions.emit(registry.write.checkpoint(), registry, "Checkpointed");
    const count = await registry.read.checkpointCount();
    const [epochA, snapA] = await registry.read.checkpointAt([count - 1n]);
    expect(epochA).to.equal(e1);
    // A second call in the same epoch records nothing.
    await registry.write.checkpoint();
    expect(await registry.read.checkpointCount()).to.equal(count);
    // A mutation outside the top set (peer data) leaves the next snapshot shared.
    await registry.write.updatePeer([toHex("moved"), ["/ip4/127.0.0.2/tcp/1"]], { account: f.operators[0]! });
    const e2 = await f.mineToNextEpoch();
    await registry.write.checkpoint();
    const [epochB, snapB] = await registry.read.checkpointAt([count]);
    expect([epochB, snapB]).to.deep.equal([e2, snapA]);
    // A stake change makes the next checkpoint store a new snapshot.
    await registry.write.topUp([1n], { account: f.operators[0]! });
    const e3 = await f.mineToNextEpoch();
    await registry.write.checkpoint();
    const [epochC, snapC] = await registry.read.checkpointAt([count + 1n]);
    expect([epochC, snapC]).to.deep.equal([e3, snapA + 1n]);
  });

  it("derives each seed from the prevrandao of the latest checkpoint before the epoch", async () => {
    const f = await load();
    const { registry } = f;
    await f.register(0, E(200));
    const seedOf = (randao: Hex, epoch: bigint) =>
      keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint64" }], [randao, epoch]));
    const e = await f.mineToNextEpoch();
    // No checkpoint in e yet: seed(e + 1) is tentative, from the registration's checkpoint.
    const n = await registry.read.checkpointCount();
    const [, , earlierRandao] = await registry.read.checkpointAt([n - 1n]);
    expect(await registry.read.epochSeed([e + 1n])).to.equal(seedOf(earlierRandao, e + 1n));
    expect(await registry.read.epochSeed([e])).to.equal(seedOf(earlierRandao, e));
    await registry.write.checkpoint();
    const [cpEpoch, , randao] = await registry.read.checkpointAt([n]);
    expect(cpEpoch).to.equal(e);
    const next = seedOf(randao, e + 1n);
    expect(await registry.read.epochSeed([e + 1n])).to.equal(next);
    // The current epoch's own checkpoint does not change its seed.
    expect(await registry.read.epochSeed([e])).to.equal(seedOf(earlierRandao, e));
    await f.mineToNextEpoch();
    await registry.write.checkpoint();
    expect(await registry.read.epochSeed([e + 1n])).to.equal(next);
    // Epochs up to the deployment use the deployment's prevrandao.
    const [, , deployRandao] = await registry.read.checkpointAt([0n]);
    expect(await registry.read.epochSeed([0n])).to.equal(seedOf(deployRandao, 0n));
  });

  it("computes the same schedule for every reader, matching node/l1/schedule.ts", async () => {
    const f = await load();
    const { registry, operators: ops } = f;
    await registry.write.setMaxActive([10n]);
    for (let i = 0; i < 10; i++) await f.register(i, E(100 + 37 * ((i * 7) % 10)));
    const otherReader = await f.viem.getContractAt("SequencerRegistry", registry.address, {
      client: { wallet: (await f.viem.getWalletClients())[5]! },
    });
    for (let k = 0; k < 5; k++) {
      const epoch = await f.mineToNextEpoch();
      await registry.write.topUp([E(k * 11 + 1)], { account: ops[k]! });
      const onChain = await registry.read.leaderSchedule([epoch]);
      expect(onChain).to.have.length(10);
      expect(new Set(onChain).size).to.equal(10);
      expect(await otherReader.read.leaderSchedule([epoch])).to.deep.equal(onChain);
      expect(await registry.read.leaderSchedule([epoch])).to.deep.equal(onChain);
      expect(await scheduleOffChain(f, epoch)).to.deep.equal(onChain);
      // The tentative next epoch matches too.
      expect(await scheduleOffChain(f, epoch + 1n)).to.deep.equal(await registry.read.leaderSchedule([epoch + 1n]));
    }
  });
});

describe("node/l1/schedule.ts", () => {
  const seedOf = (i: number) => keccak256(toHex(`seed-${i}`));

  it("returns a permutation, and is deterministic", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 24n }), { minLength: 0, maxLength: 30 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (weights, s) => {
          const order = weightedOrder(seedOf(s), weights);
          expect([...order].sort((a, b) => a - b)).to.deep.equal(weights.map((_, i) => i));
          expect(weightedOrder(seedOf(s), weights)).to.deep.equal(order);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("picks the primary in proportion to stake", () => {
    const weights = [MIN_STAKE, MIN_STAKE * 3n];
    let heavyFirst = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) if (weightedOrder(seedOf(i), weights)[0] === 1) heavyFirst++;
    // Expected 3000, standard deviation ~27: +-150 is over 5 sigma.
    expect(heavyFirst).to.be.within(2850, 3150);
  });

  it("rejects non-positive weights and malformed seeds", () => {
    expect(() => weightedOrder(seedOf(0), [1n, 0n])).to.throw(InvalidWeightError, /index 1/);
    expect(() => weightedOrder("0x1234", [1n])).to.throw(InvalidSeedError);
  });
});
