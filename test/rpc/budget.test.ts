/**
 * The byte budgets (node/rpc/budget.ts): no request, batch or crowd of them, read or not, makes
 * the node hold more request or result bytes than it states.
 */
import { expect } from "chai";
import net from "node:net";
import path from "node:path";
import { keccak256, toHex } from "viem";
import type { Entry } from "../../node/consensus/index.js";
import { CommitmentService } from "../../node/app/commitments.js";
import { createLogger } from "../../node/ops/logger.js";
import { ByteBudget } from "../../node/rpc/budget.js";
import { fetchRange } from "../../node/rpc/client.js";
import { OVERLOADED } from "../../node/rpc/errors.js";
import { defineMethod, positionalParams, type RpcMethods } from "../../node/rpc/methods.js";
import { createRpcServer, type RpcServer } from "../../node/rpc/server.js";
import { sequencerMethods } from "../../node/sequencer/api.js";
import { NodeStore } from "../../node/storage/index.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";
import { post, rpc as call } from "./helpers.js";

describe("response budget", function () {
  this.timeout(60_000);

  it("takes from a message's budget and the server's total, and gives it all back", () => {
    const total = new ByteBudget(100);
    const client = new ByteBudget(100, total);
    const a = new ByteBudget(60, client);
    const b = new ByteBudget(60, total);
    expect(a.reserve(50)).to.equal(true);
    expect(a.reserve(20), "over the message's own budget").to.equal(false);
    expect(b.reserve(55), "over the server's total").to.equal(false);
    expect(b.reserve(50)).to.equal(true);
    expect(total.remaining).to.equal(0);
    a.release();
    expect(total.remaining, "given back through every level").to.equal(50);
    expect(client.held).to.equal(0);
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

  describe("against clients that do not read, or send more than the node holds", () => {
    const MiB = 1024 * 1024;
    /** `test_bytes(n)` answers a string of n bytes. */
    const methods: RpcMethods = {
      test_bytes: defineMethod({ params: (raw) => Number(positionalParams(raw, 1)[0]), handler: (n) => "x".repeat(n) }),
    };
    let server: RpcServer | undefined;
    afterEach(async () => {
      await server?.close({ timeoutMs: 1_000 });
      server = undefined;
    });
    const waitFor = async (condition: () => boolean) => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const request = (body: string, extra = "") =>
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

    it("memory bound: pipelined answers a client does not read stay within its share of the response budget, the rest are refused", async () => {
      server = await createRpcServer({ methods, limits: { maxResponseBytes: 16 * MiB, maxResponseBytesPerClient: 16 * MiB, maxResponseBytesInFlight: 64 * MiB } });
      // Ten 8 MiB answers asked for at once, none read: more than the socket buffers can take.
      const body = JSON.stringify(call("test_bytes", [8 * MiB]));
      const socket = net.connect(server.port, "127.0.0.1");
      socket.pause();
      socket.write(Array.from({ length: 10 }, (_, i) => request(body, i === 9 ? "Connection: close\r\n" : "")).join(""));
      await waitFor(() => server!.stats().responseBytes > 0 && server!.stats().inFlight === 0);
      // 4a015c6 queued all ten (80 MiB) behind the first unread one.
      expect(server.stats().responseBytes).to.be.within(8 * MiB, 16 * MiB);

      let text = "";
      socket.setEncoding("latin1").on("data", (part: string) => (text += part)).resume();
      await new Promise<void>((resolve) => socket.once("end", () => resolve()));
      const answered = text.split('"result":"').length - 1;
      const refused = text.split(`"code":${OVERLOADED}`).length - 1;
      expect(answered + refused).to.equal(10);
      expect(answered).to.be.within(1, 4);
      socket.destroy();
      await waitFor(() => server!.stats().responseBytes === 0);
    });

    it("memory bound: an answer that makes no progress for sendTimeoutMs is dropped with its connection and its bytes", async () => {
      server = await createRpcServer({ methods, limits: { maxResponseBytes: 16 * MiB, sendTimeoutMs: 300, idleTimeoutMs: 600_000 } });
      const socket = net.connect(server.port, "127.0.0.1");
      socket.pause();
      socket.write(request(JSON.stringify(call("test_bytes", [8 * MiB]))));
      await waitFor(() => server!.stats().responseBytes > 0);
      // Only the send timeout can close it: the idle timeout is ten minutes away.
      await waitFor(() => server!.stats().connections === 0);
      expect(server.stats().responseBytes).to.equal(0);
      socket.destroy();
    });

    it("memory bound: bodies in flight draw from maxBodyBytesInFlight, one past it is answered 503 OVERLOADED", async () => {
      server = await createRpcServer({ methods, limits: { maxBodyBytes: 64 * 1024, maxBodyBytesInFlight: 128 * 1024 } });
      // Two bodies of 60 KiB, 50 KiB of each sent: 100 KiB held while they wait for the rest.
      const body = JSON.stringify(call("test_bytes", [2])).padEnd(60 * 1024, " ");
      const slow = [0, 1].map(() => {
        const socket = net.connect(server!.port, "127.0.0.1");
        socket.write(request(body).slice(0, -10 * 1024));
        let text = "";
        const answered = new Promise<string>((resolve) => socket.setEncoding("utf8").on("data", (part: string) => (text += part) && text.includes('"result"') && resolve(text)));
        return { socket, answered };
      });
      await waitFor(() => server!.stats().requestBytes === 100 * 1024);
      const third = await post(server.url, body);
      expect(third.status).to.equal(503);
      expect(third.json.error).to.deep.equal({
        code: OVERLOADED,
        message: "server overloaded: request bodies in flight hold the node's 131072 bytes for them; retry",
        data: { retryable: true, limit: 128 * 1024 },
      });
      // The two held bodies complete and are answered; nothing stays held.
      for (const { socket } of slow) socket.write(body.slice(-10 * 1024));
      for (const { answered } of slow) expect(await answered).to.contain('"result":"xx"');
      for (const { socket } of slow) socket.destroy();
      await waitFor(() => server!.stats().requestBytes === 0);
    });
  });
});
