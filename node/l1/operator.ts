/**
 * Joining the sequencer set through contract calls: approve the stake and call
 * `SequencerRegistry.register`. Also generates fresh operator identities (secp256k1 signing
 * key, libp2p Ed25519 peer id). On chain a peer id is its binary multihash
 * (`peerId.toMultihash().bytes`), the form libp2p puts on the wire.
 */
import { generateKeyPair, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import {
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
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
import { generatePrivateKey, privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { sequencerRegistryAbi, testTokenAbi } from "./generated/abi.js";
import type { NodeDeployment } from "./deployment.js";
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
export class RegistrationError extends Error {
  override readonly name = "RegistrationError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
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

export type RegisterOperatorArgs = {
  readonly publicClient: PublicClient;
  /** The operator's wallet: its account pays, stakes and becomes the operator. */
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly registry: Address;
  readonly token: Address;
  readonly signer: Address;
  readonly peerIdBytes: Hex;
  readonly addrs: readonly string[];
  readonly stake: bigint;
  /** Mint the stake first (TestToken devnets only). */
  readonly mint?: boolean;
};

/**
 * Approves and registers (minting first on devnets); returns the registration id and the
 * transaction hash. Works with any viem clients: Hardhat's, or plain HTTP ones.
 */
export async function registerOperator(args: RegisterOperatorArgs): Promise<{ registrationId: number; transactionHash: Hash }> {
  const { publicClient, wallet } = args;
  const account = wallet.account;
  const chain = wallet.chain ?? null;
  const confirm = async (what: string, hash: Hash) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new RegistrationError(`${what} reverted (tx ${hash})`);
    return receipt;
  };
  try {
    if (args.mint === true) {
      await confirm(
        "mint",
        await wallet.writeContract({
          chain,
          account,
          address: args.token,
          abi: testTokenAbi,
          functionName: "mint",
          args: [account.address, args.stake],
        }),
      );
    }
    await confirm(
      "approve",
      await wallet.writeContract({
        chain,
        account,
        address: args.token,
        abi: erc20Abi,
        functionName: "approve",
        args: [args.registry, args.stake],
      }),
    );
    const receipt = await confirm(
      "register",
      await wallet.writeContract({
        chain,
        account,
        address: args.registry,
        abi: sequencerRegistryAbi,
        functionName: "register",
        args: [args.stake, args.signer, args.peerIdBytes, [...args.addrs]],
      }),
    );
    const [event] = parseEventLogs({ abi: sequencerRegistryAbi, logs: receipt.logs, eventName: "OperatorRegistered" });
    if (event === undefined) throw new RegistrationError("register succeeded without an OperatorRegistered event");
    return { registrationId: event.args.registrationId, transactionHash: receipt.transactionHash };
  } catch (cause) {
    if (cause instanceof RegistrationError) throw cause;
    throw new RegistrationError(`registering ${account.address} failed: ${(cause as Error).message}`, { cause });
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
