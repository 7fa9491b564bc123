/**
 * Node configuration: a JSON file, overridden by `SEQ_*` environment variables, validated
 * up front so a bad setting stops the node with a message that names it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseGwei } from "viem";
import { encodedBatchSize, encodedTxLength, type BatchEncoding } from "../batching/index.js";
import type { FeeCaps } from "../l1/fees.js";
import { PASSPHRASE_ENV } from "../keys/index.js";
import { GETH_MAX_TX_BYTES, MAX_ACTIVE_CAP, submitBatchTxBytes } from "../l1/inbox-writer.js";
import { BLOB_PAYLOAD_BYTES, MAX_BLOBS_PER_TX, blobCapacity } from "../l1/blobs.js";
import { DEFAULT_LIMITS } from "../rpc/index.js";
import { SequencerError } from "./errors.js";

export interface NodeConfig {
  /** Directory for the level database. */
  readonly dataDir: string;
  /** File with the secp256k1 signing key, the key registered as the operator's signer: a v3 keystore (`seq keys`) or 0x-hex. */
  readonly signerKeyFile: string;
  /** File with the libp2p Ed25519 identity (see `seq keys`). */
  readonly p2pKeyFile: string;
  /** libp2p listen multiaddrs, e.g. `/ip4/127.0.0.1/tcp/9000`. */
  readonly p2pListen: readonly string[];
  readonly rpcHost: string;
  readonly rpcPort: number;
  /** Open RPC connections in all (HTTP and WebSocket)... */
  readonly rpcMaxConnections: number;
  /** ...and from one client (an IPv4 address, an IPv6 /64): a client cannot take them all. */
  readonly rpcMaxConnectionsPerClient: number;
  /** An RPC connection without a request in progress is closed after this long. */
  readonly rpcIdleTimeoutMs: number;
  /** Open WebSocket connections: what WebSocket clients can make the node buffer grows with it (README, Memory). */
  readonly rpcMaxWsConnections: number;
  /** L1 JSON-RPC endpoint. */
  readonly l1RpcUrl: string;
  /** Path of the deployment record (`deployments/<network>.json`). */
  readonly deployment: string;
  /** The rollup's chain id: submitted transactions must carry it. */
  readonly rollupChainId: number;
  /** Largest transaction intake accepts, in bytes: a batch of it alone must fit batchMaxBytes and batchMaxL1TxBytes. */
  readonly maxTxBytes: number;
  /**
   * Admission budgets (node/intake/admission.ts), each a rate and a burst; a rate of 0 turns that
   * budget off. Per sender (recovered address), charged by the leader before it proposes...
   */
  readonly senderTxsPerSecond: number;
  readonly senderTxBurst: number;
  readonly senderBytesPerSecond: number;
  readonly senderByteBurst: number;
  /** ...and per client (an IPv4 address, an IPv6 /64), charged by the node the client submits to. */
  readonly clientTxsPerSecond: number;
  readonly clientTxBurst: number;
  readonly clientBytesPerSecond: number;
  readonly clientByteBurst: number;
  /** Worker threads that decode submissions and recover senders (0: on the event loop). */
  readonly intakeWorkers: number;
  readonly submitTimeoutMs: number;
  /** A transaction this node forwarded may stay uncommitted this long while the leader commits later ones, then it counts against the leader (docs/censorship.md). */
  readonly censorshipTimeoutMs: number;
  /** How long after a forward the leader's intake may take: only entries appended past it show the leader skipped the transaction. */
  readonly censorshipGraceMs: number;
  readonly tickMs: number;
  /** Base election timeout: the first fallback in schedule order campaigns this long after it last heard the leader... */
  readonly electionTicks: number;
  /** ...plus a random part below this many ticks (ranks are distinct, so a narrow one suffices). */
  readonly electionJitterTicks: number;
  readonly heartbeatTicks: number;
  readonly maxTxsPerEntry: number;
  /** Applied entries kept in the Raft log beyond the latest snapshot before compacting. */
  readonly compactEvery: number;
  /** ...or beyond this many applied transactions, whichever comes first. */
  readonly compactEveryTxs: number;
  readonly logLevel: string;
  /** L1 blocks a block must be buried under before the node acts on it (reorg safety). */
  readonly l1Confirmations: number;
  /** How often the node polls L1 for new blocks. */
  readonly l1PollMs: number;
  /** How long an epoch's scheduled primary (then each fallback) gets to take over before the next in schedule order is tried. */
  readonly leaderTakeoverMs: number;
  /** A batch is cut once it reaches this many transactions... */
  readonly batchMaxTxs: number;
  /** ...or this many payload bytes... */
  readonly batchMaxBytes: number;
  /** Most bytes of one L1 batch transaction, header, data and signatures included (geth's txpool takes at most 128 KiB). */
  readonly batchMaxL1TxBytes: number;
  /** Most cuts on their way to L1 at once (sent while the ones before wait in the mempool). */
  readonly batchMaxInFlight: number;
  /**
   * Where batch data travels: "calldata" (format v1/v2 in submitBatch's input), "blobs" (EIP-4844
   * blobs referenced by format v3), or "" to choose at start: blobs if the L1 takes a blob
   * transaction (its estimate succeeds), else calldata.
   */
  readonly batchDataMode: "" | "calldata" | "blobs";
  /**
   * Compress batch data (format v2, where it is smaller): "on", "off", or "" for on in blob mode
   * and off in calldata mode, where v1 keeps the inbox's on-chain root check (docs/contracts.md).
   */
  readonly batchCompression: "" | "on" | "off";
  /** Most blobs one batch transaction carries in blob mode (1 to 6, EIP-7594's per-transaction limit). */
  readonly batchMaxBlobs: number;
  /** ...or when its oldest transaction has waited this long. */
  readonly batchIntervalMs: number;
  /** A leader whose oldest unposted batch is older than this hands leadership on. */
  readonly batchDeadlineMs: number;
  /** How often the leader has the newly applied positions co-signed by a stake majority (quorum certificates). */
  readonly quorumCertificateIntervalMs: number;
  /** How often the leader closes the open encrypted slot (docs/threshold-encryption.md). */
  readonly encryptedSlotMs: number;
  /** How long after a slot's close the leader waits for its key before it marks the slot undecryptable. */
  readonly encryptedDeadlineMs: number;
  /** Committed but unposted transactions beyond which new submissions are refused (L1 down for long). */
  readonly maxUnpostedTxs: number;
  /** ...or encoded bytes of them. */
  readonly maxUnpostedBytes: number;
  /** File with the key that pays for L1 batch transactions; the signer key when empty. */
  readonly batcherKeyFile: string;
  /**
   * File with the key that pays for the watchtower's slashing transactions; the signer key when
   * empty. It must not be the batcher's account: the two would take each other's nonces.
   */
  readonly watchtowerKeyFile: string;
  /** The most the batcher offers per gas (EIP-1559 maxFeePerGas), in gwei: above it, posting waits for the base fee to fall. */
  readonly l1MaxFeePerGasGwei: number;
  /** The most tip (maxPriorityFeePerGas), in gwei. */
  readonly l1MaxPriorityFeePerGasGwei: number;
  /** The most per blob gas (EIP-4844 maxFeePerBlobGas), in gwei. */
  readonly l1MaxFeePerBlobGasGwei: number;
  /** A batch transaction still in the mempool this many L1 blocks after it was sent is replaced with a fee bump (same nonce). */
  readonly l1ReplaceAfterBlocks: number;
  /** File whose first line is the passphrase of the keystores above; "" reads SEQ_KEYSTORE_PASSWORD instead. */
  readonly keystorePasswordFile: string;
  /** Check every accepted L1 batch against this node's log and certificates, and slash offenders. */
  readonly watchtower: boolean;
}

