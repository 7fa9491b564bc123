import { expect } from "chai";
import type { Socket } from "node:net";
import { INVALID_PARAMS, METHOD_NOT_FOUND, OVERLOADED, PARSE_ERROR, INVALID_REQUEST } from "../../node/rpc/errors.js";
import { defineMethod, positionalParams } from "../../node/rpc/methods.js";
import { createRpcServer, type RpcServer } from "../../node/rpc/server.js";
import { exampleMethods, post, rpc, TestWsClient } from "./helpers.js";

const HASH = `0x${"11".repeat(32)}`;

describe("rpc server over WebSocket", () => {
  let server: RpcServer;
  let clients: TestWsClient[];
  const state = { leader: true, commitments: new Map([[HASH, { position: 7n, root: new Uint8Array([1]) }]]) };

  const open = async (options: { origin?: string } = {}) => {
    const client = await TestWsClient.open(server.wsUrl, options);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    clients = [];
    server = await createRpcServer({
      methods: {
        ...exampleMethods(state),
        // Subscribes and publishes before answering: the event must still arrive after the id.
        test_subscribeAndPublish: defineMethod({
          params: (raw) => positionalParams(raw, 1)[0],
          handler: (payload, ctx) => {
            const id = ctx.subscribe("newCommitments");
            server.publish("newCommitments", payload);
            return id;
          },
        }),
      },
      limits: { maxSubscriptionsPerConnection: 3, wsSubscriberBufferBytes: 64 * 1024, wsMaxBufferedBytes: 64 * 1024 * 1024 },
    });
  });

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  });

  it("answers single calls and batches", async () => {
    const client = await open();
    const single = await client.call("seq_getCommitment", [HASH]);
    expect(single).to.deep.equal({ jsonrpc: "2.0", id: 1, result: { txHash: HASH, position: "0x7", root: "0x01" } });

    client.send([rpc("seq_getCommitment", [HASH], "x"), { jsonrpc: "2.0", method: "seq_getCommitment", params: [HASH] }, rpc("nope", [], "y")]);
    const batch = await client.next(Array.isArray);
    expect(batch.map((r: any) => r.id)).to.deep.equal(["x", "y"]);
    expect(batch[0].result.position).to.equal("0x7");
    expect(batch[1].error.code).to.equal(METHOD_NOT_FOUND);
  });

  it("answers malformed and invalid messages with errors, and notifications with nothing", async () => {
    const client = await open();
    client.send("{not json");
    const parse = await client.next();
    expect(parse.id).to.equal(null);
    expect(parse.error.code).to.equal(PARSE_ERROR);
    client.send([]);
    expect((await client.next()).error).to.deep.equal({ code: INVALID_REQUEST, message: "invalid request: empty batch" });
    client.send({ jsonrpc: "2.0", method: "seq_getCommitment", params: [HASH] });
    // Anything the notification produced would arrive before this call's answer.
    expect((await client.call("seq_getCommitment", ["0x1"])).error.code).to.equal(INVALID_PARAMS);
    expect(client.received).to.deep.equal([]);
  });

  it("pushes published events to subscribers until they unsubscribe", async () => {
    const client = await open();
    const other = await open();
    const { result: id } = await client.call("seq_subscribe", ["newCommitments"]);
    expect(id).to.match(/^0x[0-9a-f]{32}$/);
    expect(server.stats().subscriptions).to.equal(1);

    expect(server.publish("newCommitments", { position: 8n, txHash: HASH })).to.equal(1);
    expect(server.publish("otherTopic", { ignored: true })).to.equal(0);
    const event = await client.next((m) => m.method === "seq_subscription");
    expect(event).to.deep.equal({
      jsonrpc: "2.0",
      method: "seq_subscription",
      params: { subscription: id, result: { position: "0x8", txHash: HASH } },
    });

    // Only the owning connection can cancel a subscription.
    expect((await other.call("seq_unsubscribe", [id])).result).to.equal(false);
    expect((await client.call("seq_unsubscribe", [id])).result).to.equal(true);
    expect((await client.call("seq_unsubscribe", [id])).result).to.equal(false);
    expect(server.publish("newCommitments", { position: 9n })).to.equal(0);
    await client.call("seq_getCommitment", [HASH]);
    expect(client.received).to.deep.equal([]);
    expect(server.stats().subscriptions).to.equal(0);
  });

  it("maps eth_subscribe to the same facility with eth_subscription notifications", async () => {
    const client = await open();
    const { result: id } = await client.call("eth_subscribe", ["newCommitments"]);
    server.publish("newCommitments", "0xabc");
    const event = await client.next((m) => m.method !== undefined);
    expect(event).to.deep.equal({ jsonrpc: "2.0", method: "eth_subscription", params: { subscription: id, result: "0xabc" } });
    expect((await client.call("eth_unsubscribe", [id])).result).to.equal(true);
  });

  it("rejects unknown topics, subscriptions over HTTP and subscriptions beyond the per-connection limit", async () => {
    const client = await open();
    const unknown = await client.call("seq_subscribe", ["newHeads"]);
    expect(unknown.error.code).to.equal(INVALID_PARAMS);
    expect(unknown.error.message).to.contain('unknown subscription topic "newHeads"');

    const overHttp = await post(server.url, rpc("seq_subscribe", ["newCommitments"]));
    expect(overHttp.json.error).to.deep.equal({ code: METHOD_NOT_FOUND, message: "subscriptions are only available over WebSocket" });

    for (let i = 0; i < 3; i++) expect((await client.call("seq_subscribe", ["newCommitments"])).result).to.be.a("string");
    const fourth = await client.call("seq_subscribe", ["newCommitments"]);
    expect(fourth.error.code).to.equal(OVERLOADED);
    expect(fourth.error.data).to.deep.equal({ retryable: true, limit: 3 });
    expect(server.stats().subscriptions).to.equal(3);
  });

  it("delivers an event published during the subscribe call only after the call's answer", async () => {
    const client = await open();
    client.send(rpc("test_subscribeAndPublish", [{ first: true }], 42));
    const first = await client.next();
    const second = await client.next();
    expect(first.id).to.equal(42);
    expect(second).to.deep.equal({ jsonrpc: "2.0", method: "seq_subscription", params: { subscription: first.result, result: { first: true } } });
  });

  it("drops the subscriptions of a client that stops reading, with a final error", async () => {
    const client = await open();
    const { result: id } = await client.call("seq_subscribe", ["newCommitments"]);
    const rawSocket = (client.socket as unknown as { _socket: Socket })._socket;
    rawSocket.pause();

    const payload = "f".repeat(64 * 1024);
    let published = 0;
    while (server.stats().subscriptions > 0 && published < 2_000) {
      server.publish("newCommitments", payload);
      published++;
      // Let the socket flush what the kernel will take.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.stats().subscriptions).to.equal(0);
    expect(server.publish("newCommitments", payload)).to.equal(0);

    rawSocket.resume();
    const final = await client.next((m) => m.params?.error !== undefined);
    expect(final.method).to.equal("seq_subscription");
    expect(final.params.subscription).to.equal(id);
    expect(final.params.error.code).to.equal(OVERLOADED);
    expect(final.params.error.message).to.contain("not reading notifications fast enough");
    // The connection itself survives and still answers calls.
    expect((await client.call("seq_getCommitment", [HASH])).result.position).to.equal("0x7");
    const delivered = client.received.filter((m) => m.params?.result === payload).length;
    expect(delivered).to.be.greaterThan(0).and.lessThan(published);
  });

  it("refuses WebSocket connections from browser origins unless CORS allows them", async () => {
    const error: Error = await TestWsClient.open(server.wsUrl, { origin: "https://evil.example" }).then(
      () => new Error("accepted"),
      (e: Error) => e,
    );
    expect(error.message).to.equal("Unexpected server response: 403");
    const allowed = await createRpcServer({ methods: exampleMethods(state), cors: { origins: ["https://app.example"] } });
    try {
      const client = await TestWsClient.open(allowed.wsUrl, { origin: "https://app.example" });
      expect((await client.call("seq_getCommitment", [HASH])).result.position).to.equal("0x7");
      await client.close();
    } finally {
      await allowed.close();
    }
  });

  it("forgets a connection's subscriptions when it disconnects", async () => {
    const client = await open();
    await client.call("seq_subscribe", ["newCommitments"]);
    await client.call("eth_subscribe", ["newCommitments"]);
    expect(server.stats()).to.include({ wsConnections: 1, subscriptions: 2 });
    await client.close();
    while (server.stats().wsConnections > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.stats().subscriptions).to.equal(0);
    expect(server.publish("newCommitments", 1)).to.equal(0);
  });
});
