/**
 * A local sequencer network on this machine: an in-process Hardhat chain served over HTTP on
 * 127.0.0.1, the deployed contracts, staked operators with their key files and node configs,
 * and node child processes. Used by the multi-process tests and the devnet.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { hexToBytes, parseEther, parseUnits, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { savePeerKey } from "../../node/transport/index.js";
import { LIGHT_SCRYPT, writeKeystoreFile } from "../../node/keys/index.js";
import { DEFAULTS, type NodeConfig } from "../../node/sequencer/config.js";
import { loadDeployConfig, type DeployConfig } from "./config.js";
import { deploySystem, mineToNextEpoch, type Deployment, type Registry } from "./deploy.js";
import { generateOperatorIdentity, proveOperatorKeys, registerOperator } from "../../node/l1/operator.js";
import { domain } from "../../node/commitments/typed-data.js";
import { toRecord, writeRecord } from "./record.js";
import { signalGroup, spawnChild } from "./processes.js";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(REPO_ROOT, "node/cli/main.ts");
/**
 * V8 flags every node runs with. Node 24 sizes the young generation from the machine's memory
 * (here ~190 MB of mostly empty heap on a busy leader); 8 MB semi-spaces took a busy leader from
 * ~470 to ~335 MB RSS (followers ~225 MB). Operators pass the same (see the README).
 */
export const NODE_RUNTIME_FLAGS = ["--max-semi-space-size=8"] as const;
/** The CLI compiled by `npm run build:node` (`tsconfig.build.json`): how a production node runs, without a TypeScript loader (~70 MB less RSS per process). */
export const COMPILED_CLI = path.join(REPO_ROOT, "dist/node/cli/main.js");

/**
 * The ports {@link freePort} handed out last in this process (oldest first). The kernel may give a
 * port it just released to the next bind again (here 28 of 5,000 runs of 8 calls in a row held a
 * duplicate), and two nodes of one network configured with the same port means one of them
 * cannot listen. Bounded: the ephemeral range holds some 14,000 ports a bind may get.
 */
const handedOut = new Set<number>();
const HANDED_OUT_REMEMBERED = 1_000;

/** A free TCP port on 127.0.0.1, never one handed out before in this process (released before use: fine for tests on a private machine). */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, "close");
    if (!handedOut.has(port)) {
      handedOut.add(port);
      if (handedOut.size > HANDED_OUT_REMEMBERED) handedOut.delete(handedOut.values().next().value!);
      return port;
    }
  }
}

export interface LocalChain {
  readonly url: string;
  /** A Hardhat connection to the served chain (viem clients, network helpers). */
  readonly connection: NetworkConnection;
  close(): Promise<void>;
}

export type LocalChainOptions = {
  /** Also mine a block every this many ms (blocks still come with every transaction), so epochs advance without traffic. */
  readonly blockIntervalMs?: number;
};

/** Starts an in-process Hardhat chain and serves it over HTTP on 127.0.0.1. */
export async function startLocalChain(port = 0, options: LocalChainOptions = {}): Promise<LocalChain> {
  const mining = options.blockIntervalMs === undefined ? undefined : { auto: true, interval: options.blockIntervalMs };
  const server = await network.createServer({ network: "default", ...(mining ? { override: { mining } } : {}) }, "127.0.0.1", port);
  const { address, port: bound } = await server.listen();
  const url = `http://${address}:${bound}`;
  const connection = await connectToChain(url);
  return {
    url,
    connection,
    close: async () => {
      await connection.close();
      await server.close();
    },
  };
}

/** A Hardhat connection to a chain served elsewhere (hardhat node, Anvil) whose dev accounts are unlocked. */
export async function connectToChain(url: string): Promise<NetworkConnection> {
  return network.create({ network: "localhost", override: { url } });
}

export interface OperatorNode {
  readonly index: number;
  readonly operator: Address;
  readonly signer: Address;
  /** The account the node's watchtower pays for slash proofs from (and is rewarded to). */
  readonly watchtower: Address;
  readonly peerId: string;
  readonly dir: string;
  readonly configFile: string;
  readonly config: NodeConfig;
  readonly rpcUrl: string;
}

