/**
 * Scheduled leader rotation with fallback: each epoch the L1 schedule's primary leads; with the
 * primary killed the first fallback takes over; a primary that comes back does not take
 * leadership back before an epoch that schedules it (no ping-pong).
 * Real chain over HTTP, real libp2p, real level, real node processes.
 */
import { expect } from "chai";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { enterNextEpoch, exitedNodes, releaseTestDir, rpc, signedTx, until, submit } from "./helpers.js";
import { makeTempDir } from "../../scripts/lib/processes.js";

interface RotationStatus {
  leader: string | null;
  epoch: number;
  rotation: { settledEpoch: number; settledLeader: string | null };
  config: { voters: string[]; weights?: string[]; outgoing?: string[]; learners: string[] };
  members: { nodeId: string; replication?: { active: boolean } }[];
}

describe("scheduled leader rotation (node processes)", function () {
  this.timeout(600_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs = new Map<number, NodeProcess>();
  // The heavy operator (2900 of 5900: under half the stake, as quorums are by stake) is the primary
  // of an epoch with probability 0.49, from a seed of L1 block hashes that differs run to run: the
  // tests go on until it is scheduled first. Each epoch takes about a second; with 24 at most, a run
  // where it never is has a chance below one in a million (with 12, about one in 700).
  const HEAVY = 0;
  const MAX_EPOCHS = 24;

  const id = (i: number) => net.operators[i]!.operator.toLowerCase();
  const indexOf = (nodeId: string) => net.operators.findIndex((o) => o.operator.toLowerCase() === nodeId);
  const live = () => [...procs.keys()];
  const status = (i: number) => rpc<RotationStatus>(net.operators[i]!.rpcUrl, "seq_status");
  const schedule = async (epoch: bigint) => (await net.deployment.registry.read.leaderSchedule([epoch])).map((a) => a.toLowerCase());

  /**
   * Waits until `ready` holds for the statuses of every live node. A timeout says what each node
   * reported last and which node processes have exited (with the end of their logs).
   */
  async function untilAll(what: string, ready: (all: ReadonlyMap<number, RotationStatus>) => boolean, timeoutMs = 120_000): Promise<void> {
    let seen = "no status yet";
    try {
      await until(what, async () => {
        const nodes = live();
        const answers = await Promise.allSettled(nodes.map(status));
        const name = (nodeId: string | null) => (nodeId === null ? "none" : `node ${indexOf(nodeId)}`);
        seen = answers
          .map((a, k) =>
            a.status === "rejected"
              ? `node ${nodes[k]}: ${(a.reason as Error).message}`
              : `node ${nodes[k]}: epoch ${a.value.epoch}, leader ${name(a.value.leader)}, settled ${a.value.rotation.settledEpoch} with ${name(a.value.rotation.settledLeader)}`,
          )
          .join("; ");
        const all = new Map<number, RotationStatus>();
        for (const [k, a] of answers.entries()) if (a.status === "fulfilled") all.set(nodes[k]!, a.value);
        return all.size === nodes.length && ready(all) ? true : undefined;
      }, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen: ${seen}\n${await exitedNodes(procs)}`.trimEnd());
    }
  }

  /**
   * Waits for a steady cluster: every live node follows the same leader in the same, settled epoch,
   * the membership is the whole staked set with its stakes (no change under way), and the leader
   * hears from every live node. An epoch's rotation passes over a node the leader has not heard
   * from lately, for the whole epoch (no ping-pong when it shows up): a node still starting, or
   * still connecting, when its epoch begins does not lead it. So the tests enter an epoch only from here.
   */
  async function steady(): Promise<void> {
    const everyone = net.operators.map((o) => o.operator.toLowerCase()).sort().join();
    await untilAll("a steady cluster (one leader that hears from every live node, a settled epoch, the staked membership)", (all) => {
      const first = [...all.values()][0]!;
      const leader = first.leader === null ? undefined : all.get(indexOf(first.leader));
      return (
        leader !== undefined &&
        [...all.values()].every(
          (s) =>
            s.leader === first.leader &&
            s.epoch === first.epoch &&
            s.rotation.settledEpoch === s.epoch &&
            s.config.outgoing === undefined &&
            s.config.learners.length === 0 &&
            s.config.weights?.length === net.operators.length &&
            [...s.config.voters].sort().join() === everyone,
        ) &&
        [...all.keys()].every((i) => id(i) === first.leader || leader.members.find((m) => m.nodeId === id(i))?.replication?.active === true)
      );
    });
  }

  /** Waits until every live node agrees the epoch is settled with `leader` leading. */
  async function settledWith(epoch: bigint, leader: string): Promise<void> {
    await untilAll(`epoch ${epoch} settled with node ${indexOf(leader)} leading`, (all) =>
      [...all.values()].every((s) => s.epoch === Number(epoch) && s.leader === leader && s.rotation.settledEpoch === Number(epoch) && s.rotation.settledLeader === leader),
    );
  }

  async function sequences(i: number): Promise<void> {
    const c = await submit<OrderCommitmentProofJson>(net.operators[i]!.rpcUrl, await signedTx());
    expect(Number(c.position)).to.be.at.least(0);
  }

  before(async () => {
    dir = makeTempDir("seq-rotation-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2900", "1000", "1000", "1000"]);
    await enterNextEpoch(chain, net.deployment.registry);
    for (const i of [0, 1, 2, 3]) procs.set(i, spawnNode(net.operators[i]!));
    // Every node up and connected, not just a quorum: a leader exists once three of the four are.
    await steady();
  });

  after(async function () {
    await Promise.all([...procs.values()].map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  let primary = -1;

  it("hands leadership to each epoch's scheduled primary", async () => {
    const primaries: string[] = [];
    // Several epochs, and on until the heavy operator is primary (the next test kills it as the leader).
    for (let n = 0; n < MAX_EPOCHS && (n < 3 || primaries.at(-1) !== id(HEAVY)); n++) {
      await steady();
      const epoch = await enterNextEpoch(chain, net.deployment.registry);
      const order = await schedule(epoch);
      await settledWith(epoch, order[0]!);
      await sequences(indexOf(order[1]!));
      primaries.push(order[0]!);
    }
    expect(primaries.length).to.be.at.least(3);
    expect(primaries.at(-1), `the heavy operator was scheduled first in one of ${MAX_EPOCHS} epochs`).to.equal(id(HEAVY));
    primary = HEAVY;
  });

  it("fails over to the first fallback when the primary dies, and keeps sequencing", async () => {
    expect(primary, "the first test left the heavy operator leading").to.equal(HEAVY);
    const epoch = BigInt((await status(1)).epoch);
    const order = await schedule(epoch);
    expect(order[0]).to.equal(id(primary));
    const killedAt = Date.now();
    await stopNode(procs.get(primary)!, "SIGKILL");
    procs.delete(primary);
    const fallback = indexOf(order[1]!);
    await untilAll("the first fallback to lead", (all) => [...all.values()].every((s) => s.leader === order[1]));
    console.log(`      failover to the first fallback: ${Date.now() - killedAt} ms after SIGKILL`);
    await sequences(fallback);

    // While it is down, an epoch's rotation skips it: the first reachable node in schedule order leads.
    await steady();
    const next = await enterNextEpoch(chain, net.deployment.registry);
    const nextOrder = await schedule(next);
    await settledWith(next, nextOrder.find((n) => n !== id(primary))!);
  });

  it("lets the returning primary lead only at an epoch that schedules it first", async () => {
    expect(primary, "the first test left the heavy operator leading").to.equal(HEAVY);
    procs.set(primary, spawnNode(net.operators[primary]!));
    const { epoch: current, rotation } = await status(1);
    const settledLeader = rotation.settledLeader!;
    // Back and caught up, it still follows for the rest of the epoch.
    await untilAll("the returning primary to follow the settled leader", (all) => all.get(primary)?.leader === settledLeader);
    for (let k = 0; k < 10; k++) {
      const statuses = await Promise.all(live().map(status));
      for (const s of statuses) if (s.epoch === current) expect(s.leader, "no leadership change inside the epoch").to.equal(settledLeader);
      await new Promise((r) => setTimeout(r, 300));
    }
    // At each later epoch the primary leads; the returning node leads exactly when scheduled first.
    let ledAgain = false;
    for (let n = 0; n < MAX_EPOCHS && !ledAgain; n++) {
      await steady();
      const epoch = await enterNextEpoch(chain, net.deployment.registry);
      const order = await schedule(epoch);
      await settledWith(epoch, order[0]!);
      ledAgain = order[0] === id(primary);
    }
    expect(ledAgain, `the returning primary was scheduled first again within ${MAX_EPOCHS} epochs`).to.equal(true);
  });
});
