/**
 * Joins the sequencer set: approves the stake and calls SequencerRegistry.register from the
 * operator's account, with both keys' proofs that they belong to it (node/l1/key-binding.ts).
 * Plain viem over JSON-RPC, no Hardhat needed:
 *
 *   npx tsx scripts/register-operator.ts --operator-key 0x... --signer-key 0x... \
 *     --p2p-key 0x08011240... --addr /ip4/203.0.113.7/tcp/4001 --stake 1000 \
 *     [--rpc http://127.0.0.1:8545] [--deployment deployments/localhost.json] [--mint] [--batcher-key 0x...]
 *
 * Each key either is given (`--signer-key`; `--p2p-key`, the libp2p private key protobuf-encoded
 * as hex) and signs its proof here, or stays elsewhere and only its address / peer id and proof
 * are given (`--signer 0x.. --signer-proof 0x..`: the key's EIP-712 signature of
 * KeyBinding(operator); `--peer-id 12D3KooW.. --peer-proof 0x..`: the libp2p key's signature of
 * that digest, which the registry's `keyBindingDigest(operator)` returns). Every flag has an
 * environment fallback: OPERATOR_KEY, SIGNER_KEY, SIGNER_ADDRESS, SIGNER_PROOF, P2P_KEY, PEER_ID,
 * PEER_PROOF, ADDRS (comma-separated), STAKE (whole tokens; STAKE_WEI for base units),
 * L1_RPC_URL, DEPLOYMENT, MINT=1, BATCHER_KEY. With neither form of a key, a fresh one is
 * generated and printed (keep it: the node needs both keys). `--batcher-key` makes that key's
 * account the operator's batcher after registering (SequencerRegistry.setBatcher; the account
 * signs its agreement): the inbox takes the operator's batches only from it, by default from
 * the signer.
 */
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { parseArgs } from "node:util";
import { type Address, type Hex, erc20Abi, getAddress, hexToBytes, isAddress, isHex, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { generateOperatorIdentity, operatorClients, peerIdToBytes, registerOperator, setOperatorBatcher, type ProvenKeys } from "../node/l1/operator.js";
import { loadDeploymentRecord } from "../node/l1/deployment.js";
import { signPeerIdBinding, signSignerBinding } from "../node/l1/key-binding.js";
import { domain } from "../node/commitments/typed-data.js";
import { UsageError } from "./lib/cli.js";
import { reportFailure } from "../node/cli/common.js";


const { values } = parseArgs({
  options: {
    "operator-key": { type: "string" },
    signer: { type: "string" },
    "signer-key": { type: "string" },
    "signer-proof": { type: "string" },
    "p2p-key": { type: "string" },
    "peer-id": { type: "string" },
    "peer-proof": { type: "string" },
    addr: { type: "string", multiple: true },
    stake: { type: "string" },
    "stake-wei": { type: "string" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    mint: { type: "boolean" },
    "batcher-key": { type: "string" },
  },
});
const env = process.env;

function required(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

function hexOption(value: string | undefined, what: string): Hex | undefined {
  if (value === undefined) return undefined;
  if (!isHex(value)) throw new UsageError(`${what} must be 0x-prefixed hex`);
  return value;
}

async function main(): Promise<void> {
  const operatorKey = required(values["operator-key"] ?? env.OPERATOR_KEY, "--operator-key / OPERATOR_KEY") as Hex;
  if (!/^0x[0-9a-fA-F]{64}$/.test(operatorKey)) throw new UsageError("the operator key must be 32 bytes of 0x-prefixed hex");
  const rpc = values.rpc ?? env.L1_RPC_URL ?? "http://127.0.0.1:8545";
  const deploymentPath = values.deployment ?? env.DEPLOYMENT ?? "deployments/localhost.json";
  const deployment = await loadDeploymentRecord(deploymentPath);
  const { publicClient, wallet } = await operatorClients(rpc, deployment, operatorKey);
  const operator = wallet.account.address;
  const d = domain(deployment.chainId, deployment.sequencerRegistry);

  const signerKey = hexOption(values["signer-key"] ?? env.SIGNER_KEY, "--signer-key");
  const signerAddress = values.signer ?? env.SIGNER_ADDRESS;
  const signerProof = hexOption(values["signer-proof"] ?? env.SIGNER_PROOF, "--signer-proof");
  const p2pKey = hexOption(values["p2p-key"] ?? env.P2P_KEY, "--p2p-key");
  const peerId = values["peer-id"] ?? env.PEER_ID;
  const peerProof = hexOption(values["peer-proof"] ?? env.PEER_PROOF, "--peer-proof");
  if ((signerAddress === undefined) !== (signerProof === undefined)) throw new UsageError("--signer and --signer-proof go together");
  if ((peerId === undefined) !== (peerProof === undefined)) throw new UsageError("--peer-id and --peer-proof go together");
  if (signerKey !== undefined && signerAddress !== undefined) throw new UsageError("give --signer-key or --signer with --signer-proof, not both");
  if (p2pKey !== undefined && peerId !== undefined) throw new UsageError("give --p2p-key or --peer-id with --peer-proof, not both");
  if (signerAddress !== undefined && !isAddress(signerAddress)) throw new UsageError(`signer is not an address: ${signerAddress}`);

  const generated = (signerKey ?? signerAddress) === undefined || (p2pKey ?? peerId) === undefined ? await generateOperatorIdentity() : undefined;
  // Keys held here sign their proofs now; keys kept elsewhere come with theirs.
  const signerAccount = signerAddress === undefined ? privateKeyToAccount(signerKey ?? generated!.signerKey) : undefined;
  const peerKey = peerId === undefined ? privateKeyFromProtobuf(hexToBytes(p2pKey ?? generated!.libp2pKey)) : undefined;
  const keys: ProvenKeys = {
    ...(signerAccount !== undefined
      ? { signer: signerAccount.address, signerProof: await signSignerBinding(signerAccount, d, operator) }
      : { signer: getAddress(signerAddress as Address), signerProof: signerProof! }),
    ...(peerKey !== undefined
      ? { peerIdBytes: peerIdToBytes(peerIdFromPrivateKey(peerKey).toString()), peerIdProof: await signPeerIdBinding(peerKey, d, operator) }
      : { peerIdBytes: peerIdToBytes(peerId!), peerIdProof: peerProof! }),
  };
  const batcherKey = hexOption(values["batcher-key"] ?? env.BATCHER_KEY, "--batcher-key");
  const addrs = values.addr ?? (env.ADDRS ?? "").split(",").filter((a) => a !== "");
  if (addrs.length === 0) throw new UsageError("missing --addr / ADDRS (the node's dial multiaddrs)");

  const token = deployment.stakeToken;
  const stakeWei = values["stake-wei"] ?? env.STAKE_WEI;
  const stake =
    stakeWei !== undefined
      ? BigInt(stakeWei)
      : parseUnits(
          required(values.stake ?? env.STAKE, "--stake / STAKE"),
          await publicClient.readContract({ address: token, abi: erc20Abi, functionName: "decimals" }),
        );

  const result = await registerOperator({
    publicClient,
    wallet,
    registry: deployment.sequencerRegistry,
    token,
    ...keys,
    addrs,
    stake,
    mint: values.mint === true || env.MINT === "1",
  });
  console.log(`operator ${operator} registered (registration ${result.registrationId}, tx ${result.transactionHash})`);
  console.log(`signer ${keys.signer}, peer id bytes ${keys.peerIdBytes}, stake ${stake}, addrs ${addrs.join(" ")}`);
  if (batcherKey !== undefined) {
    const batcher = privateKeyToAccount(batcherKey);
    const txHash = await setOperatorBatcher({ publicClient, wallet, registry: deployment.sequencerRegistry, batcher, chainId: deployment.chainId });
    console.log(`batcher ${batcher.address} posts this operator's batches (tx ${txHash})`);
  } else {
    console.log(`batcher: the signer ${keys.signer} (the default)`);
  }
  if (generated !== undefined && signerKey === undefined && signerAddress === undefined) console.log(`generated signing key (keep it secret): ${generated.signerKey}`);
  if (generated !== undefined && p2pKey === undefined && peerId === undefined) console.log(`generated libp2p key (protobuf, keep it secret): ${generated.libp2pKey}`);
}

main().catch(async (error: unknown) => {
  await reportFailure(error instanceof UsageError ? "usage error: " : "register-operator: ", error);
  process.exitCode = 1;
});
