/**
 * `seq`: the operator's command line.
 *
 *   seq keys --out DIR [--password-file F]   new signer (v3 keystore) + libp2p keys (0600, never overwritten)
 *   seq register --keys DIR --stake N ...    join the sequencer set: approve + register through a contract call
 *   seq set-batcher --config FILE | --batcher-key FILE | --reset ...
 *                                            name the account that posts the operator's batches
 *   seq start --config FILE                  run a node (SEQ_* env vars override the file)
 *   seq status --rpc URL [--rpc URL ...]     status of one node or a cluster
 *   seq send --rpc URL [--chain-id N]        send a signed test transaction, print and verify its commitment
 *   seq verify --commitment FILE|- --l1 URL --registry ADDR   verify a commitment against L1
 *   seq watch --config FILE                  run the slashing watchtower standalone for a node
 *   seq slash --commitment FILE|- --l1-rpc URL --deployment FILE [--key FILE]
 *                                            check a commitment against its L1 batch; slash if broken
 *
 * Every command that reads a key file takes --password-file FILE (or SEQ_KEYSTORE_PASSWORD) for keystores.
 *   seq slash --claim --l1-rpc URL --deployment FILE --key FILE
 *                                            collect the key's reporter rewards whose claim window closed
 */
import { nodeRpc } from "../rpc/client.js";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { createPublicClient, erc20Abi, http, isAddress, isAddressEqual, parseGwei, parseUnits, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { generatePeerKey, loadPeerKey, peerIdOf, savePeerKey } from "../transport/index.js";
import { loadDeploymentRecord } from "../l1/deployment.js";
import { operatorClients, proveOperatorKeys, registerOperator, setOperatorBatcher } from "../l1/operator.js";
import { sequencerRegistryAbi } from "../l1/generated/abi.js";
import { domain } from "../commitments/typed-data.js";
import {
  commitmentOfSignature,
  decodeOrderCommitmentProof,
  decodeQuorumCommitment,
  verifyOrderCommitment,
  verifyOrderCommitmentOnL1,
  type OrderCommitmentProof,
} from "../commitments/index.js";
import { loadNodeConfig } from "../sequencer/config.js";
import { SequencerNode } from "../sequencer/node.js";
import { LIGHT_SCRYPT, PASSPHRASE_ENV, STANDARD_SCRYPT, loadSigner, readPassphrase, writeKeystoreFile, type LoadSignerOptions } from "../keys/index.js";
import { componentLogger, createLogger } from "../ops/logger.js";
import { Watchtower, slashReportView } from "../watchtower/watchtower.js";
import { checkOrderCommitment, type CommitmentCheck } from "../watchtower/commitment-check.js";
import { l1ClientsFor, openNodeEvidence } from "./evidence-source.js";
import { UsageError } from "./usage.js";
import { SlashSubmitter } from "../watchtower/slashing.js";

const HELP = `seq: run and inspect a staked sequencer node

Commands:
  keys    --out DIR [--password-file FILE] [--light-kdf]
                                         generate signer.key (secp256k1, a Web3 Secret Storage v3 keystore:
                                         scrypt, aes-128-ctr, as geth writes them) and p2p.key (libp2p
                                         Ed25519), mode 0600; the passphrase is the first line of FILE, else
                                         env SEQ_KEYSTORE_PASSWORD; --light-kdf: geth's light scrypt
                                         (n=4096, p=6: fast, weak) instead of the standard n=262144
  register --keys DIR --stake TOKENS --addr MULTIADDR [--addr ...] --l1 URL --deployment FILE
           [--operator-key 0x.. | env OPERATOR_KEY] [--mint] [--batcher-key FILE] [--password-file FILE]
                                         join the sequencer set: approve the stake and call register()
                                         with the signer and peer id of the keys in DIR, each key
                                         signing that it belongs to the operator account; with
                                         --batcher-key, then make that key's account the batcher
                                         (the only account the inbox takes this operator's batches
                                         from; default: the signer)
  set-batcher (--config FILE | --batcher-key FILE --l1 URL --deployment FILE | --reset --l1 URL --deployment FILE)
           [--operator-key 0x.. | env OPERATOR_KEY] [--password-file FILE]
                                         name the operator's batcher on L1: the account of the node
                                         config's batcherKeyFile (its signer when that is empty), of
                                         --batcher-key (which signs its agreement), or with --reset
                                         the signer again
  start   --config FILE [--password-file FILE]
                                         start a node; SEQ_* environment variables override the file
  status  --rpc URL [--rpc URL ...]      show role, term, leader and positions of each node
  send    --rpc URL [--chain-id N] [--key 0x..] [--l1 URL]
                                         send a signed test transaction and verify its order commitment
                                         (against the registry on L1 when --l1 is given)
  verify  --commitment FILE|- [--l1 URL] [--registry ADDR] [--chain-id N]
                                         verify an order commitment offline, or against L1 with --l1
  watch   --config FILE [--rpc URL] [--key FILE] [--state FILE] [--once] [--password-file FILE]
                                         run the slashing watchtower for the node of FILE: check every
                                         accepted L1 batch against the node's log and certificates (its
                                         store when the node is stopped, else its RPC) and slash offenders;
                                         pays gas with --key (default: the batcher, else the signer key);
                                         cursor in --state (default DATA_DIR/watchtower-standalone.json)
  slash   --commitment FILE|- --l1-rpc URL --deployment FILE [--key FILE] [--password-file FILE]
                                         check an order or quorum commitment against the L1 batch
                                         covering its position; if the batch broke it, slash each of its
                                         signers that also signed the batch (with --key,
                                         which pays gas and earns the reporter's share: the proof is
                                         committed, then revealed a block later; the share is held for
                                         the claim window, in which an earlier reporter may take it over)
  slash   --claim --l1-rpc URL --deployment FILE --key FILE
                                         pay out the key's reporter rewards whose claim window has closed
Key files (signer, batcher, --key) are keystores, or plain 0x-hex keys (accepted with a warning);
a keystore's passphrase comes from --password-file FILE, else env SEQ_KEYSTORE_PASSWORD.
Run 'seq <command> --help' for the options of one command.`;

/** How the commands open key files: the passphrase from --password-file or the environment, warnings on stderr. */
function keyOptions(passwordFile: string | undefined): LoadSignerOptions {
  return { passwordFile, warn: (message) => console.error(`seq: warning: ${message}`) };
}

async function keys(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: "string" }, "password-file": { type: "string" }, "light-kdf": { type: "boolean" } } });
  if (!values.out) throw new UsageError("keys: --out DIR is required");
  const passphrase = await readPassphrase({ passwordFile: values["password-file"] });
  if (passphrase === undefined) throw new UsageError(`keys: signer.key is written as an encrypted keystore: give its passphrase with --password-file FILE or ${PASSPHRASE_ENV}`);
  const signerFile = path.join(values.out, "signer.key");
  const p2pFile = path.join(values.out, "p2p.key");
  const existing = [signerFile, p2pFile].filter((f) => existsSync(f));
  if (existing.length > 0) throw new UsageError(`keys: ${existing.join(" and ")} already exist; refusing to overwrite a key`);
  await mkdir(values.out, { recursive: true, mode: 0o700 });
  const kdf = values["light-kdf"] === true ? LIGHT_SCRYPT : STANDARD_SCRYPT;
  const signerKey = generatePrivateKey();
  try {
    await writeKeystoreFile(signerFile, signerKey, passphrase, kdf);
  } catch (cause) {
    throw new UsageError(`keys: ${signerFile} already exists or cannot be written (${(cause as Error).message}); refusing to overwrite a key`);
  }
  const peerKey = await generatePeerKey();
  await savePeerKey(p2pFile, peerKey);
  const keystore = `Web3 Secret Storage v3, scrypt n=${kdf.n} r=${kdf.r} p=${kdf.p}, aes-128-ctr`;
  console.log(JSON.stringify({ signerKeyFile: signerFile, signer: privateKeyToAccount(signerKey).address, keystore, p2pKeyFile: p2pFile, peerId: peerIdOf(peerKey) }, null, 2));
}

