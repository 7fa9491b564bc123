/** Node configuration and deployment records: a bad setting stops the node with a message naming it. */
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, DEFAULTS, loadNodeConfig } from "../../node/sequencer/config.js";
import { DEFAULT_LIMITS } from "../../node/rpc/index.js";
import { DeploymentRecordError, loadDeploymentRecord, parseDeploymentRecord } from "../../node/l1/deployment.js";

describe("node configuration", () => {
  let dir: string;
  const required = { dataDir: "data", signerKeyFile: "signer.key", p2pKeyFile: "p2p.key", l1RpcUrl: "http://127.0.0.1:8545", deployment: "d.json" };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "seq-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, content: unknown): Promise<string> {
    const f = path.join(dir, name);
    await writeFile(f, typeof content === "string" ? content : JSON.stringify(content));
    return f;
  }

  it("fills defaults, resolves file paths against the file's directory, and lets SEQ_* variables override", async () => {
    const f = await file("ok.json", { ...required, rpcPort: 9001 });
    const config = await loadNodeConfig(f, { SEQ_RPC_PORT: "9002", SEQ_P2P_LISTEN: "/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2" });
    expect(config.dataDir).to.equal(path.join(dir, "data"));
    expect(config.deployment).to.equal(path.join(dir, "d.json"));
    expect(config.rpcPort).to.equal(9002);
    expect(config.p2pListen).to.deep.equal(["/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"]);
    expect(config.electionTicks).to.equal(DEFAULTS.electionTicks);
  });

  it("reads the RPC connection limits, defaulting to the RPC server's own", async () => {
    const f = await file("rpc.json", { ...required, rpcMaxConnections: 4096 });
    const config = await loadNodeConfig(f, { SEQ_RPC_MAX_CONNECTIONS_PER_CLIENT: "64" });
    expect(config.rpcMaxConnections).to.equal(4096);
    expect(config.rpcMaxConnectionsPerClient).to.equal(64);
    expect(config.rpcIdleTimeoutMs).to.equal(DEFAULT_LIMITS.idleTimeoutMs);
  });

  const bad: [string, unknown, Record<string, string>, RegExp][] = [
    ["an unknown setting", { ...required, rpcPrt: 1 }, {}, /unknown setting "rpcPrt"/],
    ["a missing required setting", { ...required, l1RpcUrl: undefined }, {}, /"l1RpcUrl" \(env SEQ_L1_RPC_URL\) is required/],
    ["a non-numeric port from the environment", required, { SEQ_RPC_PORT: "eighty" }, /"rpcPort" .* non-negative integer/],
    ["a port out of range", { ...required, rpcPort: 70000 }, {}, /must be a TCP port/],
    ["heartbeats not below the election timeout", { ...required, heartbeatTicks: 10, electionTicks: 10 }, {}, /heartbeatTicks \(10\) must be below electionTicks/],
    ["a zero tick", { ...required, tickMs: 0 }, {}, /"tickMs" must be positive/],
    ["an admission budget with a rate and no burst", { ...required, senderByteBurst: 0 }, {}, /"senderByteBurst" must be positive while "senderBytesPerSecond" is/],
    ["a zero per-client connection limit from the environment", required, { SEQ_RPC_MAX_CONNECTIONS_PER_CLIENT: "0" }, /"rpcMaxConnectionsPerClient" must be positive/],
    ["listen addresses that are not multiaddrs", { ...required, p2pListen: ["127.0.0.1:9000"] }, {}, /"p2pListen" must be a non-empty list of multiaddrs/],
    ["a file that is not an object", [1, 2], {}, /must hold a JSON object/],
  ];
  for (const [what, content, env, message] of bad) {
    it(`refuses ${what}`, async () => {
      const f = await file(`bad-${what.replace(/\W+/g, "-")}.json`, content);
      const error = await loadNodeConfig(f, env).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.match(message);
    });
  }

  it("refuses a config file that is not JSON, naming it", async () => {
    const f = await file("broken.json", "{ not json");
    const error = await loadNodeConfig(f, {}).catch((e: Error) => e);
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.contain(f);
  });
});

describe("deployment records as the node reads them", () => {
  const record = {
    network: "localhost",
    chainId: 31337,
    deploymentBlock: "2",
    contracts: {
      stakeToken: { address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
      sequencerRegistry: { address: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" },
      batchInbox: { address: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" },
      slashing: { address: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" },
    },
    epochs: { genesisBlock: "0", epochLength: "20" },
  };

  it("reads addresses, chain id and epoch parameters", () => {
    const d = parseDeploymentRecord(record, "r.json");
    expect(d.chainId).to.equal(31337);
    expect(d.sequencerRegistry).to.equal(record.contracts.sequencerRegistry.address);
    expect(d.epochLength).to.equal(20n);
  });

  it("names the field that is wrong", () => {
    const broken = { ...record, contracts: { ...record.contracts, batchInbox: { address: "0x1234" } } };
    expect(() => parseDeploymentRecord(broken, "r.json")).to.throw(DeploymentRecordError, "r.json: contracts.batchInbox.address is not an address");
    expect(() => parseDeploymentRecord({ ...record, epochs: { genesisBlock: "-1", epochLength: "20" } }, "r.json")).to.throw(
      DeploymentRecordError,
      "epochs.genesisBlock is not a non-negative integer",
    );
  });

  it("says when the record cannot be read", async () => {
    const error = await loadDeploymentRecord("/nonexistent/deployments/x.json").catch((e: Error) => e);
    expect(error).to.be.instanceOf(DeploymentRecordError);
    expect((error as Error).message).to.contain("cannot read the deployment record /nonexistent/deployments/x.json");
  });
});
