/**
 * The nemesis node's control commands: each reaches the FaultInjector (and the slow-disk
 * setting) as asked, `reset` clears everything, and a bad command is refused without changing
 * anything.
 */
import { expect } from "chai";
import { FaultInjector } from "../../node/transport/index.js";
import { FaultCommandError, applyFaultCommand, type FaultState } from "../../scripts/nemesis/node.js";

const fresh = (): FaultState => ({ partitioned: new Set(), drop: new Map(), delay: new Map(), diskDelayMs: 0 });

describe("nemesis node control commands", () => {
  it("partitions, heals, drops, delays and slows the disk as asked; reset clears it all", () => {
    const faults = new FaultInjector(() => 0.5);
    const state = fresh();
    applyFaultCommand(faults, state, { op: "partition", peers: ["a", "b"] });
    expect(faults.isPartitioned("a") && faults.isPartitioned("b")).to.equal(true);
    applyFaultCommand(faults, state, { op: "heal", peers: ["a"] });
    expect([faults.isPartitioned("a"), faults.isPartitioned("b")]).to.deep.equal([false, true]);
    applyFaultCommand(faults, state, { op: "drop", peers: ["c"], probability: 0.6 });
    applyFaultCommand(faults, state, { op: "drop", peers: ["d"], probability: 0.4 });
    expect([faults.shouldDrop("c"), faults.shouldDrop("d")]).to.deep.equal([true, false]);
    applyFaultCommand(faults, state, { op: "delay", peers: ["c"], ms: 70 });
    applyFaultCommand(faults, state, { op: "slow-disk", ms: 120 });
    expect(faults.delayFor("c")).to.equal(70);
    expect(state.diskDelayMs).to.equal(120);
    applyFaultCommand(faults, state, { op: "reset" });
    expect([faults.isPartitioned("b"), faults.shouldDrop("c"), faults.delayFor("c"), state.diskDelayMs]).to.deep.equal([false, false, 0, 0]);
    expect(state.partitioned.size + state.drop.size + state.delay.size).to.equal(0);
  });

  it("refuses malformed commands and changes nothing", () => {
    const faults = new FaultInjector(() => 0);
    const state = fresh();
    const bad: unknown[] = [null, [], { op: "explode" }, { op: "partition" }, { op: "partition", peers: [1] }, { op: "drop", peers: ["a"], probability: 2 }, { op: "delay", peers: ["a"], ms: -1 }, { op: "slow-disk", ms: "slow" }];
    for (const cmd of bad) expect(() => applyFaultCommand(faults, state, cmd), JSON.stringify(cmd)).to.throw(FaultCommandError);
    expect([faults.isPartitioned("a"), faults.shouldDrop("a"), faults.delayFor("a"), state.diskDelayMs]).to.deep.equal([false, false, 0, 0]);
  });
});
