/**
 * NodeStore throughput with fsync.
 *   npm run bench:storage [-- --seconds 3 --txs-per-entry 64 --tx-bytes 150]
 * - persistReadies with group sizes 1 / 64 / 1024 (Readys of one entry each, one synced batch
 *   per group): entries/s and txs/s;
 * - applyCommitted (position + hash indexes, unsynced): txs/s;
 * - record checksum cost (native CRC32) and recovery (open + full log verification) time.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { crc32 } from "node:zlib";
import type { Entry, Tx } from "../../node/consensus/types.js";
import { bytesToHex, encodeEntry } from "../../node/codec/index.js";
import { NodeStore } from "../../node/storage/index.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    "txs-per-entry": { type: "string", default: "64" },
    "tx-bytes": { type: "string", default: "150" },
  },
});
const seconds = Number(values.seconds);
const txsPerEntry = Number(values["txs-per-entry"]);
const txBytes = Number(values["tx-bytes"]);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function makeEntry(index: number, firstPosition: number): Entry {
  const txs: Tx[] = [];
  for (let i = 0; i < txsPerEntry; i++) {
    const h = new Uint8Array(32);
    new DataView(h.buffer).setFloat64(0, firstPosition + i);
    const data = new Uint8Array(txBytes).fill((firstPosition + i) & 0xff);
    txs.push({ hash: bytesToHex(h), data });
  }
  return { index, term: 1, kind: "txs", firstPosition, txs };
}

const dir = await mkdtemp(join(tmpdir(), "seq-bench-store-"));
try {
  console.log(`entries of ${txsPerEntry} txs x ${txBytes} B (${fmt(encodeEntry(makeEntry(1, 0)).length)} bytes encoded), sync: true`);
  for (const group of [1, 64, 1024]) {
    const path = join(dir, `g${group}`);
    const store = await NodeStore.open(path);
    let index = 1;
    let entries = 0;
    let elapsed = 0; // time spent in persistReadies only: building the entries is not the store's cost
    while (elapsed < seconds) {
      const readies = [];
      for (let g = 0; g < group; g++, index++) {
        readies.push({ entries: [makeEntry(index, (index - 1) * txsPerEntry)], hardState: { term: 1, vote: "n0", commit: index - 1 } });
      }
      const t = performance.now();
      await store.persistReadies(readies);
      elapsed += (performance.now() - t) / 1000;
      entries += group;
    }
    console.log(
      `persistReadies group ${String(group).padStart(4)}: ${fmt(entries / elapsed)} entries/s, ${fmt((entries * txsPerEntry) / elapsed)} txs/s, ${fmt(entries / group / elapsed)} fsyncs/s`,
    );
    if (group === 64) {
      const committed = await store.getEntries(1, index - 2); // the last entry is not committed yet
      const t0 = performance.now();
      for (let i = 0; i < committed.length; i += 16) await store.applyCommitted(committed.slice(i, i + 16));
      const ta = (performance.now() - t0) / 1000;
      console.log(`applyCommitted (16 entries per batch, unsynced): ${fmt((committed.length * txsPerEntry) / ta)} txs/s`);
      await store.close();
      const t1 = performance.now();
      const reopened = await NodeStore.open(path);
      const state = await reopened.loadPersistedState();
      console.log(`recovery: open + verify ${fmt(state.entries.length)} entries in ${(performance.now() - t1).toFixed(0)} ms`);
      await reopened.close();
    } else {
      await store.close();
    }
  }
  const buf = encodeEntry(makeEntry(1, 0));
  const n = 2_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) crc32(buf);
  const crcSec = (performance.now() - t) / 1000;
  console.log(`record checksum (zlib CRC32): ${((n * buf.length) / crcSec / 1e6).toFixed(0)} MB/s, ${(crcSec / n * 1e6).toFixed(1)} µs per entry`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
