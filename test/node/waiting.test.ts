/**
 * A node started before its operator is in a confirmed epoch's set: its RPC port answers from the
 * start, saying it waits to enter the set (seq_status, /status, /health 503, NO_LEADER for the
 * rest), and the assembled node takes the port over once the operator is a member.
 */
import { expect } from "chai";
import path from "node:path";
import { deployAndStake, enterNextEpoch, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";
import { NodeRpcError, nodeRpc } from "../../node/rpc/client.js";
import { NO_LEADER } from "../../node/rpc/errors.js";
import { until } from "./helpers.js";

type Status = { state?: string; role: string; leader: string | null; reason?: string; signer?: string };

describe("a node waiting to enter the set", function () {
  this.timeout(120_000);
  let chain: LocalChain;
  let dir: string;
  let net: StakedNetwork;
  let node: NodeProcess | undefined;

  before(async () => {
    dir = makeTempDir("waiting-");
    chain = await startLocalChain();
    // Registered in epoch 0: a member from epoch 1, which nobody mines to yet.
    net = await deployAndStake(chain, path.join(dir, "net"), ["1000"], { logLevel: "warn" });
  });
  after(async () => {
    if (node) await stopNode(node);
    await chain?.close();
    await removeTempDir(dir);
  });

  it("answers on its RPC port at once that it waits, and hands the port to the node once its operator is a member", async () => {
    const op = net.operators[0]!;
    node = spawnNode(op);
    const health = await until("the waiting node's /health", async () => {
      const r = await fetch(new URL("health", op.rpcUrl));
      return { status: r.status, body: (await r.json()) as Status & { healthy: boolean } };
    }, 60_000);
    expect(health.status).to.equal(503);
    expect(health.body).to.include({ healthy: false, state: "waiting", role: "waiting", leader: null, signer: op.signer });
    expect(health.body.reason).to.match(/^waiting to enter the set: /);

    const waiting = await until("the membership wait", async () => {
      const s = await nodeRpc<Status>(op.rpcUrl, "seq_status");
      return s.reason?.includes("is in no confirmed epoch's active set yet") ? s : undefined;
    });
    expect(waiting).to.include({ state: "waiting", role: "waiting", leader: null });
    const page = await fetch(new URL("status", op.rpcUrl));
    expect(page.status).to.equal(200);
    expect(((await page.json()) as Status).state).to.equal("waiting");
    expect(await nodeRpc<string>(op.rpcUrl, "eth_chainId")).to.equal(`0x${op.config.rollupChainId.toString(16)}`);
    const refused = await nodeRpc(op.rpcUrl, "seq_sendRawTransaction", ["0x02"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(NodeRpcError);
    expect((refused as NodeRpcError).code).to.equal(NO_LEADER);
    expect((refused as NodeRpcError).retryable, "a client retries: the node will serve").to.equal(true);
    expect((refused as Error).message).to.contain("this node is not serving yet: waiting to enter the set");

    await enterNextEpoch(chain, net.deployment.registry);
    const member = await until("the member node's status", async () => {
      const s = await nodeRpc<Status>(op.rpcUrl, "seq_status");
      return s.state === "waiting" ? undefined : s;
    }, 60_000);
    expect(member.role).to.be.oneOf(["leader", "follower", "candidate", "precandidate", "learner"]);
    const healthy = await until("a healthy node", async () => ((await fetch(new URL("health", op.rpcUrl))).status === 200 ? true : undefined));
    expect(healthy).to.equal(true);
  });
});
