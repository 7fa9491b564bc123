/** Node configuration and deployment records: a bad setting stops the node with a message naming it. */
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { parseGwei } from "viem";
import { ConfigError, DEFAULTS, batchEncodingOf, feeCapsOf, loadNodeConfig } from "../../node/sequencer/config.js";
import { encodedBatchSize, encodedTxLength } from "../../node/batching/index.js";
import { TransactionTooLargeError, decodeTransaction } from "../../node/intake/index.js";
import { GETH_MAX_TX_BYTES, MAX_ACTIVE_CAP, submitBatchTxBytes } from "../../node/l1/inbox-writer.js";
import { DEFAULT_LIMITS } from "../../node/rpc/index.js";
import { DeploymentRecordError, loadDeploymentRecord, parseDeploymentRecord } from "../../node/l1/deployment.js";

describe("node configuration", () => {
  let dir: string;
  const required = { dataDir: "data", signerKeyFile: "signer.key", p2pKeyFile: "p2p.key", l1RpcUrl: "http://127.0.0.1:8545", deployment: "d.json", watchtowerKeyFile: "watchtower.key" };

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

  it("reads the batcher's fee caps in gwei (decimals to the wei), from the file and the environment, and the watchtower's own key", async () => {
    const f = await file("fees.json", { ...required, l1MaxFeePerGasGwei: 30.5, l1ReplaceAfterBlocks: 5 });
    const config = await loadNodeConfig(f, { SEQ_L1_MAX_FEE_PER_BLOB_GAS_GWEI: "0.000000001" });
    expect(feeCapsOf(config)).to.deep.equal({ maxFeePerGas: 30_500_000_000n, maxPriorityFeePerGas: parseGwei(String(DEFAULTS.l1MaxPriorityFeePerGasGwei)), maxFeePerBlobGas: 1n });
    expect(config.l1ReplaceAfterBlocks).to.equal(5);
    expect(config.watchtowerKeyFile).to.equal(path.join(dir, "watchtower.key"));
    // The watchtower may share the signer key when the batcher has its own, or be off.
    for (const settings of [{ watchtowerKeyFile: "", batcherKeyFile: "batcher.key" }, { watchtowerKeyFile: "", watchtower: false }]) {
      const ok = await loadNodeConfig(await file(`wt-${JSON.stringify(settings).replace(/\W+/g, "-")}.json`, { ...required, ...settings }), {});
      expect(ok.watchtowerKeyFile).to.equal("");
    }
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
    ["a censorship grace not below its timeout", { ...required, censorshipTimeoutMs: 2_000 }, { SEQ_CENSORSHIP_GRACE_MS: "2000" }, /censorshipGraceMs \(2000\) must be below censorshipTimeoutMs \(2000\)/],
    ["a zero censorship timeout", { ...required, censorshipTimeoutMs: 0 }, {}, /"censorshipTimeoutMs" must be positive/],
    ["an admission budget with a rate and no burst", { ...required, senderByteBurst: 0 }, {}, /"senderByteBurst" must be positive while "senderBytesPerSecond" is/],
    ["a zero per-client connection limit from the environment", required, { SEQ_RPC_MAX_CONNECTIONS_PER_CLIENT: "0" }, /"rpcMaxConnectionsPerClient" must be positive/],
    ["listen addresses that are not multiaddrs", { ...required, p2pListen: ["127.0.0.1:9000"] }, {}, /"p2pListen" must be a non-empty list of multiaddrs/],
    ["a file that is not an object", [1, 2], {}, /must hold a JSON object/],
    ["a watchtower paying from the batcher's account (both the signer key)", { ...required, watchtowerKeyFile: "" }, {}, /the watchtower and the batcher would both pay from the signer key.*"watchtowerKeyFile"/],
    ["a zero fee cap", { ...required, l1MaxFeePerGasGwei: 0 }, {}, /"l1MaxFeePerGasGwei" \(env SEQ_L1_MAX_FEE_PER_GAS_GWEI\) must be a number of gwei/],
    ["a fee cap that is no number, from the environment", required, { SEQ_L1_MAX_FEE_PER_BLOB_GAS_GWEI: "cheap" }, /"l1MaxFeePerBlobGasGwei" .* must be a number of gwei .*, got NaN/],
    ["a fee cap given as a string", { ...required, l1MaxPriorityFeePerGasGwei: "2" }, {}, /"l1MaxPriorityFeePerGasGwei" .* must be a number of gwei .*, got "2"/],
    ["a tip cap above the fee cap", { ...required, l1MaxFeePerGasGwei: 5, l1MaxPriorityFeePerGasGwei: 6 }, {}, /"l1MaxPriorityFeePerGasGwei" \(6\) must not exceed "l1MaxFeePerGasGwei" \(5\)/],
    ["replacing after zero blocks", { ...required, l1ReplaceAfterBlocks: 0 }, {}, /"l1ReplaceAfterBlocks" must be positive/],
    ["an unknown data mode", { ...required, batchDataMode: "blob" }, {}, /"batchDataMode" \(env SEQ_BATCH_DATA_MODE\) must be "calldata", "blobs" or "" .*, got "blob"/],
    ["a compression setting that is no choice, from the environment", required, { SEQ_BATCH_COMPRESSION: "yes" }, /"batchCompression" \(env SEQ_BATCH_COMPRESSION\) must be "on", "off" or "" .*, got "yes"/],
    ["more blobs per transaction than one may carry", { ...required, batchMaxBlobs: 9 }, {}, /"batchMaxBlobs" must be from 1 to 6 .*, got 9/],
    ["zero blobs per transaction", { ...required, batchMaxBlobs: 0 }, {}, /"batchMaxBlobs" must be positive|"batchMaxBlobs" must be from 1 to 6/],
    ["blob mode with transactions larger than its blobs", { ...required, batchDataMode: "blobs", batchMaxBlobs: 1, maxTxBytes: 127_000, batchMaxBytes: 200_000, batchMaxL1TxBytes: 200_000 }, {}, /"maxTxBytes" \(127000\) is too large for 1 blob\(s\) of 126976 bytes in blob mode/],
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

  it("chooses the batch encoding: blobs with compression where the L1 takes blob transactions, v1 calldata elsewhere, and refuses blob mode on an L1 without blobs", async () => {
    const config = await loadNodeConfig(await file("encoding.json", required), {});
    expect(batchEncodingOf(config, true)).to.deep.equal({ compress: true, maxBlobs: 6 });
    expect(batchEncodingOf(config, false)).to.deep.equal({ compress: false });
    expect(batchEncodingOf({ ...config, batchCompression: "on" }, false)).to.deep.equal({ compress: true });
    expect(batchEncodingOf({ ...config, batchDataMode: "calldata" }, true)).to.deep.equal({ compress: false });
    expect(batchEncodingOf({ ...config, batchDataMode: "blobs", batchCompression: "off", batchMaxBlobs: 2 }, true)).to.deep.equal({ compress: false, maxBlobs: 2 });
    expect(() => batchEncodingOf({ ...config, batchDataMode: "blobs" }, false)).to.throw(ConfigError, /"batchDataMode" is "blobs", but the L1 refuses a blob transaction/);
  });

  it("S4: intake refuses a transaction that could not reach L1 in a batch of its own; the defaults leave every admitted one room", async () => {
    // On 76516e8 intake took 128 KiB: such a transaction alone made a one-transaction batch whose
    // L1 transaction (3 signatures) exceeded geth's 131,072-byte txpool limit, and posting stalled.
    const wasAdmitted = 128 * 1024 - 200;
    expect(submitBatchTxBytes(encodedBatchSize(1, encodedTxLength(wasAdmitted)), 3)).to.be.above(GETH_MAX_TX_BYTES);
    const config = await loadNodeConfig(await file("s4-defaults.json", required), {});
    expect(config.batchMaxL1TxBytes).to.equal(GETH_MAX_TX_BYTES);
    // The largest admitted transaction fits a batch, and its L1 transaction fits with a signature from every seat.
    const alone = encodedBatchSize(1, encodedTxLength(config.maxTxBytes));
    expect(alone).to.be.at.most(config.batchMaxBytes);
    expect(submitBatchTxBytes(alone, MAX_ACTIVE_CAP)).to.be.at.most(config.batchMaxL1TxBytes);
    const account = privateKeyToAccount(generatePrivateKey());
    const signed = (bytes: number) =>
      account.signTransaction({ type: "eip1559", chainId: config.rollupChainId, nonce: 0, to: account.address, gas: 5_000_000n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n, data: `0x${"01".repeat(bytes)}` });
    const intake = { chainId: config.rollupChainId, maxBytes: config.maxTxBytes };
    const big = await signed(wasAdmitted);
    expect(() => decodeTransaction(big, intake)).to.throw(TransactionTooLargeError, `the limit is ${config.maxTxBytes} bytes`);
    expect(decodeTransaction(await signed(config.maxTxBytes - 200), intake).from).to.equal(account.address);

    // A configuration that would admit such a transaction does not start.
    for (const [settings, message] of [
      [{ maxTxBytes: 128 * 1024 }, /"maxTxBytes" \(131072\) must leave a transaction room in a batch of batchMaxBytes \(120000\)/],
      [{ maxTxBytes: 119_000 }, /"maxTxBytes" \(119000\) is too large for batchMaxL1TxBytes \(131072\): a batch of it alone, signed by 100 members/],
      [{ batchMaxInFlight: 65 }, /"batchMaxInFlight" must be at most 64/],
      [{ maxUnpostedBytes: 0 }, /"maxUnpostedBytes" must be positive/],
    ] as const) {
      const error = await loadNodeConfig(await file(`s4-${JSON.stringify(settings).replace(/\W+/g, "-")}.json`, { ...required, ...settings }), {}).catch((e: Error) => e);
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.match(message);
    }
  });

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
