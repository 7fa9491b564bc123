/**
 * libp2p transport between sequencer nodes.
 *
 * - `/seq/raft/1.0.0`: one long-lived outbound stream per peer carrying length-prefixed Raft
 *   messages. `send` never blocks: messages go to a bounded per-peer queue (oldest dropped on
 *   overflow — Raft tolerates loss — and counted) drained by a pump that writes every queued
 *   frame in one `stream.send` and waits for `drain` when the stream pushes back.
 * - `/seq/rpc/1.0.0`: one stream per request (forwarded submissions, batch signatures), with
 *   per-peer concurrency limits on both sides and deadlines.
 *
 * Authentication: only peers in the allowed set get past the connection gater, streams from
 * anyone else are reset, and a Raft message is delivered only if its `from` is the node id the
 * caller mapped to the authenticated remote peer id (and its `to` is this node, when known).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";
import pino from "pino";
import type { Message, NodeId } from "../consensus/types.js";
import {
  CodecError,
  RPC_KINDS,
  decodeMessage,
  decodeRpcRequest,
  decodeRpcResponse,
  encodeMessage,
  encodeRpcRequest,
  encodeRpcResponse,
  type RpcKind,
  type RpcResponse,
} from "../codec/index.js";
import { FaultInjector } from "./faults.js";
import { FrameDecoder, appendFrame } from "./framing.js";
import { PeerNotAllowedError, RpcFailedError, RpcRemoteError, RpcTimeoutError, TransportStoppedError } from "./errors.js";

export const RAFT_PROTOCOL = "/seq/raft/1.0.0";
export const RPC_PROTOCOL = "/seq/rpc/1.0.0";

/** The subset of pino's logger the transport uses. */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RemotePeer {
  /** Authenticated by the noise handshake. */
  readonly peerId: string;
  /** The caller's mapping of that peer id, if any. */
  readonly nodeId: NodeId | undefined;
}

export type MessageHandler = (message: Message, from: RemotePeer & { readonly nodeId: NodeId }) => void;
export type RequestHandler = (payload: Uint8Array, from: RemotePeer) => Promise<Uint8Array> | Uint8Array;

export interface TransportOptions {
  /** Ed25519 identity (see keys.ts). */
  readonly privateKey: PrivateKey;
  /** Listen multiaddrs, e.g. `/ip4/127.0.0.1/tcp/0`. */
  readonly listen: readonly string[];
  readonly allowedPeers?: Iterable<string>;
  /** Peer id → node id of every member; messages from unmapped peers are dropped. */
  readonly nodeIds?: ReadonlyMap<string, NodeId>;
  /** This node's id: inbound messages addressed to another node are dropped. */
  readonly localNodeId?: NodeId;
  readonly logger?: TransportLogger;
  /** Per-peer Raft queue bounds (default 8,192 messages / 64 MiB). */
  readonly maxQueuedMessages?: number;
  readonly maxQueuedBytes?: number;
  /** Largest frame accepted or sent (default 64 MiB). */
  readonly maxFrameBytes?: number;
  /** Most bytes handed to one `stream.send` (default 4 MiB). */
  readonly maxWriteBytes?: number;
  /** Concurrent requests per peer, each direction (default 32). */
  readonly rpcConcurrencyPerPeer?: number;
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number; readonly dialTimeoutMs?: number };
  /** TEST ONLY: fault injection. Absent (the default) means no faults; see faults.ts. */
  readonly faults?: FaultInjector;
}

export interface TransportStats {
  messagesQueued: number;
  framesWritten: number;
  /** `stream.send` calls on Raft streams: far fewer than frames when messages queue up. */
  writes: number;
  bytesWritten: number;
  messagesDelivered: number;
  bytesReceived: number;
  droppedQueueOverflow: number;
  droppedOversized: number;
  droppedNotAllowed: number;
  droppedUnknownPeer: number;
  droppedForgedFrom: number;
  droppedMisrouted: number;
  droppedByFault: number;
  malformedFrames: number;
  streamsRejected: number;
  connectionsDenied: number;
  dialFailures: number;
  streamFailures: number;
  handlerErrors: number;
  requestsServed: number;
  requestsRejectedBusy: number;
  requestTimeouts: number;
}

