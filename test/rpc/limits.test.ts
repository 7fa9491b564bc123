import { expect } from "chai";
import http from "node:http";
import type { ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { NodeMetrics } from "../../node/ops/metrics.js";
import { INVALID_REQUEST, OVERLOADED, SHUTTING_DOWN, TIMEOUT } from "../../node/rpc/errors.js";
import { defineMethod, noParams, type RpcMethods } from "../../node/rpc/methods.js";
import { createRpcServer, type RpcLimits, type RpcServer } from "../../node/rpc/server.js";
import { signalGroup, spawnChild } from "../../scripts/lib/processes.js";
import { deferred, post, postFrom, rpc, TestWsClient } from "./helpers.js";

/** Methods whose handlers a test holds open: `test_slow` waits for `gate`, `test_fast` answers at once. */
function gatedMethods() {
  const gate = deferred();
  const entries: { signal: AbortSignal }[] = [];
  const enteredWaiters: { count: number; resolve: () => void }[] = [];
  const methods: RpcMethods = {
    test_fast: defineMethod({ params: noParams, handler: () => "fast" }),
    test_slow: defineMethod({
      params: noParams,
      handler: async (_params, ctx) => {
        entries.push({ signal: ctx.signal });
        for (const waiter of enteredWaiters.filter((w) => entries.length >= w.count)) waiter.resolve();
        await gate.promise;
        return "done";
      },
    }),
  };
  /** Resolves once `count` slow handlers have started. */
  const entered = (count: number) =>
    entries.length >= count ? Promise.resolve() : new Promise<void>((resolve) => enteredWaiters.push({ count, resolve }));
  return { methods, gate, entries, entered };
}

const RPC_SERVER = path.resolve(import.meta.dirname, "../fixtures/rpc-server.ts");

/** The URL test/fixtures/rpc-server.ts prints once it listens. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (data: Buffer) => {
      out += data.toString();
      const match = /^listening (\S+)$/m.exec(out);
      if (match !== null) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`the RPC server fixture exited (${code}) before listening`)));
  });
}

/** Polls (each event-loop turn) until `condition` holds; the mocha timeout bounds it. */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function start(methods: RpcMethods, limits: Partial<RpcLimits>, metrics?: NodeMetrics): Promise<RpcServer> {
  return createRpcServer({ methods, limits, metrics });
}

describe("rpc server limits", () => {
  let server: RpcServer | undefined;
  afterEach(async () => {
    await server?.close({ timeoutMs: 1_000 });
    server = undefined;
  });

  it("stops reading a streamed body at the limit and answers 413 long before the client is done", async () => {
    server = await start(gatedMethods().methods, { maxBodyBytes: 64 * 1024 });
    const chunk = Buffer.alloc(64 * 1024, 0x20); // JSON whitespace: only the size is wrong
    const total = 256 * 1024 * 1024;
    const outcome = await new Promise<{ status: number; body: string; written: number }>((resolve, reject) => {
      let written = 0;
      let answered = false;
      // No content-length: chunked, so the server can only find out by counting.
      const req = http.request(server!.url, { method: "POST", headers: { "content-type": "application/json" } });
      req.on("response", (res) => {
        answered = true;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (part) => (body += part));
        res.on("end", () => resolve({ status: res.statusCode!, body, written }));
      });
      req.on("error", (error) => {
        if (!answered) reject(error);
      });
      const pump = () => {
        while (!answered && written < total) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
    expect(outcome.status).to.equal(413);
    expect(JSON.parse(outcome.body).error.message).to.equal("invalid request: body exceeds 65536 bytes");
    expect(outcome.written).to.be.lessThan(total / 4);
  });

  it("413 drain: twenty fetch uploads of an oversized body, declared or streamed, all read the 413 and its JSON-RPC error", async () => {
    // In a process of its own: a reset only beats the client's read across event loops.
    const child = spawnChild(process.execPath, ["--import", "tsx", RPC_SERVER, JSON.stringify({ maxBodyBytes: 64 * 1024 })], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await listeningUrl(child);
      const body = JSON.stringify(rpc("test_echo", ["x".repeat(8_000_000)]));
      const streamed = () => {
        const bytes = Buffer.from(body);
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            for (let offset = 0; offset < bytes.length; offset += 64 * 1024) controller.enqueue(bytes.subarray(offset, offset + 64 * 1024));
            controller.close();
          },
        });
      };
      const outcomes: string[] = [];
      for (const kind of ["declared", "streamed"]) {
        for (let i = 0; i < 20; i++) {
          const init: RequestInit & { duplex?: "half" } =
            kind === "declared" ? { body } : { body: streamed(), duplex: "half" };
          const outcome = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, ...init }).then(
            async (res) => `${res.status} ${JSON.stringify((JSON.parse(await res.text()) as { error: unknown }).error)}`,
            (error: Error & { cause?: { code?: string } }) => `${kind}: ${error.cause?.code ?? error.message}`,
          );
          outcomes.push(outcome);
        }
      }
      const answer = `413 ${JSON.stringify({ code: INVALID_REQUEST, message: "invalid request: body exceeds 65536 bytes" })}`;
      expect(outcomes).to.deep.equal(Array(40).fill(answer));
    } finally {
      signalGroup(child, "SIGTERM");
    }
  });

  it("413 drain: what a client sends after its 413 is read for at most drainBytes and drainTimeoutMs, then the connection is dropped", async () => {
    server = await start(gatedMethods().methods, { maxBodyBytes: 1024, drainBytes: 256 * 1024, drainTimeoutMs: 300 });
    const headers = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n";
    /** Sends the headers of a huge body; resolves with the reply's head once it has come, `then` with what follows. */
    const refusedUpload = () => {
      // Half-open: the client does not close its side when the server closes its own.
      const socket = net.connect({ port: server!.port, host: "127.0.0.1", allowHalfOpen: true }, () => socket.write(headers));
      socket.on("error", () => {}); // the drop reaches a client still writing as a reset
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      const head = new Promise<string>((resolve) => {
        let reply = "";
        const onData = (data: Buffer) => {
          reply += data.toString();
          if (!reply.includes("\r\n\r\n")) return;
          socket.off("data", onData).resume();
          resolve(reply);
        };
        socket.on("data", onData);
      });
      return { socket, closed, head };
    };
    const refused = /^HTTP\/1.1 413 Payload Too Large\r\n[^]*connection: close/i;

    // A client that keeps sending without end is cut off.
    const endless = refusedUpload();
    expect(await endless.head).to.match(refused);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!endless.socket.destroyed && endless.socket.write(chunk)) sent += chunk.length;
    };
    endless.socket.on("drain", pump);
    pump();
    await endless.closed;
    expect(sent).to.be.greaterThan(0);
    await waitFor(() => server!.stats().connections === 0);

    // One that neither sends nor closes is let go of.
    const silent = refusedUpload();
    expect(await silent.head).to.match(refused);
    await waitFor(() => server!.stats().connections === 0);
    expect(silent.socket.destroyed, "the client kept its side open").to.equal(false);
    silent.socket.destroy();
  });

  it("answers OVERLOADED at once while slow calls hold every slot, and recovers after", async () => {
    const { methods, gate, entered } = gatedMethods();
    const metrics = new NodeMetrics({ processMetrics: false });
    server = await start(methods, { maxInFlight: 2 }, metrics);
    const slow = [post(server.url, rpc("test_slow", [], 1)), post(server.url, rpc("test_slow", [], 2))];
    await entered(2);
    expect(server.stats().inFlight).to.equal(2);

    const rejected = await post(server.url, rpc("test_fast", [], 3));
    expect(rejected.json.error).to.deep.equal({
      code: OVERLOADED,
      message: "server overloaded: 2 calls already in flight",
      data: { retryable: true, limit: 2 },
    });
    const batch = await post(server.url, [rpc("test_fast", [], 4), rpc("test_fast", [], 5)]);
    expect(batch.json.map((r: any) => r.error.code)).to.deep.equal([OVERLOADED, OVERLOADED]);

    gate.resolve();
    expect((await Promise.all(slow)).map((r) => r.json.result)).to.deep.equal(["done", "done"]);
    const recovered = await post(server.url, rpc("test_fast", [], 6));
    expect(recovered.json.result).to.equal("fast");
    expect(server.stats().inFlight).to.equal(0);
    expect(await metrics.registry.getSingleMetricAsString("seq_rpc_errors_total")).to.contain(`code="${OVERLOADED}"} 3`);
  });

  it("answers TIMEOUT and aborts ctx.signal when a handler overruns, holding its slot until it settles", async () => {
    const { methods, gate, entries } = gatedMethods();
    server = await start(methods, { requestTimeoutMs: 50, maxInFlight: 1 });
    const reply = await post(server.url, rpc("test_slow"));
    expect(reply.json.error).to.deep.equal({
      code: TIMEOUT,
      message: "test_slow did not complete within 50 ms",
      data: { retryable: true },
    });
    expect(entries[0].signal.aborted).to.equal(true);
    // The overrunning handler still occupies its slot.
    expect(server.stats().inFlight).to.equal(1);
    expect((await post(server.url, rpc("test_fast"))).json.error.code).to.equal(OVERLOADED);
    gate.resolve();
    await waitFor(() => server!.stats().inFlight === 0);
    expect((await post(server.url, rpc("test_fast"))).json.result).to.equal("fast");
  });

  it("closes connections beyond the limit on accept, holding no more than the limit", async () => {
    const metrics = new NodeMetrics({ processMetrics: false });
    const limit = 4;
    server = await start(gatedMethods().methods, { maxConnections: limit }, metrics);
    const { port } = server;
    const connect = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
        socket.once("error", reject);
      });
    const request = (socket: net.Socket): Promise<string> =>
      new Promise((resolve) => {
        let text = "";
        const onData = (data: Buffer) => {
          text += data.toString();
          if (text.includes('"result"')) {
            socket.off("data", onData);
            resolve(text);
          }
        };
        socket.on("data", onData);
        const body = JSON.stringify(rpc("test_fast"));
        socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });

    const held = await Promise.all(Array.from({ length: limit }, connect));
    for (const socket of held) expect(await request(socket)).to.match(/^HTTP\/1.1 200/);
    expect(server.stats().connections).to.equal(limit);

    const flood = 200;
    let answered = 0;
    let peak = 0;
    await Promise.all(
      Array.from(
        { length: flood },
        () =>
          new Promise<void>((resolve) => {
            const socket = net.connect(port, "127.0.0.1", () => socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
            socket.on("data", () => answered++);
            socket.on("error", () => {}); // ECONNRESET is one way of being refused
            socket.once("close", () => {
              peak = Math.max(peak, server!.stats().connections);
              resolve();
            });
          }),
      ),
    );
    expect(answered).to.equal(0);
    expect(peak).to.equal(limit);
    expect(await metrics.registry.getSingleMetricAsString("seq_rpc_rejected_connections_total")).to.contain(
      `seq_rpc_rejected_connections_total{reason="connections"} ${flood}`,
    );

    // The connections it kept still work, and freed slots are usable again.
    expect(await request(held[0])).to.match(/^HTTP\/1.1 200/);
    for (const socket of held) socket.destroy();
    await waitFor(() => server!.stats().connections === 0);
    expect((await post(server.url, rpc("test_fast"))).json.result).to.equal("fast");
  });

  it("S11: one client holding idle sockets cannot lock the others out: its connections past maxConnectionsPerClient are refused, another client is served", async () => {
    const metrics = new NodeMetrics({ processMetrics: false });
    server = await start(gatedMethods().methods, { maxConnections: 64, maxConnectionsPerClient: 16 }, metrics);
    const { port } = server;
    // More idle sockets than the whole server allows, all from 127.0.0.1, none sending a byte.
    const attempts = 100;
    let refused = 0;
    const hostile = Array.from({ length: attempts }, () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => {}); // ECONNRESET is one way of being refused
      socket.once("close", () => refused++);
      return socket;
    });
    // Every attempt is settled: refused, or held by the server.
    await waitFor(() => refused + server!.stats().connections === attempts);
    expect(server.stats().connections).to.equal(16);
    expect(refused).to.equal(attempts - 16);

    // Another client (127.0.0.2 is loopback too) is served while the hostile one holds its share.
    const reply = await postFrom("127.0.0.2", server.url, rpc("test_fast"));
    expect(reply.status).to.equal(200);
    expect(reply.json.result).to.equal("fast");
    expect(await metrics.registry.getSingleMetricAsString("seq_rpc_rejected_connections_total")).to.contain(
      `seq_rpc_rejected_connections_total{reason="client_connections"} ${attempts - 16}`,
    );
    for (const socket of hostile) socket.destroy();
    await waitFor(() => server!.stats().connections === 0);
  });

  it("S11: a connection without a request in progress is closed after idleTimeoutMs, silent or kept alive, one with a call in flight is not", async () => {
    const { methods, gate, entered } = gatedMethods();
    // Requests themselves may take ten minutes: only the idle timeout can close these in time.
    server = await start(methods, { idleTimeoutMs: 300, receiveTimeoutMs: 600_000 });
    const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.resume().on("error", () => {}).once("close", () => resolve()));
    const silent = net.connect(server.port, "127.0.0.1");
    const silentClosed = closed(silent);
    const kept = net.connect(server.port, "127.0.0.1");
    const keptClosed = closed(kept);
    let keptReply = "";
    kept.on("data", (data: Buffer) => (keptReply += data.toString()));
    const body = JSON.stringify(rpc("test_fast"));
    kept.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    // Settled either way, so a failed assertion below does not leave it rejecting unhandled.
    const busy = post(server.url, rpc("test_slow")).then((reply) => reply.json, (error: Error) => error);
    await entered(1);

    await Promise.all([silentClosed, keptClosed]);
    expect(keptReply).to.match(/^HTTP\/1.1 200 OK/);
    expect(keptReply).to.contain('"result":"fast"');
    await waitFor(() => server!.stats().connections === 1);
    gate.resolve();
    expect(await busy, "the connection with a call in flight stayed open").to.deep.include({ result: "done" });
  });

  it("frees the slots of connections that send nothing or trickle their headers", async () => {
    server = await start(gatedMethods().methods, { maxConnections: 2, receiveTimeoutMs: 200, idleTimeoutMs: 200 });
    const silent = net.connect(server.port, "127.0.0.1");
    const trickling = net.connect(server.port, "127.0.0.1", () => trickling.write("POST / HTTP/1.1\r\nHost: x\r\n"));
    let tricklingReply = "";
    trickling.on("data", (data) => (tricklingReply += data.toString()));
    // resume(): a paused socket never reads the server's FIN, so it would never close.
    const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.resume().on("error", () => {}).once("close", () => resolve()));
    await waitFor(() => server!.stats().connections === 2);
    await Promise.all([closed(silent), closed(trickling)]);
    expect(tricklingReply).to.match(/^HTTP\/1.1 408 Request Timeout/);
    await waitFor(() => server!.stats().connections === 0);
    expect((await post(server.url, rpc("test_fast"))).json.result).to.equal("fast");
  });

  it("refuses WebSocket upgrades beyond the WebSocket limit with 503", async () => {
    server = await start(gatedMethods().methods, { maxWsConnections: 2 });
    const clients = [await TestWsClient.open(server.wsUrl), await TestWsClient.open(server.wsUrl)];
    const error: Error = await TestWsClient.open(server.wsUrl).then(
      () => {
        throw new Error("third WebSocket was accepted");
      },
      (e: Error) => e,
    );
    expect(error.message).to.equal("Unexpected server response: 503");
    expect(server.stats().wsConnections).to.equal(2);
    await clients[0].close();
    await waitFor(() => server!.stats().wsConnections === 1);
    const replacement = await TestWsClient.open(server.wsUrl);
    expect((await replacement.call("test_fast")).result).to.equal("fast");
    await Promise.all([clients[1].close(), replacement.close()]);
  });

  it("closes a WebSocket that sends a message over the payload limit (1009)", async () => {
    server = await start(gatedMethods().methods, { wsMaxPayloadBytes: 1024 });
    const client = await TestWsClient.open(server.wsUrl);
    expect((await client.call("test_fast")).result).to.equal("fast");
    client.send(JSON.stringify(rpc("test_fast", ["x".repeat(2048)])));
    expect((await client.closed).code).to.equal(1009);
  });
});

