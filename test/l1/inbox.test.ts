import { expect } from "chai";
import { type Hex, type PublicClient, type Transaction, encodeFunctionData, keccak256, toHex } from "viem";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { type AcceptedBatch, InboxReadError, UnreadableBatchError, readAcceptedBatches } from "../../node/l1/inbox.js";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { deploySequencer, type SequencerFixture } from "../contracts/helpers/sequencer.js";

describe("node/l1/inbox readAcceptedBatches", function () {
  this.timeout(60_000);

  let f: SequencerFixture;
  let client: PublicClient;
  /** What was posted, in order, with the block and transaction that accepted it. */
  const posted: AcceptedBatch[] = [];
  let firstBlock: bigint;
  let lastBlock: bigint;

  const txSigner = new LoadSigner({ chainId: 901, senders: 2, txBytes: 110, seed: 5 });

  /** Posts the next batch: `txCount` signed rollup transactions as v1 batch data. */
  async function post(txCount: number): Promise<AcceptedBatch> {
    const prev = posted.at(-1);
    const { header, data } = f.makeBatch({
      epoch: await f.registry.read.currentEpoch(),
      batchNumber: BigInt(posted.length + 1),
      prevBatchHash: prev === undefined ? f.ZERO_HASH : batchHash(prev.header),
      firstPosition: prev === undefined ? 0n : prev.header.lastPosition + 1n,
      txs: txSigner.sign(txCount),
    });
    const signatures = await f.signHeader(header); // 2 of the 3 signers
    const hash = await f.submitBatch([header, data, signatures]);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    const batch = { batchNumber: header.batchNumber, header, data, signatures, l1BlockNumber: receipt.blockNumber, l1TxHash: hash };
    posted.push(batch);
    return batch;
  }

  before(async () => {
    f = await deploySequencer(3);
    client = f.publicClient as unknown as PublicClient;
    firstBlock = await client.getBlockNumber();
    await post(3);
    await f.networkHelpers.mine(5);
    await post(1);
    // Posting the accepted batch again is the inbox's no-op path: no second BatchAccepted.
    const again = posted[1]!;
    await f.submitBatch([again.header, again.data, again.signatures]);
    await f.networkHelpers.mine(3);
    await post(5);
    lastBlock = await client.getBlockNumber();
  });

  it("returns every accepted batch in order with its header, data, signatures and L1 location", async () => {
    const read = await readAcceptedBatches(client, f.inbox.address, 0n, lastBlock);
    expect(read).to.deep.equal(posted);
    expect(read.map((b) => b.signatures.length)).to.deep.equal([2, 2, 2]);
    for (const b of read) expect(keccak256(b.data)).to.equal(b.header.dataHash);
  });

  it("gives the same answer whatever the getLogs chunk size, and honours inclusive bounds", async () => {
    for (const maxBlockRange of [1n, 2n, 7n]) {
      expect(await readAcceptedBatches(client, f.inbox.address, firstBlock, lastBlock, { maxBlockRange, concurrency: 1 })).to.deep.equal(posted);
    }
    const second = posted[1]!;
    expect(await readAcceptedBatches(client, f.inbox.address, second.l1BlockNumber, second.l1BlockNumber)).to.deep.equal([second]);
    expect(await readAcceptedBatches(client, f.inbox.address, posted[0]!.l1BlockNumber + 1n, posted[2]!.l1BlockNumber - 1n)).to.deep.equal([second]);
    expect(await readAcceptedBatches(client, f.inbox.address, lastBlock + 1n, lastBlock)).to.deep.equal([]);
  });

  it("rejects bad options with a RangeError", async () => {
    let err: unknown;
    try {
      await readAcceptedBatches(client, f.inbox.address, 0n, lastBlock, { maxBlockRange: 0n });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RangeError);
  });

  /** The real client, except that getTransaction passes the transaction through `edit`. */
  function editedTransactions(edit: (tx: Transaction) => Transaction): PublicClient {
    return new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === "getTransaction") {
          return async (args: { hash: Hex }) => edit(await target.getTransaction(args));
        }
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  async function readError(c: PublicClient): Promise<unknown> {
    try {
      await readAcceptedBatches(c, f.inbox.address, 0n, lastBlock);
    } catch (e) {
      return e;
    }
    throw new Error("readAcceptedBatches did not throw");
  }

  function input(header: BatchHeader, data: Hex, signatures: Hex[]): Hex {
    return encodeFunctionData({ abi: batchInboxAbi, functionName: "submitBatch", args: [header, data, signatures] });
  }

  it("refuses a batch whose transaction did not call the inbox directly, naming the transaction", async () => {
    const err = await readError(editedTransactions((tx) => ({ ...tx, to: f.outsider.account.address })));
    expect(err).to.be.instanceOf(UnreadableBatchError);
    expect((err as UnreadableBatchError).l1TxHash).to.equal(posted[0]!.l1TxHash);
    expect((err as Error).message).to.contain(posted[0]!.l1TxHash).and.contain("not the inbox");
  });

  it("refuses input that is not submitBatch, a header other than the accepted one, or data that does not hash to dataHash", async () => {
    const first = posted[0]!;
    const cases: [string, (tx: Transaction) => Transaction, string][] = [
      ["another function", (tx) => ({ ...tx, input: encodeFunctionData({ abi: batchInboxAbi, functionName: "batchCount" }) }), "not submitBatch"],
      ["garbage", (tx) => ({ ...tx, input: "0xdeadbeef" }), "does not decode"],
      [
        "another header",
        (tx) => ({ ...tx, input: input({ ...first.header, merkleRoot: keccak256(toHex("other")) }, first.data, first.signatures) }),
        "not the accepted one",
      ],
      ["other data", (tx) => ({ ...tx, input: input(first.header, toHex("tampered"), first.signatures) }), "dataHash"],
    ];
    for (const [what, edit, message] of cases) {
      const err = await readError(editedTransactions((tx) => (tx.hash === first.l1TxHash ? edit(tx) : tx)));
      expect(err, what).to.be.instanceOf(UnreadableBatchError);
      expect((err as UnreadableBatchError).batchNumber, what).to.equal(1n);
      expect((err as Error).message, what).to.contain(message);
    }
  });

  it("wraps RPC failures in InboxReadError with the cause", async () => {
    const failing = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === "getContractEvents") return async () => Promise.reject(new Error("connection refused"));
        return Reflect.get(target, prop, receiver);
      },
    });
    const err = await readError(failing);
    expect(err).to.be.instanceOf(InboxReadError).and.not.instanceOf(UnreadableBatchError);
    expect((err as Error).message).to.contain("connection refused").and.contain(f.inbox.address);
    expect((err as Error).cause).to.be.instanceOf(Error);
  });
});
