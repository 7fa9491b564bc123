/**
 * A local sequencer network on this machine: an in-process Hardhat chain served over HTTP on
 * 127.0.0.1, the deployed contracts, staked operators with their key files and node configs,
 * and node child processes. Used by the multi-process tests and the devnet.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { hexToBytes, parseUnits, type Address } from "viem";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { savePeerKey } from "../../node/transport/index.js";
import { DEFAULTS, type NodeConfig } from "../../node/sequencer/config.js";
import { loadDeployConfig } from "./config.js";
import { deploySystem, type Deployment } from "./deploy.js";
import { generateOperatorIdentity, registerOperator } from "../../node/l1/operator.js";
import { toRecord, writeRecord } from "./record.js";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(REPO_ROOT, "node/cli/main.ts");

/** A free TCP port on 127.0.0.1 (released before use: fine for tests on a private machine). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

export interface LocalChain {
  readonly url: string;
  /** A Hardhat connection to the served chain (viem clients, network helpers). */
  readonly connection: NetworkConnection;
  close(): Promise<void>;
}

/** Starts an in-process Hardhat chain and serves it over HTTP on 127.0.0.1. */
export async function startLocalChain(port = 0): Promise<LocalChain> {
  const server = await network.createServer("default", "127.0.0.1", port);
  const { address, port: bound } = await server.listen();
  const url = `http://${address}:${bound}`;
  const connection = await network.create({ network: "localhost", override: { url } });
  return {
    url,
    connection,
    close: async () => {
      await connection.close();
      await server.close();
    },
  };
}

export interface OperatorNode {
  readonly index: number;
  readonly operator: Address;
  readonly signer: Address;
  readonly peerId: string;
  readonly dir: string;
  readonly configFile: string;
  readonly config: NodeConfig;
  readonly rpcUrl: string;
}

export interface StakedNetwork {
  readonly deployment: Deployment;
  readonly deploymentFile: string;
  readonly operators: OperatorNode[];
}

/**
 * Deploys the system, then registers and stakes `stakes.length` operators (wallets 1..n) with
 * fresh keys written under `baseDir/node-<i>/`, and writes each node's config file.
 */
export async function deployAndStake(
  chain: LocalChain,
  baseDir: string,
  stakes: readonly string[],
  nodeSettings: Partial<NodeConfig> = {},
): Promise<StakedNetwork> {
  const { connection } = chain;
  const { viem } = connection;
  const { config } = loadDeployConfig("default");
  const deployment = await deploySystem(connection, config);
  await mkdir(baseDir, { recursive: true });
  const deploymentFile = writeRecord(toRecord("localhost", deployment), baseDir);
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const decimals = await deployment.token.read.decimals();
  const operators: OperatorNode[] = [];
  for (let i = 0; i < stakes.length; i++) {
    const wallet = wallets[i + 1]!;
    const identity = await generateOperatorIdentity();
    const dir = path.join(baseDir, `node-${i}`);
    await mkdir(dir, { recursive: true });
    const signerKeyFile = path.join(dir, "signer.key");
    const p2pKeyFile = path.join(dir, "p2p.key");
    await writeFile(signerKeyFile, `${identity.signerKey}\n`, { mode: 0o600 });
    await savePeerKey(p2pKeyFile, privateKeyFromProtobuf(hexToBytes(identity.libp2pKey)));
    const p2pPort = await freePort();
    const rpcPort = await freePort();
    const p2pAddr = `/ip4/127.0.0.1/tcp/${p2pPort}`;
    await registerOperator({
      publicClient,
      wallet,
      registry: deployment.registry.address,
      token: deployment.token.address,
      signer: identity.signer,
      peerIdBytes: identity.peerIdBytes,
      addrs: [p2pAddr],
      stake: parseUnits(stakes[i]!, decimals),
      mint: true,
    });
    const nodeConfig: NodeConfig = {
      ...DEFAULTS,
      dataDir: path.join(dir, "data"),
      signerKeyFile,
      p2pKeyFile,
      p2pListen: [p2pAddr],
      rpcPort,
      l1RpcUrl: chain.url,
      deployment: deploymentFile,
      ...nodeSettings,
    };
    const configFile = path.join(dir, "config.json");
    await writeFile(configFile, JSON.stringify(nodeConfig, null, 2));
    operators.push({
      index: i,
      operator: wallet.account.address,
      signer: identity.signer,
      peerId: identity.peerId,
      dir,
      configFile,
      config: nodeConfig,
      rpcUrl: `http://127.0.0.1:${rpcPort}/`,
    });
  }
  return { deployment, deploymentFile, operators };
}

/** A node child process; its output goes to `<dir>/node.log`. */
export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/** Starts `seq start --config <configFile>` with this process's Node (and tsx). */
export function spawnNode(op: OperatorNode, env: NodeJS.ProcessEnv = {}): NodeProcess {
  const logFile = path.join(op.dir, "node.log");
  const out = createWriteStream(logFile, { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "start", "--config", op.configFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  if (child.pid === undefined) throw new Error(`could not start the node of ${op.operator}`);
  return { child, pid: child.pid, logFile, exited };
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopNode(p: NodeProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
}