describe("rpc server graceful close", () => {
  it("refuses new work, finishes calls in flight, then closes WebSockets with 1001", async () => {
    const { methods, gate, entered } = gatedMethods();
    const server = await createRpcServer({ methods });
    const httpCall = post(server.url, rpc("test_slow", [], 1));
    const client = await TestWsClient.open(server.wsUrl);
    const wsCall = client.call("test_slow");
    await entered(2);

    const closing = server.close({ timeoutMs: 30_000 });
    const refused = await fetch(server.url, { method: "POST" }).then(
      () => undefined,
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(refused).to.equal("ECONNREFUSED");
    const late = await client.call("test_fast");
    expect(late.error).to.deep.equal({ code: SHUTTING_DOWN, message: "server is shutting down", data: { retryable: true } });

    gate.resolve();
    const answered = await httpCall;
    expect(answered.json.result).to.equal("done");
    expect(answered.headers.get("connection")).to.equal("close");
    expect((await wsCall).result).to.equal("done");
    expect((await client.closed).code).to.equal(1001);
    await closing;
    expect(server.stats()).to.deep.equal({ connections: 0, wsConnections: 0, inFlight: 0, subscriptions: 0, requestBytes: 0, responseBytes: 0 });
  });

  it("gives up on calls that outlive the shutdown timeout, aborting their signal", async () => {
    const { methods, entries, entered } = gatedMethods();
    const server = await createRpcServer({ methods });
    const call = post(server.url, rpc("test_slow")).then(
      (reply) => reply.status,
      () => "connection closed",
    );
    await entered(1);
    await server.close({ timeoutMs: 50 });
    expect(entries[0].signal.aborted).to.equal(true);
    expect(server.stats().connections).to.equal(0);
    expect(await call).to.equal("connection closed");
  });
});
