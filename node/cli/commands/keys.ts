/** `seq keys`: a new signer keystore and libp2p key, never overwriting one. */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { generatePeerKey, peerIdOf, savePeerKey } from "../../transport/index.js";
import { LIGHT_SCRYPT, PASSPHRASE_ENV, STANDARD_SCRYPT, readPassphrase, writeKeystoreFile } from "../../keys/index.js";
import { UsageError } from "../usage.js";

export type KeysInput = { readonly out: string; readonly passwordFile: string | undefined; readonly lightKdf: boolean };

export async function keys(input: KeysInput): Promise<void> {
  const passphrase = await readPassphrase({ passwordFile: input.passwordFile });
  if (passphrase === undefined) throw new UsageError(`keys: signer.key is written as an encrypted keystore: give its passphrase with --password-file FILE or ${PASSPHRASE_ENV}`);
  const signerFile = path.join(input.out, "signer.key");
  const p2pFile = path.join(input.out, "p2p.key");
  const existing = [signerFile, p2pFile].filter((f) => existsSync(f));
  if (existing.length > 0) throw new UsageError(`keys: ${existing.join(" and ")} already exist; refusing to overwrite a key`);
  await mkdir(input.out, { recursive: true, mode: 0o700 });
  const kdf = input.lightKdf ? LIGHT_SCRYPT : STANDARD_SCRYPT;
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
