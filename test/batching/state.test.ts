/**
 * BatchState on a real store, driven record by record: several unposted cuts at once, re-cuts
 * of any of them, batchPosted in order, batchSigned of any, the unposted bytes, and snapshots
 * (version 3 with every unposted cut; versions 1 and 2 still read).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toHex, type Hex } from "viem";
import type { Entry, Snapshot } from "../../node/consensus/index.js";
import { Writer } from "../../node/codec/index.js";
import { appRecordsOf, encodeAppRecord, type AppRecord, type StoredBatch, type StoredBatchHeader } from "../../node/domain/index.js";
import { writeStoredBatch } from "../../node/domain/types.js";
import { NodeStore } from "../../node/storage/index.js";
import { BatchState } from "../../node/batching/state.js";
import { buildBatch, encodedTxSize, nextPrevHash, storedBatchHash, type BatchTx } from "../../node/batching/index.js";
import { createLogger } from "../../node/ops/logger.js";

const logger = createLogger({ level: "silent" });

describe("BatchState: several unposted cuts", () => {
  let root: string;
  let store: NodeStore;
  let state: BatchState;
  let log: Entry[];
  let txs: BatchTx[];
  let opened: NodeStore[];

  const open = async (name: string) => {
    const s = await NodeStore.open(path.join(root, name));
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "seq-batch-state-"));
    opened = [];
    store = await open("node");
    state = new BatchState({ store, logger });
    await state.recover();
    log = [];
    txs = [];
  });

  afterEach(async () => {
    for (const s of opened) await s.close();
    await rm(root, { recursive: true, force: true });
  });

  /** Appends entries to the log and applies them, as the Raft driver does. */
  async function append(entries: Omit<Entry, "index" | "term">[]): Promise<void> {
    const full = entries.map((e) => ({ ...e, index: log.length + 1, term: 1 }) as Entry);
    log.push(...full);
    await store.persistReady({ entries: full, hardState: { term: 1, vote: null, commit: log.length } });
    await state.apply(full, appRecordsOf(full));
    await store.applyCommitted(full);
  }

  async function appendTxs(sizes: readonly number[]): Promise<void> {
    const batch = sizes.map((size) => {
      const data = new Uint8Array(size).fill(txs.length % 250 + 1);
      data[0] = txs.length; // distinct transactions
      return { hash: keccak256(data), data };
    });
    await append([{ kind: "txs", firstPosition: txs.length, txs: batch }]);
    txs.push(...batch);
  }

  const record = (r: AppRecord) => append([{ kind: "app", firstPosition: txs.length, app: encodeAppRecord(r) }]);

  /** The header of batch `n` over positions [first, last] chained to `prev`. */
  function header(n: number, first: number, last: number, prev: StoredBatchHeader | undefined, epoch = 5): StoredBatchHeader {
    return buildBatch({ epoch, batchNumber: n, prevBatchHash: nextPrevHash(prev), firstPosition: first }, txs.slice(first, last + 1)).header;
  }

  const posted = (h: StoredBatchHeader, l1Block = 10): AppRecord => ({
    kind: "batchPosted",
    posted: { batchNumber: h.batchNumber, batchHash: storedBatchHash(h), l1Block, l1TxHash: keccak256(toHex(`l1-${h.batchNumber}`)) },
  });

  const numbers = () => state.unpostedCuts.map((c) => [c.header.batchNumber, c.header.epoch]);

  it("applies a cut that continues an unposted cut (the rule docs/batch-format.md states), and counts the unposted bytes exactly", async () => {
    await appendTxs([10, 20, 30]);
    const b1 = header(1, 0, 1, undefined);
    await record({ kind: "batchCut", header: b1 });
    const b2 = header(2, 2, 2, b1);
    await record({ kind: "batchCut", header: b2 }); // batch 1 is not posted yet: applied all the same
    await appendTxs([40]);
    const b3 = header(3, 3, 3, b2);
    await record({ kind: "batchCut", header: b3 });
    expect(numbers()).to.deep.equal([[1, 5], [2, 5], [3, 5]]);
    expect(state.lastCut!.header).to.deep.equal(b3);
    expect(state.backlog()).to.equal(0);
    const bytes = (from: number) => txs.slice(from).reduce((sum, t) => sum + encodedTxSize(t.data), 0);
    expect(state.unpostedBytes()).to.equal(bytes(0));
    expect(await store.getBatch(2)).to.deep.equal({ header: b2 });

    // A cut that skips a number, does not chain to the last cut or starts elsewhere changes nothing.
    await appendTxs([5, 5]);
    for (const bad of [header(5, 4, 4, b3), header(4, 4, 4, b2), { ...header(4, 4, 5, b3), firstPosition: 5 }]) await record({ kind: "batchCut", header: bad });
    expect(numbers()).to.deep.equal([[1, 5], [2, 5], [3, 5]]);
    expect(state.uncutBytes).to.equal(bytes(4));

    // batchPosted goes in batch-number order: a mark for batch 2 before batch 1 changes nothing.
    await record(posted(b2));
    expect(state.lastPosted).to.equal(undefined);
    await record(posted(b1));
    await record(posted(b2));
    expect(state.lastPosted!.header).to.deep.equal(b2);
    expect(numbers()).to.deep.equal([[3, 5]]);
    expect(state.unposted()).to.equal(3);
    expect(state.unpostedBytes()).to.equal(bytes(3));
  });

  it("re-cuts any unposted cut (same range, root and data) under another epoch, and re-chains the next one to it; batchSigned reaches any of them", async () => {
    await appendTxs([10, 20, 30]);
    const b1 = header(1, 0, 0, undefined);
    const b2 = header(2, 1, 1, b1);
    const b3 = header(3, 2, 2, b2);
    for (const h of [b1, b2, b3]) await record({ kind: "batchCut", header: h });

    // Batch 1 under epoch 7: batch 2 still chains to the old batch 1 until it is re-cut too.
    const b1at7 = { ...b1, epoch: 7 };
    await record({ kind: "batchCut", header: b1at7 });
    expect(numbers()).to.deep.equal([[1, 7], [2, 5], [3, 5]]);
    // A re-cut must keep the range, and chain to the predecessor as it stands now.
    await record({ kind: "batchCut", header: { ...header(2, 1, 2, b1at7), epoch: 7 } });
    await record({ kind: "batchCut", header: { ...b2, epoch: 7 } });
    expect(numbers()).to.deep.equal([[1, 7], [2, 5], [3, 5]]);
    const b2at7 = header(2, 1, 1, b1at7, 7);
    await record({ kind: "batchCut", header: b2at7 });
    expect(numbers()).to.deep.equal([[1, 7], [2, 7], [3, 5]]);
    expect(state.held(2)!.header.prevBatchHash).to.equal(storedBatchHash(b1at7));

    // The quorum's signatures of the middle cut, then a mark for the old batch 1, which is gone.
    const signatures: Hex[] = [`0x${"ab".repeat(65)}`];
    await record({ kind: "batchSigned", batchNumber: 2, batchHash: storedBatchHash(b2at7), signatures });
    await record({ kind: "batchSigned", batchNumber: 3, batchHash: storedBatchHash(b2at7), signatures });
    expect(state.held(2)!.signatures).to.deep.equal(signatures);
    expect(state.held(3)!.signatures).to.equal(undefined);
    expect((await store.getBatch(2))!.signatures).to.deep.equal(signatures);
    await record(posted(b1));
    expect(state.lastPosted).to.equal(undefined);
    await record(posted(b1at7));
    await record(posted(b2at7));
    expect(state.lastPosted).to.deep.equal({ header: b2at7, signatures, posted: { batchHash: storedBatchHash(b2at7), l1Block: 10, l1TxHash: keccak256(toHex("l1-2")) } });
    // A posted batch is never re-cut.
    await record({ kind: "batchCut", header: { ...b2at7, epoch: 8 } });
    expect(state.held(2)!.header.epoch).to.equal(7);
  });

  it("snapshots every unposted cut (version 3) and keeps reading version 2 snapshots", async () => {
    await appendTxs([10, 20, 30, 40]);
    const b1 = header(1, 0, 0, undefined);
    const b2 = header(2, 1, 1, b1);
    const b3 = header(3, 2, 2, b2);
    for (const h of [b1, b2, b3]) await record({ kind: "batchCut", header: h });
    await record(posted(b1));
    const meta: Snapshot["meta"] = { index: log.length, term: 1, nextPosition: txs.length, config: { voters: [], learners: [] } };

    const target = new BatchState({ store: await open("v3"), logger });
    await target.restore(state.snapshotData(), meta);
    expect(target.lastPosted).to.deep.equal(state.lastPosted);
    expect(target.unpostedCuts).to.deep.equal(state.unpostedCuts);
    expect(target.uncutSince).to.not.equal(undefined); // position 3 is not cut yet
    // ...and a restart of the installing node reads them back from its store.
    const restarted = new BatchState({ store: opened.at(-1)!, logger });
    await restarted.recover();
    expect(restarted.unpostedCuts).to.deep.equal(state.unpostedCuts);

    // Version 2: the last posted batch and the last cut.
    const v2 = new Writer(512);
    v2.u8(2);
    const both: StoredBatch[] = [{ header: b1, posted: state.lastPosted!.posted! }, { header: b2, signatures: [`0x${"cd".repeat(65)}`] }];
    v2.varint(both.length);
    for (const b of both) writeStoredBatch(v2, b);
    const old = new BatchState({ store: await open("v2"), logger });
    await old.restore(v2.finish(), meta);
    expect(old.lastPosted).to.deep.equal(both[0]);
    expect(old.unpostedCuts).to.deep.equal([both[1]]);

    // Unposted cuts that do not follow one another are refused.
    const gap = new Writer(512);
    gap.u8(3);
    gap.varint(2);
    for (const b of [both[0]!, { header: b3 }]) writeStoredBatch(gap, b);
    const refused = await new BatchState({ store: await open("gap"), logger }).restore(gap.finish(), meta).then(() => undefined, (e: Error) => e);
    expect(refused?.message).to.match(/unposted batch 3 does not follow batch 1/);
  });
});