export interface StakedNetwork {
  readonly deployment: Deployment;
  readonly deploymentFile: string;
  /** Where each operator's `node-<i>/` directory lives. */
  readonly baseDir: string;
  readonly operators: OperatorNode[];
}

export type DeployAndStakeOptions = {
  /** Overrides of config/default.json (e.g. a short devnet epoch). */
  readonly deploy?: Partial<DeployConfig>;
  /** ETH each operator sends its signer key, which pays for L1 batch posting by default. */
  readonly signerFunds?: bigint;
};

const DEFAULT_SIGNER_FUNDS = parseEther("10");
/** What a slash proof costs many times over. */
const WATCHTOWER_FUNDS = parseEther("1");

/**
 * Deploys the system, then registers and stakes `stakes.length` operators (wallets 1..n) with
 * fresh keys written under `baseDir/node-<i>/`, and writes each node's config file.
 */
export async function deployAndStake(
  chain: Pick<LocalChain, "url" | "connection">,
  baseDir: string,
  stakes: readonly string[],
  nodeSettings: Partial<NodeConfig> = {},
  options: DeployAndStakeOptions = {},
): Promise<StakedNetwork> {
  const { config } = loadDeployConfig("default");
  const deployment = await deploySystem(chain.connection, { ...config, ...options.deploy });
  await mkdir(baseDir, { recursive: true });
  const deploymentFile = writeRecord(toRecord("localhost", deployment), baseDir);
  const net: StakedNetwork = { deployment, deploymentFile, baseDir, operators: [] };
  for (const stake of stakes) await addOperator(chain, net, stake, nodeSettings, options);
  return net;
}

