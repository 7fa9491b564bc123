/**
 * The nemesis checker on hand-made histories and final states: it passes a consistent run and
 * names each broken promise (lost or moved acknowledgements, double positions, forged or
 * tampered commitments, divergent logs, L1 differences, phantom or uncommitted transactions,
 * crashes), and measures unavailability windows with the faults in force.
 */
import { expect } from "chai";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { certifyGroup, encodeOrderCommitmentProof, type OrderCommitmentProofJson } from "../../node/commitments/index.js";
import { NO_LEADER, TX_REJECTED } from "../../node/rpc/errors.js";
import { availability, checkHistory, type CheckInput, type LogTx } from "../../scripts/nemesis/checker.js";
import { historyExcerpt, type HistoryEvent } from "../../scripts/nemesis/history.js";

const CHAIN_ID = 31337;
const REGISTRY: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const leader = privateKeyToAccount(generatePrivateKey());
const outsider = privateKeyToAccount(generatePrivateKey());
const tx = (i: number): Hex => keccak256(toHex(`tx-${i}`));

/** Commitments for txs 0..n-1 at positions 0..n-1, one certificate signed by `signer`. */
async function commitments(n: number, signer = leader): Promise<OrderCommitmentProofJson[]> {
  const signed = await certifyGroup({ epoch: 3n, term: 2n, firstPosition: 0n, txHashes: Array.from({ length: n }, (_, i) => tx(i)) }, { signer, chainId: CHAIN_ID, registry: REGISTRY });
  return signed.proofs().map(encodeOrderCommitmentProof);
}

/** A history in which client 0 submits txs 0..n-1 one after another, 100 ms apart, each acknowledged. */
function acked(cs: readonly OrderCommitmentProofJson[]): HistoryEvent[] {
  return cs.flatMap((c, i) => [
    { t: i * 100, kind: "invoke", op: i, client: 0, node: 0, txHash: c.txHash, retry: false },
    { t: i * 100 + 50, kind: "ok", op: i, client: 0, node: 0, txHash: c.txHash, position: i, latencyMs: 50, commitment: c },
  ]);
}

const logOf = (n: number): LogTx[] => Array.from({ length: n }, (_, i) => ({ position: i, txHash: tx(i) }));

function input(history: HistoryEvent[], n: number, over: Partial<CheckInput> = {}): CheckInput {
  return {
    history,
    nodes: ["node-0", "node-1", "node-2"].map((name) => ({ name, log: logOf(n) })),
    l1: logOf(n),
    retrieved: new Map(),
    chainId: CHAIN_ID,
    registry: REGISTRY,
    signersOfEpoch: async (epoch) => (epoch === 3n ? [leader.address] : []),
    window: { from: 0, to: n * 100 },
    slashings: [],
    ...over,
  };
}

const kinds = (r: { violations: readonly { kind: string }[] }) => [...new Set(r.violations.map((v) => v.kind))].sort();