async function register(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: "string" },
      stake: { type: "string" },
      addr: { type: "string", multiple: true },
      l1: { type: "string" },
      deployment: { type: "string" },
      "operator-key": { type: "string" },
      mint: { type: "boolean" },
      "batcher-key": { type: "string" },
      "password-file": { type: "string" },
    },
  });
  if (!values.keys || !values.stake || !values.l1 || !values.deployment || !values.addr?.length) {
    throw new UsageError("register: --keys, --stake, --addr, --l1 and --deployment are required");
  }
  const operatorKey = operatorKeyOf(values["operator-key"], "register");
  const deployment = await loadDeploymentRecord(values.deployment);
  const signer = await loadSigner(path.join(values.keys, "signer.key"), keyOptions(values["password-file"]));
  const batcher = values["batcher-key"] === undefined ? undefined : await loadSigner(values["batcher-key"], keyOptions(values["password-file"]));
  const peerKey = await loadPeerKey(path.join(values.keys, "p2p.key"));
  const peerId = peerIdOf(peerKey);
  const { publicClient, wallet } = await operatorClients(values.l1, deployment, operatorKey);
  const account = wallet.account;
  const decimals = await publicClient.readContract({ address: deployment.stakeToken, abi: erc20Abi, functionName: "decimals" });
  const result = await registerOperator({
    publicClient,
    wallet,
    registry: deployment.sequencerRegistry,
    token: deployment.stakeToken,
    // Both keys sign that they belong to this operator account (proof of possession).
    ...(await proveOperatorKeys({ signer, peerKey }, domain(deployment.chainId, deployment.sequencerRegistry), account.address)),
    addrs: values.addr,
    stake: parseUnits(values.stake, decimals),
    mint: values.mint === true,
  });
  console.log(JSON.stringify({ operator: account.address, signer: signer.address, peerId, registrationId: result.registrationId, transactionHash: result.transactionHash }, null, 2));
  console.log("registered: the operator joins the active set at the start of the next epoch");
  if (batcher !== undefined && !isAddressEqual(batcher.address, signer.address)) {
    const txHash = await setOperatorBatcher({ publicClient, wallet, registry: deployment.sequencerRegistry, batcher, chainId: deployment.chainId });
    console.log(`batcher: ${batcher.address} posts this operator's batches (tx ${txHash}); fund it with ETH for L1 gas`);
  }
}

