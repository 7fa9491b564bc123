/** What several `seq` commands share: how key files are opened, and standard input. */
import type { LoadSignerOptions } from "../keys/index.js";

/** How the commands open key files: the passphrase from --password-file or the environment, warnings on stderr. */
export function keyOptions(passwordFile: string | undefined): LoadSignerOptions {
  return { passwordFile, warn: (message) => console.error(`seq: warning: ${message}`) };
}

/** All of standard input as text (a commitment piped in with `-`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