describe("nemesis checker", function () {
  let cs: OrderCommitmentProofJson[];
  before(async () => {
    cs = await commitments(6);
  });

  it("passes a run whose acknowledgements are on every node and on L1, and counts what happened", async () => {
    const r = await checkHistory(input(acked(cs), 6));
    expect(r.violations).to.deep.equal([]);
    expect(r.stats).to.include({ submitted: 6, requests: 6, acknowledged: 6, committed: 6, onL1: 6, faults: 0 });
    expect(r.availability.share).to.equal(1);
  });

  it("reports an acknowledged transaction that a node lost or holds elsewhere", async () => {
    const moved = logOf(6);
    moved[2] = { position: 2, txHash: tx(99) };
    const r = await checkHistory(input([...acked(cs), { t: 1, kind: "invoke", op: 99, client: 1, node: 1, txHash: tx(99), retry: false }], 6, { nodes: [{ name: "node-0", log: logOf(6) }, { name: "node-1", log: moved }] }));
    expect(kinds(r)).to.deep.equal(["lost-ack", "position-two-txs"]);
    const short = await checkHistory(input(acked(cs), 6, { nodes: [{ name: "node-0", log: logOf(6) }, { name: "node-1", log: logOf(4) }] }));
    expect(kinds(short)).to.deep.equal(["lost-ack", "not-converged"]);
  });

  it("reports one transaction at two positions and one position given to two transactions", async () => {
    const twice = [...logOf(6), { position: 6, txHash: tx(1) }];
    const r = await checkHistory(input(acked(cs), 7, { nodes: [{ name: "node-0", log: twice }], l1: twice }));
    expect(kinds(r)).to.include("tx-two-positions");

    // Two acknowledgements name position 1 for different transactions.
    const other = (await commitments(2, leader))[1]!;
    const clash: OrderCommitmentProofJson = { ...other, txHash: tx(7) };
    const history: HistoryEvent[] = [...acked(cs), { t: 900, kind: "invoke", op: 50, client: 2, node: 2, txHash: tx(7), retry: false }, { t: 950, kind: "ok", op: 50, client: 2, node: 2, txHash: tx(7), position: 1, latencyMs: 50, commitment: clash }];
    const r2 = await checkHistory(input(history, 6));
    expect(kinds(r2)).to.include.members(["position-two-txs", "invalid-commitment", "lost-ack"]);
  });

  it("reports commitments that do not verify or were signed by someone outside the epoch's set", async () => {
    const tampered = acked(cs).map((e) => (e.kind === "ok" && e.op === 3 ? { ...e, commitment: { ...e.commitment, proof: [...e.commitment.proof].reverse() } } : e));
    const r = await checkHistory(input(tampered, 6));
    expect(kinds(r)).to.deep.equal(["invalid-commitment"]);
    expect(r.violations[0]!.txHash).to.equal(tx(3));

    const forged = await checkHistory(input(acked(await commitments(6, outsider)), 6));
    expect(kinds(forged)).to.deep.equal(["signer-not-in-epoch"]);
    expect(forged.violations).to.have.length(6);
  });

  it("reports an L1 stream that differs from the logs or stops short of them", async () => {
    const wrong = logOf(6);
    wrong[4] = { position: 4, txHash: tx(42) };
    expect(kinds(await checkHistory(input(acked(cs), 6, { l1: wrong })))).to.deep.equal(["l1-mismatch"]);
    expect(kinds(await checkHistory(input(acked(cs), 6, { l1: logOf(3) })))).to.deep.equal(["batches-not-posted"]);
  });

  it("requires every logged transaction to come from a client and to have a retrievable commitment", async () => {
    // tx 5 was sent but its answer timed out; the node has its commitment, or has none.
    const history = acked(cs).filter((e) => !(e.kind === "ok" && e.op === 5));
    history.push({ t: 600, kind: "timeout", op: 5, client: 0, node: 0, txHash: tx(5) });
    expect((await checkHistory(input(history, 6, { retrieved: new Map([[tx(5), cs[5]!]]) }))).violations).to.deep.equal([]);
    expect(kinds(await checkHistory(input(history, 6, { retrieved: new Map([[tx(5), null]]) })))).to.deep.equal(["no-commitment"]);
    expect(kinds(await checkHistory(input(history, 6, { retrieved: new Map([[tx(5), cs[4]!]]) })))).to.deep.equal(["no-commitment"]);
    // A transaction in the log that no client ever sent.
    const phantom = history.filter((e) => !("txHash" in e && e.txHash === tx(5)));
    expect(kinds(await checkHistory(input(phantom, 6, { retrieved: new Map([[tx(5), cs[5]!]]) })))).to.deep.equal(["phantom-tx"]);
  });

  it("treats a refusal as definite and NO_LEADER as maybe; reports crashes and slashed honest operators", async () => {
    const history = acked(cs).filter((e) => !(e.kind === "ok" && e.op === 5));
    const retrieved = new Map([[tx(5), cs[5]!]]);
    const refused = await checkHistory(input([...history, { t: 600, kind: "fail", op: 5, client: 0, node: 0, txHash: tx(5), code: TX_REJECTED, error: "bad" }], 6, { retrieved }));
    expect(kinds(refused)).to.deep.equal(["rejected-but-committed"]);
    const noLeader = await checkHistory(input([...history, { t: 600, kind: "fail", op: 5, client: 0, node: 0, txHash: tx(5), code: NO_LEADER, error: "no leader" }], 6, { retrieved }));
    expect(noLeader.violations).to.deep.equal([]);
    expect(noLeader.notes.join()).to.contain("1 transactions are committed although every request for them was answered NO_LEADER");
    // Answered NO_LEADER once and acknowledged on a resubmission: nothing contradicts the NO_LEADER answer.
    const retried = await checkHistory(input([...acked(cs), { t: 10, kind: "fail", op: 77, client: 0, node: 0, txHash: tx(5), code: NO_LEADER, error: "no leader" }], 6));
    expect(retried.notes).to.deep.equal([]);
    const crashed = await checkHistory(input([...acked(cs), { t: 10, kind: "crash", node: 2, exit: "1", logFile: "x.log" }], 6));
    expect(kinds(crashed)).to.deep.equal(["node-crashed"]);
    const slashed = await checkHistory(input(acked(cs), 6, { slashings: ["operator 0xabc slashed 100"] }));
    expect(kinds(slashed)).to.deep.equal(["honest-operator-slashed"]);
  });

  it("measures windows without acknowledgements and names the faults in force", () => {
    const faults: HistoryEvent[] = [
      { t: 0, kind: "nemesis", id: 1, fault: "kill", phase: "start", detail: "SIGKILL node-0 (leader)" },
      { t: 3_000, kind: "nemesis", id: 1, fault: "kill", phase: "end", detail: "restarted node-0" },
      { t: 5_000, kind: "nemesis", id: 2, fault: "l1-outage", phase: "start", detail: "L1 down" },
    ];
    const oks = [500, 900, 4_000, 4_500, 9_500].map((t, i): HistoryEvent => ({ t, kind: "ok", op: i, client: 0, node: 1, txHash: tx(i), position: i, latencyMs: 10, commitment: cs[0]! }));
    const history = [...faults, ...oks].sort((a, b) => a.t - b.t);
    const a = availability(history, { from: 0, to: 10_000 }, 1_000);
    expect(a.windows.map((w) => [w.from, w.to])).to.deep.equal([[4_500, 9_500], [900, 4_000]]);
    expect(a.unavailableMs).to.equal(8_100);
    expect(a.share).to.be.closeTo(0.19, 1e-9);
    expect(a.windows[0]!.faults).to.deep.equal(["#2 l1-outage (L1 down)"]);
    expect(a.windows[1]!.faults).to.deep.equal(["#1 kill (SIGKILL node-0 (leader))"]);
  });

  it("excerpts the events about a transaction, the latest ones around the moment and the faults in force", () => {
    const history: HistoryEvent[] = [
      { t: 0, kind: "nemesis", id: 1, fault: "partition", phase: "start", detail: "isolate-leader" },
      ...acked(cs).map((e) => ({ ...e, t: e.t + 10_000 })),
    ];
    const excerpt = historyExcerpt(history, { t: 10_300, txHash: tx(3) }, 4);
    expect(excerpt[0]).to.deep.include({ kind: "nemesis", id: 1 });
    // Both events of tx 3 (its invoke too), then the latest nearby answers up to the limit.
    expect(excerpt.filter((e) => "txHash" in e && e.txHash === tx(3)).map((e) => e.kind)).to.deep.equal(["invoke", "ok"]);
    expect(excerpt.filter((e) => e.kind === "ok" && e.txHash !== tx(3)).map((e) => (e as { op: number }).op)).to.deep.equal([4, 5]);
    expect(historyExcerpt(history, { txHash: tx(1) }, 2).map((e) => e.kind)).to.deep.equal(["invoke", "ok"]);
  });
});