export const DEFAULTS = {
  p2pListen: ["/ip4/127.0.0.1/tcp/0"],
  rpcHost: "127.0.0.1",
  rpcPort: 8645,
  rpcMaxConnections: DEFAULT_LIMITS.maxConnections,
  rpcMaxConnectionsPerClient: DEFAULT_LIMITS.maxConnectionsPerClient,
  rpcIdleTimeoutMs: DEFAULT_LIMITS.idleTimeoutMs,
  rpcMaxWsConnections: DEFAULT_LIMITS.maxWsConnections,
  rollupChainId: 901,
  // Far below a batch (and room for EIP-3860's largest initcode, 48 KiB, in a contract creation).
  maxTxBytes: 64 * 1024,
  // The benchmark spreads thousands of tx/s over 1,000 senders (~2-10 tx/s and a few kB/s each):
  // a sender gets 50 tx/s and 32 KiB/s, a 1 MiB burst taking sixteen of the largest transactions.
  senderTxsPerSecond: 50,
  senderTxBurst: 100,
  senderBytesPerSecond: 32 * 1024,
  senderByteBurst: 1024 * 1024,
  // One benchmark process is one client at up to ~2,300 tx/s (~450 kB/s) on 2 cores: a client
  // gets several times that before it is refused.
  clientTxsPerSecond: 10_000,
  clientTxBurst: 20_000,
  clientBytesPerSecond: 4 * 1024 * 1024,
  clientByteBurst: 16 * 1024 * 1024,
  intakeWorkers: 1,
  submitTimeoutMs: 10_000,
  // Commits take ~10-100 ms: 5 s is 50+ commit latencies, 1 s of grace covers a deep intake queue.
  censorshipTimeoutMs: 5_000,
  censorshipGraceMs: 1_000,
  tickMs: 50,
  // Generous (500 ms base): a crashed leader is noticed by its closed connections at once
  // (RaftCore.leaderConnectionLost); the timer only covers silent failures (a paused or partitioned
  // leader), where a short one would mostly buy spurious elections on a busy machine.
  electionTicks: 10,
  electionJitterTicks: 2,
  heartbeatTicks: 1,
  maxTxsPerEntry: 4096,
  compactEvery: 20_000,
  compactEveryTxs: 50_000,
  logLevel: "info",
  l1Confirmations: 2,
  l1PollMs: 1_000,
  leaderTakeoverMs: 3_000,
  batchMaxTxs: 1_000,
  batchMaxBytes: 120_000,
  batchMaxL1TxBytes: GETH_MAX_TX_BYTES,
  batchMaxInFlight: 4,
  batchDataMode: "",
  batchCompression: "",
  batchMaxBlobs: MAX_BLOBS_PER_TX,
  batchIntervalMs: 2_000,
  quorumCertificateIntervalMs: 250,
  encryptedSlotMs: 150,
  encryptedDeadlineMs: 10_000,
  batchDeadlineMs: 60_000,
  maxUnpostedTxs: 1_000_000,
  maxUnpostedBytes: 64 * 1024 * 1024,
  batcherKeyFile: "",
  watchtowerKeyFile: "",
  // Far above what Ethereum mainnet asks on a normal day, low enough that a fee spike does not
  // drain the batcher: the operator sets its own.
  l1MaxFeePerGasGwei: 200,
  l1MaxPriorityFeePerGasGwei: 10,
  l1MaxFeePerBlobGasGwei: 100,
  // Three 12-second blocks: about the wait before op-batcher's txmgr resubmits (48 s).
  l1ReplaceAfterBlocks: 3,
  keystorePasswordFile: "",
  watchtower: true,
} as const;

