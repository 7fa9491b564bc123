/**
 * JSON-RPC 2.0 server over HTTP POST `/` and WebSocket (upgrade on `/`), plus the
 * operational GET routes `/metrics`, `/status`, `/health` and a fixed set of static files
 * (a status page). Plain node:http + ws.
 *
 * Every resource a client can make the node hold is bounded: body bytes (counted while
 * streaming, per body and in all), batch length, calls in flight (excess answered OVERLOADED
 * at once, never queued), result bytes until sent (per message, per client and in all,
 * `budget.ts`), TCP connections in all and per client (remote address, `clients.ts`), the time
 * a connection may sit idle or an answer make no progress, what a refused upload may still
 * send, WebSocket connections, subscriptions per connection, call time, WebSocket message size
 * and the bytes queued for a WebSocket that does not read. README "Memory a hostile client can
 * make the node hold" adds them up.
 */
import http from "node:http";
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { performance } from "node:perf_hooks";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { createLogger, type Logger } from "../ops/logger.js";
import type { NodeMetrics } from "../ops/metrics.js";
import {
  INTERNAL_ERROR,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  OVERLOADED,
  RpcError,
  SHUTTING_DOWN,
  TIMEOUT,
  ERROR_CODES,
  type RpcErrorObject,
} from "./errors.js";
import type { RpcContext, RpcMethod, RpcMethods, SubscribeOptions, Transport } from "./methods.js";
import { errorResponse, notification, parseMessage, successResponse, toJson, type JsonRpcRequest, type RequestItem } from "./protocol.js";
import { RpcLayerError } from "./errors.js";
import { ByteBudget } from "./budget.js";
import { clientKeyOf } from "./clients.js";

export interface RpcLimits {
  /** Largest HTTP body accepted; larger bodies get 413 as soon as the count passes it. */
  readonly maxBodyBytes: number;
  /**
   * Request bytes all messages in flight may hold together (HTTP bodies as they stream in,
   * WebSocket messages while handled); beyond it a body is answered 503 and a message OVERLOADED.
   */
  readonly maxBodyBytesInFlight: number;
  readonly maxBatchLength: number;
  /** Calls being handled at once, across all connections; beyond it calls fail fast with OVERLOADED. */
  readonly maxInFlight: number;
  /** Open TCP connections (HTTP keep-alive and WebSocket); beyond it new connections are closed on accept. */
  readonly maxConnections: number;
  /**
   * Open TCP connections from one client (`clientKeyOf`: an IPv4 address, an IPv6 /64); beyond it
   * that client's new connections are closed on accept, so one client cannot fill `maxConnections`.
   */
  readonly maxConnectionsPerClient: number;
  /**
   * Time a connection may hold a slot without a request in progress: before its first byte, and
   * between keep-alive requests (Node's `keepAliveTimeout`). A request started is bounded by
   * `receiveTimeoutMs` instead.
   */
  readonly idleTimeoutMs: number;
  /** Open WebSocket connections; beyond it upgrades are answered 503. */
  readonly maxWsConnections: number;
  readonly maxSubscriptionsPerConnection: number;
  /** Time a handler has before the call is answered TIMEOUT (and its `ctx.signal` aborted). */
  readonly requestTimeoutMs: number;
  /** Time a client has to send a whole HTTP request (headers and body): slow-loris guard. */
  readonly receiveTimeoutMs: number;
  /**
   * After an HTTP request is refused before its body was read (413), request bytes the server
   * still reads and discards so that the client receives the answer, and for how long at most.
   */
  readonly drainBytes: number;
  readonly drainTimeoutMs: number;
  /** Largest WebSocket message accepted; larger ones close the connection (1009). */
  readonly wsMaxPayloadBytes: number;
  /** Bytes queued for a WebSocket beyond which its subscriptions are dropped instead of pushed to. */
  readonly wsSubscriberBufferBytes: number;
  /** Bytes queued for a WebSocket beyond which the connection is terminated. */
  readonly wsMaxBufferedBytes: number;
  /** WebSocket ping period; a connection that missed the previous pong is terminated. */
  readonly wsPingIntervalMs: number;
  /** Result bytes one message (a batch included) may produce; beyond it, calls answer OVERLOADED. */
  readonly maxResponseBytes: number;
  /** Result bytes the messages of one client (`clientKeyOf`) may hold together, until sent. */
  readonly maxResponseBytesPerClient: number;
  /** Result bytes all messages may hold together, until sent: the node's bound on response memory. */
  readonly maxResponseBytesInFlight: number;
  /** An HTTP response that makes no progress for this long (the client does not read) is dropped with its connection. */
  readonly sendTimeoutMs: number;
}