const DEFAULTS = {
  maxQueuedMessages: 8_192,
  maxQueuedBytes: 64 * 1_048_576,
  maxFrameBytes: 64 * 1_048_576,
  maxWriteBytes: 4 * 1_048_576,
  rpcConcurrencyPerPeer: 32,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  dialTimeoutMs: 5_000,
  rpcReadTimeoutMs: 10_000,
};

/** Outbound Raft state of one peer. */
class PeerChannel {
  readonly queue: Uint8Array[] = [];
  head = 0;
  queuedBytes = 0;
  stream: Stream | undefined;
  pumping = false;
  backoffMs: number;
  nextDialAt = 0;

  constructor(
    readonly peerId: PeerId,
    initialDelayMs: number,
  ) {
    this.backoffMs = initialDelayMs;
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  shift(): Uint8Array {
    const frame = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as Uint8Array;
    this.queuedBytes -= frame.length;
    if (this.head > 1_024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return frame;
  }

  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
  }
}

function newStats(): TransportStats {
  return {
    messagesQueued: 0,
    framesWritten: 0,
    writes: 0,
    bytesWritten: 0,
    messagesDelivered: 0,
    bytesReceived: 0,
    droppedQueueOverflow: 0,
    droppedOversized: 0,
    droppedNotAllowed: 0,
    droppedUnknownPeer: 0,
    droppedForgedFrom: 0,
    droppedMisrouted: 0,
    droppedByFault: 0,
    malformedFrames: 0,
    streamsRejected: 0,
    connectionsDenied: 0,
    dialFailures: 0,
    streamFailures: 0,
    handlerErrors: 0,
    requestsServed: 0,
    requestsRejectedBusy: 0,
    requestTimeouts: 0,
  };
}

/** Resolves with the first complete frame on `stream`, or rejects on close, bad framing or abort. */
function readOneFrame(stream: Stream, maxFrameBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const decoder = new FrameDecoder(maxFrameBytes);
    const cleanup = () => {
      stream.removeEventListener("message", onMessage);
      stream.removeEventListener("close", onClose);
      stream.removeEventListener("remoteCloseWrite", onClose);
      signal.removeEventListener("abort", onAbort);
    };
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
      try {
        const frames = decoder.push(evt.data);
        if (frames.length === 0) return;
        if (frames.length > 1 || decoder.bufferedBytes > 0) throw new CodecError("more than one frame on a request/response stream");
        cleanup();
        resolve(frames[0]!);
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error("stream closed before a complete frame arrived"));
    };
    const onAbort = () => {
      cleanup();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    stream.addEventListener("message", onMessage);
    stream.addEventListener("close", onClose);
    stream.addEventListener("remoteCloseWrite", onClose);
    signal.addEventListener("abort", onAbort);
  });
}

function frameOf(payload: Uint8Array): Uint8ArrayList {
  const list = new Uint8ArrayList();
  appendFrame(list, payload);
  return list;
}

export class Transport {
  readonly peerId: string;
  private readonly libp2p: Libp2p;
  private readonly opts: typeof DEFAULTS;
  private readonly log: TransportLogger;
  private readonly faults: FaultInjector | undefined;
  private readonly localNodeId: NodeId | undefined;
  private allowed: ReadonlySet<string>;
  private nodeIds: ReadonlyMap<string, NodeId>;
  private readonly channels = new Map<string, PeerChannel>();
  private readonly messageHandlers: MessageHandler[] = [];
  private readonly disconnectHandlers: Array<(nodeId: NodeId) => void> = [];
  private readonly requestHandlers = new Map<RpcKind, RequestHandler>();
  private readonly inboundRequests = new Map<string, number>();
  private readonly outboundRequests = new Map<string, { active: number; waiting: Array<() => void> }>();
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private readonly stopController = new AbortController();
  private readonly counters = newStats();
  private stopped = false;