/** A setting is missing or invalid. */
export class ConfigError extends SequencerError {
  override readonly name = "ConfigError";
}

const ENV: Readonly<Record<keyof NodeConfig, string>> = {
  dataDir: "SEQ_DATA_DIR",
  signerKeyFile: "SEQ_SIGNER_KEY_FILE",
  p2pKeyFile: "SEQ_P2P_KEY_FILE",
  p2pListen: "SEQ_P2P_LISTEN",
  rpcHost: "SEQ_RPC_HOST",
  rpcPort: "SEQ_RPC_PORT",
  rpcMaxConnections: "SEQ_RPC_MAX_CONNECTIONS",
  rpcMaxConnectionsPerClient: "SEQ_RPC_MAX_CONNECTIONS_PER_CLIENT",
  rpcIdleTimeoutMs: "SEQ_RPC_IDLE_TIMEOUT_MS",
  rpcMaxWsConnections: "SEQ_RPC_MAX_WS_CONNECTIONS",
  l1RpcUrl: "SEQ_L1_RPC_URL",
  deployment: "SEQ_DEPLOYMENT",
  rollupChainId: "SEQ_ROLLUP_CHAIN_ID",
  maxTxBytes: "SEQ_MAX_TX_BYTES",
  senderTxsPerSecond: "SEQ_SENDER_TXS_PER_SECOND",
  senderTxBurst: "SEQ_SENDER_TX_BURST",
  senderBytesPerSecond: "SEQ_SENDER_BYTES_PER_SECOND",
  senderByteBurst: "SEQ_SENDER_BYTE_BURST",
  clientTxsPerSecond: "SEQ_CLIENT_TXS_PER_SECOND",
  clientTxBurst: "SEQ_CLIENT_TX_BURST",
  clientBytesPerSecond: "SEQ_CLIENT_BYTES_PER_SECOND",
  clientByteBurst: "SEQ_CLIENT_BYTE_BURST",
  intakeWorkers: "SEQ_INTAKE_WORKERS",
  submitTimeoutMs: "SEQ_SUBMIT_TIMEOUT_MS",
  censorshipTimeoutMs: "SEQ_CENSORSHIP_TIMEOUT_MS",
  censorshipGraceMs: "SEQ_CENSORSHIP_GRACE_MS",
  tickMs: "SEQ_TICK_MS",
  electionTicks: "SEQ_ELECTION_TICKS",
  electionJitterTicks: "SEQ_ELECTION_JITTER_TICKS",
  heartbeatTicks: "SEQ_HEARTBEAT_TICKS",
  maxTxsPerEntry: "SEQ_MAX_TXS_PER_ENTRY",
  compactEvery: "SEQ_COMPACT_EVERY",
  compactEveryTxs: "SEQ_COMPACT_EVERY_TXS",
  logLevel: "LOG_LEVEL",
  l1Confirmations: "SEQ_L1_CONFIRMATIONS",
  l1PollMs: "SEQ_L1_POLL_MS",
  leaderTakeoverMs: "SEQ_LEADER_TAKEOVER_MS",
  batchMaxTxs: "SEQ_BATCH_MAX_TXS",
  batchMaxBytes: "SEQ_BATCH_MAX_BYTES",
  batchMaxL1TxBytes: "SEQ_BATCH_MAX_L1_TX_BYTES",
  batchMaxInFlight: "SEQ_BATCH_MAX_IN_FLIGHT",
  batchDataMode: "SEQ_BATCH_DATA_MODE",
  batchCompression: "SEQ_BATCH_COMPRESSION",
  batchMaxBlobs: "SEQ_BATCH_MAX_BLOBS",
  batchIntervalMs: "SEQ_BATCH_INTERVAL_MS",
  quorumCertificateIntervalMs: "SEQ_QUORUM_CERTIFICATE_INTERVAL_MS",
  encryptedSlotMs: "SEQ_ENCRYPTED_SLOT_MS",
  encryptedDeadlineMs: "SEQ_ENCRYPTED_DEADLINE_MS",
  batchDeadlineMs: "SEQ_BATCH_DEADLINE_MS",
  maxUnpostedTxs: "SEQ_MAX_UNPOSTED_TXS",
  maxUnpostedBytes: "SEQ_MAX_UNPOSTED_BYTES",
  batcherKeyFile: "SEQ_BATCHER_KEY_FILE",
  watchtowerKeyFile: "SEQ_WATCHTOWER_KEY_FILE",
  l1MaxFeePerGasGwei: "SEQ_L1_MAX_FEE_PER_GAS_GWEI",
  l1MaxPriorityFeePerGasGwei: "SEQ_L1_MAX_PRIORITY_FEE_PER_GAS_GWEI",
  l1MaxFeePerBlobGasGwei: "SEQ_L1_MAX_FEE_PER_BLOB_GAS_GWEI",
  l1ReplaceAfterBlocks: "SEQ_L1_REPLACE_AFTER_BLOCKS",
  keystorePasswordFile: "SEQ_KEYSTORE_PASSWORD_FILE",
  watchtower: "SEQ_WATCHTOWER",
};