export const DEFAULT_LIMITS: RpcLimits = {
  maxBodyBytes: 5 * 1024 * 1024,
  maxBodyBytesInFlight: 64 * 1024 * 1024,
  maxBatchLength: 100,
  maxInFlight: 256,
  maxConnections: 2048,
  maxConnectionsPerClient: 512,
  idleTimeoutMs: 5_000,
  maxWsConnections: 512,
  maxSubscriptionsPerConnection: 64,
  requestTimeoutMs: 30_000,
  receiveTimeoutMs: 30_000,
  drainBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 5_000,
  wsMaxPayloadBytes: 5 * 1024 * 1024,
  wsSubscriberBufferBytes: 4 * 1024 * 1024,
  wsMaxBufferedBytes: 16 * 1024 * 1024,
  wsPingIntervalMs: 30_000,
  maxResponseBytes: 16 * 1024 * 1024,
  maxResponseBytesPerClient: 16 * 1024 * 1024,
  maxResponseBytesInFlight: 64 * 1024 * 1024,
  sendTimeoutMs: 30_000,
};

/** Cross-origin access for browsers. Off unless configured; also governs WebSocket `Origin` checks. */
export interface CorsOptions {
  /** Allowed origins (`https://app.example`), or `"*"` for any. */
  readonly origins: readonly string[] | "*";
  readonly maxAgeSeconds?: number;
}

export interface HealthReport {
  readonly healthy: boolean;
  readonly [detail: string]: unknown;
}

/** A file held in memory and served as it is. */
export interface StaticFile {
  /** The Content-Type header, e.g. `text/html; charset=utf-8`. */
  readonly contentType: string;
  readonly body: Buffer;
}

export interface ExtraRoutes {
  /** GET /status: the returned value as JSON. */
  readonly status?: () => unknown;
  /** GET /health: 200 when `healthy`, else 503; the report is the body. Without it: 200 while serving. */
  readonly health?: () => HealthReport | Promise<HealthReport>;
  /**
   * GET (and HEAD) of exactly these paths, the query string cut off. Looked up, never resolved
   * against a directory: no other path reaches a file, whatever dots or escapes it holds.
   */
  readonly files?: ReadonlyMap<string, StaticFile>;
}

export interface RpcServerOptions {
  /** Default 127.0.0.1: exposing the node is an explicit choice. */
  readonly host?: string;
  /** Default 0 (an ephemeral port; read it back from `server.port`). */
  readonly port?: number;
  readonly methods: RpcMethods;
  readonly limits?: Partial<RpcLimits>;
  readonly logger?: Logger;
  /** Serves `/metrics` from its registry and records RPC metrics into it. */
  readonly metrics?: NodeMetrics;
  readonly extraRoutes?: ExtraRoutes;
  readonly cors?: CorsOptions;
}

export interface RpcServerStats {
  /** Open TCP connections, WebSockets included. */
  readonly connections: number;
  readonly wsConnections: number;
  readonly inFlight: number;
  readonly subscriptions: number;
  /** Request bytes held by messages in flight (`maxBodyBytesInFlight`). */
  readonly requestBytes: number;
  /** Result bytes held by answers not yet sent (`maxResponseBytesInFlight`). */
  readonly responseBytes: number;
}

export interface RpcServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/` */
  readonly url: string;
  /** `ws://host:port/` */
  readonly wsUrl: string;
  /**
   * Pushes `payload` to every live subscription on `topic`; returns how many were sent to.
   * The payload is serialized once (see `toJson`); throws if it cannot be (a cycle).
   * Subscribers too slow to keep up are dropped with a final OVERLOADED error instead.
   */
  publish(topic: string, payload: unknown): number;
  stats(): RpcServerStats;
  /**
   * Graceful stop: refuse new connections and calls (SHUTTING_DOWN), let calls in flight
   * finish for up to `timeoutMs`, close WebSockets with 1001, then drop what is left.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

export class RpcServerListenError extends RpcLayerError {
  override readonly name = "RpcServerListenError";
  constructor(host: string, port: number, cause: unknown) {
    super(`RPC server could not listen on ${host}:${port}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export async function createRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const server = new JsonRpcServer(options);
  await server.listen(options.host ?? "127.0.0.1", options.port ?? 0);
  return server;
}

interface WsConnection {
  readonly socket: WebSocket;
  readonly remoteAddress: string | undefined;
  readonly subscriptions: Map<string, Subscription>;
  /** Aborted when the connection closes: handlers' results can no longer be delivered. */
  readonly closed: AbortController;
  alive: boolean;
}

interface Subscription {
  readonly id: string;
  readonly topic: string;
  readonly notificationMethod: string;
  readonly connection: WsConnection;
  /** Notifications held until the subscribe response is sent; null once live. */
  pending: string[] | null;
}

type Outcome = { readonly ok: true; readonly resultJson: string } | { readonly ok: false; readonly error: RpcErrorObject };

/** Notifications held for a subscription whose subscribe call has not been answered yet. */
const MAX_PENDING_NOTIFICATIONS = 256;
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** After in-flight work is done, how long WebSocket close handshakes and response flushes get. */
const CLOSE_GRACE_MS = 1_000;

