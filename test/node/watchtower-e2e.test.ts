/**
 * The slashing watchtower end to end: a deliberately faulty leader (test/fixtures/faulty-leader.ts,
 * started only by this test) hands out order commitments, then posts to L1 a batch that puts
 * another transaction at one of the committed positions, signed by itself and a colluding
 * operator's key. The honest nodes' watchtowers prove the broken commitment with the replicated
 * certificate and their own log (commit, then reveal): the offender is slashed and jailed, the
 * reporter is paid after the claim window, the
 * offender leaves at the next epoch and the remaining nodes keep sequencing.
 * Real chain over HTTP, real libp2p, real level, real node processes.
 */
import { expect } from "chai";
import path from "node:path";
import { createPublicClient, hexToBytes, http, keccak256, type Address, type PublicClient } from "viem";
import { decodeOrderCommitmentProof, verifyOrderCommitment, type OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { decodeBatchData } from "../../node/batching/format.js";
import { sequencerRegistryAbi, slashingAbi, testTokenAbi } from "../../node/l1/generated/abi.js";
import { readAcceptedBatches } from "../../node/l1/inbox.js";
import type { NodeStatus } from "../../node/sequencer/status.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { enterEpochsUntilLeader, enterNextEpoch, metricValue, rangeOf, releaseTestDir, rpc, signedTx, until, submit } from "./helpers.js";
import { makeTempDir } from "../../scripts/lib/processes.js";

const FAULTY_LEADER = path.resolve(import.meta.dirname, "../fixtures/faulty-leader.ts");
const BROKEN_ORDER_COMMITMENT = 2; // Slashing.Offence
const FAULTY = 0;
const COLLUDER = 1;
const HONEST = [1, 2];

describe("slashing watchtower against a faulty leader (node processes)", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  let client: PublicClient;
  const procs: NodeProcess[] = [];

  const op = (i: number) => net.operators[i]!;
  const id = (i: number) => op(i).operator.toLowerCase();
  const status = (i: number) => rpc<NodeStatus>(op(i).rpcUrl, "seq_status");
  const registryRead = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: net.deployment.registry.address, abi: sequencerRegistryAbi, functionName, args } as never) as Promise<T>;
  const tokenBalance = (who: Address) =>
    client.readContract({ address: net.deployment.token.address, abi: testTokenAbi, functionName: "balanceOf", args: [who] }) as Promise<bigint>;
  const slashedEvents = () =>
    client.getContractEvents({ address: net.deployment.contracts.slashing.address, abi: slashingAbi, eventName: "Slashed", fromBlock: 0n, toBlock: "latest", strict: true });

  before(async () => {
    dir = makeTempDir("seq-watchtower-e2e-");
    // Blocks every second bury batches under the confirmation depth; epochs of 2,000 blocks only
    // change when the test mines into the next one.
    chain = await startLocalChain(0, { blockIntervalMs: 1_000 });
    client = createPublicClient({ transport: http(chain.url) }) as PublicClient;
    net = await deployAndStake(chain, dir, ["20000", "1500", "1000"], { batchIntervalMs: 1_000, l1PollMs: 500 }, { deploy: { epochLength: 2_000n, unbondingPeriod: 8_000n } });
    await enterNextEpoch(chain, net.deployment.registry);
    // Its own watchtower off: a faulty operator does not report itself, and the reporter must be honest.
    procs.push(spawnNode(op(FAULTY), { FAULTY_LEADER_COLLUDER_KEY_FILE: op(COLLUDER).config.signerKeyFile, SEQ_WATCHTOWER: "false" }, FAULTY_LEADER));
    // Up first, so it is reachable when the first leader rotates the epoch to its primary.
    await until("the faulty node to start", () => status(FAULTY), 60_000);
    for (const i of HONEST) procs.push(spawnNode(op(i)));
    await enterEpochsUntilLeader(chain, net.deployment.registry, [0, 1, 2].map((i) => op(i).rpcUrl), id(FAULTY));
  });

  after(async function () {
    await Promise.all(procs.map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  it("slashes a leader whose L1 batch breaks its commitment, pays the reporter, jails it; the rest keep sequencing without it", async () => {
    const reporters = HONEST.map((i) => op(i).watchtower);
    const balancesBefore = await Promise.all(reporters.map(tokenBalance));
    const stakeBefore = (await registryRead<{ activeStake: bigint }>("operatorInfo", [op(FAULTY).operator])).activeStake;

    // Users get commitments from the faulty leader through the honest nodes.
    const commitments: OrderCommitmentProofJson[] = [];
    for (let k = 0; k < 12; k++) commitments.push(await submit<OrderCommitmentProofJson>(op(HONEST[k % 2]!).rpcUrl, await signedTx()));
    const deployment = { chainId: net.deployment.chainId, registry: net.deployment.registry.address };
    for (const c of commitments) {
      const verified = await verifyOrderCommitment(decodeOrderCommitmentProof(c), deployment);
      expect(verified.valid, JSON.stringify(verified.reasons)).to.equal(true);
      expect(verified.signer?.toLowerCase()).to.equal(op(FAULTY).signer.toLowerCase());
    }

    const [slashed] = await until("a Slashed event on L1", async () => {
      const events = await slashedEvents();
      return events.length > 0 ? events : undefined;
    }, 90_000);

    // The batch on L1 contradicts the honest log at exactly one committed position.
    const [batch] = await readAcceptedBatches(client, net.deployment.contracts.batchInbox.address, 0n, await client.getBlockNumber());
    if (batch === undefined || !batch.readable) throw new Error(`no accepted batch readable from L1: ${JSON.stringify(batch, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
    const first = Number(batch.header.firstPosition);
    const onL1 = decodeBatchData(hexToBytes(batch.data)).map((raw) => keccak256(raw));
    const honestLog = await rangeOf(op(HONEST[1]!).rpcUrl, first, onL1.length);
    const differing = honestLog.filter((t, i) => t.txHash !== onL1[i]);
    expect(differing).to.have.length(1);
    const broken = differing[0]!;
    expect(commitments.find((c) => Number(c.position) === broken.position)?.txHash, "a commitment we hold for the swapped position").to.equal(broken.txHash);

    // Slashed for the broken commitment, on an honest watchtower's reveal.
    expect(Number(slashed.args.offence)).to.equal(BROKEN_ORDER_COMMITMENT);
    expect(slashed.args.operator.toLowerCase()).to.equal(id(FAULTY));
    expect(slashed.args.signer.toLowerCase()).to.equal(op(FAULTY).signer.toLowerCase());

    // Both honest watchtowers checked the batch; the offence was punished once, and the one that
    // lost the race found it already punished (or, committed earlier, took the reward over)
    // instead of failing.
    for (const i of HONEST) {
      const tower = await until(`node ${i}'s watchtower to check the batch`, async () => {
        const w = (await status(i)).watchtower!;
        return w.batchesChecked >= 1 ? w : undefined;
      }, 30_000);
      expect(tower.lastError, `node ${i}'s watchtower`).to.equal(null);
    }
    expect(await slashedEvents()).to.have.length(1);
    const claim = (await client.readContract({ address: net.deployment.contracts.slashing.address, abi: slashingAbi, functionName: "claimOf", args: [slashed.args.offenceId] })) as {
      reporter: Address;
      claimableFrom: bigint;
    };
    const reporterIndex = reporters.findIndex((r) => r.toLowerCase() === claim.reporter.toLowerCase());
    expect(reporterIndex, `reporter ${claim.reporter} is an honest node's watchtower account`).to.be.greaterThan(-1);
    const reporterStatus = await status(HONEST[reporterIndex]!);
    expect(reporterStatus.watchtower!.slashesSubmitted).to.equal(1);

    // The reporter is paid its share of the slashed stake once the claim window has closed (its
    // watchtower claims it); the offender lost it and is jailed.
    const share = await registryRead<bigint>("reporterShareBps");
    const fraction = await registryRead<bigint>("slashFractionBps");
    expect(slashed.args.amount).to.equal((stakeBefore * fraction) / 10_000n);
    const reward = (slashed.args.amount * share) / 10_000n;
    await chain.connection.networkHelpers.mineUpTo(claim.claimableFrom);
    await until("the reporter's watchtower to collect its reward", async () => {
      const gained = (await tokenBalance(reporters[reporterIndex]!)) - balancesBefore[reporterIndex]!;
      return gained === reward ? gained : undefined;
    }, 30_000);
    const info = await registryRead<{ jailed: boolean; activeStake: bigint }>("operatorInfo", [op(FAULTY).operator]);
    expect(info.jailed).to.equal(true);
    expect(info.activeStake).to.equal(stakeBefore - slashed.args.amount);
    // The offender's own node says so on /metrics, where the SequencerOperatorSlashed alert reads it.
    await until("the faulty node's /metrics to show its operator jailed", async () => ((await metricValue(op(FAULTY).rpcUrl, "seq_operator_jailed")) === 1 ? true : undefined), 30_000);
    for (const i of HONEST) expect(await metricValue(op(i).rpcUrl, "seq_operator_jailed"), `node ${i}`).to.equal(0);
    const current = await registryRead<bigint>("currentEpoch");
    const nextSet = await registryRead<{ operator: Address }[]>("activeSet", [current + 1n]);
    expect(nextSet.map((m) => m.operator.toLowerCase()).sort()).to.deep.equal(HONEST.map(id).sort());

    // At the next epoch the remaining nodes run without the offender and keep sequencing.
    const epoch = await enterNextEpoch(chain, net.deployment.registry);
    const remaining = HONEST.map(id).sort();
    for (const i of HONEST) {
      await until(`node ${i} to run without the offender`, async () => {
        const s = await status(i);
        return s.epoch >= Number(epoch) && s.config.outgoing === undefined && [...s.config.voters].sort().join() === remaining.join() && s.leader !== null && remaining.includes(s.leader) ? s : undefined;
      }, 60_000);
    }
    const lastBefore = Math.max(...commitments.map((c) => Number(c.position)));
    for (let k = 0; k < 6; k++) {
      const c = await submit<OrderCommitmentProofJson>(op(HONEST[k % 2]!).rpcUrl, await signedTx());
      const verified = await verifyOrderCommitment(decodeOrderCommitmentProof(c), deployment);
      expect(verified.valid, JSON.stringify(verified.reasons)).to.equal(true);
      expect(HONEST.map((i) => op(i).signer.toLowerCase())).to.include(verified.signer?.toLowerCase());
      expect(Number(c.position)).to.be.greaterThan(lastBefore);
    }

    const after = await Promise.all(HONEST.map(status));
    console.log(`      slashed ${slashed.args.amount} at position ${broken.position}; honest batchers: ${after.map((s) => JSON.stringify({ lastPosted: s.batches.lastPosted, lastError: s.batches.lastError, unposted: s.batches.unpostedTxs })).join(" ")}`);
  });
});
