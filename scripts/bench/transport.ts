/**
 * Codec and transport throughput.
 *   npm run bench:transport [-- --seconds 5 --txs 1024 --tx-bytes 150]
 * 1. codec: encode/decode of realistic append messages (MB/s, messages/s, txs/s) and of small
 *    votes (messages/s);
 * 2. two Transports on loopback: append messages streamed from one to the other as fast as
 *    the pipe drains (txs/s, MB/s, messages/s), then small messages.
 */
import { parseArgs } from "node:util";
import type { Message } from "../../node/consensus/types.js";
import { decodeMessage, encodeMessage } from "../../node/codec/index.js";
import { Transport, generatePeerKey, peerIdOf } from "../../node/transport/index.js";
import { appendMessage } from "./lib/messages.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    txs: { type: "string", default: "1024" },
    "tx-bytes": { type: "string", default: "150" },
  },
});
const seconds = Number(values.seconds);
const txCount = Number(values.txs);
const txBytes = Number(values["tx-bytes"]);

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function timeLoop(ms: number, body: () => void): { iterations: number; seconds: number } {
  const start = performance.now();
  let iterations = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < 10; i++) body();
    iterations += 10;
  }
  return { iterations, seconds: (performance.now() - start) / 1000 };
}

function benchCodec(): void {
  const append = appendMessage("node-0", "node-1", 1_000, txCount, txBytes);
  const bytes = encodeMessage(append);
  const enc = timeLoop(seconds * 250, () => encodeMessage(append));
  const dec = timeLoop(seconds * 250, () => decodeMessage(bytes));
  const mb = bytes.length / 1e6;
  console.log(`codec: append of ${txCount} txs x ${txBytes} B = ${fmt(bytes.length)} bytes encoded`);
  for (const [name, r] of [["encode", enc], ["decode", dec]] as const) {
    const perSec = r.iterations / r.seconds;
    console.log(`  ${name}: ${(perSec * mb).toFixed(0)} MB/s, ${fmt(perSec)} messages/s, ${fmt(perSec * txCount)} txs/s`);
  }
  const vote: Message = { type: "appendResp", from: "node-1", to: "node-0", term: 7, success: true, matchIndex: 123_456, hintIndex: 0, hintTerm: 0 };
  const small = encodeMessage(vote);
  const se = timeLoop(seconds * 250, () => encodeMessage(vote));
  const sd = timeLoop(seconds * 250, () => decodeMessage(small));
  console.log(`codec: appendResp (${small.length} bytes): encode ${fmt(se.iterations / se.seconds)}/s, decode ${fmt(sd.iterations / sd.seconds)}/s`);
}

async function benchTransport(): Promise<void> {
  const [ka, kb] = await Promise.all([generatePeerKey(), generatePeerKey()]);
  const [pa, pb] = [peerIdOf(ka), peerIdOf(kb)];
  const nodeIds = new Map([
    [pa, "node-0"],
    [pb, "node-1"],
  ]);
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const a = await Transport.create({ privateKey: ka, listen: ["/ip4/127.0.0.1/tcp/0"], allowedPeers: [pb], nodeIds, localNodeId: "node-0", logger: quiet });
  const b = await Transport.create({ privateKey: kb, listen: ["/ip4/127.0.0.1/tcp/0"], allowedPeers: [pa], nodeIds, localNodeId: "node-1", logger: quiet });
  try {
    await a.setPeerAddresses(pb, b.addresses());
    let received = 0;
    let receivedTxs = 0;
    b.onMessage((m) => {
      received++;
      if (m.type === "append") for (const e of m.entries) receivedTxs += e.txs?.length ?? 0;
    });

    // Pre-built messages (distinct objects so nothing is cached); the sender keeps about 8 MiB
    // queued, as a leader pipelining appends would, and never exceeds the queue bound.
    const pool = Array.from({ length: 16 }, (_, i) => appendMessage("node-0", "node-1", 1_000 + i, txCount, txBytes));
    const frameBytes = encodeMessage(pool[0]!).length;
    const window = Math.max(4, Math.floor((8 * 1_048_576) / frameBytes));
    a.send(pb, pool[0]!);
    while (received === 0) await new Promise((r) => setTimeout(r, 5));

    const run = async (label: string, make: (i: number) => Message, windowSize: number, bytesEach: number, txsEach: number) => {
      const base = received;
      const baseTxs = receivedTxs;
      let sent = 0;
      const start = performance.now();
      const end = start + seconds * 1000;
      while (performance.now() < end) {
        while (sent - (received - base) < windowSize) a.send(pb, make(sent++));
        await new Promise((r) => setImmediate(r));
      }
      const elapsed = (performance.now() - start) / 1000;
      const msgs = received - base;
      const txs = receivedTxs - baseTxs;
      console.log(
        `${label}: ${fmt(msgs / elapsed)} messages/s, ${((msgs * bytesEach) / elapsed / 1e6).toFixed(1)} MB/s` +
          (txsEach > 0 ? `, ${fmt(txs / elapsed)} txs/s` : ""),
      );
    };
    await run(`transport: append ${txCount} x ${txBytes} B`, (i) => pool[i % pool.length]!, window, frameBytes, txCount);
    const hb: Message = { type: "appendResp", from: "node-0", to: "node-1", term: 7, success: true, matchIndex: 1, hintIndex: 0, hintTerm: 0 };
    await run("transport: small appendResp", () => hb, 4_096, encodeMessage(hb).length, 0);
    const s = a.stats();
    console.log(`  sender: ${fmt(s.framesWritten)} frames in ${fmt(s.writes)} writes, ${fmt(s.droppedQueueOverflow)} dropped on overflow`);
  } finally {
    await a.stop();
    await b.stop();
  }
}

benchCodec();
await benchTransport();