class JsonRpcServer implements RpcServer {
  readonly limits: RpcLimits;
  /** Result bytes held for every message until its response is sent (`budget.ts`)... */
  private readonly responses: ByteBudget;
  /** ...within each client's share, kept while one of its messages holds some. */
  private readonly clientResponses = new Map<string, { readonly budget: ByteBudget; messages: number }>();
  /** Request bytes held for every message in flight. */
  private readonly requests: ByteBudget;
  private readonly methods: ReadonlyMap<string, RpcMethod<unknown, unknown>>;
  private readonly log: Logger;
  private readonly metrics: NodeMetrics | undefined;
  private readonly routes: ExtraRoutes;
  private readonly cors: CorsOptions | undefined;
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  /** Per connection, the releases of answers not yet sent (`whenSent`). */
  private readonly unsent = new WeakMap<Socket, Set<() => void>>();
  /** Open connections per client key (`clientKeyOf`). */
  private readonly clientConnections = new Map<string, number>();
  private readonly wsConnections = new Set<WsConnection>();
  private readonly topics = new Map<string, Set<Subscription>>();
  /** Aborted on forced shutdown: reaches every handler's `ctx.signal`. */
  private readonly shutdown = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** HTTP requests and WebSocket messages between arrival and their response being written. */
  private activeMessages = 0;
  private waiters: { condition: () => boolean; resolve: () => void }[] = [];
  private closing = false;
  private closed: Promise<void> | undefined;
  host = "";
  port = 0;

