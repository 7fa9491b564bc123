/**
 * Joins the sequencer set: approves the stake and calls SequencerRegistry.register from the
 * operator's account. Plain viem over JSON-RPC, no Hardhat needed:
 *
 *   npx tsx scripts/register-operator.ts --operator-key 0x... --signer 0x... \
 *     --peer-id 12D3KooW... --addr /ip4/203.0.113.7/tcp/4001 --stake 1000 \
 *     [--rpc http://127.0.0.1:8545] [--deployment deployments/localhost.json] [--mint]
 *
 * Every flag has an environment fallback: OPERATOR_KEY, SIGNER_ADDRESS (or SIGNER_KEY),
 * PEER_ID, ADDRS (comma-separated), STAKE (whole tokens; STAKE_WEI for base units),
 * L1_RPC_URL, DEPLOYMENT, MINT=1. Without a signer or peer id, fresh ones are generated and
 * printed (keep them: the node needs both keys).
 */
import { parseArgs } from "node:util";
import { type Hex, erc20Abi, getAddress, isAddress, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { generateOperatorIdentity, operatorClients, peerIdToBytes, registerOperator } from "../node/l1/operator.js";
import { loadDeploymentRecord } from "../node/l1/deployment.js";
import { UsageError } from "./lib/cli.js";


const { values } = parseArgs({
  options: {
    "operator-key": { type: "string" },
    signer: { type: "string" },
    "signer-key": { type: "string" },
    "peer-id": { type: "string" },
    addr: { type: "string", multiple: true },
    stake: { type: "string" },
    "stake-wei": { type: "string" },
    rpc: { type: "string" },
    deployment: { type: "string" },
    mint: { type: "boolean" },
  },
});
const env = process.env;

function required(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

async function main(): Promise<void> {
  const operatorKey = required(values["operator-key"] ?? env.OPERATOR_KEY, "--operator-key / OPERATOR_KEY") as Hex;
  if (!/^0x[0-9a-fA-F]{64}$/.test(operatorKey)) throw new UsageError("the operator key must be 32 bytes of 0x-prefixed hex");
  const rpc = values.rpc ?? env.L1_RPC_URL ?? "http://127.0.0.1:8545";
  const deploymentPath = values.deployment ?? env.DEPLOYMENT ?? "deployments/localhost.json";
  const deployment = await loadDeploymentRecord(deploymentPath);
  const { publicClient, wallet } = await operatorClients(rpc, deployment, operatorKey);

  const signerKey = (values["signer-key"] ?? env.SIGNER_KEY) as Hex | undefined;
  const givenSigner = values.signer ?? env.SIGNER_ADDRESS ?? (signerKey && privateKeyToAccount(signerKey).address);
  const givenPeerId = values["peer-id"] ?? env.PEER_ID;
  const generated = givenSigner === undefined || givenPeerId === undefined ? await generateOperatorIdentity() : undefined;
  const signer = givenSigner ?? generated!.signer;
  const peerId = givenPeerId ?? generated!.peerId;
  if (!isAddress(signer)) throw new UsageError(`signer is not an address: ${signer}`);
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
    signer: getAddress(signer),
    peerIdBytes: peerIdToBytes(peerId),
    addrs,
    stake,
    mint: values.mint === true || env.MINT === "1",
  });
  console.log(`operator ${wallet.account.address} registered (registration ${result.registrationId}, tx ${result.transactionHash})`);
  console.log(`signer ${signer}, peer id ${peerId}, stake ${stake}, addrs ${addrs.join(" ")}`);
  if (givenSigner === undefined) console.log(`generated signing key (keep it secret): ${generated!.signerKey}`);
  if (givenPeerId === undefined) console.log(`generated libp2p key (protobuf, keep it secret): ${generated!.libp2pKey}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? `usage error: ${error.message}` : error);
  process.exitCode = 1;
});
