import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Hex, encodeAbiParameters, getAddress, keccak256, parseEther, parseEventLogs, toHex } from "viem";
import { InvalidSeedError, InvalidWeightError, leaderSchedule, weightedOrder } from "../../node/l1/schedule.js";
import { EPOCH_LENGTH, MIN_STAKE, TEST_CONFIG, type RegistryFixture, registryFixture } from "./registry.fixture.js";

const E = (n: number) => parseEther(String(n));
const PARAMS = {
  minStake: TEST_CONFIG.minStake,
  maxActive: TEST_CONFIG.maxActive,
  unbondingPeriod: TEST_CONFIG.unbondingPeriod,
  slashFractionBps: TEST_CONFIG.slashFractionBps,
  reporterShareBps: TEST_CONFIG.reporterShareBps,
};
const expectedSeed = (source: Hex, epoch: bigint) => keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint64" }], [source, epoch]));

/** Asserts that `write` checkpointed `epoch` with seed source `source`. */
async function expectCheckpointed(f: RegistryFixture, write: Promise<Hex>, epoch: bigint, source: Hex) {
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash: await write });
  const [log] = parseEventLogs({ abi: f.registry.abi, logs: receipt.logs, eventName: "Checkpointed" });
  expect(log?.args.epoch).to.equal(epoch);
  expect(log?.args.seedSource).to.equal(source);
}

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
    await registry.write.updatePeer([toHex("moved"), toHex("moved-proof"), ["/ip4/127.0.0.2/tcp/1"]], { account: f.operators[0]! });
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

  it("derives each epoch's seed from the block before it, recorded by its first checkpoint, with a deterministic fallback", async () => {
    const f = await load();
    const { registry, publicClient, networkHelpers } = f;
    await f.register(0, E(200));
    const hashOf = async (block: bigint) => (await publicClient.getBlock({ blockNumber: block })).hash;
    const seedBlockHash = async (epoch: bigint) => hashOf((await registry.read.epochStartBlock([epoch])) - 1n);
    const e = await f.mineToNextEpoch();
    // Before any checkpoint in e, its seed is already the one its checkpoint will record.
    expect(await registry.read.epochSeed([e])).to.equal(expectedSeed(await seedBlockHash(e), e));
    const n = await registry.read.checkpointCount();
    const [, , before] = await registry.read.checkpointAt([n - 1n]);
    // The next epoch's seed block is not mined yet: tentative, the fallback.
    expect(await registry.read.epochSeed([e + 1n])).to.equal(expectedSeed(before, e + 1n));
    await expectCheckpointed(f, registry.write.checkpoint(), e, await seedBlockHash(e));
    expect(await registry.read.epochSeed([e])).to.equal(expectedSeed(await seedBlockHash(e), e));
    // The next epoch's seed is fixed by its own seed block, whether or not anybody checkpoints.
    await f.mineToNextEpoch();
    const next = expectedSeed(await seedBlockHash(e + 1n), e + 1n);
    expect(await registry.read.epochSeed([e + 1n])).to.equal(next);
    await registry.write.checkpoint();
    expect(await registry.read.epochSeed([e + 1n])).to.equal(next);
    // Nobody touches the registry for over SEED_WINDOW blocks: an epoch in between was never
    // checkpointed and its seed block is no longer readable, so it falls back to the source of
    // the latest checkpoint before it (e + 1's), the same for every later reader.
    await networkHelpers.mine(300n);
    const [, , source1] = await registry.read.checkpointAt([n + 1n]);
    const skipped = e + 3n;
    expect(await registry.read.epochSeed([skipped])).to.equal(expectedSeed(source1, skipped));
    await registry.write.checkpoint();
    expect(await registry.read.epochSeed([skipped])).to.equal(expectedSeed(source1, skipped));
    // Epochs up to the deployment use the deployment's source: the hash of the block before it.
    const [, , deploySource] = await registry.read.checkpointAt([0n]);
    expect(deploySource).to.equal(await hashOf(f.deployment.contracts.sequencerRegistry.block - 1n));
    expect(await registry.read.epochSeed([0n])).to.equal(expectedSeed(deploySource, 0n));
  });

  it("records the fallback when an epoch's first checkpoint comes more than SEED_WINDOW blocks in", async () => {
    const f = await load();
    const long = await f.viem.deployContract("SequencerRegistry", [f.deployment.token.address, f.owner, 0n, 300n, 2n, { ...PARAMS, unbondingPeriod: 600n }, f.owner]);
    const [, , deploySource] = await long.read.checkpointAt([0n]);
    const start = await long.read.epochStartBlock([1n]);
    await f.networkHelpers.mine(start + 260n - (await f.publicClient.getBlockNumber()));
    await long.write.checkpoint();
    const [epoch, , source] = await long.read.checkpointAt([1n]);
    expect(epoch).to.equal(1n);
    expect(source).to.equal(deploySource);
    expect(await long.read.epochSeed([1n])).to.equal(expectedSeed(deploySource, 1n));
  });

  it("S10: the first registry mutation of an epoch cannot choose the next epoch's seed", async () => {
    // The attack: a member tries every block of epoch e for its first mutation (its own batch,
    // a top-up) and keeps the one whose resulting next-epoch schedule suits it. The seed of
    // e + 1 must not be knowable at any of those choices.
    const f = await load();
    const { registry, publicClient, networkHelpers } = f;
    for (let i = 0; i < 4; i++) await f.register(i, E(100 + 100 * i));
    const e = await f.mineToNextEpoch();
    const seedBlock = (await registry.read.epochStartBlock([e + 1n])) - 1n;
    for (let wait = 0n; wait < EPOCH_LENGTH - 1n; wait++) {
      const snapshot = await networkHelpers.takeSnapshot();
      await networkHelpers.mine(wait);
      await registry.write.topUp([1n], { account: f.operators[3]! });
      expect(await registry.read.currentEpoch()).to.equal(e);
      const seenWhenActing = await registry.read.epochSeed([e + 1n]);
      await f.mineToNextEpoch();
      const final = await registry.read.epochSeed([e + 1n]);
      // The seed is the hash of the last block of e, mined after every choice made in e...
      expect(final).to.equal(expectedSeed((await publicClient.getBlock({ blockNumber: seedBlock })).hash, e + 1n));
      // ...so what the actor could read when it acted is not it.
      expect(final).to.not.equal(seenWhenActing);
      await snapshot.restore();
    }
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