  constructor(options: RpcServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.responses = new ByteBudget(this.limits.maxResponseBytesInFlight);
    this.requests = new ByteBudget(this.limits.maxBodyBytesInFlight);
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`RPC limit ${name} must be a positive number, got ${value}`);
    }
    this.methods = new Map(Object.entries(options.methods));
    this.log = options.logger ?? createLogger({ level: "silent" });
    this.metrics = options.metrics;
    for (const code of ERROR_CODES) this.metrics?.rpcErrors.inc({ code: String(code) }, 0);
    this.routes = options.extraRoutes ?? {};
    this.cors = options.cors;

    const checkInterval = Math.min(1_000, this.limits.receiveTimeoutMs / 2);
    this.http = http.createServer(
      {
        // Node's own guard against clients trickling a request; it spans the whole request, so it
        // must also outlast a handler that takes the full request timeout.
        requestTimeout: this.limits.receiveTimeoutMs + this.limits.requestTimeoutMs,
        headersTimeout: this.limits.receiveTimeoutMs,
        keepAliveTimeout: this.limits.idleTimeoutMs,
        connectionsCheckingInterval: checkInterval,
      },
      (req, res) => this.onRequest(req, res),
    );
    // Refused at accept, before any parser or buffer is allocated for the connection.
    this.http.maxConnections = this.limits.maxConnections;
    this.http.on("drop", () => this.metrics?.rpcRejectedConnections.inc({ reason: "connections" }));
    this.http.on("connection", (socket: Socket) => this.onConnection(socket));
    this.http.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      this.log.debug({ err: error }, "HTTP client error");
      // Timeouts include connections that never sent a full request (slow loris, idle sockets holding a slot).
      const status = error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });

    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.wsMaxPayloadBytes, perMessageDeflate: false, clientTracking: false });
  }

  get url(): string {
    return `http://${this.hostForUrl()}:${this.port}/`;
  }

  get wsUrl(): string {
    return `ws://${this.hostForUrl()}:${this.port}/`;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(new RpcServerListenError(host, port, error));
      this.http.once("error", onError);
      this.http.listen(port, host, () => {
        this.http.off("error", onError);
        this.http.on("error", (error) => this.log.error({ err: error }, "RPC server error"));
        const address = this.http.address();
        if (address === null || typeof address === "string") return reject(new RpcServerListenError(host, port, new Error("not a TCP address")));
        this.host = address.address;
        this.port = address.port;
        this.heartbeat = setInterval(() => this.pingWebSockets(), this.limits.wsPingIntervalMs).unref();
        this.log.info({ host: this.host, port: this.port }, "RPC server listening");
        resolve();
      });
    });
  }

  stats(): RpcServerStats {
    let subscriptions = 0;
    for (const connection of this.wsConnections) subscriptions += connection.subscriptions.size;
    return {
      connections: this.sockets.size,
      wsConnections: this.wsConnections.size,
      inFlight: this.inFlight,
      subscriptions,
      requestBytes: this.requests.held,
      responseBytes: this.responses.held,
    };
  }

  publish(topic: string, payload: unknown): number {
    const subscribers = this.topics.get(topic);
    if (subscribers === undefined || subscribers.size === 0) return 0;
    const resultJson = toJson(payload);
    let sent = 0;
    for (const subscription of [...subscribers]) {
      const message = notification(
        subscription.notificationMethod,
        `{"subscription":${JSON.stringify(subscription.id)},"result":${resultJson}}`,
      );
      if (subscription.pending !== null) {
        if (subscription.pending.length < MAX_PENDING_NOTIFICATIONS) subscription.pending.push(message);
        else this.dropSlowSubscription(subscription);
        continue;
      }
      if (subscription.connection.socket.bufferedAmount > this.limits.wsSubscriberBufferBytes) {
        this.dropSlowSubscription(subscription);
        continue;
      }
      if (this.sendWs(subscription.connection, message)) sent++;
    }
    return sent;
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed ??= this.shutDown(options.timeoutMs ?? SHUTDOWN_TIMEOUT_MS);
    return this.closed;
  }

  // ---- shutdown --------------------------------------------------------------------------

  private async shutDown(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.log.info({ inFlight: this.inFlight }, "RPC server closing");
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    // Keep-alive sockets with nothing in progress would otherwise hold `close` open.
    this.http.closeIdleConnections();

    const drained = await within(this.waitUntil(() => this.inFlight === 0 && this.activeMessages === 0), timeoutMs);
    if (!drained) this.log.warn({ inFlight: this.inFlight, activeMessages: this.activeMessages }, "RPC shutdown timed out with calls in flight");
    this.shutdown.abort(new RpcError(SHUTTING_DOWN, "server is shutting down"));
    for (const connection of this.wsConnections) connection.socket.close(1001, "server shutting down");
    this.http.closeIdleConnections();

    const disconnected = () => this.sockets.size === 0 && this.wsConnections.size === 0;
    // Drained: responses are out, give clients a moment to complete the WebSocket close handshake.
    if (!drained || !(await within(this.waitUntil(disconnected), CLOSE_GRACE_MS))) {
      for (const connection of this.wsConnections) connection.socket.terminate();
      this.http.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    }
    await Promise.all([stopped, this.waitUntil(disconnected)]);
    clearInterval(this.heartbeat);
    this.wss.close();
    this.log.info("RPC server closed");
  }

  /** Resolves once `condition` holds; re-checked whenever a call, message or connection ends. */
  private waitUntil(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ condition, resolve }));
  }

  private notifyWaiters(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((waiter) => waiter.condition());
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    const client = clientKeyOf(socket.remoteAddress);
    const held = this.clientConnections.get(client) ?? 0;
    if (held >= this.limits.maxConnectionsPerClient) {
      // Closed before a byte is read, like a connection over `maxConnections`: the client sees
      // the connection reset, which clients treat as retryable (another node, or later).
      this.metrics?.rpcRejectedConnections.inc({ reason: "client_connections" });
      this.log.debug({ client, limit: this.limits.maxConnectionsPerClient }, "refused a connection over the per-client limit");
      socket.destroy();
      return;
    }
    this.clientConnections.set(client, held + 1);
    this.sockets.add(socket);
    this.updateConnectionGauges();
    // Node's header timeout starts at a request's first byte: a connection that never sends one
    // would hold its slot forever. Checked after one more poll phase, so bytes that arrived
    // while the event loop was busy are counted before the connection is judged silent.
    const silent = setTimeout(() => {
      setImmediate(() => {
        if (socket.bytesRead === 0) socket.destroy();
      });
    }, this.limits.idleTimeoutMs).unref();
    socket.once("close", () => {
      clearTimeout(silent);
      const left = (this.clientConnections.get(client) ?? 1) - 1;
      if (left === 0) this.clientConnections.delete(client);
      else this.clientConnections.set(client, left);
      this.sockets.delete(socket);
      this.updateConnectionGauges();
      this.notifyWaiters();
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? "/").split("?", 1)[0];
    const allowedOrigin = this.allowedOrigin(req);
    if (allowedOrigin !== undefined) {
      res.setHeader("access-control-allow-origin", allowedOrigin);
      res.setHeader("vary", "Origin");
    }
    if (this.closing) res.setHeader("connection", "close");

    if (req.method === "OPTIONS") {
      if (allowedOrigin === undefined) return sendJson(res, 405, toJson({ error: "method not allowed" }));
      res.setHeader("access-control-allow-methods", "POST, GET, OPTIONS");
      res.setHeader("access-control-allow-headers", "content-type");
      res.setHeader("access-control-max-age", String(this.cors?.maxAgeSeconds ?? 600));
      res.writeHead(204).end();
      return;
    }
    if (req.method === "POST" && path === "/") {
      void this.onPost(req, res);
      return;
    }
    if (req.method === "GET" || req.method === "HEAD") {
      if (path === "/metrics" && this.metrics) return void this.serveMetrics(res, this.metrics);
      if (path === "/status" && this.routes.status) return void this.serveStatus(res, this.routes.status);
      if (path === "/health") return void this.serveHealth(res);
      const file = this.routes.files?.get(path);
      if (file !== undefined) return serveFile(res, file);
    }
    if (path === "/") {
      res.setHeader("allow", "POST");
      return sendJson(res, 405, toJson({ error: "use POST for JSON-RPC over HTTP, or upgrade to WebSocket" }));
    }
    sendJson(res, 404, toJson({ error: `no route ${req.method} ${path}` }));
  }

  private async onPost(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.activeMessages++;
    try {
      if (this.closing) {
        return sendJson(res, 503, this.rejection(SHUTTING_DOWN, "server is shutting down"));
      }
      const contentType = (req.headers["content-type"] ?? "").split(";", 1)[0].trim().toLowerCase();
      if (contentType !== "application/json") {
        return sendJson(res, 415, this.rejection(INVALID_REQUEST, `invalid request: content-type must be application/json, got ${JSON.stringify(contentType)}`));
      }
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > this.limits.maxBodyBytes) return this.rejectOversized(req, res);
      const request = new ByteBudget(this.limits.maxBodyBytes, this.requests);
      try {
        const body = await readBody(req, request);
        if (body === "too large") return this.rejectOversized(req, res);
        if (body === "over budget") return this.rejectBusy(req, res);
        if (body === "aborted") return;

        const response = this.responseBudget(req.socket.remoteAddress);
        try {
          const reply = await this.handleMessage(body.toString("utf8"), "http", undefined, req.socket.remoteAddress, response.budget);
          if (this.closing) res.setHeader("connection", "close");
          if (reply.body === undefined) res.writeHead(204).end();
          else sendJson(res, 200, reply.body);
          // Without a callback: the connection of an answer that makes no progress is destroyed.
          res.setTimeout(this.limits.sendTimeoutMs);
        } finally {
          // Held until the answer has left the process: an unread one still counts.
          if (req.socket.destroyed) response.release();
          else this.whenSent(res, response.release);
        }
      } finally {
        request.release();
      }
    } catch (error) {
      this.log.error({ err: error }, "unexpected failure handling an HTTP request");
      if (!res.headersSent) sendJson(res, 500, this.rejection(INTERNAL_ERROR, "internal error"));
      else res.destroy();
    } finally {
      this.activeMessages--;
      this.notifyWaiters();
    }
  }

  private rejectOversized(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.closeAfterDraining(req, res);
    sendJson(res, 413, this.rejection(INVALID_REQUEST, `invalid request: body exceeds ${this.limits.maxBodyBytes} bytes`));
  }

  /** The bodies in flight already hold `maxBodyBytesInFlight`: this one stops here, to be sent again. */
  private rejectBusy(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.closeAfterDraining(req, res);
    const message = `server overloaded: request bodies in flight hold the node's ${this.limits.maxBodyBytesInFlight} bytes for them; retry`;
    sendJson(res, 503, this.rejection(OVERLOADED, message, { limit: this.limits.maxBodyBytesInFlight }));
  }

  /**
   * A message's response budget, within its client's share of the server's; `release` (at most
   * once, whenever the answer is out) gives it back and forgets a client that holds nothing.
   */
  private responseBudget(remoteAddress: string | undefined): { readonly budget: ByteBudget; readonly release: () => void } {
    const client = clientKeyOf(remoteAddress);
    let share = this.clientResponses.get(client);
    if (share === undefined) this.clientResponses.set(client, (share = { budget: new ByteBudget(this.limits.maxResponseBytesPerClient, this.responses), messages: 0 }));
    share.messages++;
    const budget = new ByteBudget(this.limits.maxResponseBytes, share.budget);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      budget.release();
      if (--share.messages === 0) this.clientResponses.delete(client);
    };
    return { budget, release };
  }

  /**
   * Answers with `Connection: close` and then closes the way nginx's lingering close does.
   * Node destroys such a socket as soon as the response is written, and closing a socket with
   * request bytes still unread sends a reset, which can reach the client before it has read the
   * answer (a `fetch` still uploading fails with EPIPE instead of seeing the 413). So the socket
   * is only half-closed, and what the client still sends is read and discarded, never kept, up
   * to `drainBytes` or `drainTimeoutMs`, whichever comes first, then it is dropped: a client
   * cannot make the node read without end.
   */
  private closeAfterDraining(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    res.setHeader("connection", "close");
    // Node's http server ends a `Connection: close` response with socket.destroySoon().
    socket.destroySoon = () => socket.end();
    const drop = () => socket.destroy();
    const timer = setTimeout(drop, this.limits.drainTimeoutMs).unref();
    socket.once("close", () => clearTimeout(timer));
    let drained = 0;
    req.on("data", (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > this.limits.drainBytes) drop();
    });
  }

  /**
   * Runs `sent` once the response has been written out, or its connection has closed: answers
   * pipelined behind an unread one wait in a queue and emit nothing when the connection goes.
   */
  private whenSent(res: http.ServerResponse, sent: () => void): void {
    const socket = res.req.socket;
    let pending = this.unsent.get(socket);
    if (pending === undefined) {
      const waiting = new Set<() => void>();
      this.unsent.set(socket, (pending = waiting));
      socket.once("close", () => {
        for (const release of waiting) release();
        waiting.clear();
      });
    }
    pending.add(sent);
    res.once("close", () => {
      pending.delete(sent);
      sent();
    });
  }

  /** A whole-message error response (id null; an application code carries `data.retryable`), counted in the error metrics. */
  private rejection(code: number, message: string, data?: unknown): string {
    this.metrics?.rpcErrors.inc({ code: String(code) });
    return errorResponse(null, new RpcError(code, message, data).toJSON());
  }

  private async serveMetrics(res: http.ServerResponse, metrics: NodeMetrics): Promise<void> {
    try {
      const { contentType, body } = await metrics.exposition();
      res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) }).end(body);
    } catch (error) {
      this.log.error({ err: error }, "metrics collection failed");
      sendJson(res, 500, toJson({ error: "metrics collection failed" }));
    }
  }

  private async serveStatus(res: http.ServerResponse, status: () => unknown): Promise<void> {
    try {
      sendJson(res, 200, toJson(await status()));
    } catch (error) {
      this.log.error({ err: error }, "status callback failed");
      sendJson(res, 500, toJson({ error: "status unavailable" }));
    }
  }

  private async serveHealth(res: http.ServerResponse): Promise<void> {
    if (this.closing) return sendJson(res, 503, toJson({ healthy: false, reason: "shutting down" }));
    if (!this.routes.health) return sendJson(res, 200, toJson({ healthy: true }));
    try {
      const report = await this.routes.health();
      sendJson(res, report.healthy === true ? 200 : 503, toJson(report));
    } catch (error) {
      this.log.error({ err: error }, "health callback failed");
      sendJson(res, 503, toJson({ healthy: false, reason: "health check failed" }));
    }
  }

  private allowedOrigin(req: http.IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    if (origin === undefined || this.cors === undefined) return undefined;
    if (this.cors.origins === "*") return "*";
    return this.cors.origins.includes(origin) ? origin : undefined;
  }

  // ---- WebSocket -------------------------------------------------------------------------

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (error) => this.log.debug({ err: error }, "socket error during WebSocket upgrade"));
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/") return abortHandshake(socket, 404, `no WebSocket endpoint at ${path}`);
    if (this.closing) return abortHandshake(socket, 503, "server is shutting down");
    // Browsers do not apply CORS to WebSockets: the server must check Origin itself.
    if (req.headers.origin !== undefined && this.allowedOrigin(req) === undefined) {
      this.metrics?.rpcRejectedConnections.inc({ reason: "origin" });
      return abortHandshake(socket, 403, `origin ${req.headers.origin} is not allowed`);
    }
    if (this.wsConnections.size >= this.limits.maxWsConnections) {
      this.metrics?.rpcRejectedConnections.inc({ reason: "ws_connections" });
      return abortHandshake(socket, 503, `WebSocket connection limit of ${this.limits.maxWsConnections} reached`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onWsConnection(ws, req));
  }

  private onWsConnection(socket: WebSocket, req: http.IncomingMessage): void {
    const connection: WsConnection = {
      socket,
      remoteAddress: req.socket.remoteAddress,
      subscriptions: new Map(),
      closed: new AbortController(),
      alive: true,
    };
    this.wsConnections.add(connection);
    this.updateConnectionGauges();
    socket.on("message", (data) => void this.onWsMessage(connection, data));
    socket.on("pong", () => (connection.alive = true));
    socket.on("error", (error) => this.log.debug({ err: error }, "WebSocket error"));
    socket.once("close", () => {
      this.wsConnections.delete(connection);
      for (const subscription of [...connection.subscriptions.values()]) this.removeSubscription(subscription);
      connection.closed.abort(new RpcError(INVALID_REQUEST, "WebSocket closed"));
      this.updateConnectionGauges();
      this.notifyWaiters();
    });
  }

  private async onWsMessage(connection: WsConnection, data: RawData): Promise<void> {
    this.activeMessages++;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const request = new ByteBudget(this.limits.maxBodyBytesInFlight, this.requests);
      if (!request.reserve(bytes.length)) {
        const message = `server overloaded: messages in flight hold the node's ${this.limits.maxBodyBytesInFlight} bytes for them; retry`;
        this.sendWs(connection, this.rejection(OVERLOADED, message, { limit: this.limits.maxBodyBytesInFlight }));
        return;
      }
      const response = this.responseBudget(connection.remoteAddress);
      let reply;
      try {
        reply = await this.handleMessage(bytes.toString("utf8"), "ws", connection, connection.remoteAddress, response.budget);
      } catch (error) {
        response.release();
        throw error;
      } finally {
        request.release();
      }
      // Held until the answer has been written out: an unread one still counts.
      if (reply.body === undefined || !this.sendWs(connection, reply.body, response.release)) response.release();
      // Only now does the client know the subscription ids: start pushing.
      for (const subscription of reply.subscriptions) this.activate(subscription);
    } catch (error) {
      this.log.error({ err: error }, "unexpected failure handling a WebSocket message");
    } finally {
      this.activeMessages--;
      this.notifyWaiters();
    }
  }

  /**
   * Sends unless the client has stopped reading, in which case the connection is cut. When it
   * sends, `written` runs once the message has been written out, or failed to be.
   */
  private sendWs(connection: WsConnection, text: string, written?: () => void): boolean {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > this.limits.wsMaxBufferedBytes) {
      this.log.warn({ remote: connection.remoteAddress, buffered: socket.bufferedAmount }, "terminating WebSocket client that does not read");
      socket.terminate();
      return false;
    }
    socket.send(text, written);
    return true;
  }

  private pingWebSockets(): void {
    for (const connection of this.wsConnections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private subscribe(connection: WsConnection, topic: string, options: SubscribeOptions | undefined): Subscription {
    if (connection.subscriptions.size >= this.limits.maxSubscriptionsPerConnection) {
      throw new RpcError(OVERLOADED, `subscription limit of ${this.limits.maxSubscriptionsPerConnection} per connection reached`, {
        limit: this.limits.maxSubscriptionsPerConnection,
      });
    }
    const subscription: Subscription = {
      id: `0x${randomBytes(16).toString("hex")}`,
      topic,
      notificationMethod: options?.notificationMethod ?? "seq_subscription",
      connection,
      pending: [],
    };
    connection.subscriptions.set(subscription.id, subscription);
    let subscribers = this.topics.get(topic);
    if (subscribers === undefined) this.topics.set(topic, (subscribers = new Set()));
    subscribers.add(subscription);
    return subscription;
  }

  private activate(subscription: Subscription): void {
    const pending = subscription.pending;
    if (pending === null || !subscription.connection.subscriptions.has(subscription.id)) return;
    subscription.pending = null;
    for (const message of pending) this.sendWs(subscription.connection, message);
  }

  private removeSubscription(subscription: Subscription): void {
    subscription.connection.subscriptions.delete(subscription.id);
    const subscribers = this.topics.get(subscription.topic);
    subscribers?.delete(subscription);
    if (subscribers?.size === 0) this.topics.delete(subscription.topic);
  }

  private dropSlowSubscription(subscription: Subscription): void {
    this.removeSubscription(subscription);
    const error: RpcErrorObject = new RpcError(OVERLOADED, "subscription dropped: the client is not reading notifications fast enough").toJSON();
    this.metrics?.rpcErrors.inc({ code: String(OVERLOADED) });
    this.log.warn({ remote: subscription.connection.remoteAddress, topic: subscription.topic }, "dropped slow subscription");
    this.sendWs(
      subscription.connection,
      notification(subscription.notificationMethod, `{"subscription":${JSON.stringify(subscription.id)},"error":${toJson(error)}}`),
    );
  }

  // ---- calls -----------------------------------------------------------------------------

  /** Handles one HTTP body or WebSocket message: a single request or a batch. */
  private async handleMessage(
    text: string,
    transport: Transport,
    connection: WsConnection | undefined,
    remoteAddress: string | undefined,
    budget: ByteBudget,
  ): Promise<{ body: string | undefined; subscriptions: Subscription[] }> {
    const parsed = parseMessage(text, this.limits.maxBatchLength);
    const subscriptions: Subscription[] = [];
    if (parsed.kind === "rejected") return { body: this.rejection(parsed.error.code, parsed.error.message), subscriptions };
    const answer = async (item: RequestItem): Promise<string | undefined> => {
      if (!item.ok) {
        this.metrics?.rpcErrors.inc({ code: String(item.error.code) });
        return errorResponse(item.id, item.error);
      }
      const created: Subscription[] = [];
      const outcome = await this.execute(item.request, transport, connection, remoteAddress, created, budget);
      // A failed call leaves no subscription behind; a successful one starts after its response is out.
      if (outcome.ok) subscriptions.push(...created);
      else for (const subscription of created) this.removeSubscription(subscription);
      if (item.request.id === undefined) return undefined;
      return outcome.ok ? successResponse(item.request.id, outcome.resultJson) : errorResponse(item.request.id, outcome.error);
    };
    if (parsed.kind === "single") return { body: await answer(parsed.item), subscriptions };
    const parts = (await Promise.all(parsed.items.map(answer))).filter((part) => part !== undefined);
    // The spec: a batch of notifications only gets no response at all, not an empty array.
    return { body: parts.length === 0 ? undefined : `[${parts.join(",")}]`, subscriptions };
  }

  private async execute(
    request: JsonRpcRequest,
    transport: Transport,
    connection: WsConnection | undefined,
    remoteAddress: string | undefined,
    created: Subscription[],
    budget: ByteBudget,
  ): Promise<Outcome> {
    const known = this.methods.has(request.method);
    const label = known ? request.method : "unknown";
    this.metrics?.rpcRequests.inc({ method: label });
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = { ok: true, resultJson: await this.invoke(request, transport, connection, remoteAddress, created, budget) };
    } catch (error) {
      outcome = { ok: false, error: this.toErrorObject(error, request.method) };
      this.metrics?.rpcErrors.inc({ code: String(outcome.error.code) });
    }
    this.metrics?.rpcDurationSeconds.observe({ method: label }, (performance.now() - started) / 1000);
    return outcome;
  }

  private async invoke(
    request: JsonRpcRequest,
    transport: Transport,
    connection: WsConnection | undefined,
    remoteAddress: string | undefined,
    created: Subscription[],
    budget: ByteBudget,
  ): Promise<string> {
    if (this.closing) throw new RpcError(SHUTTING_DOWN, "server is shutting down");
    const method = this.methods.get(request.method);
    if (method === undefined) throw new RpcError(METHOD_NOT_FOUND, `method "${request.method}" not found`);
    const params = method.params(request.params);
    if (this.inFlight >= this.limits.maxInFlight) {
      throw new RpcError(OVERLOADED, `server overloaded: ${this.limits.maxInFlight} calls already in flight`, { limit: this.limits.maxInFlight });
    }

    const timeout = new AbortController();
    const signals = [timeout.signal, this.shutdown.signal];
    if (connection) signals.push(connection.closed.signal);
    let answered = false;
    let reserved = 0;
    const ctx: RpcContext = {
      transport,
      method: request.method,
      signal: AbortSignal.any(signals),
      remoteAddress,
      client: clientKeyOf(remoteAddress),
      budget: {
        reserve: (bytes) => {
          if (!budget.reserve(bytes)) return false;
          reserved += bytes;
          return true;
        },
      },
      subscribe: (topic, options) => {
        if (connection === undefined) throw new RpcError(METHOD_NOT_FOUND, "subscriptions are only available over WebSocket");
        if (answered) throw new RpcError(INVALID_REQUEST, "cannot subscribe after the call has been answered");
        const subscription = this.subscribe(connection, topic, options);
        created.push(subscription);
        return subscription.id;
      },
      unsubscribe: (id) => {
        const subscription = connection?.subscriptions.get(id);
        if (subscription === undefined) return false;
        this.removeSubscription(subscription);
        return true;
      },
    };

    // The slot is held until the handler settles, even past its timeout: the work it stands for
    // still runs, and releasing early would let a stuck dependency pile up unbounded handlers.
    this.inFlight++;
    this.metrics?.rpcInFlight.set(this.inFlight);
    const release = () => {
      this.inFlight--;
      this.metrics?.rpcInFlight.set(this.inFlight);
      this.notifyWaiters();
    };
    const running = (async () => method.handler(params, ctx))();
    running.then(release, release);

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new RpcError(TIMEOUT, `${request.method} did not complete within ${this.limits.requestTimeoutMs} ms`);
        timeout.abort(error);
        reject(error);
      }, this.limits.requestTimeoutMs);
    });
    try {
      const json = toJson(await Promise.race([running, timedOut]));
      if (json.length > reserved && !budget.reserve(json.length - reserved)) {
        throw new RpcError(OVERLOADED, `the response would exceed the node's response budget (${this.limits.maxResponseBytes} bytes per message): ask for less per call or per batch`, {
          limit: this.limits.maxResponseBytes,
        });
      }
      return json;
    } finally {
      answered = true;
      clearTimeout(timer);
    }
  }

  private toErrorObject(error: unknown, method: string): RpcErrorObject {
    if (error instanceof RpcError) return error.toJSON();
    // Stack traces and internal messages stay in the log.
    this.log.error({ err: error, method }, "internal error in RPC method");
    return { code: INTERNAL_ERROR, message: "internal error" };
  }

  private updateConnectionGauges(): void {
    if (!this.metrics) return;
    this.metrics.rpcConnections.set({ kind: "ws" }, this.wsConnections.size);
    this.metrics.rpcConnections.set({ kind: "http" }, Math.max(0, this.sockets.size - this.wsConnections.size));
  }

  private hostForUrl(): string {
    return this.host.includes(":") ? `[${this.host}]` : this.host;
  }
}

