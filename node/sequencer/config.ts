/**
 * Node configuration: a JSON file, overridden by `SEQ_*` environment variables, validated
 * up front so a bad setting stops the node with a message that names it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

export interface NodeConfig {
  /** Directory for the level database. */
  readonly dataDir: string;
  /** File with the secp256k1 signing key (0x-hex), the key registered as the operator's signer. */
  readonly signerKeyFile: string;
  /** File with the libp2p Ed25519 identity (see `seq keys`). */
  readonly p2pKeyFile: string;
  /** libp2p listen multiaddrs, e.g. `/ip4/127.0.0.1/tcp/9000`. */
  readonly p2pListen: readonly string[];
  readonly rpcHost: string;
  readonly rpcPort: number;
  /** L1 JSON-RPC endpoint. */
  readonly l1RpcUrl: string;
  /** Path of the deployment record (`deployments/<network>.json`). */
  readonly deployment: string;
  /** The rollup's chain id: submitted transactions must carry it. */
  readonly rollupChainId: number;
  readonly maxTxBytes: number;
  readonly submitTimeoutMs: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxTxsPerEntry: number;
  /** Applied entries kept in the Raft log beyond the latest snapshot before compacting. */
  readonly compactEvery: number;
  readonly logLevel: string;
}

export const DEFAULTS = {
  p2pListen: ["/ip4/127.0.0.1/tcp/0"],
  rpcHost: "127.0.0.1",
  rpcPort: 8645,
  rollupChainId: 901,
  maxTxBytes: 128 * 1024,
  submitTimeoutMs: 10_000,
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 2,
  maxTxsPerEntry: 4096,
  compactEvery: 20_000,
  logLevel: "info",
} as const;

/** A setting is missing or invalid. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const ENV: Readonly<Record<keyof NodeConfig, string>> = {
  dataDir: "SEQ_DATA_DIR",
  signerKeyFile: "SEQ_SIGNER_KEY_FILE",
  p2pKeyFile: "SEQ_P2P_KEY_FILE",
  p2pListen: "SEQ_P2P_LISTEN",
  rpcHost: "SEQ_RPC_HOST",
  rpcPort: "SEQ_RPC_PORT",
  l1RpcUrl: "SEQ_L1_RPC_URL",
  deployment: "SEQ_DEPLOYMENT",
  rollupChainId: "SEQ_ROLLUP_CHAIN_ID",
  maxTxBytes: "SEQ_MAX_TX_BYTES",
  submitTimeoutMs: "SEQ_SUBMIT_TIMEOUT_MS",
  tickMs: "SEQ_TICK_MS",
  electionTicks: "SEQ_ELECTION_TICKS",
  heartbeatTicks: "SEQ_HEARTBEAT_TICKS",
  maxTxsPerEntry: "SEQ_MAX_TXS_PER_ENTRY",
  compactEvery: "SEQ_COMPACT_EVERY",
  logLevel: "LOG_LEVEL",
};

const NUMERIC = new Set<keyof NodeConfig>([
  "rpcPort",
  "rollupChainId",
  "maxTxBytes",
  "submitTimeoutMs",
  "tickMs",
  "electionTicks",
  "heartbeatTicks",
  "maxTxsPerEntry",
  "compactEvery",
]);
const PATHS = new Set<keyof NodeConfig>(["dataDir", "signerKeyFile", "p2pKeyFile", "deployment"]);

/**
 * Builds the configuration from `file` (optional) and `env`. Relative paths in the file are
 * resolved against the file's directory; in the environment, against the working directory.
 */
export async function loadNodeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<NodeConfig> {
  let fromFile: Record<string, unknown> = {};
  const base = file === undefined ? process.cwd() : path.dirname(path.resolve(file));
  if (file !== undefined) {
    try {
      fromFile = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigError(`cannot read the config file ${file}: ${(cause as Error).message}`, { cause });
    }
    if (fromFile === null || typeof fromFile !== "object" || Array.isArray(fromFile)) throw new ConfigError(`${file} must hold a JSON object`);
    for (const key of Object.keys(fromFile)) {
      if (!(key in ENV)) throw new ConfigError(`${file}: unknown setting "${key}" (known: ${Object.keys(ENV).join(", ")})`);
    }
  }
  const raw: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(fromFile)) raw[key] = PATHS.has(key as keyof NodeConfig) && typeof value === "string" ? path.resolve(base, value) : value;
  for (const [key, name] of Object.entries(ENV) as [keyof NodeConfig, string][]) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    if (key === "p2pListen") raw[key] = value.split(",").map((s) => s.trim());
    else if (NUMERIC.has(key)) raw[key] = Number(value);
    else raw[key] = PATHS.has(key) ? path.resolve(value) : value;
  }
  return validate(raw);
}

function validate(raw: Record<string, unknown>): NodeConfig {
  for (const key of ["dataDir", "signerKeyFile", "p2pKeyFile", "l1RpcUrl", "deployment", "rpcHost", "logLevel"] as const) {
    if (typeof raw[key] !== "string" || raw[key] === "") throw new ConfigError(`setting "${key}" (env ${ENV[key]}) is required and must be a string`);
  }
  for (const key of NUMERIC) {
    const v = raw[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new ConfigError(`setting "${key}" (env ${ENV[key]}) must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  if ((raw.rpcPort as number) > 65535) throw new ConfigError(`setting "rpcPort" must be a TCP port, got ${raw.rpcPort}`);
  for (const key of ["tickMs", "electionTicks", "heartbeatTicks", "maxTxsPerEntry", "maxTxBytes", "submitTimeoutMs", "compactEvery"] as const) {
    if ((raw[key] as number) === 0) throw new ConfigError(`setting "${key}" must be positive`);
  }
  if ((raw.heartbeatTicks as number) >= (raw.electionTicks as number)) {
    throw new ConfigError(`heartbeatTicks (${raw.heartbeatTicks}) must be below electionTicks (${raw.electionTicks})`);
  }
  const listen = raw.p2pListen;
  if (!Array.isArray(listen) || listen.length === 0 || !listen.every((a) => typeof a === "string" && a.startsWith("/"))) {
    throw new ConfigError(`setting "p2pListen" must be a non-empty list of multiaddrs`);
  }
  return raw as unknown as NodeConfig;
}