/** The operator's account key from --operator-key or OPERATOR_KEY. */
function operatorKeyOf(flag: string | undefined, command: string): Hex {
  const key = flag ?? process.env.OPERATOR_KEY;
  if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new UsageError(`${command}: the operator's account key (--operator-key or OPERATOR_KEY) must be 32 bytes of 0x-hex`);
  }
  return key as Hex;
}

async function setBatcher(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      "batcher-key": { type: "string" },
      reset: { type: "boolean" },
      l1: { type: "string" },
      deployment: { type: "string" },
      "operator-key": { type: "string" },
      "password-file": { type: "string" },
    },
  });
  const sources = [values.config, values["batcher-key"], values.reset ? "reset" : undefined].filter((v) => v !== undefined);
  if (sources.length !== 1) throw new UsageError("set-batcher: give exactly one of --config FILE, --batcher-key FILE and --reset");
  const config = values.config === undefined ? undefined : await loadNodeConfig(values.config);
  const l1 = values.l1 ?? config?.l1RpcUrl;
  const deploymentFile = values.deployment ?? config?.deployment;
  if (l1 === undefined || deploymentFile === undefined) throw new UsageError("set-batcher: --l1 and --deployment are required (or --config FILE)");
  const operatorKey = operatorKeyOf(values["operator-key"], "set-batcher");
  const deployment = await loadDeploymentRecord(deploymentFile);
  const { publicClient, wallet } = await operatorClients(l1, deployment, operatorKey);
  const operator = wallet.account.address;
  const info = await publicClient.readContract({ address: deployment.sequencerRegistry, abi: sequencerRegistryAbi, functionName: "operatorInfo", args: [operator] });
  const passwords = keyOptions(values["password-file"] ?? config?.keystorePasswordFile);
  // The node's batcher is its batcherKeyFile, else its signer: the registry's default.
  const keyFile = values["batcher-key"] ?? (config !== undefined && config.batcherKeyFile !== "" ? config.batcherKeyFile : undefined);
  const batcher = keyFile === undefined ? info.signer : await loadSigner(keyFile, passwords);
  const address = typeof batcher === "string" ? batcher : batcher.address;
  const txHash = await setOperatorBatcher({ publicClient, wallet, registry: deployment.sequencerRegistry, batcher, chainId: deployment.chainId });
  console.log(JSON.stringify({ operator, batcher: address, signer: info.signer, transactionHash: txHash }, null, 2));
  console.log(isAddressEqual(address, info.signer) ? "batcher: the operator's signer posts its batches (the default)" : `batcher: ${address} posts this operator's batches; fund it with ETH for L1 gas`);
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: "string" }, "password-file": { type: "string" } } });
  const fromFile = await loadNodeConfig(values.config);
  const passwordFile = values["password-file"];
  const config = passwordFile === undefined ? fromFile : { ...fromFile, keystorePasswordFile: path.resolve(passwordFile) };
  let node: SequencerNode | undefined;
  const shutdown = async (signal: string, code: number) => {
    node?.logger.info({ signal }, "shutting down");
    await node?.stop();
    process.exit(code);
  };
  node = await SequencerNode.start(config, { onFatal: () => void shutdown("fatal", 1) });
  process.once("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.once("SIGINT", () => void shutdown("SIGINT", 0));
}

