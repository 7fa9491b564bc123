/**
 * Three sequencer node processes on a local chain: commitments, failover, catch-up, and
 * gating of non-members. Real chain over HTTP, real libp2p, real level, real processes.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createPublicClient, http, keccak256, type Hex } from "viem";
import { agreedLeader, converged, enterNextEpoch, metricValue, rangeOf, rpc, signedTx, sender, submit, until, type Status } from "./helpers.js";
import {
  decodeOrderCommitmentProof,
  decodeQuorumCommitment,
  verifyOrderCommitmentOnL1,
  verifyQuorumCommitmentOnL1,
  type OrderCommitmentProofJson,
  type QuorumCommitmentJson,
} from "../../node/commitments/index.js";
import { Transport, generatePeerKey } from "../../node/transport/index.js";
import {
  deployAndStake,
  encryptNodeKeys,
  spawnNode,
  startLocalChain,
  stopNode,
  type LocalChain,
  type NodeProcess,
  type StakedNetwork,
} from "../../scripts/lib/devnet.js";
import { makeTempDir, removeTempDir, runChild } from "../../scripts/lib/processes.js";
import { ALERTS_FILE, alertRules, dashboardExpressions, metricNamesOf } from "../ops/monitoring.js";
import { startPrometheus, type PrometheusServer } from "../ops/prometheus.js";

const CLI = path.resolve(import.meta.dirname, "../../node/cli/main.ts");

describe("sequencer cluster (3 node processes)", function () {
  this.timeout(180_000);
  let dir: string;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs: (NodeProcess | undefined)[] = [];

  const urls = () => net.operators.map((o) => o.rpcUrl);
  const liveUrls = () => net.operators.filter((_, i) => procs[i] !== undefined).map((o) => o.rpcUrl);

  const leaderIndex = (candidates = liveUrls(), not = -1) => agreedLeader(candidates, net.operators, not);

  before(async () => {
    dir = makeTempDir("seq-cluster-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2400", "1500", "1000"]);
    // Node 0 starts (and restarts) from an encrypted keystore, the others from plain-hex keys.
    await encryptNodeKeys(net, 0, "cluster test passphrase");
    await enterNextEpoch(chain, net.deployment.registry);
    for (const op of net.operators) procs.push(spawnNode(op));
    await leaderIndex(urls());
  });

  after(async () => {
    await Promise.all(procs.map((p) => (p ? stopNode(p, "SIGKILL") : undefined)));
    await chain?.close();
    if (dir) await removeTempDir(dir);
  });

  const acknowledged = new Map<string, OrderCommitmentProofJson>();

  it("runs node 0 from its keystore: it signs as its registered signer, and only the plain-hex nodes warn", async () => {
    const status = await rpc<Status & { signer: string }>(urls()[0]!, "seq_status");
    expect(status.signer).to.equal(net.operators[0]!.signer);
    const unencrypted = (i: number) => readFile(path.join(net.operators[i]!.dir, "node.log"), "utf8").then((log) => log.includes("is stored unencrypted"));
    expect(await unencrypted(0)).to.equal(false);
    expect(await unencrypted(1)).to.equal(true);
  });

  it("starts from a genesis configuration weighted by stake: quorums are by stake from the first entry on", async () => {
    const genesis = JSON.parse(await readFile(path.join(net.operators[0]!.config.dataDir, "genesis.json"), "utf8")) as { voters: string[]; weights: string[] };
    expect(genesis.weights).to.deep.equal(["2400", "1500", "1000"].map((t) => (BigInt(t) * 10n ** 18n).toString()));
    expect(genesis.voters).to.have.length(3);
  });

  it("gives every transaction sent to any node a commitment that verifies on L1, gap-free, identical on all nodes", async () => {
    const client = createPublicClient({ transport: http(chain.url) });
    const sends: Promise<OrderCommitmentProofJson>[] = [];
    for (let i = 0; i < 30; i++) {
      const url = urls()[i % 3]!;
      sends.push(signedTx().then((raw) => submit<OrderCommitmentProofJson>(url, raw)));
    }
    // eth_sendRawTransaction keeps its wallet semantics: it answers the transaction hash.
    const walletSend = signedTx().then((raw) => submit<Hex>(urls()[1]!, raw, 30_000, "eth_sendRawTransaction"));
    // One await for all of them, so no rejection waits unobserved behind another.
    const [commitments, hash] = await Promise.all([Promise.all(sends), walletSend]);
    expect(hash).to.match(/^0x[0-9a-f]{64}$/);
    for (const c of commitments) {
      const result = await verifyOrderCommitmentOnL1(decodeOrderCommitmentProof(c), { client, registry: net.deployment.registry.address });
      expect(result.valid, JSON.stringify(result.reasons)).to.equal(true);
      acknowledged.set(c.txHash, c);
    }
    const byHash = await rpc<OrderCommitmentProofJson>(urls()[2]!, "seq_getOrderCommitment", [hash]);
    expect(byHash.txHash).to.equal(hash);
    acknowledged.set(hash, byHash);

    const positions = [...acknowledged.values()].map((c) => Number(c.position)).sort((a, b) => a - b);
    expect(positions).to.deep.equal(positions.map((_, i) => i));

    const next = await converged(urls());
    expect(next).to.equal(31);
    const logs = await Promise.all(urls().map((u) => rangeOf(u, 0, next)));
    expect(logs[1]).to.deep.equal(logs[0]);
    expect(logs[2]).to.deep.equal(logs[0]);
  });

  it("S2: gives every acknowledged transaction a quorum commitment, co-signed by more than half the stake, that verifies on L1 from any node", async () => {
    const client = createPublicClient({ transport: http(chain.url) });
    const registry = net.deployment.registry.address;
    let i = 0;
    for (const [hash, ack] of acknowledged) {
      // Pending until the leader's next quorum round: the node says so with a retryable error.
      const json = await submit<QuorumCommitmentJson>(urls()[i++ % 3]!, hash as Hex, 60_000, "seq_getQuorumCommitment");
      const q = decodeQuorumCommitment(json);
      expect(q.position).to.equal(BigInt(ack.position));
      expect(q.txHash).to.equal(hash);
      const result = await verifyQuorumCommitmentOnL1(q, { client, registry });
      expect(result.valid, JSON.stringify(result.reasons)).to.equal(true);
      expect(result.signedStake * 2n > result.activeStake).to.equal(true);
    }
  });

  it("lets an operator send a test transaction and verify its commitment on L1 from the CLI", async () => {
    const { stdout, stderr, code } = await runChild(process.execPath, ["--import", "tsx", CLI, "send", "--rpc", urls()[2]!, "--l1", chain.url], { timeoutMs: 60_000 });
    expect(code, stdout + stderr).to.equal(0);
    expect(stdout).to.contain("VERIFIES");
    const printed = JSON.parse(stdout.slice(0, stdout.lastIndexOf("}") + 1)) as OrderCommitmentProofJson;
    acknowledged.set(printed.txHash, printed);
  });

  it("answers a resubmission with the existing commitment, never a second position", async () => {
    const raw = await signedTx();
    const first = await submit<OrderCommitmentProofJson>(urls()[0]!, raw);
    const again = await Promise.all(urls().map((u) => submit<OrderCommitmentProofJson>(u, raw)));
    for (const c of again) expect(c.position).to.equal(first.position);
    acknowledged.set(first.txHash, first);
    const next = await converged(urls());
    const log = await rangeOf(urls()[0]!, 0, next);
    expect(log.filter((t) => t.txHash === first.txHash)).to.have.length(1);
  });

  it("rejects bad transactions with a clear error and changes nothing", async () => {
    const before = await rpc<Status>(urls()[0]!, "seq_status");
    const wrongChain = await sender.signTransaction({ type: "eip1559", chainId: 1, nonce: 0, to: sender.address, gas: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    for (const bad of ["0x1234", wrongChain, "0x02c0"]) {
      const err = await rpc(urls()[0]!, "seq_sendRawTransaction", [bad]).then(
        () => undefined,
        (e: Error & { code: number }) => e,
      );
      expect(err, `accepted ${bad}`).to.not.equal(undefined);
      expect(err!.code).to.equal(-32003);
    }
    const after = await rpc<Status>(urls()[0]!, "seq_status");
    expect(after.nextPosition).to.equal(before.nextPosition);
  });

  let killed = -1;

  it("survives a SIGKILL of the leader under load: acknowledged commitments stay at their positions", async () => {
    killed = await leaderIndex();
    const survivors = [0, 1, 2].filter((i) => i !== killed).map((i) => net.operators[i]!.rpcUrl);
    const unacknowledged: Hex[] = [];
    let stop = false;
    const load = (async () => {
      let k = 0;
      while (!stop) {
        const raw = await signedTx();
        const url = urls()[k++ % 3]!;
        try {
          const c = await submit<OrderCommitmentProofJson>(url, raw, 15_000);
          acknowledged.set(c.txHash, c);
        } catch {
          unacknowledged.push(raw);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      await stopNode(procs[killed]!, "SIGKILL");
      procs[killed] = undefined;
      await leaderIndex(survivors, killed);
      // Sequencing continues through the survivors.
      const after = await submit<OrderCommitmentProofJson>(survivors[0]!, await signedTx());
      acknowledged.set(after.txHash, after);
    } finally {
      stop = true;
      await load;
    }

    const next = await converged(survivors);
    const logs = await Promise.all(survivors.map((u) => rangeOf(u, 0, next)));
    expect(logs[1]).to.deep.equal(logs[0]);
    const atPosition = new Map(logs[0]!.map((t) => [t.position, t.txHash]));
    for (const c of acknowledged.values()) expect(atPosition.get(Number(c.position)), `position ${c.position}`).to.equal(c.txHash);
    const seen = new Set<string>();
    for (const t of logs[0]!) {
      expect(seen.has(t.txHash), `${t.txHash} holds two positions`).to.equal(false);
      seen.add(t.txHash);
    }
    // Never acknowledged (the seeds' case 2): either absent, or committed once with a retrievable commitment.
    for (const raw of unacknowledged) {
      const hash = keccak256(raw);
      if (!seen.has(hash)) continue;
      const c = await until(`the commitment of ${hash}`, () => rpc<OrderCommitmentProofJson>(survivors[0]!, "seq_getOrderCommitment", [hash]));
      expect(atPosition.get(Number(c.position))).to.equal(hash);
    }
  });

  it("restarts the killed node, which catches up from disk and the leader to an identical log", async () => {
    procs[killed] = spawnNode(net.operators[killed]!);
    const next = await converged(urls());
    const logs = await Promise.all(urls().map((u) => rangeOf(u, 0, next)));
    expect(logs[killed]).to.deep.equal(logs[(killed + 1) % 3]);
    const raw = await signedTx();
    const c = await submit<OrderCommitmentProofJson>(net.operators[killed]!.rpcUrl, raw);
    expect(Number(c.position)).to.equal(next);
  });

  it("ignores a libp2p peer that is not in the active set", async () => {
    const before = await Promise.all(urls().map((u) => rpc<Status>(u, "seq_status")));
    const outsider = await Transport.create({ privateKey: await generatePeerKey(), listen: ["/ip4/127.0.0.1/tcp/0"], allowedPeers: net.operators.map((o) => o.peerId) });
    try {
      const target = net.operators[0]!;
      await outsider.setPeerAddresses(target.peerId, target.config.p2pListen);
      outsider.setNodeIds(new Map([[target.peerId, target.operator.toLowerCase()]]));
      // A vote request with a huge term would depose the leader if it were accepted.
      for (let i = 0; i < 20; i++) {
        outsider.send(target.peerId, { type: "vote", from: net.operators[1]!.operator.toLowerCase(), to: target.operator.toLowerCase(), term: 1_000_000, lastIndex: 1e9, lastTerm: 1e6, transfer: true });
      }
      await new Promise((r) => setTimeout(r, 1_500));
      const after = await Promise.all(urls().map((u) => rpc<Status>(u, "seq_status")));
      for (let i = 0; i < 3; i++) expect(after[i]!.term).to.be.below(1_000_000);
      expect(after[0]!.leader).to.equal(before[0]!.leader);
      // The operator sees the refused connections on /metrics (refreshed every second).
      await until("the refused connections counted on the target's /metrics", async () => {
        const value = (await metricValue(target.rpcUrl, "seq_transport_connections_denied_total")) ?? 0;
        return value > 0 ? value : undefined;
      });
    } finally {
      await outsider.stop();
    }
  });

  let prometheus: PrometheusServer | undefined;
  after(async () => {
    await prometheus?.stop();
  });

  it("is scraped by a real Prometheus that finds every metric of ops/ (alert rules, dashboard) and evaluates the rules", async () => {
    prometheus = await startPrometheus({ job: "sequencer", targets: urls().map((u) => new URL(u).host), ruleFiles: [ALERTS_FILE] });
    const prom = prometheus;
    type Target = { health: string; scrapeUrl: string; lastError: string };
    await until(
      "Prometheus to scrape all three nodes",
      async () => {
        const { activeTargets } = await prom.api<{ activeTargets: Target[] }>("targets");
        return activeTargets.length === 3 && activeTargets.every((t) => t.health === "up") ? activeTargets : undefined;
      },
      60_000,
    );
    const wanted = new Set([...alertRules().flatMap((r) => metricNamesOf(r.expr)), ...dashboardExpressions().flatMap((e) => metricNamesOf(e))]);
    expect(wanted.size).to.be.greaterThan(15);
    const scraped = new Set(await prom.api<string[]>("label/__name__/values"));
    expect([...wanted].filter((name) => !scraped.has(name)), "metric names in ops/ that no node exports").to.deep.equal([]);

    // The new gauges carry the nodes' real state.
    const values = async (query: string) =>
      (await prom.api<{ result: { metric: { instance: string }; value: [number, string] }[] }>(`query?query=${encodeURIComponent(query)}`)).result.map((r) => Number(r.value[1]));
    await until("all three nodes to report a leader", async () => ((await values("seq_raft_has_leader")).join() === "1,1,1" ? true : undefined));
    expect(await values("seq_operator_jailed")).to.deep.equal([0, 0, 0]);
    for (const free of await values("seq_data_dir_available_bytes / seq_data_dir_size_bytes")) expect(free).to.be.within(0, 1).and.not.equal(0);

    // Prometheus itself loaded the rules and evaluates every one of them on this data without error.
    type Rule = { name: string; health: string; lastError?: string };
    const rules = await until(
      "every alert rule evaluated",
      async () => {
        const { groups } = await prom.api<{ groups: { rules: Rule[] }[] }>("rules");
        const all = groups.flatMap((g) => g.rules);
        return all.every((r) => r.health !== "unknown") ? all : undefined;
      },
      30_000,
    );
    expect(rules.map((r) => r.name).sort()).to.deep.equal(alertRules().map((r) => r.alert).sort());
    for (const r of rules) expect(r.health, `${r.name}: ${r.lastError ?? ""}`).to.equal("ok");
  });
});