  private constructor(libp2p: Libp2p, options: TransportOptions, allowed: Set<string>) {
    this.libp2p = libp2p;
    this.peerId = libp2p.peerId.toString();
    this.allowed = allowed;
    this.nodeIds = options.nodeIds ?? new Map();
    this.localNodeId = options.localNodeId;
    this.faults = options.faults;
    this.log = options.logger ?? pino({ name: "seq-transport" });
    this.opts = {
      ...DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([k, v]) => k in DEFAULTS && v !== undefined)),
      ...Object.fromEntries(Object.entries(options.reconnect ?? {}).filter(([, v]) => v !== undefined)),
    };
  }

  /** Creates, starts and begins listening. */
  static async create(options: TransportOptions): Promise<Transport> {
    const allowed = new Set(options.allowedPeers ?? []);
    let transport: Transport | undefined;
    // The gater consults the live allowed set through `transport`, which exists before start().
    const deny = (peerId: PeerId): boolean => {
      const denied = !(transport?.allowed ?? allowed).has(peerId.toString());
      if (denied && transport !== undefined) transport.counters.connectionsDenied++;
      return denied;
    };
    const libp2p = await createLibp2p({
      privateKey: options.privateKey,
      start: false,
      addresses: { listen: [...options.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: (peerId) => deny(peerId),
        denyInboundEncryptedConnection: (peerId) => deny(peerId),
        denyOutboundEncryptedConnection: (peerId) => deny(peerId),
        denyInboundUpgradedConnection: (peerId) => deny(peerId),
        denyOutboundUpgradedConnection: (peerId) => deny(peerId),
      },
    });
    transport = new Transport(libp2p, options, allowed);
    await transport.start();
    return transport;
  }

  private async start(): Promise<void> {
    await this.libp2p.handle(RAFT_PROTOCOL, (stream, connection) => this.acceptRaftStream(stream, connection), { maxInboundStreams: 8 });
    await this.libp2p.handle(RPC_PROTOCOL, (stream, connection) => this.acceptRequest(stream, connection), {
      // Headroom above the concurrency limit so excess requests get a "busy" answer, not a reset.
      maxInboundStreams: this.opts.rpcConcurrencyPerPeer + 32,
      maxOutboundStreams: this.opts.rpcConcurrencyPerPeer + 32,
    });
    // Every connection to a peer closed (its process died, a reset): Raft can act on it at once.
    this.libp2p.addEventListener("peer:disconnect", (evt) => {
      const nodeId = this.nodeIds.get(evt.detail.toString());
      if (nodeId === undefined || this.stopped) return;
      for (const handler of this.disconnectHandlers) handler(nodeId);
    });
    await this.libp2p.start();
  }

  /** Listen addresses including `/p2p/<peer id>`, ready to hand to other nodes. */
  addresses(): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString());
  }

  stats(): Readonly<TransportStats> {
    return { ...this.counters };
  }

  /** Bytes and messages waiting for `peerId` (for metrics and tests). */
  queued(peerId: string): { messages: number; bytes: number } {
    const ch = this.channels.get(peerId);
    return { messages: ch?.length ?? 0, bytes: ch?.queuedBytes ?? 0 };
  }

  // ------------------------------------------------------------ membership

  /** Replaces the allowed set and hangs up on peers that left it. */
  setAllowedPeers(peerIds: Iterable<string>): void {
    this.allowed = new Set(peerIds);
    for (const [id, ch] of this.channels) {
      if (this.allowed.has(id)) continue;
      this.counters.droppedNotAllowed += ch.length;
      ch.clear();
      ch.stream?.abort(new PeerNotAllowedError(id));
      ch.stream = undefined;
      this.channels.delete(id);
    }
    for (const conn of this.libp2p.getConnections()) {
      if (!this.allowed.has(conn.remotePeer.toString())) {
        conn.close().catch((err: unknown) => conn.abort(err as Error));
      }
    }
  }

  setNodeIds(map: ReadonlyMap<string, NodeId>): void {
    this.nodeIds = new Map(map);
  }

  /** Where to dial `peerId` (replaces any previous addresses). */
  async setPeerAddresses(peerId: string, addresses: readonly string[]): Promise<void> {
    await this.libp2p.peerStore.patch(peerIdFromString(peerId), { multiaddrs: addresses.map((a) => multiaddr(a)) });
  }

  // ------------------------------------------------------------ Raft messages

  /** Calls `handler` with the node id of a known peer once its last connection closed. */
  onPeerDisconnected(handler: (nodeId: NodeId) => void): void {
    this.disconnectHandlers.push(handler);
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandlers.push(handler);
  }

  /**
   * Queues a Raft message for `peerId` and returns at once. Throws only for a message that
   * cannot be encoded (a caller bug); unreachable, disallowed or overloaded peers lose messages
   * (counted in `stats()`), which Raft tolerates.
   */
  send(peerId: string, message: Message): void {
    if (this.stopped) return;
    if (!this.allowed.has(peerId)) {
      this.counters.droppedNotAllowed++;
      return;
    }
    const frame = encodeMessage(message);
    if (frame.length > this.opts.maxFrameBytes) {
      this.counters.droppedOversized++;
      this.log.warn({ peer: peerId, bytes: frame.length, type: message.type }, "raft message larger than the frame limit dropped");
      return;
    }
    if (this.faults !== undefined) {
      if (this.faults.shouldDrop(peerId)) {
        this.counters.droppedByFault++;
        return;
      }
      const delay = this.faults.delayFor(peerId);
      if (delay > 0) {
        const timer = setTimeout(() => {
          this.delayTimers.delete(timer);
          if (!this.stopped) this.enqueue(peerId, frame);
        }, delay);
        this.delayTimers.add(timer);
        return;
      }
    }
    this.enqueue(peerId, frame);
  }

  private enqueue(peerId: string, frame: Uint8Array): void {
    let ch = this.channels.get(peerId);
    if (ch === undefined) {
      ch = new PeerChannel(peerIdFromString(peerId), this.opts.initialDelayMs);
      this.channels.set(peerId, ch);
    }
    ch.queue.push(frame);
    ch.queuedBytes += frame.length;
    this.counters.messagesQueued++;
    while (ch.length > this.opts.maxQueuedMessages || ch.queuedBytes > this.opts.maxQueuedBytes) {
      ch.shift();
      this.counters.droppedQueueOverflow++;
    }
    if (!ch.pumping) {
      // Start on a microtask so every message sent in the same tick (a whole Ready) leaves in one write.
      ch.pumping = true;
      queueMicrotask(() => void this.pump(peerId, ch));
    }
  }

  private async pump(peerId: string, ch: PeerChannel): Promise<void> {
    try {
      while (!this.stopped && ch.length > 0 && this.channels.get(peerId) === ch) {
        const stream = ch.stream?.status === "open" && ch.stream.writeStatus === "writable" ? ch.stream : await this.openRaftStream(peerId, ch);
        if (stream === undefined) continue;
        // Everything queued goes out in one write (bounded), so small messages batch themselves.
        const batch = new Uint8ArrayList();
        let frames = 0;
        while (ch.length > 0 && (frames === 0 || batch.byteLength + ch.queue[ch.head]!.length <= this.opts.maxWriteBytes)) {
          appendFrame(batch, ch.shift());
          frames++;
        }
        try {
          const more = stream.send(batch);
          this.counters.writes++;
          this.counters.framesWritten += frames;
          this.counters.bytesWritten += batch.byteLength;
          if (!more) await stream.onDrain({ signal: this.stopController.signal });
        } catch (err) {
          if (this.stopped) return;
          this.counters.streamFailures++;
          this.log.debug({ peer: peerId, err: String(err) }, "raft stream failed; reconnecting");
          stream.abort(err instanceof Error ? err : new Error(String(err)));
          if (ch.stream === stream) ch.stream = undefined;
        }
      }
    } finally {
      ch.pumping = false;
    }
  }

  /** Dials the peer's Raft stream, honouring the back-off; undefined if this attempt failed. */
  private async openRaftStream(peerId: string, ch: PeerChannel): Promise<Stream | undefined> {
    const wait = ch.nextDialAt - Date.now();
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal: this.stopController.signal });
      } catch {
        return undefined;
      }
    }
    if (this.stopped || !this.allowed.has(peerId)) return undefined;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.opts.dialTimeoutMs), this.stopController.signal]);
      const stream = await this.libp2p.dialProtocol(ch.peerId, RAFT_PROTOCOL, { signal });
      ch.stream = stream;
      ch.backoffMs = this.opts.initialDelayMs;
      ch.nextDialAt = 0;
      stream.addEventListener("close", () => {
        if (ch.stream === stream) ch.stream = undefined;
      });
      return stream;
    } catch (err) {
      if (this.stopped) return undefined;
      this.counters.dialFailures++;
      // Full jitter keeps a cluster's reconnect attempts from synchronising.
      ch.nextDialAt = Date.now() + ch.backoffMs / 2 + Math.random() * (ch.backoffMs / 2);
      ch.backoffMs = Math.min(ch.backoffMs * 2, this.opts.maxDelayMs);
      this.log.debug({ peer: peerId, err: String(err), retryInMs: ch.nextDialAt - Date.now() }, "raft dial failed");
      return undefined;
    }
  }

  private acceptRaftStream(stream: Stream, connection: Connection): void {
    const remote = connection.remotePeer.toString();
    if (!this.allowed.has(remote)) {
      this.counters.streamsRejected++;
      stream.abort(new PeerNotAllowedError(remote));
      return;
    }
    const decoder = new FrameDecoder(this.opts.maxFrameBytes);
    stream.addEventListener("message", (evt) => {
      this.counters.bytesReceived += evt.data.byteLength;
      let frames: Uint8Array[];
      try {
        frames = decoder.push(evt.data);
        for (const frame of frames) {
          const message = decodeMessage(frame);
          this.deliver(remote, message);
        }
      } catch (err) {
        // Never let a peer's bytes throw out of an event listener (that would crash the process).
        this.counters.malformedFrames++;
        const reason = err instanceof Error ? err : new Error(String(err));
        this.log.warn({ peer: remote, err: reason.message }, "malformed raft frame; closing the stream");
        stream.abort(reason);
      }
    });
    stream.addEventListener("remoteCloseWrite", () => {
      stream.close().catch(() => undefined);
    });
  }

  private deliver(remote: string, message: Message): void {
    if (!this.allowed.has(remote)) {
      this.counters.droppedNotAllowed++;
      return;
    }
    if (this.faults?.isPartitioned(remote)) {
      this.counters.droppedByFault++;
      return;
    }
    const nodeId = this.nodeIds.get(remote);
    if (nodeId === undefined) {
      this.counters.droppedUnknownPeer++;
      return;
    }
    if (message.from !== nodeId) {
      this.counters.droppedForgedFrom++;
      this.log.warn({ peer: remote, nodeId, claimedFrom: message.from, type: message.type }, "raft message with a forged sender dropped");
      return;
    }
    if (this.localNodeId !== undefined && message.to !== this.localNodeId) {
      this.counters.droppedMisrouted++;
      return;
    }
    this.counters.messagesDelivered++;
    for (const handler of this.messageHandlers) {
      try {
        handler(message, { peerId: remote, nodeId });
      } catch (err) {
        this.counters.handlerErrors++;
        this.log.error({ peer: remote, type: message.type, err: String(err) }, "raft message handler threw");
      }
    }
  }

  // ------------------------------------------------------------ request/response

  onRequest(kind: RpcKind, handler: RequestHandler): void {
    if (!RPC_KINDS.includes(kind)) throw new TypeError(`unknown request kind ${JSON.stringify(kind)}`);
    this.requestHandlers.set(kind, handler);
  }

  /**
   * Sends one request and returns the response payload. Throws PeerNotAllowedError,
   * RpcTimeoutError (deadline covers queueing, dialing and the response), RpcRemoteError (the
   * peer answered with an error) or RpcFailedError.
   */
  async request(peerId: string, kind: RpcKind, payload: Uint8Array, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    if (this.stopped) throw new TransportStoppedError();
    if (!this.allowed.has(peerId)) throw new PeerNotAllowedError(peerId);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, this.stopController.signal, ...(options.signal ? [options.signal] : [])]);
    const frame = frameOf(encodeRpcRequest({ kind, payload }));
    let stream: Stream | undefined;
    await this.acquireOutbound(peerId, signal).catch((err: unknown) => this.rethrowRequest(peerId, timeout, timeoutMs, err));
    try {
      if (this.faults?.isPartitioned(peerId)) {
        // A partition looks like silence: wait out the deadline.
        await sleep(timeoutMs + 1_000, undefined, { signal });
      }
      stream = await this.libp2p.dialProtocol(peerIdFromString(peerId), RPC_PROTOCOL, { signal });
      const response = readOneFrame(stream, this.opts.maxFrameBytes, signal);
      response.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled
      stream.send(frame);
      await stream.close({ signal });
      const res = decodeRpcResponse(await response);
      if (!res.ok) throw new RpcRemoteError(peerId, res.code, res.message);
      return res.payload;
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)));
      return this.rethrowRequest(peerId, timeout, timeoutMs, err);
    } finally {
      this.releaseOutbound(peerId);
    }
  }

  private rethrowRequest(peerId: string, timeout: AbortSignal, timeoutMs: number, err: unknown): never {
    if (err instanceof RpcRemoteError) throw err;
    if (timeout.aborted) {
      this.counters.requestTimeouts++;
      throw new RpcTimeoutError(peerId, timeoutMs, { cause: err });
    }
    if (this.stopped) throw new TransportStoppedError();
    if (err instanceof CodecError) throw new RpcFailedError(peerId, `malformed response: ${err.message}`, { cause: err });
    throw new RpcFailedError(peerId, (err as Error)?.message ?? String(err), { cause: err });
  }

  private async acquireOutbound(peerId: string, signal: AbortSignal): Promise<void> {
    let slot = this.outboundRequests.get(peerId);
    if (slot === undefined) {
      slot = { active: 0, waiting: [] };
      this.outboundRequests.set(peerId, slot);
    }
    if (slot.active < this.opts.rpcConcurrencyPerPeer) {
      slot.active++;
      return;
    }
    const s = slot;
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        s.waiting.splice(s.waiting.indexOf(grant), 1);
        reject(signal.reason);
      };
      s.waiting.push(grant);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private releaseOutbound(peerId: string): void {
    const slot = this.outboundRequests.get(peerId);
    if (slot === undefined) return;
    const next = slot.waiting.shift();
    if (next !== undefined) next(); // the slot passes straight to the next waiter
    else if (--slot.active === 0) this.outboundRequests.delete(peerId);
  }

  private async acceptRequest(stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString();
    if (!this.allowed.has(remote) || this.faults?.isPartitioned(remote)) {
      this.counters.streamsRejected++;
      stream.abort(new PeerNotAllowedError(remote));
      return;
    }
    const sendEncoded = async (bytes: Uint8Array) => {
      stream.send(frameOf(bytes));
      await stream.close({ signal: AbortSignal.timeout(this.opts.rpcReadTimeoutMs) });
    };
    const respond = (res: RpcResponse) => sendEncoded(encodeRpcResponse(res));
    const inflight = this.inboundRequests.get(remote) ?? 0;
    try {
      if (inflight >= this.opts.rpcConcurrencyPerPeer) {
        this.counters.requestsRejectedBusy++;
        await respond({ ok: false, code: "busy", message: `more than ${this.opts.rpcConcurrencyPerPeer} concurrent requests` });
        return;
      }
      this.inboundRequests.set(remote, inflight + 1);
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(this.opts.rpcReadTimeoutMs), this.stopController.signal]);
        let request;
        try {
          request = decodeRpcRequest(await readOneFrame(stream, this.opts.maxFrameBytes, signal));
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          this.counters.malformedFrames++;
          this.log.warn({ peer: remote, err: err.message }, "malformed request");
          await respond({ ok: false, code: "malformed", message: err.message });
          return;
        }
        const handler = this.requestHandlers.get(request.kind);
        if (handler === undefined) {
          await respond({ ok: false, code: "unsupported", message: `no handler for ${request.kind}` });
          return;
        }
        let payload: Uint8Array;
        try {
          payload = await handler(request.payload, { peerId: remote, nodeId: this.nodeIds.get(remote) });
        } catch (err) {
          this.counters.handlerErrors++;
          await respond({ ok: false, code: "handler-failed", message: (err as Error)?.message ?? String(err) });
          return;
        }
        let encoded: Uint8Array;
        try {
          encoded = encodeRpcResponse({ ok: true, payload });
        } catch (err) {
          // e.g. a payload over the response limit: tell the requester instead of cutting the stream.
          this.counters.handlerErrors++;
          await respond({ ok: false, code: "handler-failed", message: `response cannot be sent: ${(err as Error).message}` });
          return;
        }
        this.counters.requestsServed++;
        await sendEncoded(encoded);
      } finally {
        const n = (this.inboundRequests.get(remote) ?? 1) - 1;
        if (n === 0) this.inboundRequests.delete(remote);
        else this.inboundRequests.set(remote, n);
      }
    } catch (err) {
      this.log.debug({ peer: remote, err: String(err) }, "request stream failed");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  // ------------------------------------------------------------ lifecycle

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort(new TransportStoppedError());
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    for (const ch of this.channels.values()) ch.clear();
    this.channels.clear();
    await this.libp2p.stop();
  }
}
