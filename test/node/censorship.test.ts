/**
 * Followers replace a censoring leader, end to end (issue 15 part 5, docs/censorship.md): a
 * test-only censoring node (test/fixtures/censoring-node.ts) leads the epoch and silently drops
 * one user's transactions while ordering everyone else's, and does not step aside when reported.
 * The user sends the transaction to one follower; the followers strike the leader by the rule,
 * exchange signed reports peer to peer, and once more than half of the stake reported, depose it:
 * the next in the epoch's schedule is elected without the censor's consent and the transaction
 * commits. Then an honest leader that refuses a sender over its budget (`overloaded`, retryable)
 * while ordering others is not ejected. Real chain, real libp2p, real node processes.
 */
import { expect } from "chai";
import path from "node:path";
import { keccak256, parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { NodeRpcError } from "../../node/rpc/client.js";
import type { NodeStatus } from "../../node/sequencer/status.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { makeTempDir } from "../../scripts/lib/processes.js";
import { enterEpochsUntilLeader, enterNextEpoch, metricValue, releaseTestDir, rpc, submit, until } from "./helpers.js";

const CENSORING_NODE = path.resolve(import.meta.dirname, "../fixtures/censoring-node.ts");
const CENSOR = 0;
const HONEST = [1, 2];
const ROLLUP_CHAIN_ID = 901;

/** A transfer signed by a fresh account (or `from`): each sender's first transaction unless `nonce` says otherwise. */
function transfer(from = privateKeyToAccount(generatePrivateKey()), nonce = 0): Promise<Hex> {
  return from.signTransaction({ type: "eip1559", chainId: ROLLUP_CHAIN_ID, nonce, to: from.address, value: 1n, gas: 21_000n, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") });
}

describe("followers replace a censoring leader (node processes)", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs: NodeProcess[] = [];
  const victim = privateKeyToAccount(generatePrivateKey());

  const op = (i: number) => net.operators[i]!;
  const id = (i: number) => op(i).operator.toLowerCase();
  const status = (i: number) => rpc<NodeStatus>(op(i).rpcUrl, "seq_status");

  /** Keeps other users' transactions flowing through the honest nodes (the leader's progress) until `stop` is set. */
  function traffic(): { stop: () => Promise<number> } {
    let running = true;
    let sent = 0;
    const loop = (async () => {
      for (let k = 0; running; k++) {
        await submit(op(HONEST[k % 2]!).rpcUrl, await transfer(), 30_000);
        sent++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return sent;
      },
    };
  }

  before(async () => {
    dir = makeTempDir("seq-censorship-");
    chain = await startLocalChain(0, { blockIntervalMs: 1_000 });
    // The censor holds 1,900 of 3,900: likely the primary, never a majority on its own. A sender gets
    // 1 transaction a second (burst 2): the overload phase runs into that budget.
    net = await deployAndStake(
      chain,
      dir,
      ["1900", "1000", "1000"],
      { batchIntervalMs: 1_000, l1PollMs: 500, censorshipTimeoutMs: 3_000, censorshipGraceMs: 500, submitTimeoutMs: 30_000, senderTxsPerSecond: 1, senderTxBurst: 2 },
      { deploy: { epochLength: 2_000n, unbondingPeriod: 8_000n } },
    );
    await enterNextEpoch(chain, net.deployment.registry);
    procs.push(spawnNode(op(CENSOR), { CENSORED_SENDERS: victim.address, SEQ_WATCHTOWER: "false" }, CENSORING_NODE));
    await until("the censoring node to start", () => status(CENSOR), 60_000);
    for (const i of HONEST) procs.push(spawnNode(op(i), { SEQ_WATCHTOWER: "false" }));
    await enterEpochsUntilLeader(chain, net.deployment.registry, [0, 1, 2].map((i) => op(i).rpcUrl), id(CENSOR));
  });

  after(async function () {
    await Promise.all(procs.map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  it("a censored transaction sent to one follower gets the censor deposed by the stake's reports, then commits under the next in schedule", async () => {
    const before = await status(HONEST[0]!);
    expect(before.leader).to.equal(id(CENSOR));
    const flow = traffic();
    const raw = await transfer(victim);
    const txHash = keccak256(raw);
    // The user's one submission, to one follower: answered once the transaction commits, under whoever leads then.
    const commitment = await submit<OrderCommitmentProofJson>(op(HONEST[0]!).rpcUrl, raw, 120_000);
    const sent = await flow.stop();
    expect(commitment.txHash.toLowerCase()).to.equal(txHash);

    const after = await Promise.all(HONEST.map(status));
    const leader = after[0]!.leader;
    expect(leader).to.not.equal(id(CENSOR));
    expect(HONEST.map(id)).to.include(leader);
    expect(after[0]!.term).to.be.greaterThan(before.term);
    const successor = before.schedule[(before.schedule.indexOf(id(CENSOR)) + 1) % before.schedule.length];
    for (const [k, s] of after.entries()) {
      expect(s.censorship.strikes, `node ${HONEST[k]} struck the censor itself`).to.be.at.least(1);
      expect(s.censorship.lastEjection, `node ${HONEST[k]}`).to.include({ leader: id(CENSOR), term: before.term, successor });
      expect(await metricValue(op(HONEST[k]!).rpcUrl, "seq_censorship_ejections_total")).to.equal(1);
    }
    expect(leader, "the next in the epoch's schedule leads").to.equal(successor);
    // The censor committed the others' transactions while it led, and follows the new leader now.
    expect(sent).to.be.at.least(3);
    const censor = await until("the censor to follow the new leader", async () => {
      const s = await status(CENSOR);
      return s.leader === leader && s.role === "follower" ? s : undefined;
    });
    expect(censor.term).to.equal(after[0]!.term);
    console.log(`      censor of term ${before.term} deposed; ${successor} leads term ${after[0]!.term}; ${sent} other transactions committed meanwhile; victim's at position ${Number(commitment.position)}`);
  });

  it("an honest leader that refuses a sender over its budget (overloaded, retryable) while ordering others is not ejected", async () => {
    const start = await status(HONEST[0]!);
    const leader = start.leader!;
    const strikesBefore = await Promise.all(HONEST.map(async (i) => (await status(i)).censorship.strikes));
    const follower = HONEST.map(id).includes(leader) ? HONEST.find((i) => id(i) !== leader)! : HONEST[0]!;
    const flow = traffic();
    const busy = privateKeyToAccount(generatePrivateKey());
    let refused = 0;
    let committed = 0;
    // Well past the censorship timeout (3 s): 30 transactions from one sender, several times its budget.
    for (let nonce = 0; nonce < 30; nonce++) {
      try {
        await rpc(op(follower).rpcUrl, "seq_sendRawTransaction", [await transfer(busy, nonce)]);
        committed++;
      } catch (error) {
        if (!(error instanceof NodeRpcError) || !error.retryable) throw error;
        refused++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Other transactions keep committing for two more censorship timeouts: a refused transaction
    // counted as a strike would have been struck by now, and reported on by the other follower too.
    await new Promise((r) => setTimeout(r, 2 * 3_000 + 1_000));
    await flow.stop();
    expect(refused, "the leader refused some of the busy sender's transactions").to.be.at.least(1);
    expect(committed).to.be.at.least(1);
    const end = await Promise.all(HONEST.map(status));
    expect(end.map((s) => s.censorship.strikes), "no strikes").to.deep.equal(strikesBefore);
    for (const s of end) {
      expect(s.leader).to.equal(leader);
      expect(s.term).to.equal(start.term);
      expect(s.censorship.againstLeader).to.equal(null);
      expect(s.censorship.lastEjection?.term).to.be.lessThan(start.term);
    }
    console.log(`      busy sender: ${committed} committed, ${refused} refused as overloaded; ${leader} still leads term ${start.term}`);
  });
});
