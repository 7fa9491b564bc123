/** The application state machine: one decode per record, the crash-safe order, and snapshots of all its state. */
import { expect } from "chai";
import type { Entry, Snapshot } from "../../node/consensus/index.js";
import { CodecError } from "../../node/codec/index.js";
import { encodeAppRecord, type AppliedRecord } from "../../node/domain/index.js";
import { AppStateMachine, type BatchStatePart, type CertificatePart, type EpochKeysPart } from "../../node/app/machine.js";

const META: Snapshot["meta"] = { index: 9, term: 2, nextPosition: 5, config: { voters: ["a"], learners: [] } };

function parts() {
  const calls: string[] = [];
  const seen: { batches?: readonly AppliedRecord[]; certificates?: readonly AppliedRecord[]; keys?: readonly AppliedRecord[]; installed?: Uint8Array; keysInstalled?: Uint8Array; certifiedNext?: number } = {};
  const batches: BatchStatePart = {
    apply: async (_entries, records) => {
      calls.push("batches.apply");
      seen.batches = records;
    },
    snapshotData: () => Uint8Array.of(1, 7, 7),
    installSnapshot: async (s) => {
      calls.push("batches.install");
      seen.installed = s.data;
    },
  };
  const commitments: CertificatePart = {
    apply: async (_entries, records) => {
      calls.push("commitments.apply");
      seen.certificates = records;
    },
    nextUncertified: 3,
    installSnapshot: async (_snapshot, certifiedNext) => {
      calls.push("commitments.install");
      seen.certifiedNext = certifiedNext;
    },
  };
  const epochKeys: EpochKeysPart = {
    apply: async (records) => {
      calls.push("epochKeys.apply");
      seen.keys = records;
    },
    snapshotData: () => Uint8Array.of(4, 2),
    installSnapshot: async (data) => {
      calls.push("epochKeys.install");
      seen.keysInstalled = data;
    },
  };
  return { calls, seen, machine: new AppStateMachine({ batches, commitments, epochKeys }) };
}

const app = (index: number, data: Uint8Array): Entry => ({ index, term: 1, kind: "app", firstPosition: 0, app: data });

describe("application state machine", () => {
  it("decodes each record once, applies batch records before the certificates and indexes, and settles epoch leaders", async () => {
    const { calls, seen, machine } = parts();
    const settled: [number, string][] = [];
    machine.onEpochLeader((epoch, leader) => settled.push([epoch, leader]));
    const entries: Entry[] = [
      { index: 1, term: 1, kind: "txs", firstPosition: 0, txs: [{ hash: `0x${"11".repeat(32)}`, data: Uint8Array.of(1) }] },
      app(2, encodeAppRecord({ kind: "epochLeader", epoch: 3, leader: "0xabc" })),
      app(3, encodeAppRecord({ kind: "batchPosted", posted: { batchNumber: 1, batchHash: `0x${"22".repeat(32)}`, l1Block: 5, l1TxHash: `0x${"33".repeat(32)}` } })),
    ];
    await machine.apply(entries);
    expect(calls).to.deep.equal(["batches.apply", "epochKeys.apply", "commitments.apply"]);
    expect(seen.batches).to.equal(seen.certificates, "every part gets the same decoded records");
    expect(seen.keys).to.equal(seen.certificates);
    expect(seen.batches!.map((r) => [r.entry.index, r.record.kind])).to.deep.equal([
      [2, "epochLeader"],
      [3, "batchPosted"],
    ]);
    expect(settled).to.deep.equal([[3, "0xabc"]]);
    expect(machine.epochLeader(3)).to.equal("0xabc");
  });

  it("snapshots the batch state, the epoch-leader settlements, the epoch keys and where certification stood, and restores them", async () => {
    const source = parts();
    await source.machine.apply([app(1, encodeAppRecord({ kind: "epochLeader", epoch: 4, leader: "0xdef" }))]);
    const data = source.machine.snapshot();

    const target = parts();
    const settled: [number, string][] = [];
    target.machine.onEpochLeader((epoch, leader) => settled.push([epoch, leader]));
    await target.machine.restore({ meta: META, data });
    expect(target.calls).to.deep.equal(["batches.install", "epochKeys.install", "commitments.install"]);
    expect([...target.seen.installed!]).to.deep.equal([1, 7, 7]);
    expect([...target.seen.keysInstalled!]).to.deep.equal([4, 2]);
    expect(settled).to.deep.equal([[4, "0xdef"]]);
    expect(target.machine.epochLeader(4)).to.equal("0xdef");
    expect(target.seen.certifiedNext, "where certification stood, not the snapshot's end (3 < nextPosition 5)").to.equal(3);
  });

  it("keeps reading a snapshot without epoch keys (format 2)", async () => {
    const source = parts();
    await source.machine.apply([app(1, encodeAppRecord({ kind: "epochLeader", epoch: 4, leader: "0xdef" }))]);
    const v3 = source.machine.snapshot();
    // Format 2 is format 3 without the trailing epoch-keys bytes (length 2 + 2 bytes).
    const v2 = Uint8Array.of(2, ...v3.subarray(1, v3.length - 3));
    const target = parts();
    await target.machine.restore({ meta: META, data: v2 });
    expect(target.calls).to.deep.equal(["batches.install", "commitments.install"]);
    expect(target.machine.epochLeader(4)).to.equal("0xdef");
  });

  it("keeps reading a snapshot that holds the batch state alone (format 1), and refuses an unknown format", async () => {
    const legacy = parts();
    await legacy.machine.restore({ meta: META, data: Uint8Array.of(1, 0) });
    expect([...legacy.seen.installed!]).to.deep.equal([1, 0]);
    expect(legacy.calls).to.deep.equal(["batches.install", "commitments.install"]);
    const bad = parts();
    let error: unknown;
    await bad.machine.restore({ meta: META, data: Uint8Array.of(9, 0, 0) }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(CodecError);
    expect(bad.calls, "nothing is restored from a snapshot it cannot read").to.deep.equal([]);
  });
});
