/** The response budget (node/rpc/budget.ts): no request, batch or crowd of them makes the node hold more result bytes than it states. */
import { expect } from "chai";
import path from "node:path";
import { keccak256, toHex } from "viem";
import type { Entry } from "../../node/consensus/index.js";
import { CommitmentService } from "../../node/app/commitments.js";
import { createLogger } from "../../node/ops/logger.js";
import { ResponseBudget } from "../../node/rpc/budget.js";
import { fetchRange } from "../../node/rpc/client.js";
import { OVERLOADED } from "../../node/rpc/errors.js";
import { createRpcServer, type RpcServer } from "../../node/rpc/server.js";
import { sequencerMethods } from "../../node/sequencer/api.js";
import { NodeStore } from "../../node/storage/index.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";
import { post } from "./helpers.js";

describe("response budget", function () {
  this.timeout(60_000);

  it("takes from a message's budget and the server's total, and gives it all back", () => {
    const total = new ResponseBudget(100);
    const a = new ResponseBudget(60, total);
    const b = new ResponseBudget(60, total);
    expect(a.reserve(50)).to.equal(true);
    expect(a.reserve(20), "over the message's own budget").to.equal(false);
    expect(b.reserve(55), "over the server's total").to.equal(false);
    expect(b.reserve(50)).to.equal(true);
    expect(total.remaining).to.equal(0);
    a.release();
    expect(total.remaining).to.equal(50);
    expect(b.reserve(10)).to.equal(true);
  });

  describe("seq_getRange over large transactions", () => {
    const TX_BYTES = 100_000;
    const TXS = 40;
    const BUDGET = 1024 * 1024;
    let dir: string;
    let store: NodeStore;
    let rpc: RpcServer;
    const raws: Uint8Array[] = [];

    before(async () => {
      dir = makeTempDir("seq-budget-");
      store = await NodeStore.open(path.join(dir, "db"));
      for (let i = 0; i < TXS; i++) raws.push(new Uint8Array(TX_BYTES).fill(i + 1));
      const entry: Entry = { index: 1, term: 1, kind: "txs", firstPosition: 0, txs: raws.map((data) => ({ hash: keccak256(data), data })) };
      await store.persistReady({ entries: [entry], hardState: { term: 1, vote: null, commit: 1 } });
      await store.applyCommitted([entry]);
      const commitments = new CommitmentService({
        store,
        signer: undefined as never,
        chainId: 1,
        registry: `0x${"00".repeat(20)}`,
        logger: createLogger({ level: "silent" }),
        epoch: () => 0,
        leaderTerm: () => null,
        proposeApp: () => false,
      });
      rpc = await createRpcServer({
        methods: sequencerMethods({ rollupChainId: 901, submissions: undefined as never, commitments, store, status: () => ({}), activity: () => [] }),
        limits: { maxResponseBytes: BUDGET, maxResponseBytesInFlight: 4 * BUDGET },
      });
    });

    after(async () => {
      await rpc?.close();
      await store?.close();
      if (dir) await removeTempDir(dir);
    });

    it("S9: a batch of ranges gets short pages and OVERLOADED within the message's budget instead of a response many times the node's bound", async () => {
      // 4a015c6 answered this 1.4 KB request with every transaction of every call: 20 x 40 x 200 kB of hex (160 MB).
      const batch = Array.from({ length: 20 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "seq_getRange", params: [0, TXS] }));
      const reply = await post(rpc.url, batch);
      expect(reply.status).to.equal(200);
      expect(reply.text.length, "the whole response stays within the message's budget").to.be.at.most(BUDGET + 20 * 200);
      const answers = reply.json as { id: number; result?: { position: number; raw: string }[]; error?: { code: number } }[];
      const pages = answers.filter((a) => a.result !== undefined);
      expect(pages.length, "the first calls are answered").to.be.greaterThan(0);
      for (const page of pages) {
        expect(page.result!.length).to.be.within(1, TXS - 1);
        page.result!.forEach((tx, k) => expect(tx.position).to.equal(k));
      }
      const refused = answers.filter((a) => a.error !== undefined);
      expect(refused.length, "the rest are refused, retryable").to.be.greaterThan(0);
      for (const a of refused) expect(a.error!.code).to.equal(OVERLOADED);
    });

    it("lets a client that pages by what it received read the whole range", async () => {
      const txs = await fetchRange<{ position: number; raw: string }>(rpc.url, 0, TXS + 5);
      expect(txs.map((t) => t.position)).to.deep.equal(raws.map((_, i) => i));
      expect(txs.map((t) => t.raw)).to.deep.equal(raws.map((r) => toHex(r)));
    });
  });
});
