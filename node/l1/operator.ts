/**
 * Joining the sequencer set through contract calls: approve the stake and call
 * `SequencerRegistry.register` with both keys' proofs of possession (`key-binding.ts`), and
 * naming a batcher account other than the signer (`setBatcher`, with that account's proof). Also
 * generates fresh operator identities (secp256k1 signing key, libp2p Ed25519 peer id). On chain
 * a peer id is its binary multihash (`peerId.toMultihash().bytes`), the form libp2p puts on the wire.
 */
import { generateKeyPair, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import {
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
  bytesToHex,
  createPublicClient,
  createWalletClient,
  defineChain,
  erc20Abi,
  http,
  parseEventLogs,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { sequencerRegistryAbi, testTokenAbi } from "./generated/abi.js";
import type { NodeDeployment } from "./deployment.js";
import { signBatcherBinding, signPeerIdBinding, signSignerBinding } from "./key-binding.js";
import { type SequencerDomain, domain } from "../commitments/typed-data.js";
import { L1Error } from "./errors.js";
import { describeL1Failure, describeRevert, revertOf } from "./revert.js";
import { L1TransactionError, sendContractTransaction } from "./send.js";
export { peerIdFromBytes, peerIdToBytes, InvalidPeerIdError } from "./peer-id.js";

/** A new operator's keys: the signing key and the libp2p identity its node will use. */
export type OperatorIdentity = {
  readonly signerKey: Hex;
  readonly signer: Address;
  /** libp2p private key, protobuf-encoded (what libp2p loads). */
  readonly libp2pKey: Hex;
  /** Peer id as a base58btc string (`12D3KooW...`). */
  readonly peerId: string;
  /** Peer id bytes as registered on chain. */
  readonly peerIdBytes: Hex;
};

/** Registration was refused or its transaction failed. */
export class RegistrationError extends L1Error {
  override readonly name = "RegistrationError";
}

/** A fresh signing key and Ed25519 libp2p identity. */
export async function generateOperatorIdentity(): Promise<OperatorIdentity> {
  const signerKey = generatePrivateKey();
  const libp2pKey = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(libp2pKey);
  return {
    signerKey,
    signer: privateKeyToAccount(signerKey).address,
    libp2pKey: bytesToHex(privateKeyToProtobuf(libp2pKey)),
    peerId: peerId.toString(),
    peerIdBytes: bytesToHex(peerId.toMultihash().bytes),
  };
}

/** An operator's keys as `register` takes them: each with its proof of possession. */
export type ProvenKeys = {
  readonly signer: Address;
  /** The signing key's EIP-712 signature of KeyBinding(operator). */
  readonly signerProof: Hex;
  readonly peerIdBytes: Hex;
  /** The libp2p key's signature of the KeyBinding(operator) digest. */
  readonly peerIdProof: Hex;
};

/** Both keys' proofs that they belong to `operator`, under the registry's domain `d`. */
export async function proveOperatorKeys(
  keys: { readonly signer: LocalAccount; readonly peerKey: PrivateKey },
  d: SequencerDomain,
  operator: Address,
): Promise<ProvenKeys> {
  return {
    signer: keys.signer.address,
    signerProof: await signSignerBinding(keys.signer, d, operator),
    peerIdBytes: bytesToHex(peerIdFromPrivateKey(keys.peerKey).toMultihash().bytes),
    peerIdProof: await signPeerIdBinding(keys.peerKey, d, operator),
  };
}

export type RegisterOperatorArgs = ProvenKeys & {
  readonly publicClient: PublicClient;
  /** The operator's wallet: its account pays, stakes and becomes the operator. */
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly registry: Address;
  readonly token: Address;
  readonly addrs: readonly string[];
  readonly stake: bigint;
  /** Mint the stake first (TestToken devnets only). */
  readonly mint?: boolean;
};

/** The registry's refusal, in one sentence with its meaning, if the simulated call reverts with one of its errors (`refusing`: what it would refuse). */
async function refuseIfReverts(simulation: Promise<unknown>, refusing: string): Promise<void> {
  const refusal = await simulation.then(
    () => undefined,
    (error: unknown) => revertOf(error),
  );
  if (refusal !== undefined && sequencerRegistryAbi.some((item) => item.type === "error" && item.name === refusal.errorName)) {
    throw new RegistrationError(`the registry refuses to ${refusing}: ${describeRevert(refusal)}`);
  }
}

/**
 * Approves and registers (minting first on devnets); returns the registration id and the
 * transaction hash. Works with any viem clients: Hardhat's, or plain HTTP ones. Every transaction
 * goes with a margin over its gas estimate (`send.ts`): registrations sent at once by several
 * operators each meet a set the others changed.
 * @throws RegistrationError saying in one sentence what failed (the registry's refusal with its meaning, out of gas, ...)
 */
export async function registerOperator(args: RegisterOperatorArgs): Promise<{ registrationId: number; transactionHash: Hash }> {
  const { publicClient, wallet } = args;
  const account = wallet.account;
  const registerCall = {
    address: args.registry,
    abi: sequencerRegistryAbi,
    functionName: "register",
    args: [args.stake, args.signer, args.signerProof, args.peerIdBytes, args.peerIdProof, [...args.addrs]],
  } as const;
  // Dry run first: a registry refusal (a bad proof, a taken signer, a low stake) then leaves no
  // mint or approval behind. Only the stake transfer may fail here, since nothing is approved yet.
  await refuseIfReverts(publicClient.simulateContract({ ...registerCall, account }), `register ${account.address}`);
  try {
    if (args.mint === true) {
      await sendContractTransaction(publicClient, wallet, "minting the stake", { address: args.token, abi: testTokenAbi, functionName: "mint", args: [account.address, args.stake] });
    }
    await sendContractTransaction(publicClient, wallet, "approving the stake", { address: args.token, abi: erc20Abi, functionName: "approve", args: [args.registry, args.stake] });
    const receipt = await sendContractTransaction(publicClient, wallet, "register", registerCall);
    const [event] = parseEventLogs({ abi: sequencerRegistryAbi, logs: receipt.logs, eventName: "OperatorRegistered" });
    if (event === undefined) throw new RegistrationError("register succeeded without an OperatorRegistered event");
    return { registrationId: event.args.registrationId, transactionHash: receipt.transactionHash };
  } catch (cause) {
    if (cause instanceof RegistrationError) throw cause;
    const why = cause instanceof L1TransactionError ? cause.shortMessage : describeL1Failure(cause);
    throw new RegistrationError(`registering ${account.address} failed: ${why}`, { cause });
  }
}

export type SetBatcherArgs = {
  readonly publicClient: PublicClient;
  /** The operator's wallet. */
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly registry: Address;
  /**
   * The account that is to post the operator's batches, which signs its agreement here; or the
   * operator's signer address, to go back to the default (no proof needed).
   */
  readonly batcher: LocalAccount | Address;
  readonly chainId: number;
};

/**
 * Makes the registry name `batcher` as the account that posts the operator's batches
 * (`SequencerRegistry.setBatcher`, with the account's BatcherBinding proof); dry-run first, so
 * a refusal sends nothing. Returns the transaction hash.
 */
export async function setOperatorBatcher(args: SetBatcherArgs): Promise<Hash> {
  const { publicClient, wallet } = args;
  const account = wallet.account;
  const operator = account.address;
  const batcher = typeof args.batcher === "string" ? args.batcher : args.batcher.address;
  const proof = typeof args.batcher === "string" ? "0x" : await signBatcherBinding(args.batcher, domain(args.chainId, args.registry), operator);
  const call = { address: args.registry, abi: sequencerRegistryAbi, functionName: "setBatcher", args: [batcher, proof] } as const;
  await refuseIfReverts(publicClient.simulateContract({ ...call, account }), `make ${batcher} the batcher of ${operator}`);
  try {
    return (await sendContractTransaction(publicClient, wallet, "setBatcher", call)).transactionHash;
  } catch (cause) {
    throw new RegistrationError(`setting the batcher of ${operator} failed: ${cause instanceof L1TransactionError ? cause.shortMessage : describeL1Failure(cause)}`, { cause });
  }
}

/**
 * Clients for an account (a private key, or a signer from node/keys) on the deployment's chain:
 * checks that `rpcUrl` serves the chain the deployment record names before anything is signed.
 */
export async function operatorClients(
  rpcUrl: string,
  deployment: NodeDeployment,
  account: Hex | LocalAccount,
): Promise<{ publicClient: PublicClient; wallet: WalletClient<Transport, Chain, Account> }> {
  const publicClient = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const chainId = await publicClient.getChainId();
  if (chainId !== deployment.chainId) {
    throw new RegistrationError(`${rpcUrl} is chain ${chainId}, but the deployment is on chain ${deployment.chainId}`);
  }
  const chain = defineChain({ id: chainId, name: deployment.network, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  return { publicClient, wallet: createWalletClient({ account: typeof account === "string" ? privateKeyToAccount(account) : account, chain, transport: http(rpcUrl) }) };
}
