import { expect } from "chai";
import http from "node:http";
import { Writable } from "node:stream";
import { createLogger } from "../../node/ops/logger.js";
import { NodeMetrics } from "../../node/ops/metrics.js";
import {
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  NO_LEADER,
  NOT_FOUND,
  PARSE_ERROR,
  TX_REJECTED,
} from "../../node/rpc/errors.js";
import { defineMethod, noParams } from "../../node/rpc/methods.js";
import { createRpcServer, type RpcServer } from "../../node/rpc/server.js";
import { exampleMethods, get, post, rpc } from "./helpers.js";

const HASH = `0x${"11".repeat(32)}`;

describe("rpc server over HTTP", () => {
  let server: RpcServer;
  let metrics: NodeMetrics;
  let logLines: string[];
  let healthy: boolean;
  let notified: unknown[];
  const state = { leader: true, commitments: new Map([[HASH, { position: 7n, root: new Uint8Array([0xde, 0xad]) }]]) };

  beforeEach(async () => {
    metrics = new NodeMetrics({ processMetrics: false });
    logLines = [];
    healthy = true;
    notified = [];
    state.leader = true;
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    server = await createRpcServer({
      methods: {
        ...exampleMethods(state),
        test_notify: defineMethod({ params: (raw) => raw, handler: (params) => void notified.push(params) }),
        test_crash: defineMethod({
          params: noParams,
          handler: () => {
            throw new Error("database handle /var/lib/seq/secret-path exploded");
          },
        }),
        test_badValidator: defineMethod({
          params: (): void => {
            throw new TypeError("validator bug");
          },
          handler: () => 1,
        }),
      },
      limits: { maxBatchLength: 5, maxBodyBytes: 64 * 1024 },
      logger: createLogger({ level: "debug", destination }),
      metrics,
      extraRoutes: {
        status: () => ({ role: "leader", term: 3n, commitPosition: 42 }),
        health: () => ({ healthy, reason: healthy ? undefined : "no leader for 30s" }),
      },
    });
  });

  afterEach(async () => {
    await server.close();
  });

  it("answers a single call, encoding bigint and bytes as hex", async () => {
    const reply = await post(server.url, rpc("seq_getCommitment", [HASH], 7));
    expect(reply.status).to.equal(200);
    expect(reply.headers.get("content-type")).to.equal("application/json");
    expect(reply.json).to.deep.equal({ jsonrpc: "2.0", id: 7, result: { txHash: HASH, position: "0x7", root: "0xdead" } });
  });

  it("answers a batch in order, leaving out notifications", async () => {
    const reply = await post(server.url, [
      rpc("seq_getCommitment", [HASH], "a"),
      { jsonrpc: "2.0", method: "test_notify", params: ["in batch"] },
      rpc("no_such_method", [], "b"),
      rpc("seq_getCommitment", ["0x12"], "c"),
      rpc("eth_sendRawTransaction", ["0x02f8"], "d"),
    ]);
    expect(reply.status).to.equal(200);
    expect(reply.json).to.have.length(4);
    const [a, b, c, d] = reply.json;
    expect(a.id).to.equal("a");
    expect(a.result.position).to.equal("0x7");
    expect(b).to.deep.equal({ jsonrpc: "2.0", id: "b", error: { code: METHOD_NOT_FOUND, message: 'method "no_such_method" not found' } });
    expect(c.id).to.equal("c");
    expect(c.error.code).to.equal(INVALID_PARAMS);
    expect(c.error.message).to.contain("txHash must be");
    expect(d.result).to.equal(`0x${"ab".repeat(32)}`);
    expect(notified).to.deep.equal([["in batch"]]);
  });

  it("runs notifications without answering them (204)", async () => {
    const single = await post(server.url, { jsonrpc: "2.0", method: "test_notify", params: { n: 1 } });
    expect(single.status).to.equal(204);
    expect(single.text).to.equal("");
    const batch = await post(server.url, [
      { jsonrpc: "2.0", method: "test_notify", params: { n: 2 } },
      { jsonrpc: "2.0", method: "no_such_method" },
    ]);
    expect(batch.status).to.equal(204);
    expect(notified).to.deep.equal([{ n: 1 }, { n: 2 }]);
  });

  it("answers malformed JSON with a parse error and id null", async () => {
    const reply = await post(server.url, '{"jsonrpc":"2.0","method":"seq_getCommitment",');
    expect(reply.status).to.equal(200);
    expect(reply.json.id).to.equal(null);
    expect(reply.json.error.code).to.equal(PARSE_ERROR);
    expect(reply.json.error.message).to.match(/^parse error: /);
  });

  it("rejects invalid request shapes with -32600, echoing a readable id", async () => {
    const cases: [unknown, unknown, string][] = [
      [1, null, "expected a JSON-RPC request object"],
      ["call", null, "expected a JSON-RPC request object"],
      [{}, null, '"jsonrpc" must be "2.0"'],
      [{ jsonrpc: "1.0", id: 4, method: "seq_getCommitment" }, 4, '"jsonrpc" must be "2.0"'],
      [{ jsonrpc: "2.0", id: 5, method: 17 }, 5, '"method" must be a non-empty string'],
      [{ jsonrpc: "2.0", id: 6, method: "seq_getCommitment", params: "0x11" }, 6, '"params" must be an array or an object'],
      [{ jsonrpc: "2.0", id: { nested: true }, method: "seq_getCommitment" }, null, '"id" must be a string, a number or null'],
    ];
    for (const [body, id, why] of cases) {
      const reply = await post(server.url, JSON.stringify(body));
      expect(reply.json, JSON.stringify(body)).to.deep.equal({ jsonrpc: "2.0", id, error: { code: INVALID_REQUEST, message: `invalid request: ${why}` } });
    }
    const batch = await post(server.url, [1, rpc("seq_getCommitment", [HASH], 2)]);
    expect(batch.json[0]).to.deep.include({ id: null });
    expect(batch.json[0].error.code).to.equal(INVALID_REQUEST);
    expect(batch.json[1].result.position).to.equal("0x7");
  });

  it("rejects an empty batch and a batch over the limit with one error", async () => {
    const empty = await post(server.url, []);
    expect(empty.json).to.deep.equal({ jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: "invalid request: empty batch" } });
    const calls = Array.from({ length: 6 }, (_, i) => rpc("seq_getCommitment", [HASH], i));
    const oversized = await post(server.url, calls);
    expect(oversized.json.error).to.deep.equal({ code: INVALID_REQUEST, message: "invalid request: batch of 6 exceeds the limit of 5" });
    expect(notified).to.deep.equal([]);
  });

  it("reports application errors with their code and retryable flag", async () => {
    const missing = await post(server.url, rpc("seq_getCommitment", [`0x${"22".repeat(32)}`]));
    expect(missing.json.error).to.deep.equal({
      code: NOT_FOUND,
      message: `no commitment for transaction 0x${"22".repeat(32)}`,
      data: { retryable: false },
    });
    state.leader = false;
    const noLeader = await post(server.url, rpc("eth_sendRawTransaction", ["0x02f8"]));
    expect(noLeader.json.error).to.deep.equal({ code: NO_LEADER, message: "no leader: election in progress", data: { retryable: true } });
    state.leader = true;
    const rejected = await post(server.url, rpc("eth_sendRawTransaction", ["0x"]));
    expect(rejected.json.error.code).to.equal(TX_REJECTED);
    expect(rejected.json.error.data).to.deep.equal({ retryable: false });
  });

  it("hides internal failures from clients and logs them", async () => {
    for (const method of ["test_crash", "test_badValidator"]) {
      const reply = await post(server.url, rpc(method, []));
      expect(reply.json.error).to.deep.equal({ code: INTERNAL_ERROR, message: "internal error" });
      expect(reply.text).to.not.contain("secret-path");
      expect(reply.text).to.not.contain("validator bug");
    }
    const logged = logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === "internal error in RPC method");
    expect(logged.map((line) => line.method)).to.deep.equal(["test_crash", "test_badValidator"]);
    expect(logged[0].err.message).to.contain("secret-path");
    expect(logged[0].level).to.equal("error");
  });

  it("requires a JSON content type (415) and POST on / (405)", async () => {
    const plain = await post(server.url, JSON.stringify(rpc("seq_getCommitment", [HASH])), { "content-type": "text/plain" });
    expect(plain.status).to.equal(415);
    expect(plain.json.error.code).to.equal(INVALID_REQUEST);
    expect(plain.json.error.message).to.contain("content-type must be application/json");
    const withCharset = await post(server.url, rpc("seq_getCommitment", [HASH]), { "content-type": "application/json; charset=utf-8" });
    expect(withCharset.json.result.position).to.equal("0x7");
    expect((await get(server.url)).status).to.equal(405);
    expect((await get(`${server.url}nowhere`)).status).to.equal(404);
  });

  it("rejects a declared oversized body with 413 before reading it", async () => {
    const body = JSON.stringify(rpc("eth_sendRawTransaction", [`0x${"00".repeat(64 * 1024)}`]));
    const reply = await post(server.url, body);
    expect(reply.status).to.equal(413);
    expect(reply.json.error).to.deep.equal({ code: INVALID_REQUEST, message: "invalid request: body exceeds 65536 bytes" });
  });

  it("serves /metrics with the node and RPC metric names", async () => {
    await post(server.url, rpc("seq_getCommitment", [HASH]));
    await post(server.url, rpc("no_such_method", []));
    await post(server.url, rpc("another_unknown", []));
    const reply = await get(`${server.url}metrics`);
    expect(reply.status).to.equal(200);
    expect(reply.headers.get("content-type")).to.contain("text/plain");
    for (const name of [
      "seq_node_role",
      "seq_raft_term",
      "seq_commit_position",
      "seq_applied_position",
      "seq_proposals_total",
      "seq_commitments_total",
      "seq_replication_lag_entries",
      "seq_fsync_seconds",
      "seq_commit_latency_seconds",
      "seq_rpc_requests_total",
      "seq_rpc_errors_total",
      "seq_transport_messages_sent_total",
      "seq_transport_messages_received_total",
      "seq_transport_messages_dropped_total",
      "seq_batches_posted_total",
      "seq_l1_errors_total",
    ]) {
      expect(reply.text).to.contain(`# TYPE ${name} `);
    }
    expect(reply.text).to.contain('seq_rpc_requests_total{method="seq_getCommitment"} 1');
    // Unknown method names share one label value: clients cannot blow up the series count.
    expect(reply.text).to.contain('seq_rpc_requests_total{method="unknown"} 2');
    expect(reply.text).to.contain(`seq_rpc_errors_total{code="${METHOD_NOT_FOUND}"} 2`);
  });

  it("serves /status from its callback and /health as 200 or 503", async () => {
    const status = await get(`${server.url}status`);
    expect(status.status).to.equal(200);
    expect(status.json).to.deep.equal({ role: "leader", term: "0x3", commitPosition: 42 });
    const ok = await get(`${server.url}health`);
    expect(ok.status).to.equal(200);
    expect(ok.json).to.deep.equal({ healthy: true });
    healthy = false;
    const down = await get(`${server.url}health?verbose=1`);
    expect(down.status).to.equal(503);
    expect(down.json).to.deep.equal({ healthy: false, reason: "no leader for 30s" });
  });

  it("sends no CORS headers by default", async () => {
    const reply = await post(server.url, rpc("seq_getCommitment", [HASH]), { origin: "https://evil.example" });
    expect(reply.headers.get("access-control-allow-origin")).to.equal(null);
    const preflight = await fetch(server.url, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
    await preflight.arrayBuffer();
    expect(preflight.status).to.equal(405);
  });
});

