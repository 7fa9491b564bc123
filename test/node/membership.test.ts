/**
 * Epochs on L1 drive Raft membership: a fourth operator stakes through a contract call during
 * the run and is a voting member from the next epoch; then an operator exits and leaves at the
 * following one. Sequencing never stops and no acknowledged commitment is lost.
 * Real chain over HTTP, real libp2p, real level, real node processes.
 */
import { expect } from "chai";
import path from "node:path";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { addOperator, deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { converged, enterNextEpoch, rangeOf, releaseTestDir, rpc, signedTx, until } from "./helpers.js";
import { makeTempDir } from "../../scripts/lib/processes.js";

interface EpochStatus {
  nodeId: string;
  role: string;
  leader: string | null;
  epoch: number;
  config: { voters: string[]; outgoing?: string[]; learners: string[] };
  retiredAtEpoch: number | null;
}

describe("epochs drive membership (node processes)", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs = new Map<number, NodeProcess>();
  const acknowledged = new Map<string, OrderCommitmentProofJson>();
  let stopLoad = false;
  let load: Promise<void> | undefined;
  let loadErrors = 0;
  /** Operators the traffic goes to. */
  const targets = new Set([0, 1, 2]);

  const id = (i: number) => net.operators[i]!.operator.toLowerCase();
  const status = (i: number) => rpc<EpochStatus>(net.operators[i]!.rpcUrl, "seq_status");

  before(async () => {
    dir = makeTempDir("seq-membership-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2400", "1500", "1000"]);
    await enterNextEpoch(chain, net.deployment.registry);
    for (const i of [0, 1, 2]) procs.set(i, spawnNode(net.operators[i]!));
    await until("a leader", async () => ((await status(0)).leader !== null ? true : undefined));
    // Steady traffic through every live member for the whole test.
    load = (async () => {
      let k = 0;
      while (!stopLoad) {
        const live = [...targets];
        const url = net.operators[live[k++ % live.length]!]!.rpcUrl;
        try {
          const c = await rpc<OrderCommitmentProofJson>(url, "seq_sendRawTransaction", [await signedTx()]);
          acknowledged.set(c.txHash, c);
        } catch {
          loadErrors++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  });

  after(async function () {
    stopLoad = true;
    await load;
    await Promise.all([...procs.values()].map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  it("adds an operator that staked during the run as a voter at the next epoch", async () => {
    const joiner = await addOperator(chain, net, "2000");
    procs.set(3, spawnNode(joiner)); // waits: not in a confirmed set yet
    const before = acknowledged.size;
    const epoch = await enterNextEpoch(chain, net.deployment.registry);
    const everyone = [id(0), id(1), id(2), id(3)].sort();
    for (const i of [0, 1, 2, 3]) {
      await until(`node ${i} to run with 4 voters`, async () => {
        const s = await status(i);
        return s.epoch >= Number(epoch) && s.config.outgoing === undefined && [...s.config.voters].sort().join() === everyone.join() ? s : undefined;
      }, 60_000);
    }
    await until("the joiner to hold the committed log", async () => {
      const [a, d] = await Promise.all([status(0), status(3)]);
      return (d as unknown as { commitIndex: number }).commitIndex > 0 && d.leader === a.leader ? true : undefined;
    });
    targets.add(3);
    await until("more transactions acknowledged after the change", async () => (acknowledged.size > before + 20 ? true : undefined));
  });

  it("removes an operator that exits at the following epoch; it stops voting and keeps serving reads", async () => {
    const leaving = 1;
    targets.delete(leaving);
    const wallets = await chain.connection.viem.getWalletClients();
    const publicClient = await chain.connection.viem.getPublicClient();
    const hash = await net.deployment.registry.write.exit({ account: wallets[leaving + 1]!.account });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    const before = acknowledged.size;
    const epoch = await enterNextEpoch(chain, net.deployment.registry);
    const remaining = [0, 2, 3];
    const expected = remaining.map(id).sort().join();
    for (const i of remaining) {
      await until(`node ${i} to run without the leaver`, async () => {
        const s = await status(i);
        return s.epoch >= Number(epoch) && s.config.outgoing === undefined && [...s.config.voters].sort().join() === expected ? s : undefined;
      }, 60_000);
    }
    const left = await until("the leaver to retire", async () => {
      const s = await status(leaving);
      return s.retiredAtEpoch !== null ? s : undefined;
    }, 60_000);
    expect(left.role).not.to.equal("leader");
    await until("more transactions acknowledged after the removal", async () => (acknowledged.size > before + 20 ? true : undefined));

    // No acknowledged commitment lost across both changes: every one is at its position on every member.
    stopLoad = true;
    await load;
    const urls = remaining.map((i) => net.operators[i]!.rpcUrl);
    const next = await converged(urls);
    const logs = await Promise.all(urls.map((u) => rangeOf(u, 0, next)));
    for (const log of logs.slice(1)) expect(log).to.deep.equal(logs[0]);
    const atPosition = new Map(logs[0]!.map((t) => [t.position, t.txHash]));
    expect(acknowledged.size, "traffic flowed throughout").to.be.greaterThan(40);
    for (const c of acknowledged.values()) expect(atPosition.get(Number(c.position)), `position ${c.position}`).to.equal(c.txHash);
    // The retired node still answers reads of what it holds.
    const sample = [...acknowledged.values()][0]!;
    const read = await rpc<OrderCommitmentProofJson>(net.operators[leaving]!.rpcUrl, "seq_getOrderCommitment", [sample.txHash]);
    expect(read.position).to.equal(sample.position);
    console.log(`      ${acknowledged.size} acknowledged, ${loadErrors} refused during the changes, ${next} positions`);
  });
});
