/**
 * Scheduled leader rotation with fallback: each epoch the L1 schedule's primary leads; with the
 * primary killed the first fallback takes over; a primary that comes back does not take
 * leadership back before an epoch that schedules it (no ping-pong).
 * Real chain over HTTP, real libp2p, real level, real node processes.
 */
import { expect } from "chai";
import path from "node:path";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { enterNextEpoch, rpc, signedTx, until, submit } from "./helpers.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

interface RotationStatus {
  leader: string | null;
  epoch: number;
  rotation: { settledEpoch: number; settledLeader: string | null };
}

describe("scheduled leader rotation (node processes)", function () {
  this.timeout(400_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs = new Map<number, NodeProcess>();
  // The heavy operator is the primary of most epochs: the test needs it scheduled again soon.
  const HEAVY = 0;

  const id = (i: number) => net.operators[i]!.operator.toLowerCase();
  const indexOf = (nodeId: string) => net.operators.findIndex((o) => o.operator.toLowerCase() === nodeId);
  const live = () => [...procs.keys()];
  const schedule = async (epoch: bigint) => (await net.deployment.registry.read.leaderSchedule([epoch])).map((a) => a.toLowerCase());

  /** Waits until every live node agrees the epoch is settled with `leader` leading. */
  async function settledWith(epoch: bigint, leader: string): Promise<void> {
    await until(`epoch ${epoch} settled with ${leader} leading`, async () => {
      const all = await Promise.all(live().map((i) => rpc<RotationStatus>(net.operators[i]!.rpcUrl, "seq_status")));
      return all.every((s) => s.epoch === Number(epoch) && s.leader === leader && s.rotation.settledEpoch === Number(epoch) && s.rotation.settledLeader === leader)
        ? true
        : undefined;
    }, 60_000);
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
    await until("a leader", async () => ((await rpc<RotationStatus>(net.operators[0]!.rpcUrl, "seq_status")).leader !== null ? true : undefined));
  });

  after(async () => {
    await Promise.all([...procs.values()].map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    if (dir) await removeTempDir(dir);
  });

  let primary = -1;

  it("hands leadership to each epoch's scheduled primary", async () => {
    const primaries: string[] = [];
    // Several epochs, and on until the heavy operator is primary (the next test kills it as the leader).
    for (let n = 0; n < 12 && (n < 3 || primaries.at(-1) !== id(HEAVY)); n++) {
      const epoch = await enterNextEpoch(chain, net.deployment.registry);
      const order = await schedule(epoch);
      await settledWith(epoch, order[0]!);
      await sequences(indexOf(order[1]!));
      primaries.push(order[0]!);
    }
    expect(primaries.length).to.be.at.least(3);
    expect(primaries.at(-1), "the heavy operator was scheduled first in some epoch").to.equal(id(HEAVY));
    primary = HEAVY;
  });

  it("fails over to the first fallback when the primary dies, and keeps sequencing", async () => {
    const epoch = BigInt((await rpc<RotationStatus>(net.operators[1]!.rpcUrl, "seq_status")).epoch);
    const order = await schedule(epoch);
    expect(order[0]).to.equal(id(primary));
    const killedAt = Date.now();
    await stopNode(procs.get(primary)!, "SIGKILL");
    procs.delete(primary);
    const fallback = indexOf(order[1]!);
    await until("the first fallback to lead", async () => {
      const all = await Promise.all(live().map((i) => rpc<RotationStatus>(net.operators[i]!.rpcUrl, "seq_status")));
      return all.every((s) => s.leader === order[1]) ? true : undefined;
    }, 30_000);
    console.log(`      failover to the first fallback: ${Date.now() - killedAt} ms after SIGKILL`);
    await sequences(fallback);

    // While it is down, an epoch's rotation skips it: the first reachable node in schedule order leads.
    const next = await enterNextEpoch(chain, net.deployment.registry);
    const nextOrder = await schedule(next);
    await settledWith(next, nextOrder.find((n) => n !== id(primary))!);
  });

  it("lets the returning primary lead only at an epoch that schedules it first", async () => {
    procs.set(primary, spawnNode(net.operators[primary]!));
    const current = BigInt((await rpc<RotationStatus>(net.operators[1]!.rpcUrl, "seq_status")).epoch);
    const settledLeader = (await rpc<RotationStatus>(net.operators[1]!.rpcUrl, "seq_status")).rotation.settledLeader!;
    // Back and caught up, it still follows for the rest of the epoch.
    await until("the returning primary to follow the settled leader", async () => {
      const s = await rpc<RotationStatus>(net.operators[primary]!.rpcUrl, "seq_status");
      return s.leader === settledLeader ? true : undefined;
    }, 30_000);
    for (let k = 0; k < 10; k++) {
      const statuses = await Promise.all(live().map((i) => rpc<RotationStatus>(net.operators[i]!.rpcUrl, "seq_status")));
      for (const s of statuses) if (s.epoch === Number(current)) expect(s.leader, "no leadership change inside the epoch").to.equal(settledLeader);
      await new Promise((r) => setTimeout(r, 300));
    }
    // At each later epoch the primary leads; the returning node leads exactly when scheduled first.
    let ledAgain = false;
    for (let n = 0; n < 12 && !ledAgain; n++) {
      const epoch = await enterNextEpoch(chain, net.deployment.registry);
      const order = await schedule(epoch);
      await settledWith(epoch, order[0]!);
      ledAgain = order[0] === id(primary);
    }
    expect(ledAgain, "the returning primary was scheduled first again within 12 epochs").to.equal(true);
  });
});
