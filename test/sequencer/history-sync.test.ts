/** A node that installed a snapshot cannot lead until it holds the history the snapshot skipped. */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toHex } from "viem";
import { NodeStore } from "../../node/storage/index.js";
import { createLogger } from "../../node/ops/logger.js";
import { HistorySync, decodeHistoryRequest, encodeHistoryResponse } from "../../node/sequencer/history.js";

describe("history backfill gate", () => {
  let dir: string;
  let store: NodeStore;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "seq-history-"));
    store = await NodeStore.open(path.join(dir, "db"));
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the history incomplete until every skipped position is stored, then complete", async () => {
    const meta = { index: 5, term: 2, config: { voters: ["a", "b", "c"], learners: [] }, nextPosition: 3 };
    await store.persistReady({ snapshot: { meta, data: new Uint8Array(0) }, entries: [], hardState: { term: 2, vote: null, commit: 5 } });
    await store.markSnapshotApplied(meta);

    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const requests: { from: number; count: number }[] = [];
    const sync = new HistorySync({
      store,
      logger: createLogger({ level: "silent" }),
      sources: () => ["b"],
      request: async (_to, payload) => {
        const req = decodeHistoryRequest(payload);
        requests.push(req);
        await released;
        return encodeHistoryResponse(
          [0, 1, 2].map((p) => ({ position: p, index: p + 1, term: 1, hash: keccak256(toHex(`tx${p}`)), data: Uint8Array.of(p) })),
        );
      },
    });
    sync.kick();
    await new Promise((r) => setTimeout(r, 50));
    expect(sync.complete).to.equal(false);
    expect(requests).to.deep.equal([{ from: 0, count: 3 }]);
    release();
    const deadline = Date.now() + 5_000;
    while (!sync.complete && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(sync.complete).to.equal(true);
    expect(await store.historyGap()).to.equal(undefined);
    expect((await store.getTxByPosition(2))?.hash).to.equal(keccak256(toHex("tx2")));
    sync.stop();
  });
});
