/**
 * Gas of the epoch snapshot and of stake changes at 10, 100 and 500 registered operators,
 * with the active set at its cap (maxActive = 100). Prints a table (docs/contracts.md quotes
 * it) and checks the design's promise: a snapshot costs O(maxActive) and a stake change
 * O(log n), so both stay far below a block whatever the number of operators.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, type Hash, encodeFunctionData, keccak256, parseEther, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { DeployConfig } from "../../scripts/lib/config.js";
import { deploySystem, mineToNextEpoch } from "../../scripts/lib/deploy.js";
import { TEST_CONFIG } from "./registry.fixture.js";
import { domain } from "../../node/commitments/typed-data.js";
import { signBatcherBinding, signSignerBinding } from "../../node/l1/key-binding.js";

const EPOCH_LENGTH = 5_000n;
const CONFIG: DeployConfig = {
  ...TEST_CONFIG,
  epochLength: EPOCH_LENGTH,
  unbondingPeriod: 2n * EPOCH_LENGTH,
  minStake: parseEther("100"),
  maxActive: 100n,
};
const BLOCK_GAS_LIMIT = 30_000_000n;
const PEER_ID_PROOF = toHex(new Uint8Array(64).fill(0xaa));

type Row = Record<string, bigint>;

async function measure(connection: NetworkConnection, n: number): Promise<Row> {
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const { registry, token, contracts } = await deploySystem(connection, CONFIG);
  // `slash` is called as the deployed Slashing contract would call it.
  const slasher = contracts.slashing.address;
  await networkHelpers.impersonateAccount(slasher);
  await networkHelpers.setBalance(slasher, parseEther("1"));
  const d = domain(await publicClient.getChainId(), registry.address);
  const gasOf = async (hash: Promise<Hash>) => (await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed;

  const accounts: Address[] = [];
  const newOperator = async (i: number, stake: bigint) => {
    const account = privateKeyToAccount(keccak256(toHex(`gas-op-${n}-${i}`))).address;
    await networkHelpers.impersonateAccount(account);
    await networkHelpers.setBalance(account, parseEther("1"));
    await token.write.mint([account, stake + parseEther("100000")]);
    await token.write.approve([registry.address, stake + parseEther("100000")], { account });
    const signer = privateKeyToAccount(keccak256(toHex(`gas-signer-${n}-${i}`)));
    accounts.push(account);
    // A real signer proof; the peer id and its proof are stand-ins of their real sizes (an
    // Ed25519 peer id is 38 bytes, its signature 64): the registry stores them unchecked.
    const signerProof = await signSignerBinding(signer, d, account);
    const peerId = toHex(new Uint8Array(38).fill(i % 256));
    return registry.write.register([stake, signer.address, signerProof, peerId, PEER_ID_PROOF, [`/ip4/127.0.0.1/tcp/${10_000 + i}`]], {
      account,
    });
  };
  // Pseudo-random distinct stakes, so the heaps see a realistic insertion order.
  const stakeOf = (i: number) => parseEther("100") + BigInt((i * 7919) % 100_003) * 10n ** 15n;

  for (let i = 0; i < n; i++) await newOperator(i, stakeOf(i));
  const epoch = await mineToNextEpoch(connection, registry);
  const row: Row = {};
  row.snapshot = await gasOf(registry.write.checkpoint());
  row.checkpointNoop = await gasOf(registry.write.checkpoint());

  // Mutations inside an epoch that is already checkpointed.
  const strongest = parseEther("10000");
  row.registerIntoTop = await gasOf(newOperator(n, strongest));
  row.registerBelowTop = await gasOf(newOperator(n + 1, parseEther("100")));
  // The weakest operator tops up past everyone (moves from `rest`, or the bottom of `top`).
  row.topUpToFirst = await gasOf(registry.write.topUp([strongest], { account: accounts[n + 1]! }));
  row.unstakeToBottom = await gasOf(registry.write.requestUnstake([strongest], { account: accounts[n]! }));
  row.slash = await gasOf(registry.write.slash([accounts[0]!, accounts[1]!], { account: slasher }));

  // Next epoch: the first mutation pays the snapshot of a changed set.
  await mineToNextEpoch(connection, registry);
  row.firstMutationWithSnapshot = await gasOf(registry.write.topUp([1n], { account: accounts[2]! }));
  row.topUpInCheckpointedEpoch = await gasOf(registry.write.topUp([1n], { account: accounts[2]! }));
  // A separate batcher account, with its proof (S3).
  const batcher = privateKeyToAccount(keccak256(toHex(`gas-batcher-${n}`)));
  row.setBatcher = await gasOf(registry.write.setBatcher([batcher.address, await signBatcherBinding(batcher, d, accounts[2]!)], { account: accounts[2]! }));
  // An epoch whose set did not change since the last snapshot shares it.
  await mineToNextEpoch(connection, registry);
  await registry.write.updatePeer([toHex(`moved-${n}`), PEER_ID_PROOF, ["/ip4/127.0.0.1/tcp/1"]], { account: accounts[3]! });
  await mineToNextEpoch(connection, registry);
  row.checkpointUnchangedSet = await gasOf(registry.write.checkpoint());

  const viewGas = (functionName: "activeSet" | "activeSigners" | "leaderSchedule") =>
    publicClient.estimateGas({
      to: registry.address,
      data: encodeFunctionData({ abi: registry.abi, functionName, args: [epoch] }),
    });
  row.viewActiveSet = await viewGas("activeSet");
  row.viewActiveSigners = await viewGas("activeSigners");
  row.viewLeaderSchedule = await viewGas("leaderSchedule");
  expect((await registry.read.leaderSchedule([epoch])).length).to.equal(Math.min(n, 100));
  return row;
}

describe("SequencerRegistry: gas at scale", function () {
  this.timeout(600_000);

  it("snapshots in O(maxActive) and changes stake in O(log n): 10, 100, 500 operators", async () => {
    const rows: Array<[number, Row]> = [];
    for (const n of [10, 100, 500]) {
      const connection = await network.create();
      rows.push([n, await measure(connection, n)]);
      await connection.close();
    }
    const keys = Object.keys(rows[0]![1]);
    const table = keys.map((k) => ({ measure: k, ...Object.fromEntries(rows.map(([n, r]) => [`n=${n}`, Number(r[k])])) }));
    console.log("\n    Registry gas by number of registered operators (maxActive = 100):");
    console.table(table);

    const at = (n: number, k: string) => rows.find(([m]) => m === n)![1][k]!;
    for (const [, row] of rows) {
      for (const [k, gas] of Object.entries(row)) {
        if (!k.startsWith("view")) expect(gas < BLOCK_GAS_LIMIT / 10n, `${k} fits a tenth of a block`).to.equal(true);
      }
    }
    // Stake changes grow with log n, not n: from 100 to 500 operators (5x) a linear scan
    // would cost ~5x; the heaps add a few levels. A linear scan of 500 operators alone would
    // also cost >1M gas (two cold reads each), far above these figures.
    for (const k of ["registerIntoTop", "topUpToFirst", "unstakeToBottom", "slash"]) {
      expect(at(500, k) < 2n * at(100, k), `${k} at 500 vs 100 operators`).to.equal(true);
      expect(at(500, k) < 700_000n, `${k} at 500 operators`).to.equal(true);
    }
    // The snapshot depends on the set size (capped at 100), not on the registered count.
    expect(at(500, "snapshot") < (at(100, "snapshot") * 11n) / 10n).to.equal(true);
  });
});

