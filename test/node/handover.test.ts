/**
 * Leader changes under steady submission load (issue 18): a scheduled rotation, a graceful
 * shutdown of the leader and a leader handing over at its batch deadline (its batcher cannot pay)
 * answer every client without an error, and every acknowledged transaction
 * is in the committed log; a SIGKILLed leader is replaced through a campaign started by the closed
 * connection (seq_raft_campaigns_total{cause="leaderLost"}), not by the election timer.
 * The load's clients retry what the node marks retryable, as a real client does, and every error
 * they see counts.
 * Real chain over HTTP, real libp2p, real level, real node processes.
 */
import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { BatchStatus } from "../../node/batching/index.js";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { NodeRpcError } from "../../node/rpc/client.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { makeTempDir } from "../../scripts/lib/processes.js";
import { agreedLeader, converged, enterNextEpoch, exitedNodes, rangeOf, releaseTestDir, rpc, until } from "./helpers.js";

const NODE_ENV = { SEQ_BATCH_DEADLINE_MS: "8000" };

interface LoadResult {
  readonly acked: { hash: string; position: number }[];
  readonly errors: string[];
}

/** `senders` closed-loop clients, one sender key each (under the per-sender budget), over `urls`. */
function steadyLoad(urls: () => readonly string[], senders = 6): { stop(): Promise<LoadResult> } {
  const acked: { hash: string; position: number }[] = [];
  const errors: string[] = [];
  let stopped = false;
  const loops = Array.from({ length: senders }, async (_, k) => {
    const account = privateKeyToAccount(generatePrivateKey());
    for (let nonce = 0; !stopped; nonce++) {
      const raw: Hex = await account.signTransaction({
        type: "eip1559",
        chainId: 901,
        nonce,
        to: account.address,
        value: 1n,
        gas: 21_000n,
        maxFeePerGas: parseGwei("2"),
        maxPriorityFeePerGas: parseGwei("1"),
      });
      // A real client: a retryable error is retried with the same bytes (which never take a second
      // position); every error it sees, retryable or not, is recorded.
      for (let attempt = 0; attempt < 5; attempt++) {
        const list = urls();
        const url = list[(nonce + k + attempt) % list.length]!;
        try {
          const c = await rpc<OrderCommitmentProofJson>(url, "seq_sendRawTransaction", [raw]);
          acked.push({ hash: c.txHash.toLowerCase(), position: Number(c.position) });
          break;
        } catch (error) {
          errors.push(`${url}: ${(error as Error).message}`);
          if (!(error instanceof NodeRpcError) || !error.retryable) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await new Promise((r) => setTimeout(r, 40)); // ~25 tx/s per sender, under its 50 tx/s budget
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { acked, errors };
    },
  };
}

describe("leader changes under load (node processes)", function () {
  this.timeout(600_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs = new Map<number, NodeProcess>();
  const url = (i: number) => net.operators[i]!.rpcUrl;
  const live = () => [...procs.keys()];
  const leaderNow = () => agreedLeader(live().map(url), net.operators);

  /** Every acknowledged transaction sits at its acknowledged position in every live node's committed log. */
  async function expectCommitted(acked: LoadResult["acked"]): Promise<void> {
    expect(acked.length, "the load was acknowledged").to.be.greaterThan(20);
    await converged(live().map(url));
    const from = Math.min(...acked.map((a) => a.position));
    const to = Math.max(...acked.map((a) => a.position));
    for (const i of live()) {
      const log = new Map((await rangeOf(url(i), from, to - from + 1)).map((t) => [t.position, t.txHash.toLowerCase()]));
      for (const a of acked) expect(log.get(a.position), `node ${i}: tx ${a.hash} at position ${a.position}`).to.equal(a.hash);
    }
  }

  before(async () => {
    dir = makeTempDir("seq-handover-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["1000", "1000", "1000"]);
    await enterNextEpoch(chain, net.deployment.registry);
    // A short batch deadline, so the deadline handover's test does not wait the default minute.
    for (const i of [0, 1, 2]) procs.set(i, spawnNode(net.operators[i]!, NODE_ENV));
    await agreedLeader(live().map(url), net.operators, -1, true);
  });

  after(async function () {
    await Promise.all([...procs.values()].map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  it("a scheduled rotation under load: zero client-visible errors, every acknowledged tx committed", async () => {
    const load = steadyLoad(() => live().map(url));
    await new Promise((r) => setTimeout(r, 1_000));
    // Epochs until the schedule moves leadership to another node.
    const from = await leaderNow();
    let to = from;
    for (let n = 0; n < 12 && to === from; n++) {
      const epoch = Number(await enterNextEpoch(chain, net.deployment.registry));
      // Settled on the epoch just entered: a node that has not read it yet still shows the last one's leader.
      to = await agreedLeader(live().map(url), net.operators, -1, true, epoch);
    }
    expect(to, "some epoch scheduled another leader").to.not.equal(from);
    await new Promise((r) => setTimeout(r, 1_000));
    const { acked, errors } = await load.stop();
    expect(errors, "client-visible errors during the rotation").to.deep.equal([]);
    await expectCommitted(acked);
  });

  it("a graceful shutdown of the leader under load: zero client-visible errors, every acknowledged tx committed", async () => {
    const leader = await leaderNow();
    // The clients use the other nodes (a load balancer drains the stopping one); they forward to it.
    const load = steadyLoad(() => live().filter((i) => i !== leader).map(url));
    await new Promise((r) => setTimeout(r, 1_000));
    await stopNode(procs.get(leader)!, "SIGTERM", 15_000);
    procs.delete(leader);
    await leaderNow();
    await new Promise((r) => setTimeout(r, 1_000));
    const { acked, errors } = await load.stop();
    expect(errors, "client-visible errors during the shutdown").to.deep.equal([]);
    await expectCommitted(acked);
    procs.set(leader, spawnNode(net.operators[leader]!, NODE_ENV));
    await until("the restarted node to follow", async () => ((await rpc<{ leader: string | null }>(url(leader), "seq_status")).leader === null ? undefined : true), 60_000);
    await converged(live().map(url));
  });

  it("a leader that cannot post (its batcher ran dry) hands over at its batch deadline under load: zero client-visible errors, the backlog reaches L1", async () => {
    const leader = await leaderNow();
    const signer = net.operators[leader]!.signer;
    const funds = await chain.connection.viem.getPublicClient().then((c) => c.getBalance({ address: signer }));
    const postedBefore = (await rpc<{ batches: BatchStatus }>(url(leader), "seq_status")).batches.lastPosted?.lastPosition ?? -1;
    const load = steadyLoad(() => live().map(url));
    await chain.connection.networkHelpers.setBalance(signer, 0n);
    const next = await until("leadership to move off the node that cannot post", async () => {
      const now = await leaderNow();
      return now === leader ? undefined : now;
    }, 120_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const { acked, errors } = await load.stop();
    await chain.connection.networkHelpers.setBalance(signer, funds);
    expect(await readFile(procs.get(leader)!.logFile, "utf8"), "the old leader handed over for its deadline").to.contain("missed the batch deadline");
    expect(errors, "client-visible errors during the deadline handover").to.deep.equal([]);
    await expectCommitted(acked);
    const last = Math.max(...acked.map((a) => a.position));
    await until("the new leader to post the load's positions to L1", async () => {
      await chain.connection.networkHelpers.mine(1); // this chain mines only with transactions: confirm the last batch
      const posted = (await rpc<{ batches: BatchStatus }>(url(next), "seq_status")).batches.lastPosted?.lastPosition ?? -1;
      return posted >= last && posted > postedBefore ? true : undefined;
    }, 120_000);
  });

  it("a SIGKILLed leader is replaced by a campaign its closed connection started, not the election timer", async () => {
    const campaigns = async (i: number, cause: string) => {
      const response = await fetch(new URL("/metrics", url(i))).catch(async (error: Error) => {
        throw new Error(`node ${i}'s metrics at ${url(i)}: ${error.message}\n${await exitedNodes(procs)}`, { cause: error });
      });
      const text = await response.text();
      const line = new RegExp(`^seq_raft_campaigns_total\\{[^}]*cause="${cause}"[^}]*\\} (\\S+)$`, "m").exec(text);
      return line === null ? 0 : Number(line[1]);
    };
    const leader = await leaderNow();
    const survivors = live().filter((i) => i !== leader);
    const before = new Map(await Promise.all(survivors.map(async (i) => [i, await campaigns(i, "leaderLost")] as const)));
    await stopNode(procs.get(leader)!, "SIGKILL");
    procs.delete(leader);
    const next = await leaderNow();
    expect(await campaigns(next, "leaderLost"), `the new leader (node ${next}) won a campaign started by the lost connection\n${await exitedNodes(procs)}`).to.be.greaterThan(before.get(next)!);
    const status = await rpc<{ term: number }>(url(next), "seq_status");
    expect(status.term).to.be.greaterThan(0);
  });
});
