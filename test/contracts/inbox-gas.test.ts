import { expect } from "chai";
import { type Hex } from "viem";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { deploySequencer, fakeTxs } from "./helpers/sequencer.js";

const TX_BYTES = 150;

/** EIP-7623's calldata floor of a transaction with input `input` (what a data-heavy call pays at least). */
function calldataFloor(input: Hex): bigint {
  let tokens = 0n;
  for (let i = 2; i < input.length; i += 2) tokens += input.slice(i, i + 2) === "00" ? 1n : 4n;
  return 21_000n + 10n * tokens;
}

describe("BatchInbox gas (figures printed)", () => {
  it("submitBatch of 1, 100 and 1000 txs of 150 bytes with 3, 7 and 21 members, and the re-post no-op", async function () {
    this.timeout(600_000);
    const sizes = [1, 100, 1000];
    const rows: string[] = [];
    for (const operatorCount of [3, 7, 21]) {
      const f = await deploySequencer(operatorCount);
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
        return { receipt, floor: calldataFloor(input), b, sigs };
      };
      const row = (what: string, gasUsed: bigint, floor: bigint) =>
        rows.push(`${String(operatorCount).padStart(7)} | ${String(quorum.length).padStart(4)} | ${what.padEnd(32)} | ${String(gasUsed).padStart(9)} | ${String(floor).padStart(9)}`);
      // The first batch of an epoch also pays the registry's checkpoint and the inbox's first
      // storage writes; measure it separately, then the steady state.
      const first = await post(fakeTxs(1, `first-${operatorCount}`, TX_BYTES));
      row("first batch of the epoch (1 tx)", first.receipt.gasUsed, first.floor);
      for (const size of sizes) {
        const { receipt, floor } = await post(fakeTxs(size, `batch-${operatorCount}-${size}`, TX_BYTES));
        row(`${size} txs (${size * TX_BYTES} B)`, receipt.gasUsed, floor);
      }
      const hash = await f.submitBatch([first.b.header, first.b.data, first.sigs]);
      const again = await f.publicClient.waitForTransactionReceipt({ hash });
      row("re-post of batch 1 (no-op)", again.gasUsed, calldataFloor((await f.publicClient.getTransaction({ hash })).input));
      expect(await f.inbox.read.batchCount()).to.equal(BigInt(sizes.length + 1));
    }
    console.log("      submitBatch gas: set size | sigs | batch | gasUsed | EIP-7623 calldata floor");
    for (const r of rows) console.log(`      ${r}`);
  });
});