/** An operator could not be added (no funded account left, or a transfer failed). */
export class DevnetError extends Error {
  override readonly name = "DevnetError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Registers and stakes one more operator of `net` through contract calls: the next unused dev
 * wallet (wallet `operators.length + 1`) becomes the operator, with fresh signing and libp2p keys
 * under `baseDir/node-<i>/`, a funded signer and a node config file. Appends it to
 * `net.operators` and returns it; it joins the active set at the next epoch.
 */
export async function addOperator(
  chain: Pick<LocalChain, "url" | "connection">,
  net: StakedNetwork,
  stake: string,
  nodeSettings: Partial<NodeConfig> = {},
  options: Pick<DeployAndStakeOptions, "signerFunds"> = {},
): Promise<OperatorNode> {
  const { viem } = chain.connection;
  const { deployment } = net;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const index = net.operators.length;
  const wallet = wallets[index + 1];
  if (wallet === undefined) throw new DevnetError(`the chain has ${wallets.length} unlocked accounts: none left for operator ${index + 1}`);
  const decimals = await deployment.token.read.decimals();
  const identity = await generateOperatorIdentity();
  const dir = path.join(net.baseDir, `node-${index}`);
  await mkdir(dir, { recursive: true });
  const signerKeyFile = path.join(dir, "signer.key");
  const p2pKeyFile = path.join(dir, "p2p.key");
  // The signer pays for batches (the registry's default batcher); the watchtower has its own account.
  const watchtowerKeyFile = path.join(dir, "watchtower.key");
  const watchtowerKey = generatePrivateKey();
  await writeFile(signerKeyFile, `${identity.signerKey}\n`, { mode: 0o600 });
  await writeFile(watchtowerKeyFile, `${watchtowerKey}\n`, { mode: 0o600 });
  const peerKey = privateKeyFromProtobuf(hexToBytes(identity.libp2pKey));
  await savePeerKey(p2pKeyFile, peerKey);
  const p2pPort = await freePort();
  const rpcPort = await freePort();
  const p2pAddr = `/ip4/127.0.0.1/tcp/${p2pPort}`;
  await registerOperator({
    publicClient,
    wallet,
    registry: deployment.registry.address,
    token: deployment.token.address,
    ...(await proveOperatorKeys(
      { signer: privateKeyToAccount(identity.signerKey), peerKey },
      domain(deployment.chainId, deployment.registry.address),
      wallet.account.address,
    )),
    addrs: [p2pAddr],
    stake: parseUnits(stake, decimals),
    mint: true,
  });
  for (const [what, to, value] of [
    ["signer", identity.signer, options.signerFunds ?? DEFAULT_SIGNER_FUNDS],
    ["watchtower account", privateKeyToAccount(watchtowerKey).address, WATCHTOWER_FUNDS],
  ] as const) {
    const funding = await wallet.sendTransaction({ to, value });
    const receipt = await publicClient.waitForTransactionReceipt({ hash: funding });
    if (receipt.status !== "success") throw new DevnetError(`funding the ${what} ${to} of operator ${wallet.account.address} reverted (tx ${funding})`);
  }
  const nodeConfig: NodeConfig = {
    ...DEFAULTS,
    dataDir: path.join(dir, "data"),
    signerKeyFile,
    watchtowerKeyFile,
    p2pKeyFile,
    p2pListen: [p2pAddr],
    rpcPort,
    l1RpcUrl: chain.url,
    deployment: net.deploymentFile,
    ...nodeSettings,
  };
  const configFile = path.join(dir, "config.json");
  await writeFile(configFile, JSON.stringify(nodeConfig, null, 2));
  const op: OperatorNode = {
    index,
    operator: wallet.account.address,
    signer: identity.signer,
    watchtower: privateKeyToAccount(watchtowerKey).address,
    peerId: identity.peerId,
    dir,
    configFile,
    config: nodeConfig,
    rpcUrl: `http://127.0.0.1:${rpcPort}/`,
  };
  net.operators.push(op);
  return op;
}

/**
 * Replaces the plain-hex signer and watchtower keys of `net.operators[index]` (what
 * {@link addOperator} writes, for speed) with keystores under `passphrase` (geth's light scrypt)
 * and a password file next to them, and points the operator's config at them: its node then
 * starts from encrypted keys.
 */
export async function encryptNodeKeys(net: StakedNetwork, index: number, passphrase: string): Promise<OperatorNode> {
  const op = net.operators[index];
  if (op === undefined) throw new DevnetError(`no operator ${index} (the network has ${net.operators.length})`);
  const keystorePasswordFile = path.join(op.dir, "keystore-password");
  // The watchtower's key too: a node whose keys are all keystores warns about none.
  const encrypt = async (file: string, name: string) => {
    const keystore = path.join(op.dir, name);
    await writeKeystoreFile(keystore, (await readFile(file, "utf8")).trim() as Hex, passphrase, LIGHT_SCRYPT);
    await rm(file);
    return keystore;
  };
  const signerKeyFile = await encrypt(op.config.signerKeyFile, "signer.json");
  const watchtowerKeyFile = op.config.watchtowerKeyFile === "" ? "" : await encrypt(op.config.watchtowerKeyFile, "watchtower.json");
  await writeFile(keystorePasswordFile, `${passphrase}\n`, { mode: 0o600 });
  const config: NodeConfig = { ...op.config, signerKeyFile, watchtowerKeyFile, keystorePasswordFile };
  await writeFile(op.configFile, JSON.stringify(config, null, 2));
  const encrypted: OperatorNode = { ...op, config };
  net.operators[index] = encrypted;
  return encrypted;
}

/** A node child process; its output goes to `<dir>/node.log`. */
export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/**
 * Starts `seq start --config <configFile>` with this process's Node (and tsx for a `.ts` entry),
 * in its own process group, killed with this process whatever way it ends (`processes.ts`).
 * `entry` replaces the CLI with another file taking the same arguments (a test fixture's node,
 * or {@link COMPILED_CLI}).
 */
export function spawnNode(op: OperatorNode, env: NodeJS.ProcessEnv = {}, entry = CLI): NodeProcess {
  const logFile = path.join(op.dir, "node.log");
  const out = createWriteStream(logFile, { flags: "a" });
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = spawnChild(process.execPath, [...NODE_RUNTIME_FLAGS, ...loader, entry, "start", "--config", op.configFile], {
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
  if (!signalGroup(p.child, signal)) return;
  const timer = setTimeout(() => signalGroup(p.child, "SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/**
 * Mines into the next epoch and past the nodes' confirmation depth, so they act on it: nodes
 * read L1 `l1Confirmations` blocks behind the head.
 */
export async function enterNextEpoch(chain: LocalChain, registry: Registry): Promise<bigint> {
  const epoch = await mineToNextEpoch(chain.connection, registry);
  await chain.connection.networkHelpers.mine(DEFAULTS.l1Confirmations);
  return epoch;
}