describe("rpc server CORS", () => {
  it("allows only the configured origins", async () => {
    const server = await createRpcServer({
      methods: { test_ping: defineMethod({ params: noParams, handler: () => "pong" }) },
      cors: { origins: ["https://app.example"], maxAgeSeconds: 60 },
    });
    try {
      const allowed = await post(server.url, rpc("test_ping"), { origin: "https://app.example" });
      expect(allowed.json.result).to.equal("pong");
      expect(allowed.headers.get("access-control-allow-origin")).to.equal("https://app.example");
      const other = await post(server.url, rpc("test_ping"), { origin: "https://other.example" });
      expect(other.headers.get("access-control-allow-origin")).to.equal(null);
      const preflight = await fetch(server.url, {
        method: "OPTIONS",
        headers: { origin: "https://app.example", "access-control-request-method": "POST" },
      });
      await preflight.arrayBuffer();
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get("access-control-allow-methods")).to.contain("POST");
      expect(preflight.headers.get("access-control-max-age")).to.equal("60");
    } finally {
      await server.close();
    }
  });
});

describe("rpc server static files", () => {
  let server: RpcServer;
  const page = Buffer.from("<!doctype html><title>status</title>");
  const script = Buffer.from("console.log('status');");

  /** A GET with the path sent exactly as written (fetch would resolve dots and escapes first). */
  function rawGet(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: server.host, port: server.port, path, method: "GET" }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject).end();
    });
  }

  before(async () => {
    server = await createRpcServer({
      methods: { test_ping: defineMethod({ params: noParams, handler: () => "pong" }) },
      extraRoutes: {
        files: new Map([
          ["/ui/", { contentType: "text/html; charset=utf-8", body: page }],
          ["/ui/app.js", { contentType: "text/javascript; charset=utf-8", body: script }],
        ]),
      },
    });
  });

  after(async () => {
    await server.close();
  });

  it("serves each file at its path with its content type and headers that keep it to this origin", async () => {
    const html = await fetch(`${server.url}ui/?refresh=1`);
    expect(html.status).to.equal(200);
    expect(html.headers.get("content-type")).to.equal("text/html; charset=utf-8");
    expect(html.headers.get("x-content-type-options")).to.equal("nosniff");
    const csp = html.headers.get("content-security-policy")!;
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).to.contain(directive);
    expect(Buffer.from(await html.arrayBuffer())).to.deep.equal(page);
    const js = await fetch(`${server.url}ui/app.js`);
    expect(js.headers.get("content-type")).to.equal("text/javascript; charset=utf-8");
    expect(await js.text()).to.equal(script.toString());
    const head = await fetch(`${server.url}ui/app.js`, { method: "HEAD" });
    expect(head.status).to.equal(200);
    expect(head.headers.get("content-length")).to.equal(String(script.length));
    expect(await head.text()).to.equal("");
    // The JSON-RPC and operational routes are unchanged beside them.
    expect((await post(server.url, rpc("test_ping"))).json.result).to.equal("pong");
    expect((await get(server.url)).status).to.equal(405);
  });

  it("answers 404 for every other path: no dots, escapes or case lead anywhere else", async () => {
    for (const path of ["/ui", "/ui/../ui/", "/ui/%2e%2e/ui/app.js", "/ui/./app.js", "/ui//app.js", "/ui/app.js/", "/UI/", "/ui/app.js%00", "/ui/..%2f..%2fpackage.json", "/../../etc/passwd"]) {
      const reply = await rawGet(path);
      expect(reply.status, path).to.equal(404);
      expect(reply.body, path).to.not.contain("console.log");
    }
    const posted = await post(`${server.url}ui/`, rpc("test_ping"));
    expect(posted.status).to.equal(404);
  });
});
