/** The batcher's size bound of a submitBatch transaction, against viem's own encoding of one. */
import { expect } from "chai";
import { encodeFunctionData, serializeTransaction, size, type Hex } from "viem";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { submitBatchTxBytes } from "../../node/l1/inbox-writer.js";

const MAX_U64 = 2n ** 64n - 1n;
const MAX_U256 = 2n ** 256n - 1n;
const WORD = `0x${"ff".repeat(32)}` as Hex;

describe("submitBatchTxBytes", () => {
  it("bounds the signed submitBatch transaction with the largest field values, within a few bytes", () => {
    const header = { epoch: MAX_U64, batchNumber: MAX_U64, prevBatchHash: WORD, firstPosition: MAX_U64, lastPosition: MAX_U64, merkleRoot: WORD, dataHash: WORD };
    for (const dataBytes of [1, 31, 32, 33, 65_536, 120_000]) {
      for (const signatures of [0, 1, 3, 100]) {
        const data = encodeFunctionData({
          abi: batchInboxAbi,
          functionName: "submitBatch",
          args: [header, `0x${"ab".repeat(dataBytes)}`, Array.from({ length: signatures }, () => `0x${"cd".repeat(65)}` as Hex)],
        });
        const tx = serializeTransaction(
          { type: "eip1559", chainId: Number.MAX_SAFE_INTEGER, nonce: Number.MAX_SAFE_INTEGER, gas: MAX_U64, maxFeePerGas: MAX_U256, maxPriorityFeePerGas: MAX_U256, to: `0x${"ee".repeat(20)}`, data },
          { r: WORD, s: WORD, yParity: 1 },
        );
        const bound = submitBatchTxBytes(dataBytes, signatures);
        expect(size(tx), `${dataBytes} data bytes, ${signatures} signatures`).to.be.within(bound - 8, bound);
      }
    }
  });
});
