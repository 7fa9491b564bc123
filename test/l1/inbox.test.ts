import { expect } from "chai";
import { type Hex, type PublicClient, type Transaction, encodeFunctionData, keccak256, toHex } from "viem";
import { LoadSigner } from "../../scripts/bench/lib/presign.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { type AcceptedBatch, InboxReadError, type UnreadableBatch, UnreadableBatchError, readAcceptedBatches } from "../../node/l1/inbox.js";
import { type BatchHeader, batchHash } from "../../node/commitments/typed-data.js";
import { deploySequencer, type SequencerFixture } from "../contracts/helpers/sequencer.js";
import { editedTransactions } from "./edited-transactions.js";

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
    const batch = { readable: true as const, batchNumber: header.batchNumber, header, data, payload: data, blobs: 0, signatures, l1BlockNumber: receipt.blockNumber, l1TxHash: hash };
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
    for (const b of read) {
      if (!b.readable) throw new Error(`batch ${b.batchNumber} unreadable: ${b.error.message}`);
      expect(b.signatures).to.have.length(2);
      expect(keccak256(b.data)).to.equal(b.header.dataHash);
    }
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

  /** Reads everything with batch 1's transaction passed through `edit`: batch 1 must come back flagged, the rest as posted. */
  async function expectFirstFlagged(edit: (tx: Transaction) => Transaction, message: string): Promise<UnreadableBatch> {
    const first = posted[0]!;
    const read = await readAcceptedBatches(
      editedTransactions(client, (tx) => (tx.hash === first.l1TxHash ? edit(tx) : tx)),
      f.inbox.address,
      0n,
      lastBlock,
    );
    expect(read.slice(1)).to.deep.equal(posted.slice(1));
    const [flagged] = read;
    if (flagged === undefined || flagged.readable) throw new Error(`batch 1 was read: ${message}`);
    expect(flagged).to.deep.include({ batchNumber: 1n, l1BlockNumber: first.l1BlockNumber, l1TxHash: first.l1TxHash });
    const { prevBatchHash: _unknown, ...fields } = first.header;
    expect(flagged.accepted).to.deep.equal({ ...fields, batchHash: batchHash(first.header) });
    expect(flagged.error).to.be.instanceOf(UnreadableBatchError).and.to.be.instanceOf(InboxReadError);
    expect(flagged.error.message).to.contain(first.l1TxHash).and.contain(message);
    return flagged;
  }

  it("S3: flags a batch whose transaction did not call the inbox directly, with what the event says, and reads the batches after it", async () => {
    // What a batch relayed through a contract looks like to a reader (an inbox before S3 took
    // it, and readAcceptedBatches threw there: every watchtower, rebuild and seq slash stopped).
    const flagged = await expectFirstFlagged((tx) => ({ ...tx, to: f.outsider.account.address }), "not the inbox");
    expect(flagged.error.batchNumber).to.equal(1n);
  });

  it("flags input that is not submitBatch, a header other than the accepted one, or data that does not hash to dataHash", async () => {
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
    for (const [, edit, message] of cases) await expectFirstFlagged(edit, message);
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