function sendJson(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}

/**
 * What a served file may do in a browser: load scripts, styles and images from this origin only,
 * call this origin only (its JSON-RPC and GET routes), never be framed or post a form elsewhere.
 */
const FILE_SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

function serveFile(res: http.ServerResponse, file: StaticFile): void {
  res.writeHead(200, { "content-type": file.contentType, "content-length": file.body.length, ...FILE_SECURITY_HEADERS }).end(file.body);
}

/**
 * Reads a body, drawing its bytes from `budget` as they stream in; stops reading when the body
 * outgrows the budget's own limit ("too large") or the budget's parents are spent ("over budget").
 */
function readBody(req: http.IncomingMessage, budget: ByteBudget): Promise<Buffer | "too large" | "over budget" | "aborted"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | "too large" | "over budget" | "aborted") => {
      req.off("data", onData).off("end", onEnd).off("error", onAbort).off("close", onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      if (!budget.reserve(chunk.length)) {
        chunks.length = 0;
        return finish(chunk.length > budget.remaining ? "too large" : "over budget");
      }
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks, size));
    const onAbort = () => finish("aborted");
    req.on("data", onData).on("end", onEnd).on("error", onAbort).on("close", onAbort);
  });
}

/** Answers a refused WebSocket upgrade with a plain HTTP response and closes the socket. */
function abortHandshake(socket: Duplex, status: number, message: string): void {
  const body = toJson({ error: message });
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Resolves true if `promise` settles within `ms`, false otherwise. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
