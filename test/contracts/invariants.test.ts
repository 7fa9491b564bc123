/**
 * Random operation sequences against the registry (fast-check). After every step:
 *  - accounting: the registry's token balance == sum(active) + sum(unbonding), where unbonding
 *    includes matured-but-not-withdrawn entries, and the totals match per-operator sums;
 *  - ranking: the live (next-epoch) active set equals the definition computed naively from
 *    per-operator state (registered, unjailed, stake >= minStake, largest first, ties by
 *    registration id, at most maxActive), which checks the incremental heaps;
 *  - freezing: an epoch's set, once the epoch started, never changes, and equals the last
 *    tentative set observed before it began.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, getAddress, parseEther } from "viem";
import { type RegistryFixture, registryFixture } from "./registry.fixture.js";

const OPERATORS = 6;
const E = (n: number) => parseEther(String(n));

type Action =
  | { kind: "register"; op: number; stake: number }
  | { kind: "topUp"; op: number; amount: number }
  | { kind: "unstake"; op: number; percent: number }
  | { kind: "withdraw"; op: number }
  | { kind: "exit"; op: number }
  | { kind: "slash"; op: number }
  | { kind: "mine"; blocks: number }
  | { kind: "maxActive"; value: number }
  | { kind: "minStake"; value: number };

const op = fc.integer({ min: 0, max: OPERATORS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("register" as const), op, stake: fc.constantFrom(100, 150, 200, 300) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("topUp" as const), op, amount: fc.constantFrom(1, 50, 100) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("unstake" as const), op, percent: fc.constantFrom(10, 50, 100) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), op }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("exit" as const), op }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("slash" as const), op }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("mine" as const), blocks: fc.constantFrom(1, 4, 10, 27) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("maxActive" as const), value: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("minStake" as const), value: fc.constantFrom(50, 100, 150) }) },
);

async function apply(f: RegistryFixture, a: Action): Promise<void> {
  const { registry } = f;
  const account = "op" in a ? f.operators[a.op]! : undefined;
  try {
    switch (a.kind) {
      case "register":
        await f.register(a.op, E(a.stake));
        return;
      case "topUp":
        await registry.write.topUp([E(a.amount)], { account });
        return;
      case "unstake": {
        const active = (await registry.read.operatorInfo([account!])).activeStake;
        await registry.write.requestUnstake([(active * BigInt(a.percent)) / 100n], { account });
        return;
      }
      case "withdraw":
        await registry.write.withdraw({ account });
        return;
      case "exit":
        await registry.write.exit({ account });
        return;
      case "slash":
        await f.slashAs(account!);
        return;
      case "mine":
        await f.networkHelpers.mine(a.blocks);
        return;
      case "maxActive":
        await registry.write.setMaxActive([BigInt(a.value)]);
        return;
      case "minStake":
        await registry.write.setMinStake([E(a.value)]);
        return;
    }
  } catch (error) {
    // Refusals are part of the game (not registered, nothing to withdraw, ...), but only these:
    // anything else, such as the ranking library's internal errors, means broken state.
    const name = /reverted with custom error '(\w+)\(/.exec(String((error as Error).message))?.[1];
    if (name === undefined || !EXPECTED_REFUSALS.has(name)) throw error;
  }
}

/** Registry refusals a random sequence of user actions legitimately runs into. */
const EXPECTED_REFUSALS = new Set([
  "NotRegistered",
  "AlreadyRegistered",
  "OperatorIsJailed",
  "OperatorIsExiting",
  "UnknownOperator",
  "StakeBelowMinimum",
  "StakeTooLarge",
  "InsufficientStake",
  "NothingToWithdraw",
  "ZeroAmount",
  "ParameterOutOfBounds",
  "SignerTaken",
]);

type State = { lastLive?: { epoch: bigint; set: string }; frozen: Map<bigint, string> };

async function checkInvariants(f: RegistryFixture, state: State): Promise<void> {
  const { registry, token } = f;
  const [balance, totalActive, totalUnbonding, minStake, maxActive, epoch] = await Promise.all([
    token.read.balanceOf([registry.address]),
    registry.read.totalActiveStake(),
    registry.read.totalUnbonding(),
    registry.read.minStake(),
    registry.read.maxActive(),
    registry.read.currentEpoch(),
  ]);
  const infos = await Promise.all(f.operators.slice(0, OPERATORS).map((o) => registry.read.operatorInfo([o])));
  const entries = await Promise.all(f.operators.slice(0, OPERATORS).map((o) => registry.read.unbondingEntries([o])));

  let sumActive = 0n;
  let sumUnbonding = 0n;
  infos.forEach((info, i) => {
    sumActive += info.activeStake;
    sumUnbonding += info.unbonding;
    expect(entries[i]!.reduce((s, e) => s + e.amount, 0n), "entries sum to unbonding").to.equal(info.unbonding);
    expect(info.withdrawable <= info.unbonding).to.equal(true);
    if (!info.registered) expect(info.activeStake + info.unbonding, "deregistered operators hold nothing").to.equal(0n);
  });
  expect(totalActive, "totalActiveStake").to.equal(sumActive);
  expect(totalUnbonding, "totalUnbonding").to.equal(sumUnbonding);
  expect(balance, "token balance == active + unbonding (incl. withdrawable)").to.equal(sumActive + sumUnbonding);

  // Live ranking vs the naive definition.
  const expected = f.operators
    .slice(0, OPERATORS)
    .map((o, i) => ({ operator: getAddress(o as Address), info: infos[i]! }))
    .filter(({ info }) => info.registered && !info.jailed && info.activeStake >= minStake)
    .sort((a, b) =>
      a.info.activeStake === b.info.activeStake
        ? a.info.registrationId - b.info.registrationId
        : a.info.activeStake > b.info.activeStake
          ? -1
          : 1,
    )
    .slice(0, Number(maxActive))
    .map(({ operator, info }) => `${operator}:${info.activeStake}`);
  const live = (await registry.read.activeSet([epoch + 1n])).map((m) => `${m.operator}:${m.stake}`);
  expect(live, "live set").to.deep.equal(expected);

  // Freezing: epochs that began since the last observation hold the last tentative set.
  if (state.lastLive !== undefined && epoch >= state.lastLive.epoch) {
    for (let e = state.lastLive.epoch; e <= epoch; e++) {
      const set = (await registry.read.activeSet([e])).map((m) => `${m.operator}:${m.stake}`).join(",");
      expect(set, `epoch ${e} froze the set seen before it began`).to.equal(state.lastLive.set);
      state.frozen.set(e, set);
    }
  }
  state.lastLive = { epoch: epoch + 1n, set: live.join(",") };
}

describe("SequencerRegistry: invariants under random operation sequences", () => {
  let connection: NetworkConnection;
  before(async () => {
    connection = await network.create();
  });

  it("keeps stake accounting exact and sets frozen over 300 random sequences", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        const f = await connection.networkHelpers.loadFixture(registryFixture);
        const state: State = { frozen: new Map() };
        await checkInvariants(f, state);
        for (const a of actions) {
          await apply(f, a);
          await checkInvariants(f, state);
        }
        // Frozen epochs never change afterwards.
        for (const [e, set] of state.frozen) {
          const now = (await f.registry.read.activeSet([e])).map((m) => `${m.operator}:${m.stake}`).join(",");
          expect(now, `epoch ${e} changed after it began`).to.equal(set);
        }
      }),
      { numRuns: 300 },
    );
  });
});
