import { expect } from "chai";
import { mkdtemp, rm, chmod, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { multiaddr } from "@multiformats/multiaddr";
import type { PrivateKey } from "@libp2p/interface";
import type { Message } from "../../node/consensus/types.js";
import { encodeMessage } from "../../node/codec/index.js";
import {
  FaultInjector,
  PeerKeyFileError,
  PeerNotAllowedError,
  RAFT_PROTOCOL,
  RpcFailedError,
  RpcRemoteError,
  RpcTimeoutError,
  Transport,
  generatePeerKey,
  loadOrCreatePeerKey,
  loadPeerKey,
  peerIdOf,
  type TransportLogger,
  type TransportOptions,
} from "../../node/transport/index.js";
import { framePrefix } from "../../node/transport/framing.js";
import { appendMessage } from "../../scripts/bench/lib/messages.js";

type Received = { message: Message; peerId: string; nodeId: string };

class CaptureLogger implements TransportLogger {
  readonly lines: Array<{ level: string; msg: string; obj: object }> = [];
  debug(obj: object, msg: string) {
    this.lines.push({ level: "debug", msg, obj });
  }
  info(obj: object, msg: string) {
    this.lines.push({ level: "info", msg, obj });
  }
  warn(obj: object, msg: string) {
    this.lines.push({ level: "warn", msg, obj });
  }
  error(obj: object, msg: string) {
    this.lines.push({ level: "error", msg, obj });
  }
}

interface Member {
  key: PrivateKey;
  peerId: string;
  nodeId: string;
  transport: Transport;
  received: Received[];
  logger: CaptureLogger;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const vote = (from: string, to: string, term: number): Message => ({ type: "vote", from, to, term, lastIndex: 4, lastTerm: 2, transfer: false });

describe("Transport (libp2p on 127.0.0.1)", function () {
  this.timeout(60_000);
  const transports: Transport[] = [];
  const raws: Libp2p[] = [];

  async function startTransport(key: PrivateKey, options: Partial<TransportOptions>): Promise<Transport> {
    const t = await Transport.create({ privateKey: key, listen: ["/ip4/127.0.0.1/tcp/0"], ...options });
    transports.push(t);
    return t;
  }

  /** n members that allow each other (plus `extraAllowed`), know each other's addresses and node ids. */
  async function cluster(n: number, extra: { extraAllowed?: Map<string, string>; options?: Partial<TransportOptions>[] } = {}): Promise<Member[]> {
    const keys = await Promise.all(Array.from({ length: n }, () => generatePeerKey()));
    const ids = keys.map(peerIdOf);
    const nodeIds = new Map<string, string>([...ids.map((p, i) => [p, `n${i}`] as [string, string]), ...(extra.extraAllowed ?? [])]);
    const members: Member[] = [];
    for (let i = 0; i < n; i++) {
      const logger = new CaptureLogger();
      const transport = await startTransport(keys[i]!, {
        allowedPeers: nodeIds.keys(),
        nodeIds,
        localNodeId: `n${i}`,
        logger,
        ...(extra.options?.[i] ?? {}),
      });
      const m: Member = { key: keys[i]!, peerId: ids[i]!, nodeId: `n${i}`, transport, received: [], logger };
      transport.onMessage((message, from) => m.received.push({ message, peerId: from.peerId, nodeId: from.nodeId }));
      members.push(m);
    }
    for (const a of members) for (const b of members) if (a !== b) await a.transport.setPeerAddresses(b.peerId, b.transport.addresses());
    return members;
  }

  async function rawNode(key: PrivateKey): Promise<Libp2p> {
    const node = await createLibp2p({ privateKey: key, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
    raws.push(node);
    return node;
  }

  afterEach(async () => {
    for (const t of transports.splice(0)) await t.stop();
    for (const r of raws.splice(0)) await r.stop();
  });

  describe("Raft messages", () => {
    it("three nodes exchange messages, delivered with the authenticated sender", async () => {
      const ms = await cluster(3);
      for (const a of ms) for (const b of ms) if (a !== b) a.transport.send(b.peerId, vote(a.nodeId, b.nodeId, 5));
      const append = appendMessage("n0", "n1", 9, 16, 150);
      ms[0]!.transport.send(ms[1]!.peerId, append);
      await waitFor("all deliveries", () => ms[0]!.received.length === 2 && ms[1]!.received.length === 3 && ms[2]!.received.length === 2);
      for (const m of ms) {
        for (const r of m.received) {
          expect(r.message.to).to.equal(m.nodeId);
          expect(r.message.from).to.equal(r.nodeId);
          expect(ms.find((x) => x.nodeId === r.nodeId)!.peerId).to.equal(r.peerId);
        }
      }
      expect(ms[1]!.received.find((r) => r.message.type === "append")!.message).to.deep.equal(append);
    });

    it("batches queued messages into few writes and keeps their order", async () => {
      const [a, b] = await cluster(2);
      const n = 3_000;
      for (let i = 0; i < n; i++) a!.transport.send(b!.peerId, vote("n0", "n1", i));
      await waitFor("3,000 messages", () => b!.received.length === n);
      expect(b!.received.map((r) => r.message.term)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
      const stats = a!.transport.stats();
      expect(stats.framesWritten).to.equal(n);
      expect(stats.writes).to.be.lessThan(n / 10);
    });

    it("never blocks on an unreachable peer: drops the oldest messages beyond the queue bound", async () => {
      const ghostKey = await generatePeerKey();
      const ghost = peerIdOf(ghostKey);
      const t = await startTransport(await generatePeerKey(), {
        allowedPeers: [ghost],
        maxQueuedMessages: 10,
        logger: new CaptureLogger(),
        reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
      });
      for (let i = 0; i < 25; i++) t.send(ghost, vote("a", "b", i));
      expect(t.queued(ghost).messages).to.equal(10);
      expect(t.stats().droppedQueueOverflow).to.equal(15);
      await waitFor("dial attempts with back-off", () => t.stats().dialFailures >= 2);
    });

    it("reconnects when a peer restarts on a new address", async () => {
      const [a, b] = await cluster(2, { options: [{ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } }] });
      a!.transport.send(b!.peerId, vote("n0", "n1", 1));
      await waitFor("first message", () => b!.received.length === 1);
      await b!.transport.stop();
      const logger = new CaptureLogger();
      const restarted = await startTransport(b!.key, {
        allowedPeers: [a!.peerId],
        nodeIds: new Map([[a!.peerId, "n0"]]),
        localNodeId: "n1",
        logger,
      });
      const got: Message[] = [];
      restarted.onMessage((m) => got.push(m));
      await a!.transport.setPeerAddresses(b!.peerId, restarted.addresses());
      // keep sending like a leader's heartbeats until one gets through the new connection
      let term = 2;
      const timer = setInterval(() => a!.transport.send(b!.peerId, vote("n0", "n1", term++)), 25);
      try {
        await waitFor("delivery after restart", () => got.length > 0);
      } finally {
        clearInterval(timer);
      }
    });
  });

  describe("authentication", () => {
    it("a peer outside the allowed set can neither connect nor get messages delivered", async () => {
      const [a] = await cluster(1);
      const outsiderKey = await generatePeerKey();
      const outsider = await startTransport(outsiderKey, {
        allowedPeers: [a!.peerId],
        nodeIds: new Map([[a!.peerId, "n0"]]),
        logger: new CaptureLogger(),
        reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
      });
      await outsider.setPeerAddresses(a!.peerId, a!.transport.addresses());
      outsider.send(a!.peerId, vote("n9", "n0", 1));
      await waitFor("outsider dial failures", () => outsider.stats().dialFailures >= 2);
      expect(a!.received).to.have.length(0);
      expect(a!.transport.stats().connectionsDenied).to.be.greaterThan(0);
      let err: unknown;
      await outsider.request(a!.peerId, "submit", Uint8Array.of(1), { timeoutMs: 2_000 }).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RpcFailedError);
      // and the member never sends to it
      a!.transport.send(peerIdOf(outsiderKey), vote("n0", "n9", 1));
      expect(a!.transport.stats().droppedNotAllowed).to.equal(1);
      await a!.transport.request(peerIdOf(outsiderKey), "submit", Uint8Array.of(1)).catch((e) => (err = e));
      expect(err).to.be.instanceOf(PeerNotAllowedError);
    });

    it("drops a message whose `from` is not the sender's node id, and keeps the connection", async () => {
      const [a, b] = await cluster(3);
      b!.transport.send(a!.peerId, vote("n2", "n0", 7)); // n1 pretends to be n2
      b!.transport.send(a!.peerId, vote("n1", "n0", 8));
      await waitFor("the genuine message", () => a!.received.length === 1);
      expect(a!.received[0]!.message).to.deep.include({ from: "n1", term: 8 });
      expect(a!.transport.stats().droppedForgedFrom).to.equal(1);
      expect(a!.logger.lines.some((l) => l.level === "warn" && /forged/.test(l.msg))).to.equal(true);
    });

    it("removing a peer from the allowed set at runtime cuts it off; adding it back restores it", async () => {
      const [a, b] = await cluster(2, { options: [{}, { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } }] });
      b!.transport.send(a!.peerId, vote("n1", "n0", 1));
      await waitFor("first message", () => a!.received.length === 1);
      a!.transport.setAllowedPeers([]);
      const cutOff = setInterval(() => b!.transport.send(a!.peerId, vote("n1", "n0", 2)), 25);
      try {
        await waitFor("b's redial denied by a's gater", () => a!.transport.stats().connectionsDenied > 0);
      } finally {
        clearInterval(cutOff);
      }
      expect(a!.received).to.have.length(1);
      a!.transport.setAllowedPeers([b!.peerId]);
      let term = 3;
      const timer = setInterval(() => b!.transport.send(a!.peerId, vote("n1", "n0", term++)), 25);
      try {
        await waitFor("delivery after re-allowing", () => a!.received.length > 1);
      } finally {
        clearInterval(timer);
      }
    });

    it("malformed bytes on the raft protocol are counted and dropped, and the node keeps working", async () => {
      const rawKey = await generatePeerKey();
      const rawId = peerIdOf(rawKey);
      const [a, b] = await cluster(2, { extraAllowed: new Map([[rawId, "raw"]]) });
      const raw = await rawNode(rawKey);
      const target = multiaddr(a!.transport.addresses()[0]!);
      // 1: a well-framed payload that is not a message
      const s1 = await raw.dialProtocol(target, RAFT_PROTOCOL);
      s1.send(Uint8Array.of(...framePrefix(4), 0xde, 0xad, 0xbe, 0xef));
      await waitFor("first malformed frame", () => a!.transport.stats().malformedFrames === 1);
      // 2: a length prefix announcing a frame far over the limit
      const s2 = await raw.dialProtocol(target, RAFT_PROTOCOL);
      s2.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f));
      await waitFor("oversized frame", () => a!.transport.stats().malformedFrames === 2);
      // 3: a valid message followed by garbage on the same stream: the valid one is delivered
      const s3 = await raw.dialProtocol(target, RAFT_PROTOCOL);
      const good = encodeMessage(vote("raw", "n0", 3));
      s3.send(Uint8Array.of(...framePrefix(good.length), ...good, ...framePrefix(2), 0x01, 0x63));
      await waitFor("third malformed frame", () => a!.transport.stats().malformedFrames === 3);
      await waitFor("the valid raw message", () => a!.received.some((r) => r.nodeId === "raw"));
      expect(a!.logger.lines.filter((l) => /malformed raft frame/.test(l.msg))).to.have.length(3);
      // the node still serves its members
      b!.transport.send(a!.peerId, vote("n1", "n0", 4));
      await waitFor("member message", () => a!.received.some((r) => r.nodeId === "n1"));
    });
  });

  describe("request/response", () => {
    it("returns the handler's answer, and typed errors for failures, unknown kinds and timeouts", async () => {
      const [a, b] = await cluster(2);
      b!.transport.onRequest("submit", (payload, from) => {
        if (payload[0] === 0) throw new Error("nonce too low");
        if (payload[0] === 9) return new Uint8Array(17 * 1_048_576); // over the 16 MiB response limit
        const out = new Uint8Array(payload.length + 1);
        out.set(payload.map((x) => x * 2));
        out[payload.length] = from.nodeId === "n0" ? 1 : 0;
        return out;
      });
      expect(await a!.transport.request(b!.peerId, "submit", Uint8Array.of(1, 2, 3))).to.deep.equal(Uint8Array.of(2, 4, 6, 1));
      const big = new Uint8Array(300_000).fill(3);
      expect((await a!.transport.request(b!.peerId, "submit", big)).length).to.equal(300_001);

      let err: unknown;
      await a!.transport.request(b!.peerId, "submit", Uint8Array.of(0)).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RpcRemoteError);
      expect(err).to.include({ code: "handler-failed", remoteMessage: "nonce too low" });

      // An answer too large to send is reported, not a torn-down stream.
      await a!.transport.request(b!.peerId, "submit", Uint8Array.of(9)).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RpcRemoteError);
      expect(err).to.include({ code: "handler-failed" });
      expect((err as RpcRemoteError).remoteMessage).to.match(/^response cannot be sent/);

      await a!.transport.request(b!.peerId, "batchSignature", Uint8Array.of(1)).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RpcRemoteError);
      expect(err).to.include({ code: "unsupported" });

      b!.transport.onRequest("batchSignature", () => new Promise((r) => setTimeout(() => r(Uint8Array.of(1)), 1_500)));
      const started = Date.now();
      await a!.transport.request(b!.peerId, "batchSignature", Uint8Array.of(1), { timeoutMs: 200 }).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RpcTimeoutError);
      expect(Date.now() - started).to.be.lessThan(1_400);
      expect(a!.transport.stats().requestTimeouts).to.equal(1);
    });

    it("bounds concurrent requests per peer: the excess is answered busy", async () => {
      const [a, b] = await cluster(2, { options: [{}, { rpcConcurrencyPerPeer: 2 }] });
      b!.transport.onRequest("batchSignature", () => new Promise((r) => setTimeout(() => r(Uint8Array.of(7)), 300)));
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => a!.transport.request(b!.peerId, "batchSignature", Uint8Array.of(1))));
      const ok = results.filter((r) => r.status === "fulfilled");
      const busy = results.filter((r) => r.status === "rejected" && r.reason instanceof RpcRemoteError && r.reason.code === "busy");
      expect(ok).to.have.length(2);
      expect(busy).to.have.length(3);
      expect(b!.transport.stats().requestsRejectedBusy).to.equal(3);
    });
  });

  describe("fault injection (test-only option)", () => {
    it("partitions and heals a peer in both directions", async () => {
      const faults = new FaultInjector();
      const [a, b] = await cluster(2, { options: [{ faults }] });
      faults.partition(b!.peerId);
      a!.transport.send(b!.peerId, vote("n0", "n1", 1));
      b!.transport.send(a!.peerId, vote("n1", "n0", 1));
      let err: unknown;
      await a!.transport.request(b!.peerId, "submit", Uint8Array.of(1), { timeoutMs: 150 }).catch((e) => (err = e));
      expect(err).to.be.instanceOf(RpcTimeoutError);
      await new Promise((r) => setTimeout(r, 200));
      expect(a!.received).to.have.length(0);
      expect(b!.received).to.have.length(0);
      faults.heal(b!.peerId);
      a!.transport.send(b!.peerId, vote("n0", "n1", 2));
      b!.transport.send(a!.peerId, vote("n1", "n0", 2));
      await waitFor("healed deliveries", () => a!.received.length === 1 && b!.received.length === 1);
      expect(a!.transport.stats().droppedByFault).to.equal(2);
    });

    it("drops with a given probability and delays", async () => {
      let i = 0;
      const faults = new FaultInjector(() => (i++ % 2 === 0 ? 0.1 : 0.9)); // alternate below/above 0.5
      const [a, b] = await cluster(2, { options: [{ faults }] });
      faults.setDropRate(b!.peerId, 0.5);
      for (let k = 0; k < 10; k++) a!.transport.send(b!.peerId, vote("n0", "n1", k));
      await waitFor("half the messages", () => b!.received.length === 5);
      faults.setDropRate(b!.peerId, 0);
      faults.setDelay(b!.peerId, 300);
      const sent = Date.now();
      a!.transport.send(b!.peerId, vote("n0", "n1", 99));
      await waitFor("delayed message", () => b!.received.length === 6);
      expect(Date.now() - sent).to.be.at.least(290);
    });
  });

  describe("peer keys", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "seq-keys-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("creates an owner-only Ed25519 key file once and loads the same identity", async () => {
      const path = join(dir, "peer.key");
      const first = await loadOrCreatePeerKey(path);
      expect(first.created).to.equal(true);
      expect(first.key.type).to.equal("Ed25519");
      expect((await stat(path)).mode & 0o777).to.equal(0o600);
      const second = await loadOrCreatePeerKey(path);
      expect(second.created).to.equal(false);
      expect(peerIdOf(second.key)).to.equal(peerIdOf(first.key));
    });

    it("refuses a key file readable by others, and one that is not a key", async () => {
      const path = join(dir, "peer.key");
      await loadOrCreatePeerKey(path);
      await chmod(path, 0o644);
      let err: unknown;
      await loadPeerKey(path).catch((e) => (err = e));
      expect(err).to.be.instanceOf(PeerKeyFileError);
      expect((err as Error).message).to.match(/mode 644/);
      const { writeFile } = await import("node:fs/promises");
      const junk = join(dir, "junk.key");
      await writeFile(junk, "hello", { mode: 0o600 });
      await loadPeerKey(junk).catch((e) => (err = e));
      expect((err as Error).message).to.match(/not a protobuf-encoded libp2p private key/);
    });
  });
});
