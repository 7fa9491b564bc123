/**
 * Gas of BatchInbox.submitBatch (figures printed; docs/contracts.md quotes them). Two rule sets:
 * Hardhat's latest (Osaka: EIP-7623 prices data-heavy calldata at a floor of 10 gas per token,
 * 40 per non-zero byte, which is what a batch of 100 transactions and more pays) and Cancun (no
 * floor: 16 gas per non-zero byte plus execution, what shows the inbox's own work). Then the
 * execution gas the data check of S6 adds per transaction, measured inside the EVM.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { type Hex } from "viem";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { batchDataOf, deploySequencer, fakeTxs } from "./helpers/sequencer.js";

const TX_BYTES = 150;
const SIZES = [1, 100, 1000];

/** EIP-7623's calldata floor of a transaction with input `input` (what a data-heavy call pays at least). */
function calldataFloor(input: Hex): bigint {
  let tokens = 0n;
  for (let i = 2; i < input.length; i += 2) tokens += input.slice(i, i + 2) === "00" ? 1n : 4n;
  return 21_000n + 10n * tokens;
}

/** submitBatch's gasUsed for the first batch of an epoch, batches of SIZES, and the re-post no-op, under `hardfork`. */
async function measure(operatorCount: number, hardfork?: string) {
  const f = await deploySequencer(operatorCount, hardfork === undefined ? {} : { hardfork });
  const quorum = f.quorum();
  let prev: BatchHeader | undefined;
  const post = async (txs: Hex[]) => {
    const b = f.makeBatch({
      epoch: f.epoch,
      batchNumber: prev ? prev.batchNumber + 1n : 1n,
      prevBatchHash: prev ? batchHash(prev) : f.ZERO_HASH,
      firstPosition: prev ? prev.lastPosition + 1n : 0n,
      txs,
    });
    const sigs = await f.signHeader(b.header, quorum);
    const hash = await f.submitBatch([b.header, b.data, sigs]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    const { input } = await f.publicClient.getTransaction({ hash });
    prev = b.header;
    return { gasUsed: receipt.gasUsed, floor: calldataFloor(input), b, sigs };
  };
  // The first batch of an epoch also pays the registry's checkpoint and the inbox's first
  // storage writes; measure it separately, then the steady state.
  const first = await post(fakeTxs(1, `first-${operatorCount}`, TX_BYTES));
  const rows = [{ what: "first batch of the epoch (1 tx)", gasUsed: first.gasUsed, floor: first.floor }];
  for (const size of SIZES) {
    const { gasUsed, floor } = await post(fakeTxs(size, `batch-${operatorCount}-${size}`, TX_BYTES));
    rows.push({ what: `${size} txs (${size * TX_BYTES} B)`, gasUsed, floor });
  }
  const hash = await f.submitBatch([first.b.header, first.b.data, first.sigs]);
  const again = await f.publicClient.waitForTransactionReceipt({ hash });
  rows.push({ what: "re-post of batch 1 (no-op)", gasUsed: again.gasUsed, floor: calldataFloor((await f.publicClient.getTransaction({ hash })).input) });
  expect(await f.inbox.read.batchCount()).to.equal(BigInt(SIZES.length + 1));
  await f.connection.close();
  return { sigs: quorum.length, rows };
}

describe("BatchInbox gas (figures printed)", () => {
  it("submitBatch of 1, 100 and 1000 txs of 150 bytes with 3, 7 and 21 members, and the re-post no-op", async function () {
    this.timeout(600_000);
    const lines: string[] = [];
    for (const operatorCount of [3, 7, 21]) {
      const latest = await measure(operatorCount);
      const cancun = await measure(operatorCount, "cancun");
      latest.rows.forEach((r, i) => {
        lines.push(
          `${String(operatorCount).padStart(7)} | ${String(latest.sigs).padStart(4)} | ${r.what.padEnd(32)} | ${String(r.gasUsed).padStart(9)} | ${String(r.floor).padStart(9)} | ${String(cancun.rows[i]!.gasUsed).padStart(9)}`,
        );
      });
    }
    console.log("      submitBatch gas: set size | sigs | batch | gasUsed (Osaka) | its EIP-7623 floor | gasUsed (Cancun, no floor)");
    for (const l of lines) console.log(`      ${l}`);
  });

  it("S6's decoding and root cost per transaction (execution gas, inside the EVM)", async function () {
    this.timeout(120_000);
    const connection = await network.create();
    const harness = await connection.viem.deployContract("BatchDataHarness");
    console.log("      S6 data check: txs | copy + keccak256(data) (before S6) | decode + root (added) | added per tx");
    for (const size of SIZES) {
      const data = batchDataOf(fakeTxs(size, `s6-${size}`, TX_BYTES));
      const [copyAndHashGas, rootGas] = await harness.read.measure([data, 0n, BigInt(size)]);
      console.log(`      ${String(size).padStart(5)} | ${String(copyAndHashGas).padStart(9)} | ${String(rootGas).padStart(9)} | ${(Number(rootGas) / size).toFixed(0).padStart(5)}`);
      expect(rootGas > 0n).to.equal(true);
    }
    await connection.close();
  });
});
