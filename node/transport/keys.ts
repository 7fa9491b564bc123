/** libp2p identity keys (Ed25519) on disk: protobuf-encoded, owner-only (0600). */
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import { PeerKeyFileError } from "./errors.js";

export function generatePeerKey(): Promise<PrivateKey> {
  return generateKeyPair("Ed25519");
}

export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}

/** Writes a new key file with mode 0600; refuses to overwrite an existing file. */
export async function savePeerKey(path: string, key: PrivateKey): Promise<void> {
  try {
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600); // the umask cannot widen it, but an existing ACL default might
  } catch (cause) {
    throw new PeerKeyFileError(path, `cannot be created (${(cause as Error).message})`, { cause });
  }
}

/** Reads an Ed25519 key file, refusing one that group or others can access. */
export async function loadPeerKey(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new PeerKeyFileError(path, `mode ${(st.mode & 0o777).toString(8)} lets others read it; run chmod 600`);
    }
    bytes = await readFile(path);
  } catch (cause) {
    if (cause instanceof PeerKeyFileError) throw cause;
    throw new PeerKeyFileError(path, `cannot be read (${(cause as Error).message})`, { cause });
  }
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (cause) {
    throw new PeerKeyFileError(path, "is not a protobuf-encoded libp2p private key", { cause });
  }
  if (key.type !== "Ed25519") throw new PeerKeyFileError(path, `holds a ${key.type} key, expected Ed25519`);
  return key;
}

/** Loads the key at `path`, generating and saving a new one if the file does not exist. */
export async function loadOrCreatePeerKey(path: string): Promise<{ key: PrivateKey; created: boolean }> {
  try {
    await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new PeerKeyFileError(path, (err as Error).message, { cause: err });
    const key = await generatePeerKey();
    await savePeerKey(path, key);
    return { key, created: true };
  }
  return { key: await loadPeerKey(path), created: false };
}
