/** The operator's signing key, read from its key file. */
import { readFile } from "node:fs/promises";
import { isHex, type Hex } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { NodeStartError } from "./errors.js";

export async function loadSignerKey(file: string): Promise<LocalAccount> {
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (cause) {
    throw new NodeStartError(`cannot read the signer key file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (!isHex(text) || text.length !== 66) throw new NodeStartError(`${file} must hold a 32-byte 0x-hex private key`);
  return privateKeyToAccount(text as Hex);
}
