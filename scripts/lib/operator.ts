/**
 * Joining the sequencer set through contract calls: approve the stake and call
 * `SequencerRegistry.register`. Also generates fresh operator identities (secp256k1 signing
 * key, libp2p Ed25519 peer id). On chain a peer id is its binary multihash
 * (`peerId.toMultihash().bytes`), the form libp2p puts on the wire.
 */
import { generateKeyPair, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromMultihash, peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { NetworkConnection } from "hardhat/types/network";
import {
  type Address,
  type Hash,
  type Hex,
  bytesToHex,
  createWalletClient,
  custom,
  hexToBytes,
  parseEventLogs,
} from "viem";
import { type PrivateKeyAccount, generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Registry, StakeToken } from "./deploy.js";

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

/** The on-chain bytes of a peer id given as a string (`12D3KooW...`). */
export function peerIdToBytes(peerId: string): Hex {
  try {
    return bytesToHex(peerIdFromString(peerId).toMultihash().bytes);
  } catch (cause) {
    throw new RegistrationError(`not a libp2p peer id: ${peerId}`, { cause });
  }
}

/**
 * The string form of on-chain peer id bytes. Peer ids are identity (0x00) or sha2-256 (0x12)
 * multihashes whose code and length are single-byte varints.
 */
export function peerIdFromBytes(bytes: Hex): string {
  const raw = new Uint8Array(hexToBytes(bytes));
  const [code, size] = [raw[0], raw[1]];
  if ((code !== 0x00 && code !== 0x12) || size === undefined || size >= 0x80 || size !== raw.length - 2) {
    throw new RegistrationError(`not a binary libp2p peer id: ${bytes}`);
  }
  try {
    return peerIdFromMultihash({ code, size, digest: raw.slice(2), bytes: raw }).toString();
  } catch (cause) {
    throw new RegistrationError(`not a binary libp2p peer id: ${bytes}`, { cause });
  }
}

export type RegisterOperatorArgs = {
  readonly registry: Registry;
  readonly token: StakeToken;
  /** The operator's account; a hardhat-managed address or a local private-key account. */
  readonly operator: Address | PrivateKeyAccount;
  readonly signer: Address;
  readonly peerIdBytes: Hex;
  readonly addrs: readonly string[];
  readonly stake: bigint;
  /** Mint the stake first (TestToken devnets only). */
  readonly mint?: boolean;
};

/** Approves and registers; returns the registration id and the transaction hash. */
export async function registerOperator(
  connection: NetworkConnection,
  args: RegisterOperatorArgs,
): Promise<{ registrationId: number; transactionHash: Hash }> {
  const publicClient = await connection.viem.getPublicClient();
  const wallet =
    typeof args.operator === "string"
      ? await connection.viem.getWalletClient(args.operator)
      : createWalletClient({ account: args.operator, transport: custom(connection.provider) });
  const account = wallet.account;
  if (account === undefined) throw new RegistrationError("operator wallet has no account");
  const chain = await publicClient.getChainId().then((id) => ({ ...publicClient.chain!, id }));

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
          address: args.token.address,
          abi: args.token.abi,
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
        address: args.token.address,
        abi: args.token.abi,
        functionName: "approve",
        args: [args.registry.address, args.stake],
      }),
    );
    const receipt = await confirm(
      "register",
      await wallet.writeContract({
        chain,
        account,
        address: args.registry.address,
        abi: args.registry.abi,
        functionName: "register",
        args: [args.stake, args.signer, args.peerIdBytes, [...args.addrs]],
      }),
    );
    const [event] = parseEventLogs({ abi: args.registry.abi, logs: receipt.logs, eventName: "OperatorRegistered" });
    if (event === undefined) throw new RegistrationError("register succeeded without an OperatorRegistered event");
    return { registrationId: event.args.registrationId, transactionHash: receipt.transactionHash };
  } catch (cause) {
    if (cause instanceof RegistrationError) throw cause;
    throw new RegistrationError(`registering ${account.address} failed: ${(cause as Error).message}`, { cause });
  }
}
