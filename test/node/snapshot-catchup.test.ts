/**
 * A follower that fell behind the leader's compaction point is brought up with a snapshot
 * plus the tail, then backfills the history the snapshot skipped: its log equals the others'.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { converged, enterNextEpoch, rangeOf, rpc, signedTx, submit, until, type Status } from "./helpers.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

describe("snapshot catch-up (3 node processes, aggressive compaction)", function () {
  this.timeout(180_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs: (NodeProcess | undefined)[] = [];

  before(async () => {
    dir = makeTempDir("seq-snap-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2400", "1500", "1000"], { compactEvery: 8 });
    await enterNextEpoch(chain, net.deployment.registry);
    for (const op of net.operators) procs.push(spawnNode(op));
  });

  after(async () => {
    await Promise.all(procs.map((p) => (p ? stopNode(p, "SIGKILL") : undefined)));
    await chain?.close();
    if (dir) await removeTempDir(dir);
  });

  it("installs the leader's snapshot, backfills the skipped history, and ends with an identical log", async () => {
    const urls = net.operators.map((o) => o.rpcUrl);
    const leader = await until("a leader", async () => {
      const s = await rpc<Status>(urls[0]!, "seq_status");
      return s.leader ?? undefined;
    });
    const follower = net.operators.findIndex((o) => o.operator.toLowerCase() !== leader);
    const live = urls.filter((_, i) => i !== follower);
    for (let i = 0; i < 5; i++) await submit(live[0]!, await signedTx());
    await converged(urls);

    await stopNode(procs[follower]!, "SIGKILL");
    procs[follower] = undefined;
    // One transaction per round: each adds a tx entry and a certificate entry, so the leader
    // compacts several times past what the stopped follower holds.
    for (let i = 0; i < 40; i++) await submit(live[i % 2]!, await signedTx());

    procs[follower] = spawnNode(net.operators[follower]!);
    const next = await converged(urls);
    expect(next).to.equal(45);
    await until("the backfilled history", async () => ((await rangeOf(urls[follower]!, 0, next)).length === next ? true : undefined));
    const logs = await Promise.all(urls.map((u) => rangeOf(u, 0, next)));
    expect(logs[follower]).to.deep.equal(logs[(follower + 1) % 3]);
    const log = await readFile(procs[follower]!.logFile, "utf8");
    expect(log, "the follower should have caught up through a snapshot").to.contain("history backfill complete");
  });
});
