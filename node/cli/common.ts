/** What several `seq` commands (and the operator scripts) share: how key files are opened, standard input, how a failure is told. */
import { inspect } from "node:util";
import { BaseError } from "../errors/index.js";
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

/** The one sentence a failure prints: our errors' short message, else an L1 failure's meaning (a revert decoded) or the first line. */
export async function failureSentence(error: unknown): Promise<string> {
  if (error instanceof BaseError) return error.shortMessage.split("\n")[0]!;
  return (await import("../l1/revert.js")).describeL1Failure(error);
}

/** Prints `prefix` and the failure's one sentence on stderr; with LOG_LEVEL=debug also the whole error, its causes and stack. */
export async function reportFailure(prefix: string, error: unknown): Promise<void> {
  console.error(`${prefix}${await failureSentence(error)}`);
  if (process.env.LOG_LEVEL === "debug") console.error(inspect(error, { depth: 10 }));
}