const NUMERIC = new Set<keyof NodeConfig>([
  "rpcPort",
  "rpcMaxConnections",
  "rpcMaxConnectionsPerClient",
  "rpcIdleTimeoutMs",
  "rpcMaxWsConnections",
  "rollupChainId",
  "maxTxBytes",
  "senderTxsPerSecond",
  "senderTxBurst",
  "senderBytesPerSecond",
  "senderByteBurst",
  "clientTxsPerSecond",
  "clientTxBurst",
  "clientBytesPerSecond",
  "clientByteBurst",
  "intakeWorkers",
  "submitTimeoutMs",
  "censorshipTimeoutMs",
  "censorshipGraceMs",
  "tickMs",
  "electionTicks",
  "electionJitterTicks",
  "heartbeatTicks",
  "maxTxsPerEntry",
  "compactEvery",
  "compactEveryTxs",
  "l1Confirmations",
  "l1PollMs",
  "leaderTakeoverMs",
  "batchMaxTxs",
  "batchMaxBytes",
  "batchMaxL1TxBytes",
  "batchMaxInFlight",
  "batchMaxBlobs",
  "batchIntervalMs",
  "batchDeadlineMs",
  "quorumCertificateIntervalMs",
  "encryptedSlotMs",
  "encryptedDeadlineMs",
  "maxUnpostedTxs",
  "maxUnpostedBytes",
  "l1ReplaceAfterBlocks",
]);
/** Fee caps in gwei: positive decimals (a blob fee cap below 1 gwei is common), to the wei. */
const GWEI = new Set<keyof NodeConfig>(["l1MaxFeePerGasGwei", "l1MaxPriorityFeePerGasGwei", "l1MaxFeePerBlobGasGwei"]);
const PATHS = new Set<keyof NodeConfig>(["dataDir", "signerKeyFile", "p2pKeyFile", "deployment", "batcherKeyFile", "watchtowerKeyFile", "keystorePasswordFile"]);
const BOOLEANS = new Set<keyof NodeConfig>(["watchtower"]);

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
  for (const [key, value] of Object.entries(fromFile)) {
    raw[key] = PATHS.has(key as keyof NodeConfig) && typeof value === "string" && value !== "" ? path.resolve(base, value) : value;
  }
  for (const [key, name] of Object.entries(ENV) as [keyof NodeConfig, string][]) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    if (key === "p2pListen") raw[key] = value.split(",").map((s) => s.trim());
    else if (NUMERIC.has(key) || GWEI.has(key)) raw[key] = Number(value);
    else if (BOOLEANS.has(key)) raw[key] = value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : value;
    else raw[key] = PATHS.has(key) ? path.resolve(value) : value;
  }
  return validate(raw);
}

