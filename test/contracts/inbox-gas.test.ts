import { expect } from "chai";
import { type Hex, concatHex, keccak256 } from "viem";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { deploySequencer } from "./helpers/sequencer.js";

/** `n` fake 110-byte transactions (pseudo-random bytes, like real signed txs: few zeros). */
function fakeTxs(n: number, salt: number): Hex[] {
  const out: Hex[] = [];
  for (let i = 0; i < n; i++) {
    let seed = keccak256(`0x${(salt * 1_000_003 + i).toString(16).padStart(16, "0")}`);
    let tx: Hex = "0x";
    while ((tx.length - 2) / 2 < 110) {
      tx = concatHex([tx, seed]);
      seed = keccak256(seed);
    }
    out.push(tx.slice(0, 2 + 220) as Hex);
  }
  return out;
}

describe("BatchInbox gas (figures printed)", () => {
  it("submitBatch for 1, 100, 1000 txs with 3, 7 and 21 signers, and the re-post no-op", async function () {
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
          txHashes: txs.map((tx) => keccak256(tx)),
          data: concatHex(txs),
        });
        const sigs = await f.signHeader(b.header, quorum);
        const receipt = await f.publicClient.waitForTransactionReceipt({
          hash: await f.inbox.write.submitBatch([b.header, b.data, sigs]),
        });
        expect(receipt.status).to.equal("success");
        prev = b.header;
        return { receipt, b, sigs };
      };
      // The first batch of an epoch also pays the registry's checkpoint and the inbox's first
      // storage writes; measure it separately, then the steady state.
      const first = await post(fakeTxs(1, operatorCount * 10));
      rows.push(`${String(operatorCount).padStart(7)} | ${String(quorum.length).padStart(4)} | first batch of the epoch (1 tx) | ${first.receipt.gasUsed}`);
      for (const size of sizes) {
        const { receipt } = await post(fakeTxs(size, operatorCount * 10 + size));
        rows.push(`${String(operatorCount).padStart(7)} | ${String(quorum.length).padStart(4)} | ${String(size).padStart(5)} txs (${size * 110} B) | ${receipt.gasUsed}`);
      }
      const again = await f.publicClient.waitForTransactionReceipt({
        hash: await f.inbox.write.submitBatch([first.b.header, first.b.data, first.sigs]),
      });
      rows.push(`${String(operatorCount).padStart(7)} | ${String(quorum.length).padStart(4)} | re-post of batch 1 (no-op)  | ${again.gasUsed}`);
      expect(await f.inbox.read.batchCount()).to.equal(BigInt(sizes.length + 1));
    }
    console.log("      submitBatch gas: set size | sigs | batch | gasUsed");
    for (const r of rows) console.log(`      ${r}`);
  });
});
