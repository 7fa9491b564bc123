import { expect } from "chai";
import { RaftLog } from "../../node/consensus/log.js";
import type { Entry, Snapshot } from "../../node/consensus/index.js";
import { Cluster, txs } from "./helpers.js";

const snap0: Snapshot = { meta: { index: 0, term: 0, config: { voters: ["a"], learners: [] }, nextPosition: 0 }, data: new Uint8Array() };
const entry = (index: number, term: number, n = 0, firstPosition = 0): Entry =>
  n > 0 ? { index, term, kind: "txs", firstPosition, txs: txs(n) } : { index, term, kind: "noop", firstPosition };

describe("consensus: log bookkeeping", () => {
  it("a truncation between ready() and advance() lowers what advance() marks durable", () => {
    const log = new RaftLog(snap0, [], 0, 0);
    log.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    expect(log.takeUnstable().entries.map((e) => e.index)).to.deep.equal([1, 2, 3]);
    // A new leader's append arrives before the driver finished persisting.
    log.truncateFrom(2);
    log.append([entry(2, 2)]);
    log.markInProgressStable();
    expect(log.stableIndex, "old index 2 and 3 were persisted but are no longer the log").to.equal(1);
    expect(log.takeUnstable().entries.map((e) => `${e.index}:${e.term}`)).to.deep.equal(["2:2"]);
    log.markInProgressStable();
    expect(log.stableIndex).to.equal(2);
  });

  it("finds entries by position and positions after an index, across compaction", () => {
    const log = new RaftLog(snap0, [], 0, 0);
    log.append([entry(1, 1), entry(2, 1, 3, 0), entry(3, 1, 0, 3), entry(4, 2, 2, 3)]);
    expect(log.entryAtPosition(0)!.index).to.equal(2);
    expect(log.entryAtPosition(2)!.index).to.equal(2);
    expect(log.entryAtPosition(3)!.index).to.equal(4);
    expect(log.entryAtPosition(5)).to.equal(undefined);
    expect(log.positionAfter(3)).to.equal(3);
    expect(log.nextPosition()).to.equal(5);
    log.compact({ meta: { index: 2, term: 1, config: snap0.meta.config, nextPosition: 3 }, data: new Uint8Array() });
    expect(log.positionAfter(2)).to.equal(3);
    expect(log.term(2)).to.equal(1);
    expect(log.term(1)).to.equal(undefined);
    expect(log.findConflictByTerm(4, 1)).to.deep.equal({ index: 3, term: 1 });
  });
});

describe("consensus: determinism", () => {
  function run(): string {
    const c = new Cluster(["a", "b", "c"], { seed: 42 });
    for (let i = 0; i < 40; i++) c.tickAll();
    const leader = c.leader()!;
    c.core(leader).propose([{ hash: "0xaa", data: new Uint8Array([1]) }, { hash: "0xbb", data: new Uint8Array([2]) }]);
    c.isolate(leader);
    for (let i = 0; i < 40; i++) c.tickAll();
    c.heal();
    for (let i = 0; i < 40; i++) c.tickAll();
    return JSON.stringify([c.sent, [...c.disks], [...c.outcomes], [...c.events]]);
  }

  it("identical inputs produce identical outputs", () => {
    expect(run()).to.equal(run());
  });
});