/** Most cuts in flight a node may be configured with (a snapshot carries them all). */
const MAX_IN_FLIGHT = 64;

/**
 * S4: every transaction intake admits must fit a batch of its own, and that batch's L1
 * transaction with a signature from every seat a set can have must fit batchMaxL1TxBytes (an L1
 * transaction over the L1's limit is never mined, and posting would stall behind it forever).
 */
function checkTxFitsBatch(maxTxBytes: number, batchMaxBytes: number, batchMaxL1TxBytes: number): void {
  const data = encodedBatchSize(1, encodedTxLength(maxTxBytes));
  if (data > batchMaxBytes) throw new ConfigError(`setting "maxTxBytes" (${maxTxBytes}) must leave a transaction room in a batch of batchMaxBytes (${batchMaxBytes}): its batch takes ${data} bytes`);
  const l1 = submitBatchTxBytes(data, MAX_ACTIVE_CAP);
  if (l1 > batchMaxL1TxBytes) {
    throw new ConfigError(`setting "maxTxBytes" (${maxTxBytes}) is too large for batchMaxL1TxBytes (${batchMaxL1TxBytes}): a batch of it alone, signed by ${MAX_ACTIVE_CAP} members, makes an L1 transaction of up to ${l1} bytes`);
  }
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
  for (const key of ["batcherKeyFile", "watchtowerKeyFile"] as const) {
    if (typeof raw[key] !== "string") throw new ConfigError(`setting "${key}" (env ${ENV[key]}) must be a path string ("" for the signer key)`);
  }
  if (raw.watchtower === true && raw.batcherKeyFile === "" && raw.watchtowerKeyFile === "") {
    throw new ConfigError(
      `the watchtower and the batcher would both pay from the signer key, and take each other's nonces: set "watchtowerKeyFile" (env ${ENV.watchtowerKeyFile}) to another funded key (or "batcherKeyFile"), or "watchtower": false`,
    );
  }
  for (const key of GWEI) {
    const v = raw[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 1e-9 || v > 1e9) throw new ConfigError(`setting "${key}" (env ${ENV[key]}) must be a number of gwei from 0.000000001 to 1000000000, got ${typeof v === "number" ? v : JSON.stringify(v)}`);
  }
  if ((raw.l1MaxPriorityFeePerGasGwei as number) > (raw.l1MaxFeePerGasGwei as number)) {
    throw new ConfigError(`setting "l1MaxPriorityFeePerGasGwei" (${raw.l1MaxPriorityFeePerGasGwei}) must not exceed "l1MaxFeePerGasGwei" (${raw.l1MaxFeePerGasGwei}): the tip is part of the fee`);
  }
  if (typeof raw.keystorePasswordFile !== "string") throw new ConfigError(`setting "keystorePasswordFile" (env ${ENV.keystorePasswordFile}) must be a path string ("" for ${PASSPHRASE_ENV})`);
  for (const key of BOOLEANS) {
    if (typeof raw[key] !== "boolean") throw new ConfigError(`setting "${key}" (env ${ENV[key]}) must be true or false, got ${JSON.stringify(raw[key])}`);
  }
  for (const key of ["rpcMaxConnections", "rpcMaxConnectionsPerClient", "rpcIdleTimeoutMs", "rpcMaxWsConnections", "tickMs", "electionTicks", "electionJitterTicks", "heartbeatTicks", "maxTxsPerEntry", "maxTxBytes", "submitTimeoutMs", "censorshipTimeoutMs", "compactEvery", "compactEveryTxs", "l1PollMs", "leaderTakeoverMs", "batchMaxTxs", "batchMaxBytes", "batchMaxL1TxBytes", "batchMaxInFlight", "batchIntervalMs", "batchDeadlineMs", "quorumCertificateIntervalMs", "encryptedSlotMs", "encryptedDeadlineMs", "maxUnpostedTxs", "maxUnpostedBytes", "l1ReplaceAfterBlocks"] as const) {
    if ((raw[key] as number) === 0) throw new ConfigError(`setting "${key}" must be positive`);
  }
  for (const [rate, burst] of [["senderTxsPerSecond", "senderTxBurst"], ["senderBytesPerSecond", "senderByteBurst"], ["clientTxsPerSecond", "clientTxBurst"], ["clientBytesPerSecond", "clientByteBurst"]] as const) {
    if ((raw[rate] as number) > 0 && (raw[burst] as number) === 0) throw new ConfigError(`setting "${burst}" must be positive while "${rate}" is (0 turns the budget off)`);
  }
  if (!["", "calldata", "blobs"].includes(raw.batchDataMode as string)) {
    throw new ConfigError(`setting "batchDataMode" (env ${ENV.batchDataMode}) must be "calldata", "blobs" or "" (blobs where the L1 takes them), got ${JSON.stringify(raw.batchDataMode)}`);
  }
  if (!["", "on", "off"].includes(raw.batchCompression as string)) {
    throw new ConfigError(`setting "batchCompression" (env ${ENV.batchCompression}) must be "on", "off" or "" (on in blob mode only), got ${JSON.stringify(raw.batchCompression)}`);
  }
  if ((raw.batchMaxBlobs as number) < 1 || (raw.batchMaxBlobs as number) > MAX_BLOBS_PER_TX) {
    throw new ConfigError(`setting "batchMaxBlobs" must be from 1 to ${MAX_BLOBS_PER_TX} (the most blobs one transaction may carry), got ${raw.batchMaxBlobs}`);
  }
  if (raw.batchDataMode !== "calldata" && encodedBatchSize(1, encodedTxLength(raw.maxTxBytes as number)) > blobCapacity(raw.batchMaxBlobs as number)) {
    throw new ConfigError(`setting "maxTxBytes" (${raw.maxTxBytes}) is too large for ${raw.batchMaxBlobs} blob(s) of ${BLOB_PAYLOAD_BYTES} bytes in blob mode: raise "batchMaxBlobs" or lower "maxTxBytes"`);
  }
  if ((raw.batchMaxInFlight as number) > MAX_IN_FLIGHT) throw new ConfigError(`setting "batchMaxInFlight" must be at most ${MAX_IN_FLIGHT}, got ${raw.batchMaxInFlight}`);
  checkTxFitsBatch(raw.maxTxBytes as number, raw.batchMaxBytes as number, raw.batchMaxL1TxBytes as number);
  if ((raw.censorshipGraceMs as number) >= (raw.censorshipTimeoutMs as number)) {
    throw new ConfigError(`censorshipGraceMs (${raw.censorshipGraceMs}) must be below censorshipTimeoutMs (${raw.censorshipTimeoutMs})`);
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

/**
 * How the leader encodes batches under `config`, on an L1 that does (`l1AcceptsBlobs`) or does not take blob transactions.
 * @throws ConfigError for blob mode on an L1 that takes no blob transactions
 */
export function batchEncodingOf(config: Pick<NodeConfig, "batchDataMode" | "batchCompression" | "batchMaxBlobs">, l1AcceptsBlobs: boolean): BatchEncoding {
  if (config.batchDataMode === "blobs" && !l1AcceptsBlobs) {
    throw new ConfigError(`setting "batchDataMode" is "blobs", but the L1 refuses a blob transaction (a chain before Cancun, or a node without blob support): use "calldata" or "" there`);
  }
  const blobs = config.batchDataMode === "blobs" || (config.batchDataMode === "" && l1AcceptsBlobs);
  const compress = config.batchCompression === "on" || (config.batchCompression === "" && blobs);
  return blobs ? { compress, maxBlobs: config.batchMaxBlobs } : { compress };
}

/** The batcher's fee caps of `config`, in wei. */
export function feeCapsOf(config: Pick<NodeConfig, "l1MaxFeePerGasGwei" | "l1MaxPriorityFeePerGasGwei" | "l1MaxFeePerBlobGasGwei">): FeeCaps {
  const wei = (gwei: number) => parseGwei(gwei.toFixed(9));
  return { maxFeePerGas: wei(config.l1MaxFeePerGasGwei), maxPriorityFeePerGas: wei(config.l1MaxPriorityFeePerGasGwei), maxFeePerBlobGas: wei(config.l1MaxFeePerBlobGasGwei) };
}
