/**
 * libp2p peer ids as the registry stores them: the binary multihash
 * (`peerId.toMultihash().bytes`), the form libp2p puts on the wire.
 */
import { peerIdFromMultihash, peerIdFromString } from "@libp2p/peer-id";
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { L1Error } from "./errors.js";

/** Bytes that are not a libp2p peer id (or a string that is not one). */
export class InvalidPeerIdError extends L1Error {
  override readonly name = "InvalidPeerIdError";
}

/** The on-chain bytes of a peer id given as a string (`12D3KooW...`). */
export function peerIdToBytes(peerId: string): Hex {
  try {
    return bytesToHex(peerIdFromString(peerId).toMultihash().bytes);
  } catch (cause) {
    throw new InvalidPeerIdError(`not a libp2p peer id: ${peerId}`, { cause });
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
    throw new InvalidPeerIdError(`not a binary libp2p peer id: ${bytes}`);
  }
  try {
    return peerIdFromMultihash({ code, size, digest: raw.slice(2), bytes: raw }).toString();
  } catch (cause) {
    throw new InvalidPeerIdError(`not a binary libp2p peer id: ${bytes}`, { cause });
  }
}