async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rpc: { type: "string", multiple: true } } });
  const urls = values.rpc ?? [];
  if (urls.length === 0) throw new UsageError("status: at least one --rpc URL is required");
  const rows = await Promise.all(
    urls.map(async (url) => {
      try {
        const s = (await nodeRpc(url, "seq_status")) as Record<string, unknown>;
        return { url, role: s.role, term: s.term, leader: s.leader, commitIndex: s.commitIndex, nextPosition: s.nextPosition, epoch: s.epoch };
      } catch (e) {
        return { url, error: (e as Error).message };
      }
    }),
  );
  console.table(rows);
}

async function send(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rpc: { type: "string" }, "chain-id": { type: "string" }, key: { type: "string" }, l1: { type: "string" } } });
  if (!values.rpc) throw new UsageError("send: --rpc URL is required");
  const chainId = values["chain-id"] ? Number(values["chain-id"]) : Number.parseInt(String(await nodeRpc(values.rpc, "eth_chainId")).slice(2), 16);
  const account = privateKeyToAccount((values.key as Hex | undefined) ?? generatePrivateKey());
  const raw = await account.signTransaction({
    type: "eip1559",
    chainId,
    nonce: Math.floor(Date.now() / 1000),
    to: account.address,
    value: 0n,
    gas: 21_000n,
    maxFeePerGas: parseGwei("1"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
  const started = performance.now();
  const commitment = await nodeRpc(values.rpc, "seq_sendRawTransaction", [raw]);
  const ms = performance.now() - started;
  console.log(JSON.stringify(commitment, null, 2));
  const proof = decodeOrderCommitmentProof(commitment);
  const result = values.l1
    ? await verifyOrderCommitmentOnL1(proof, { client: createPublicClient({ transport: http(values.l1) }), registry: proof.registry })
    : await verifyOrderCommitment(proof, { chainId: proof.chainId, registry: proof.registry });
  console.log(`committed at position ${proof.position} in ${ms.toFixed(1)} ms; commitment ${result.valid ? "VERIFIES" : "DOES NOT VERIFY"} (signer ${result.signer})`);
  if (!result.valid) {
    for (const r of result.reasons) console.log(`  - ${r.code}: ${r.message}`);
    process.exitCode = 1;
  }
}

async function verify(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { commitment: { type: "string" }, l1: { type: "string" }, registry: { type: "string" } } });
  if (!values.commitment) throw new UsageError("verify: --commitment FILE (or - for stdin) is required");
  const text = values.commitment === "-" ? await readStdin() : await readFile(values.commitment, "utf8");
  const proof = decodeOrderCommitmentProof(JSON.parse(text));
  if (values.registry !== undefined && !isAddress(values.registry)) throw new UsageError("verify: --registry must be an address");
  const registry = (values.registry as Address | undefined) ?? proof.registry;
  const result = values.l1
    ? await verifyOrderCommitmentOnL1(proof, { client: createPublicClient({ transport: http(values.l1) }), registry })
    : await verifyOrderCommitment(proof, { chainId: proof.chainId, registry });
  console.log(JSON.stringify({ valid: result.valid, signer: result.signer, position: proof.position.toString(), txHash: proof.txHash, reasons: result.reasons }, null, 2));
  if (!result.valid) process.exitCode = 1;
}

