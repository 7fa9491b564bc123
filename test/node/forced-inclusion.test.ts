/**
 * Forced inclusion end to end (docs/forced-inclusion.md): a user enqueues a signed transaction on
 * the L1 queue without sending it to any node; the leader orders it (the user gets an order
 * commitment from a node) and a batch covers it on L1 within the inclusion delay. A malformed
 * item is ordered and covered too, and the stream goes on after it. With every node stopped, anyone
 * posts a forced transaction through the escape hatch and the restarted set resumes on top of it.
 * The stream rebuilt from L1 equals every node's log. Real chain over HTTP, real libp2p, real level, real node processes.
 */
import { expect } from "chai";
import { type Hex, type PublicClient, createPublicClient, http, keccak256 } from "viem";
import { decodeOrderCommitmentProof, verifyOrderCommitment, type OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { batchInboxAbi } from "../../node/l1/generated/abi.js";
import { forceTransaction, type ForceResult } from "../../node/l1/force.js";
import type { NodeStatus } from "../../node/sequencer/status.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { compareWithNode, describeDifference, rebuildFromL1 } from "../../scripts/lib/rebuild.js";
import { makeTempDir } from "../../scripts/lib/processes.js";
import { agreedLeader, enterNextEpoch, releaseTestDir, rpc, signedTx, submit, until } from "./helpers.js";

const INCLUSION_DELAY = 30n;

describe("forced inclusion through L1 (node processes)", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  let client: PublicClient;
  const procs: NodeProcess[] = [];
  const urls = () => net.operators.map((o) => o.rpcUrl);

  before(async () => {
    dir = makeTempDir("seq-forced-");
    chain = await startLocalChain(0, { blockIntervalMs: 1_000 });
    client = createPublicClient({ transport: http(chain.url) }) as PublicClient;
    net = await deployAndStake(chain, dir, ["3000", "2000", "1500"], { batchIntervalMs: 500, l1PollMs: 250 }, {
      deploy: { epochLength: 2_000n, unbondingPeriod: 8_000n, forcedInclusionDelay: INCLUSION_DELAY, escapeWindow: 200n },
    });
    await enterNextEpoch(chain, net.deployment.registry);
    for (const o of net.operators) procs.push(spawnNode(o));
    await agreedLeader(urls(), net.operators);
  });

  after(async function () {
    await Promise.all(procs.map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  /** Forces `raw` as a user whose L1 account is one no operator uses, asking node `via` for the commitment. */
  async function force(raw: Hex, via = 1): Promise<ForceResult> {
    const wallets = await chain.connection.viem.getWalletClients();
    return forceTransaction({
      publicClient: client,
      wallet: wallets[15]! as never,
      queue: net.deployment.contracts.forcedInclusionQueue.address,
      inbox: net.deployment.contracts.batchInbox.address,
      raw,
      rpc: net.operators[via]!.rpcUrl,
      pollMs: 100,
      timeoutMs: 120_000,
    });
  }

  /** The L1 block of the ForcedItemCovered event of `item`. */
  async function coveredAt(item: bigint): Promise<bigint> {
    const [event] = await client.getContractEvents({ address: net.deployment.contracts.batchInbox.address, abi: batchInboxAbi, eventName: "ForcedItemCovered", args: { item }, fromBlock: 0n, strict: true });
    if (event === undefined) throw new Error(`no ForcedItemCovered event for item ${item}`);
    return event.blockNumber;
  }

  it("orders a transaction sent only to L1 and covers it on L1 within the inclusion delay, with an order commitment", async () => {
    for (let k = 0; k < 3; k++) await submit(net.operators[k % 3]!.rpcUrl, await signedTx());
    const raw = await signedTx();
    const result = await force(raw);
    expect(result.txHash).to.equal(keccak256(raw));
    expect(result.commitment).to.not.equal(null);
    const proof = decodeOrderCommitmentProof(result.commitment!);
    expect(BigInt(proof.position)).to.equal(result.position);
    const verified = await verifyOrderCommitment(proof, { chainId: net.deployment.chainId, registry: net.deployment.registry.address });
    expect(verified.valid, JSON.stringify(verified.reasons)).to.equal(true);
    expect(await coveredAt(result.item) <= result.deadlineBlock, "covered by its deadline").to.equal(true);
    // A figure, not an assertion (README, "Censorship resistance").
    console.log(`      forced tx: ordered ${result.orderedAfterMs} ms, covered on L1 ${result.coveredAfterMs} ms after the call (1 s blocks, ${INCLUSION_DELAY}-block delay)`);
    const status = await rpc<NodeStatus>(net.operators[0]!.rpcUrl, "seq_status");
    expect(status.forced).to.not.equal(null);
    await until("the nodes to see the item covered", async () => {
      const s = await rpc<NodeStatus>(net.operators[2]!.rpcUrl, "seq_status");
      return s.forced !== null && s.forced.cursor >= Number(result.item) + 1 && s.forced.pending === 0 ? s : undefined;
    });
  });

  it("orders and covers a malformed forced item like any other, and the stream goes on after it", async () => {
    const junk: Hex = "0xdeadbeef00112233";
    const result = await force(junk, 2);
    // The node orders the bytes as they are: the commitment is for their keccak256.
    expect(result.commitment?.txHash).to.equal(keccak256(junk));
    expect(await coveredAt(result.item) <= result.deadlineBlock).to.equal(true);
    // Normal submissions are ordered and posted after it.
    const after = await submit<OrderCommitmentProofJson>(net.operators[0]!.rpcUrl, await signedTx());
    expect(BigInt(after.position) > result.position).to.equal(true);
    await until("a batch on L1 past the malformed item's position", async () => {
      const [, last] = await client.readContract({ address: net.deployment.contracts.batchInbox.address, abi: batchInboxAbi, functionName: "lastBatch" });
      return last.lastPosition >= BigInt(after.position) ? last : undefined;
    }, 60_000);
  });

  it("escape hatch: with every node stopped anyone posts a forced transaction alone; the set resumes on top of it", async () => {
    const inbox = net.deployment.contracts.batchInbox.address;
    const queue = await chain.connection.viem.getContractAt("ForcedInclusionQueue", net.deployment.contracts.forcedInclusionQueue.address);
    const inboxContract = await chain.connection.viem.getContractAt("BatchInbox", inbox);
    // Everything committed is on L1 before the set stops (the nodes adopt an escape batch only on a clean tail).
    await until("every node to have nothing unposted", async () => {
      const all = await Promise.all(urls().map((u) => rpc<NodeStatus>(u, "seq_status")));
      return all.every((s) => s.batches.unpostedTxs === 0 && s.batches.inFlight === 0) ? all : undefined;
    }, 60_000);
    await Promise.all(procs.map((p) => stopNode(p)));
    procs.length = 0;

    const raw = await signedTx();
    const wallets = await chain.connection.viem.getWalletClients();
    await queue.write.enqueue([raw], { account: wallets[15]!.account });
    const item = (await queue.read.length()) - 1n;
    // Past the window and the item's deadline: the hatch opens for anyone.
    await chain.connection.networkHelpers.mine(Number(await inboxContract.read.escapeWindow()) + 1);
    await inboxContract.write.escape([1n], { account: wallets[16]!.account });
    const [covered, position] = await inboxContract.read.forcedPosition([item]);
    expect(covered).to.equal(true);

    for (const o of net.operators) procs.push(spawnNode(o));
    await agreedLeader(urls(), net.operators);
    // The set takes the escape batch into its log at its position and goes on after it.
    const after = await submit<OrderCommitmentProofJson>(net.operators[0]!.rpcUrl, await signedTx(), 60_000);
    expect(BigInt(after.position) > position).to.equal(true);
    const [at] = await rpc<{ position: number; txHash: string }[]>(net.operators[1]!.rpcUrl, "seq_getRange", [Number(position), 1]);
    expect(at?.txHash.toLowerCase()).to.equal(keccak256(raw));
    await until("a quorum batch on L1 after the escape batch", async () => {
      const [, last] = await client.readContract({ address: inbox, abi: batchInboxAbi, functionName: "lastBatch" });
      return last.lastPosition >= BigInt(after.position) ? last : undefined;
    }, 60_000);
  });

  it("rebuilds from L1 the stream every node holds", async () => {
    const stream = await rebuildFromL1(client, { inbox: net.deployment.contracts.batchInbox.address, deploymentBlock: net.deployment.contracts.batchInbox.block });
    expect(stream.gaps).to.deep.equal([]);
    expect(stream.batches.some((b) => b.readable && b.escape !== undefined), "the escape batch is in the stream").to.equal(true);
    for (const url of urls()) {
      const c = await compareWithNode(url, stream.txs);
      expect(c.difference, describeDifference(c)).to.equal(null);
    }
  });
});
