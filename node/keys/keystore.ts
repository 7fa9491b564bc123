/**
 * Web3 Secret Storage v3 keystores (the JSON key files of geth, Foundry's `cast wallet`, ethers):
 * scrypt KDF, aes-128-ctr, keccak-256 MAC. The format is micro-eth-signer's implementation; this
 * module picks the parameters and turns its failures into typed errors.
 */
import { privFromLegacyKeystore, privToLegacyKeystore } from "micro-eth-signer/keystore.js";
import { bytesToHex, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { KeyError } from "./errors.js";

export type Keystore = Awaited<ReturnType<typeof privToLegacyKeystore>>;

/** scrypt cost parameters of a new keystore. */
export interface ScryptParams {
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

/** geth's standard parameters (256 MB, about a second per decryption): what `seq keys` writes by default. */
export const STANDARD_SCRYPT: ScryptParams = { n: 262_144, r: 8, p: 1 };
/** geth's `--lightkdf` parameters (4 MB, a few ms per decryption): for test and devnet keys only. */
export const LIGHT_SCRYPT: ScryptParams = { n: 4_096, r: 8, p: 6 };

/** The passphrase does not open the keystore (its MAC does not match). */
export class WrongPassphraseError extends KeyError {
  override readonly name = "WrongPassphraseError";
}

/** The keystore JSON is not a v3 keystore this node can read. */
export class InvalidKeystoreError extends KeyError {
  override readonly name = "InvalidKeystoreError";
}

/** Whether parsed JSON claims to be a v3 keystore (the decryption then checks the rest). */
export function looksLikeKeystore(json: unknown): json is Keystore {
  return typeof json === "object" && json !== null && "crypto" in json && "version" in json;
}

/** Encrypts a 32-byte private key under `passphrase` with scrypt `params`. */
export async function encryptKeystore(privateKey: Hex, passphrase: string, params: ScryptParams = STANDARD_SCRYPT): Promise<Keystore> {
  return privToLegacyKeystore(privateKey, passphrase, { kdf: "scrypt", ...params });
}

/**
 * The private key in `keystore`, checked against the keystore's `address` when it has one.
 * `what` names the keystore in error messages (its file).
 * @throws WrongPassphraseError, InvalidKeystoreError
 */
export async function decryptKeystore(keystore: Keystore, passphrase: string, what: string): Promise<Hex> {
  let key: Uint8Array;
  try {
    key = await privFromLegacyKeystore(keystore, passphrase);
  } catch (cause) {
    const message = (cause as Error).message;
    // The library's one MAC check: the derived key is wrong, so is the passphrase (or the file was altered).
    if (/wrong passphrase/i.test(message)) throw new WrongPassphraseError(`the passphrase does not open the keystore ${what} (MAC mismatch)`, { cause });
    throw new InvalidKeystoreError(`${what} is not a readable Web3 Secret Storage v3 keystore: ${message}`, { cause });
  }
  const privateKey = bytesToHex(key);
  key.fill(0);
  const address = privateKeyToAddress(privateKey);
  if (keystore.address !== undefined && keystore.address.replace(/^0x/, "").toLowerCase() !== address.slice(2).toLowerCase()) {
    throw new InvalidKeystoreError(`${what} says it holds the key of 0x${keystore.address.replace(/^0x/, "")}, but it decrypts to the key of ${address}`);
  }
  return privateKey;
}