async function watch(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      rpc: { type: "string" },
      key: { type: "string" },
      state: { type: "string" },
      once: { type: "boolean" },
      "password-file": { type: "string" },
    },
  });
  if (!values.config) throw new UsageError("watch: --config FILE (the node's config) is required");
  const config = await loadNodeConfig(values.config);
  const deployment = await loadDeploymentRecord(config.deployment);
  const keyFile = values.key ?? (config.batcherKeyFile !== "" ? config.batcherKeyFile : config.signerKeyFile);
  const { publicClient, wallet } = await l1ClientsFor(config.l1RpcUrl, deployment, keyFile, keyOptions(values["password-file"] ?? config.keystorePasswordFile));
  const source = await openNodeEvidence(config, deployment, values.rpc);
  const logger = createLogger({ level: config.logLevel });
  const tower = new Watchtower({
    publicClient,
    wallet: wallet!,
    deployment,
    evidence: source.evidence,
    stateFile: values.state ?? path.join(config.dataDir, "watchtower-standalone.json"),
    logger: componentLogger(logger, "watchtower", { evidence: source.description }),
    confirmations: config.l1Confirmations,
    pollMs: config.l1PollMs,
  });
  const report = () => {
    const s = tower.stats();
    console.log(JSON.stringify({ evidence: source.description, ...s, lastCheckedBlock: s.lastCheckedBlock?.toString() ?? null, waitingForPosition: s.waitingForPosition?.toString() ?? null, recentSlashes: s.recentSlashes.map(slashReportView) }));
  };
  if (values.once) {
    try {
      let run;
      do run = await tower.runOnce();
      while (!run.caughtUp && tower.stats().waitingForPosition === null);
      report();
    } finally {
      await source.close();
    }
    return;
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "stopping the watchtower");
    await tower.stop();
    await source.close();
    report();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  tower.start();
}

async function slash(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      commitment: { type: "string" },
      claim: { type: "boolean" },
      "l1-rpc": { type: "string" },
      l1: { type: "string" },
      deployment: { type: "string" },
      key: { type: "string" },
      "password-file": { type: "string" },
    },
  });
  const l1 = values["l1-rpc"] ?? values.l1;
  if (values.claim === true) {
    if (!l1 || !values.deployment || !values.key) throw new UsageError("slash --claim: --l1-rpc, --deployment and --key are required");
    const deployment = await loadDeploymentRecord(values.deployment);
    const { publicClient, wallet } = await l1ClientsFor(l1, deployment, values.key, keyOptions(values["password-file"]));
    const paid = await new SlashSubmitter(publicClient, wallet!, deployment.slashing).claimRewards();
    for (const p of paid) console.log(`paid: reward ${p.amount} for offence ${p.offenceId} (L1 tx ${p.txHash})`);
    if (paid.length === 0) console.log("no reporter reward of this key is claimable yet");
    return;
  }
  if (!values.commitment || !l1 || !values.deployment) throw new UsageError("slash: --commitment, --l1-rpc and --deployment are required");
  const text = values.commitment === "-" ? await readStdin() : await readFile(values.commitment, "utf8");
  const json = JSON.parse(text) as unknown;
  // A quorum commitment (seq_getQuorumCommitment) is checked signer by signer: each signature is
  // one statement, and whoever of its signers also signed the contradicting batch is slashable.
  const proofs =
    typeof json === "object" && json !== null && "signatures" in json
      ? ((q) => q.signatures.map((signature) => commitmentOfSignature(q, signature)))(decodeQuorumCommitment(json))
      : [decodeOrderCommitmentProof(json)];
  const deployment = await loadDeploymentRecord(values.deployment);
  const { publicClient, wallet } = await l1ClientsFor(l1, deployment, values.key, keyOptions(values["password-file"]));
  for (const proof of proofs) {
    const result = await checkOrderCommitment(proof, { publicClient, deployment, ...(wallet ? { wallet } : {}) });
    console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
    reportCheck(result, proof, { l1, deployment: values.deployment, key: values.key });
    if (result.status === "kept" || result.status === "not-batched") break; // the same for every signer
  }
}

