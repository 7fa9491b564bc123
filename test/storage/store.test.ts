import { expect } from "chai";
import fc from "fast-check";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import type { Entry, HardState, Snapshot, Tx } from "../../node/consensus/types.js";
import { bytesToHex } from "../../node/codec/index.js";
import {
  ConflictingBatchHeaderError,
  NodeStore,
  StorageCorruptionError,
  StorageInvariantError,
} from "../../node/storage/index.js";
import type { SignedBatchHeader, StoredCertificate } from "../../node/domain/index.js";
import { KEY_FORMAT, KEY_HARD_STATE, PREFIX, u64Key } from "../../node/storage/records.js";

const config = { voters: ["a", "b", "c"], learners: [] };

function txFor(position: number, salt = 0): Tx {
  const h = new Uint8Array(32);
  new DataView(h.buffer).setUint32(0, position);
  h[31] = salt;
  return { hash: bytesToHex(h), data: Uint8Array.of(position & 0xff, salt, 1, 2, 3) };
}

/** Contiguous entries [from, to] of `term`, each carrying `txsPer` txs, positions following `firstPosition`. */
function entries(from: number, to: number, term: number, firstPosition: number, txsPer = 2, salt = 0): Entry[] {
  const out: Entry[] = [];
  let pos = firstPosition;
  for (let i = from; i <= to; i++) {
    const txs = Array.from({ length: txsPer }, (_, k) => txFor(pos + k, salt));
    out.push({ index: i, term, kind: "txs", firstPosition: pos, txs });
    pos += txsPer;
  }
  return out;
}

async function rawDb(path: string): Promise<ClassicLevel<Uint8Array, Uint8Array>> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  return db;
}

async function flipByte(path: string, key: Uint8Array, at = 0): Promise<void> {
  const db = await rawDb(path);
  const value = (await db.get(key))!.slice();
  value[at] ^= 0x01;
  await db.put(key, value);
  await db.close();
}

async function expectCorruption(p: Promise<unknown>, key: RegExp, reason: RegExp): Promise<StorageCorruptionError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(StorageCorruptionError);
    const e = err as StorageCorruptionError;
    expect(e.key).to.match(key);
    expect(e.reason).to.match(reason);
    return e;
  }
  throw new Error("expected a StorageCorruptionError");
}

async function expectInvariant(p: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(StorageInvariantError);
    expect((err as Error).message).to.match(message);
    return;
  }
  throw new Error("expected a StorageInvariantError");
}

