/**
 * The one place key files are read: the node's signer and batcher keys, the standalone
 * watchtower's and the CLI's. A key file is either a Web3 Secret Storage v3 keystore (JSON) or,
 * for devnets and tests, a plain 0x-hex private key, which works with a warning.
 *
 * What is signed goes through {@link Signer}, viem's `LocalAccount`: the address, EIP-712 typed
 * data (order commitments, batch headers) and L1 transactions (batches, slashes). A key file gives
 * one through `privateKeyToAccount`; a remote signer (e.g. web3signer's HTTP API) would be built
 * with viem's `toAccount({ address, signMessage, signTransaction, signTypedData })` and passed the
 * same way. Only key files are supported today.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { isHex, type Hex } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { decryptKeystore, encryptKeystore, looksLikeKeystore, STANDARD_SCRYPT, type ScryptParams } from "./keystore.js";
import { KeyError } from "./errors.js";

/** What the node signs with (see the module comment). */
export type Signer = LocalAccount;

/** The environment variable that may hold the keystore passphrase (like Foundry's ETH_PASSWORD). */
export const PASSPHRASE_ENV = "SEQ_KEYSTORE_PASSWORD";

/** Where a keystore's passphrase comes from: `passwordFile` (its first line), else `env[SEQ_KEYSTORE_PASSWORD]`. */
export interface PassphraseSource {
  readonly passwordFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

export interface LoadSignerOptions extends PassphraseSource {
  /** Told once per file and process that a key is stored unencrypted. Default: `console.warn`. */
  readonly warn?: (message: string) => void;
}

/** A key file cannot be read, or holds neither a keystore nor a 0x-hex key. */
export class KeyFileError extends KeyError {
  override readonly name = "KeyFileError";
}

/** A keystore needs a passphrase and none was given (or the password file is empty or unreadable). */
export class MissingPassphraseError extends KeyError {
  override readonly name = "MissingPassphraseError";
}

const warnedPlain = new Set<string>();

/**
 * The passphrase from `source`, or undefined when it names none.
 * @throws MissingPassphraseError when the password file cannot be read or its first line is empty
 */
export async function readPassphrase(source: PassphraseSource): Promise<string | undefined> {
  if (source.passwordFile !== undefined && source.passwordFile !== "") {
    let text: string;
    try {
      text = await readFile(source.passwordFile, "utf8");
    } catch (cause) {
      throw new MissingPassphraseError(`cannot read the password file ${source.passwordFile}: ${(cause as Error).message}`, { cause });
    }
    const line = text.split(/\r?\n/)[0]!;
    if (line === "") throw new MissingPassphraseError(`the password file ${source.passwordFile} is empty: its first line is the passphrase`);
    return line;
  }
  const fromEnv = (source.env ?? process.env)[PASSPHRASE_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/**
 * The signer in `file`: a v3 keystore decrypted with the passphrase of `options`, or a plain
 * 0x-hex key (a warning, once per file).
 * @throws KeyFileError, MissingPassphraseError, WrongPassphraseError, InvalidKeystoreError
 */
export async function loadSigner(file: string, options: LoadSignerOptions = {}): Promise<Signer> {
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (cause) {
    throw new KeyFileError(`cannot read the key file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (text.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new KeyFileError(`${file} is neither JSON (a keystore) nor a 0x-hex key: ${(cause as Error).message}`, { cause });
    }
    if (!looksLikeKeystore(json)) throw new KeyFileError(`${file} holds JSON that is not a keystore (no "version" and "crypto")`);
    const passphrase = await readPassphrase(options);
    if (passphrase === undefined) {
      throw new MissingPassphraseError(`${file} is an encrypted keystore: give its passphrase with --password-file FILE (keystorePasswordFile in a node config) or ${PASSPHRASE_ENV}`);
    }
    return privateKeyToAccount(await decryptKeystore(json, passphrase, file));
  }
  if (!isHex(text) || text.length !== 66) throw new KeyFileError(`${file} must hold a keystore (JSON) or a 32-byte 0x-hex private key`);
  const resolved = path.resolve(file);
  if (!warnedPlain.has(resolved)) {
    warnedPlain.add(resolved);
    (options.warn ?? console.warn)(`the key in ${file} is stored unencrypted; encrypt it as a keystore (seq keys writes one) for anything but a devnet`);
  }
  return privateKeyToAccount(text as Hex);
}

/** Writes `privateKey` to a new `file` (mode 0600, never overwritten) as a keystore under `passphrase`. */
export async function writeKeystoreFile(file: string, privateKey: Hex, passphrase: string, params: ScryptParams = STANDARD_SCRYPT): Promise<void> {
  const keystore = await encryptKeystore(privateKey, passphrase, params);
  await writeFile(file, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: "wx" });
}