/** One sentence per outcome of `seq slash`; a broken or invalid commitment sets a failing exit code. */
function reportCheck(result: CommitmentCheck, proof: OrderCommitmentProof, values: { l1: string; deployment: string; key: string | undefined }): void {
  const l1 = values.l1;
  const at = `position ${proof.position}`;
  switch (result.status) {
    case "invalid":
      console.log(`the commitment does not verify: ${result.reasons.map((r) => r.message).join("; ")}`);
      process.exitCode = 1;
      break;
    case "not-batched":
      console.log(`not yet batched: no accepted L1 batch covers ${at} (last batched position: ${result.lastBatchedPosition ?? "none"})`);
      break;
    case "kept":
      console.log(`verified: batch ${result.batchNumber} (L1 tx ${result.l1TxHash}) holds ${proof.txHash} at ${at}`);
      break;
    case "unreadable":
      console.log(`cannot check: batch ${result.batchNumber} (L1 tx ${result.l1TxHash}) covers ${at} but cannot be read from L1 (${result.reason}); nothing can be proven against it`);
      process.exitCode = 1;
      break;
    case "broken-unprovable":
      console.log(
        `BROKEN: batch ${result.batchNumber} holds ${result.batchTxHash} at ${at}, the commitment promised ${proof.txHash}; the certificate's signer ${result.signer} did not sign that batch (its signers: ${result.batchSigners.join(", ")}), so this signature proves nothing against anyone (a quorum commitment from seq_getQuorumCommitment would)`,
      );
      process.exitCode = 1;
      break;
    case "broken":
      console.log(`BROKEN: batch ${result.batchNumber} holds ${result.batchTxHash} at ${at}, the commitment promised ${proof.txHash}; pass --key FILE to slash ${result.signer}`);
      process.exitCode = 1;
      break;
    case "already-slashed":
      console.log(`broken, and already slashed: batch ${result.batchNumber} holds ${result.batchTxHash} at ${at} (offence ${result.offenceId})`);
      break;
    case "slashed":
      console.log(`slashed: batch ${result.batchNumber} broke the commitment at ${at}; operator ${result.operator} lost ${result.amount} (L1 tx ${result.txHash})`);
      console.log(`the reporter reward is claimable from L1 block ${result.rewardClaimableFrom}: seq slash --claim --l1-rpc ${l1} --deployment ${values.deployment} --key ${values.key}`);
      break;
    case "reward-taken-over":
      console.log(`broken, and slashed by a later reporter: our earlier commitment took the reporter reward over (L1 tx ${result.txHash}); claimable from L1 block ${result.rewardClaimableFrom} with seq slash --claim`);
      break;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { keys, register, "set-batcher": setBatcher, start, status, send, verify, watch, slash };

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(HELP);
    return;
  }
  const run = COMMANDS[command];
  if (run === undefined) throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(HELP);
    return;
  }
  await run(rest);
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(`seq: ${error.message}`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