describe("NodeStore", function () {
  let dir: string;
  let path: string;
  const open: NodeStore[] = [];

  async function openStore(): Promise<NodeStore> {
    const s = await NodeStore.open(path);
    open.push(s);
    return s;
  }

  async function reopen(s: NodeStore): Promise<NodeStore> {
    await s.close();
    return openStore();
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "seq-store-"));
    path = join(dir, "db");
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe("Raft persistence", () => {
    it("a fresh store recovers an empty state", async () => {
      const s = await openStore();
      expect(await s.loadPersistedState()).to.deep.equal({ hardState: { term: 0, vote: null, commit: 0 }, entries: [], applied: 0 });
    });

    it("recovers exactly what was persisted after a restart", async () => {
      let s = await openStore();
      const hs: HardState = { term: 2, vote: "b", commit: 3 };
      const es = entries(1, 5, 2, 0);
      await s.persistReady({ entries: es, hardState: hs });
      s = await reopen(s);
      expect(await s.loadPersistedState()).to.deep.equal({ hardState: hs, entries: es, applied: 0 });
      expect(s.status()).to.include({ firstIndex: 1, lastIndex: 5 });
    });

    it("keeps stake weights of configuration entries and snapshots across a restart", async () => {
      let s = await openStore();
      const weighted = { voters: ["a", "b", "d"], weights: ["100000000000000000000000", "1", "7"], learners: [] };
      const joint = { ...weighted, outgoing: ["a", "b", "c"], outgoingWeights: ["3", "2", "2"] };
      const snapshot: Snapshot = { meta: { index: 4, term: 1, config: weighted, nextPosition: 8 }, data: Uint8Array.of(1) };
      const es: Entry[] = [
        { index: 5, term: 2, kind: "config", firstPosition: 8, config: joint },
        { index: 6, term: 2, kind: "config", firstPosition: 8, config: weighted },
      ];
      await s.persistReady({ snapshot, entries: es, hardState: { term: 2, vote: null, commit: 4 } });
      s = await reopen(s);
      const state = await s.loadPersistedState();
      expect(state.snapshot).to.deep.equal(snapshot);
      expect(state.entries).to.deep.equal(es);
    });

    it("syncs entries, terms and votes, but writes a commit-only hard state unsynced (MustSync)", async () => {
      const s = await openStore();
      await s.loadPersistedState();
      // Observe the store's writes: which batches ask level for an fsync.
      const db = (s as unknown as { db: { batch: (ops: unknown, options?: { sync?: boolean }) => Promise<void> } }).db;
      const syncs: boolean[] = [];
      const batch = db.batch.bind(db);
      db.batch = (ops, options) => {
        syncs.push(options?.sync === true);
        return batch(ops, options);
      };
      await s.persistReady({ entries: entries(1, 2, 1, 0), hardState: { term: 1, vote: "a", commit: 0 } });
      await s.persistReady({ entries: [], hardState: { term: 1, vote: "a", commit: 2 } });
      await s.persistReady({ entries: [], hardState: { term: 2, vote: "a", commit: 2 } });
      await s.persistReady({ entries: [], hardState: { term: 2, vote: "b", commit: 2 } });
      expect(syncs).to.deep.equal([true, false, true, true]);
      const again = await reopen(s);
      expect((await again.loadPersistedState()).hardState).to.deep.equal({ term: 2, vote: "b", commit: 2 });
    });

    it("truncates a conflicting suffix when entries overwrite it", async () => {
      let s = await openStore();
      await s.persistReady({ entries: entries(1, 6, 1, 0), hardState: { term: 1, vote: "a", commit: 2 } });
      const replacement = entries(4, 5, 2, 6, 3, 9);
      await s.persistReady({ entries: replacement, hardState: { term: 2, vote: null, commit: 2 } });
      s = await reopen(s);
      const state = await s.loadPersistedState();
      expect(state.entries.map((e) => [e.index, e.term])).to.deep.equal([[1, 1], [2, 1], [3, 1], [4, 2], [5, 2]]);
      expect(state.entries.slice(3)).to.deep.equal(replacement);
      expect(s.status().lastIndex).to.equal(5);
    });

    it("group commit: a list of Readys in one batch ends in the same state as persisting them one by one", async () => {
      const readies = [
        { entries: entries(1, 3, 1, 0), hardState: { term: 1, vote: "a", commit: 0 } },
        { entries: entries(4, 6, 1, 6), hardState: { term: 1, vote: "a", commit: 3 } },
        { entries: entries(5, 5, 2, 8, 1, 7), hardState: { term: 2, vote: "c", commit: 4 } },
        { entries: entries(6, 7, 2, 9, 1, 7) },
      ];
      let grouped = await openStore();
      await grouped.persistReadies(readies);
      grouped = await reopen(grouped);
      const groupedState = await grouped.loadPersistedState();
      await grouped.close();
      await rm(path, { recursive: true, force: true });
      let single = await openStore();
      for (const r of readies) await single.persistReady(r);
      single = await reopen(single);
      expect(groupedState).to.deep.equal(await single.loadPersistedState());
      expect(groupedState.entries.map((e) => e.index)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      expect(groupedState.hardState).to.deep.equal({ term: 2, vote: "c", commit: 4 });
    });

    it("model check: random appends, truncations and hard states recover exactly after restart", async function () {
      this.timeout(120_000);
      type Op = { start: number; count: number; term: number; commit: number };
      const op = fc.record({ start: fc.nat(), count: fc.integer({ min: 0, max: 4 }), term: fc.nat(3), commit: fc.nat(1) });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }), async (groups: Op[][]) => {
          await rm(path, { recursive: true, force: true });
          let s = await openStore();
          let model: Entry[] = [];
          let hs: HardState = { term: 0, vote: null, commit: 0 };
          let salt = 0;
          for (const group of groups) {
            const readies = [];
            let m = model;
            let h = hs;
            for (const o of group) {
              // overwrite a suffix above the commit index, or extend: never a gap
              const start = h.commit + 1 + (o.start % (m.length - h.commit + 1));
              const prev = m[start - 2];
              const term = Math.max(h.term, prev?.term ?? 0) + (o.term === 0 ? 0 : 1);
              const pos = prev ? prev.firstPosition + prev.txs!.length : 0;
              const es = entries(start, start + o.count - 1, term, pos, 1 + (salt % 3), salt++);
              if (es.length > 0) m = [...m.slice(0, start - 1), ...es];
              h = { term, vote: o.term % 2 === 0 ? null : "x", commit: Math.min(h.commit + o.commit, m.length) };
              readies.push({ entries: es, hardState: h });
            }
            await s.persistReadies(readies);
            model = m;
            hs = h;
          }
          s = await reopen(s);
          const state = await s.loadPersistedState();
          expect(state.entries).to.deep.equal(model);
          expect(state.hardState).to.deep.equal(hs);
          await s.close();
        }),
        { numRuns: 60 },
      );
    });

    it("refuses writes that would break the log, writing nothing", async () => {
      const s = await openStore();
      await s.persistReady({ entries: entries(1, 3, 1, 0), hardState: { term: 1, vote: null, commit: 1 } });
      const before = await reopen(s).then(async (r) => [r, await r.loadPersistedState()] as const);
      const store = before[0];
      await expectInvariant(store.persistReady({ entries: entries(5, 6, 1, 6) }), /gap after the last index 3/);
      await expectInvariant(store.persistReady({ entries: [...entries(4, 4, 1, 6), ...entries(6, 6, 1, 8)] }), /not contiguous/);
      await expectInvariant(store.persistReady({ entries: entries(4, 4, 1, 99) }), /firstPosition 99, expected 6/);
      await expectInvariant(store.persistReady({ entries: [], hardState: { term: 1, vote: null, commit: 4 } }), /commit 4 is beyond the last index 3/);
      await expectInvariant(store.persistReady({ entries: entries(1, 1, 2, 0) }), /entry 1 would overwrite a committed entry \(commit 1\) with a different term/);
      // a valid Ready followed by an invalid one in the same group: the group is all or nothing
      await expectInvariant(
        store.persistReadies([{ entries: entries(4, 4, 1, 6) }, { entries: [], hardState: { term: 1, vote: null, commit: 9 } }]),
        /commit 9/,
      );
      const after = await reopen(store);
      expect(await after.loadPersistedState()).to.deep.equal(before[1]);
    });
  });

  describe("snapshots and compaction", () => {
    const snapshotAt = (index: number, term: number, nextPosition: number): Snapshot => ({
      meta: { index, term, config, nextPosition },
      data: Uint8Array.of(9, 9, index),
    });

    it("an installed snapshot replaces the log; entries in the same Ready follow it", async () => {
      let s = await openStore();
      await s.persistReady({ entries: entries(1, 4, 1, 0), hardState: { term: 1, vote: null, commit: 2 } });
      const snap = snapshotAt(10, 2, 20);
      const after = entries(11, 12, 2, 20);
      await s.persistReady({ snapshot: snap, entries: after, hardState: { term: 2, vote: null, commit: 10 } });
      s = await reopen(s);
      const state = await s.loadPersistedState();
      expect(state.snapshot).to.deep.equal(snap);
      expect(state.entries).to.deep.equal(after);
      expect(s.status()).to.include({ firstIndex: 11, lastIndex: 12, snapshotIndex: 10 });
      await expectInvariant(s.persistReady({ entries: entries(10, 10, 2, 18) }), /at or below the snapshot index 10/);
    });

    it("compacts applied entries covered by a local snapshot and still serves their txs", async () => {
      let s = await openStore();
      const es = entries(1, 6, 1, 0);
      await s.persistReady({ entries: es, hardState: { term: 1, vote: null, commit: 6 } });
      await expectInvariant(s.compact(3), /snapshot only covers 0/);
      await expectInvariant(s.saveSnapshot(snapshotAt(4, 1, 8)), /beyond the applied index 0/);
      await s.applyCommitted(es.slice(0, 4));
      await s.saveSnapshot(snapshotAt(4, 1, 8));
      expect(s.status().firstIndex).to.equal(5);
      // a crash between saving the snapshot and compacting leaves covered entries behind: still a valid store
      s = await reopen(s);
      expect((await s.loadPersistedState()).entries).to.deep.equal(es.slice(4));
      await s.compact(4);
      expect(await s.getEntries(1, 6)).to.deep.equal(es.slice(4));
      s = await reopen(s);
      const state = await s.loadPersistedState();
      expect(state.snapshot?.meta.index).to.equal(4);
      expect(state.entries).to.deep.equal(es.slice(4));
      expect(state.applied).to.equal(4);
      const tx = await s.getTxByPosition(1);
      expect(tx).to.deep.include({ position: 1, index: 1, term: 1, hash: es[0]!.txs![1]!.hash });
      expect(tx!.data).to.deep.equal(es[0]!.txs![1]!.data);
    });

    it("a leader's snapshot leaves a history gap that backfill fills, first position winning, then clears", async () => {
      const s = await openStore();
      const snap = snapshotAt(10, 2, 6);
      await s.persistReady({ snapshot: snap, entries: [], hardState: { term: 2, vote: null, commit: 10 } });
      await s.markSnapshotApplied(snap.meta);
      expect(await s.historyGap()).to.deep.equal({ from: 0, to: 6 });
      const history = [0, 1, 2, 3, 4, 5].map((p) => {
        const tx = txFor(p === 4 ? 1 : p);
        return { position: p, index: 1 + p, term: 1, hash: tx.hash as `0x${string}`, data: tx.data };
      });
      await expectInvariant(s.backfillHistory(history.slice(2)), /history starts at 2, the gap starts at 0/);
      await s.backfillHistory(history.slice(0, 3));
      expect(await s.historyGap()).to.deep.equal({ from: 3, to: 6 });
      await s.backfillHistory(history.slice(3));
      expect(await s.historyGap()).to.equal(undefined);
      expect((await s.getTxRange(0, 6)).map((t) => t.position)).to.deep.equal([0, 1, 2, 3, 4, 5]);
      // position 4 carries position 1's transaction again: its commitment stays at 1
      expect(await s.getTxLocation(txFor(1).hash)).to.deep.equal({ position: 1, index: 2, term: 1 });
    });
  });

  describe("application indexes", () => {
    it("indexes committed txs by position and hash; re-applying is harmless; first position wins", async () => {
      let s = await openStore();
      const es = entries(1, 3, 1, 0, 3);
      const dup: Entry = { index: 4, term: 2, kind: "txs", firstPosition: 9, txs: [es[0]!.txs![0]!, txFor(10, 5)] };
      const noop: Entry = { index: 5, term: 2, kind: "noop", firstPosition: 11 };
      await s.persistReady({ entries: [...es, dup, noop], hardState: { term: 2, vote: null, commit: 5 } });
      await s.applyCommitted(es.slice(0, 2));
      await s.applyCommitted([...es, dup, noop]); // overlaps what is applied
      await expectInvariant(s.applyCommitted([{ index: 7, term: 2, kind: "noop", firstPosition: 11 }]), /not contiguous/);
      await s.persistReady({ entries: [{ index: 6, term: 2, kind: "noop", firstPosition: 11 }] });
      await expectInvariant(s.applyCommitted([{ index: 6, term: 2, kind: "noop", firstPosition: 11 }]), /entry 6 is not durably committed \(commit 5\)/);
      s = await reopen(s);
      expect(s.status()).to.include({ applied: 5, nextPosition: 11 });
      expect((await s.loadPersistedState()).applied).to.equal(5);
      expect(s.lookupCommittedTx(es[1]!.txs![2]!.hash)).to.deep.equal({ position: 5, index: 2, term: 1 });
      expect(await s.getTxLocation(es[0]!.txs![0]!.hash)).to.deep.equal({ position: 0, index: 1, term: 1 });
      expect(s.lookupCommittedTx(txFor(999).hash)).to.equal(undefined);
      const range = await s.getTxRange(7, 10);
      expect(range.map((t) => [t.position, t.index, t.hash])).to.deep.equal([
        [7, 3, es[2]!.txs![1]!.hash],
        [8, 3, es[2]!.txs![2]!.hash],
        [9, 4, es[0]!.txs![0]!.hash],
        [10, 4, txFor(10, 5).hash],
      ]);
      expect(await s.getTxByPosition(11)).to.equal(undefined);
    });

    it("applies in one batch with certificates, and finds the certificate covering a position", async () => {
      const s = await openStore();
      const es = entries(1, 2, 1, 0, 4);
      await s.persistReady({ entries: es, hardState: { term: 1, vote: null, commit: 2 } });
      const cert = (first: number, last: number): StoredCertificate => ({
        epoch: 3,
        term: 1,
        firstPosition: first,
        lastPosition: last,
        merkleRoot: bytesToHex(new Uint8Array(32).fill(first + 1)),
        signature: bytesToHex(new Uint8Array(65).fill(7)),
      });
      await s.applyCommitted(es.slice(0, 1), { certificates: [cert(0, 3)] });
      await s.applyCommitted(es.slice(1, 2), { certificates: [cert(4, 7)] });
      expect(await s.getCertificateForPosition(0)).to.deep.equal(cert(0, 3));
      expect(await s.getCertificateForPosition(3)).to.deep.equal(cert(0, 3));
      expect(await s.getCertificateForPosition(6)).to.deep.equal(cert(4, 7));
      expect(await s.getCertificateForPosition(8)).to.equal(undefined);
      await expectInvariant(s.applyCommitted([], { certificates: [cert(9, 8)] }), /is empty/);
    });

    it("remembers signed batch headers durably per (batch number, epoch) and refuses a conflicting one", async () => {
      let s = await openStore();
      const header: SignedBatchHeader = {
        epoch: 1,
        batchNumber: 7,
        prevBatchHash: bytesToHex(new Uint8Array(32).fill(1)),
        firstPosition: 100,
        lastPosition: 199,
        merkleRoot: bytesToHex(new Uint8Array(32).fill(2)),
        dataHash: bytesToHex(new Uint8Array(32).fill(3)),
        signature: bytesToHex(new Uint8Array(65).fill(4)),
      };
      expect(await s.recordSignedBatchHeader(header)).to.deep.equal(header);
      s = await reopen(s);
      expect(await s.getSignedBatchHeader(7, 1)).to.deep.equal(header);
      expect(await s.recordSignedBatchHeader(header)).to.deep.equal(header);
      try {
        await s.recordSignedBatchHeader({ ...header, lastPosition: 198 });
        expect.fail("conflicting header accepted");
      } catch (err) {
        expect(err).to.be.instanceOf(ConflictingBatchHeaderError);
        expect((err as ConflictingBatchHeaderError).batchNumber).to.equal(7);
        expect((err as ConflictingBatchHeaderError).epoch).to.equal(1);
      }
      // The same batch number re-cut under a later epoch is a different pair: allowed.
      const later = { ...header, epoch: 2, signature: bytesToHex(new Uint8Array(65).fill(5)) };
      expect(await s.recordSignedBatchHeader(later)).to.deep.equal(later);
      s = await reopen(s);
      expect(await s.getSignedBatchHeader(7, 1)).to.deep.equal(header);
      expect(await s.getSignedBatchHeader(7, 2)).to.deep.equal(later);
      expect(await s.getSignedBatchHeader(8, 1)).to.equal(undefined);
    });

    it("keeps batch cuts and posted marks per batch number, the latest write winning", async () => {
      let s = await openStore();
      const h = (n: number, epoch = 1) => ({
        epoch,
        batchNumber: n,
        prevBatchHash: bytesToHex(new Uint8Array(32).fill(n)),
        firstPosition: n * 10,
        lastPosition: n * 10 + 9,
        merkleRoot: bytesToHex(new Uint8Array(32).fill(2)),
        dataHash: bytesToHex(new Uint8Array(32).fill(3)),
      });
      const posted = { batchHash: bytesToHex(new Uint8Array(32).fill(9)), l1Block: 42, l1TxHash: bytesToHex(new Uint8Array(32).fill(8)) };
      expect(await s.lastBatches(2)).to.deep.equal([]);
      await s.putBatches([{ header: h(1), posted }, { header: h(2) }]);
      await s.putBatches([{ header: h(2, 3) }]);
      s = await reopen(s);
      expect(await s.getBatch(1)).to.deep.equal({ header: h(1), posted });
      expect(await s.getBatch(2)).to.deep.equal({ header: h(2, 3) });
      expect(await s.getBatch(3)).to.equal(undefined);
      expect(await s.lastBatches(2)).to.deep.equal([{ header: h(2, 3) }, { header: h(1), posted }]);
    });
  });

  describe("corruption and partial writes", () => {
    async function seeded(): Promise<void> {
      const s = await openStore();
      const es = entries(1, 5, 1, 0);
      await s.persistReady({ entries: es, hardState: { term: 1, vote: "a", commit: 5 } });
      await s.applyCommitted(es);
      await s.close();
    }

    it("a flipped byte in a log entry makes the store refuse to open, naming the key", async () => {
      await seeded();
      await flipByte(path, u64Key(PREFIX.log, 3), 4);
      await expectCorruption(NodeStore.open(path), /^log\/3 /, /checksum mismatch/);
    });

    it("a flipped byte in the hard state or a checksum is detected", async () => {
      await seeded();
      await flipByte(path, KEY_HARD_STATE, 0);
      await expectCorruption(NodeStore.open(path), /^meta\/H/, /checksum mismatch/);
    });

    it("a valid record under the wrong key is detected", async () => {
      await seeded();
      const db = await rawDb(path);
      await db.put(u64Key(PREFIX.log, 3), (await db.get(u64Key(PREFIX.log, 2)))!);
      await db.close();
      await expectCorruption(NodeStore.open(path), /^log\/3 /, /checksum mismatch/);
    });

    it("a corrupted committed tx is refused when read, and the store stops serving", async () => {
      await seeded();
      await flipByte(path, u64Key(PREFIX.position, 4), 6);
      const s = await openStore(); // positions are verified on read, not at open
      await expectCorruption(s.getTxByPosition(4), /^position\/4 /, /checksum mismatch/);
      await expectCorruption(s.getTxByPosition(0), /^position\/4 /, /checksum mismatch/);
      expect(() => s.status()).to.throw(StorageCorruptionError);
    });

    it("partial state an atomic batch cannot produce is detected: a hole in the log", async () => {
      await seeded();
      const db = await rawDb(path);
      await db.del(u64Key(PREFIX.log, 3));
      await db.close();
      await expectCorruption(NodeStore.open(path), /^log\/4 /, /gap in the log: expected entry 3/);
    });

    it("partial state: a hard state whose commit is beyond the stored log (entries lost)", async () => {
      await seeded();
      const db = await rawDb(path);
      await db.del(u64Key(PREFIX.log, 5));
      await db.close();
      await expectCorruption(NodeStore.open(path), /^meta\/H/, /commit 5 beyond the last stored index 4/);
    });

    it("a non-empty database without the format marker is refused", async () => {
      await seeded();
      const db = await rawDb(path);
      await db.del(KEY_FORMAT);
      await db.close();
      await expectCorruption(NodeStore.open(path), /^meta\/F/, /format marker missing/);
    });
  });
});
