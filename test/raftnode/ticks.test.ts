/**
 * RaftNode's tick timer judges the leader's silence against its own event loop: a follower whose
 * loop is starved (a busy machine) counts none of the time it was itself not running, so it does
 * not campaign against a leader that was merely starved too; once its loop runs freely the same
 * silence does start a campaign. Real timers, a real loop: the starved phase is made by blocking
 * the loop, and only adds lateness on a busy machine, so neither assertion depends on speed.
 */
import { expect } from "chai";
import { RaftNode, type RaftNodeHooks } from "../../node/raftnode/index.js";
import { createLogger } from "../../node/ops/logger.js";
import type { RaftEvent } from "../../node/consensus/index.js";

const TICK_MS = 10;
const ELECTION_TICKS = 5;

function follower(events: RaftEvent[]): { node: RaftNode; hooks: RaftNodeHooks } {
  const node = new RaftNode({
    raft: {
      id: "b",
      initialConfig: { voters: ["a", "b", "c"], learners: [] },
      random: () => 0,
      electionTicks: ELECTION_TICKS,
      electionJitterTicks: 1,
      heartbeatTicks: 1,
    },
    store: { persistReady: async () => {} },
    tickMs: TICK_MS,
    logger: createLogger({ level: "silent" }),
  });
  const hooks: RaftNodeHooks = {
    send: () => {},
    installSnapshot: async () => {},
    apply: async () => {},
    outcomes: () => {},
    events: (evs) => events.push(...evs),
    fatal: (error) => {
      throw error;
    },
  };
  return { node, hooks };
}

/** Keeps the loop busy in slices of `sliceMs`, yielding once between slices, for `totalMs`. */
async function starveLoop(totalMs: number, sliceMs: number): Promise<void> {
  const end = performance.now() + totalMs;
  while (performance.now() < end) {
    const sliceEnd = performance.now() + sliceMs;
    while (performance.now() < sliceEnd) {
      // busy: this loop runs no timers meanwhile
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const campaigns = (events: readonly RaftEvent[]) => events.filter((e) => e.type === "campaignStarted");

describe("raftnode: ticks on a starved event loop", () => {
  it("a follower starved for 40 election timeouts does not campaign; running freely, it does", async () => {
    const events: RaftEvent[] = [];
    const { node, hooks } = follower(events);
    node.start(hooks);
    try {
      // Every slice makes the next timer fire ~9 ticks late: none of it is counted.
      await starveLoop(40 * ELECTION_TICKS * TICK_MS, 10 * TICK_MS);
      expect(campaigns(events), "campaigned while its own loop was starved").to.deep.equal([]);
      expect(node.basicStatus().role).to.equal("follower");

      // The same silence on a free loop: a campaign within some election timeouts (polled, no deadline asserted).
      while (campaigns(events).length === 0) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      expect(campaigns(events)[0]).to.include({ type: "campaignStarted", cause: "timeout" });
    } finally {
      await node.stop();
    }
  });
});
