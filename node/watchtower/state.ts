/**
 * The watchtower's cursor: the last L1 block whose accepted batches it has checked, in a small
 * JSON file (`watchtower.json` in the node's data dir), replaced atomically (write a temporary
 * file, then rename) so a crash leaves the old cursor or the new one, never a torn file.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { type Address, getAddress, isAddress, isAddressEqual } from "viem";
import { WatchtowerError } from "./errors.js";

const VERSION = 1;

/** The state file is unreadable, malformed, or belongs to another deployment. */
export class WatchtowerStateError extends WatchtowerError {
  override readonly name = "WatchtowerStateError";
}

/** Which inbox the cursor is about: a cursor is meaningless for another chain or deployment. */
export type CursorScope = { readonly chainId: number; readonly batchInbox: Address };

/**
 * The last checked block stored in `file`, or undefined when there is no file yet.
 * @throws WatchtowerStateError
 */
export async function loadCursor(file: string, scope: CursorScope): Promise<bigint | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new WatchtowerStateError(`cannot read the watchtower state ${file}: ${(cause as Error).message}`, { cause });
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new WatchtowerStateError(`${file} is not JSON: ${(cause as Error).message}`, { cause });
  }
  const { version, chainId, batchInbox, lastCheckedBlock } = json ?? {};
  if (version !== VERSION || typeof chainId !== "number" || typeof batchInbox !== "string" || !isAddress(batchInbox) || typeof lastCheckedBlock !== "string" || !/^\d+$/.test(lastCheckedBlock)) {
    throw new WatchtowerStateError(`${file} is not a version ${VERSION} watchtower state ({ version, chainId, batchInbox, lastCheckedBlock })`);
  }
  if (chainId !== scope.chainId || !isAddressEqual(batchInbox, scope.batchInbox)) {
    throw new WatchtowerStateError(
      `${file} tracks the inbox ${getAddress(batchInbox)} on chain ${chainId}, not ${getAddress(scope.batchInbox)} on chain ${scope.chainId}; remove it to check the new deployment from its start`,
    );
  }
  return BigInt(lastCheckedBlock);
}

/** Replaces the cursor in `file` atomically. */
export async function saveCursor(file: string, scope: CursorScope, lastCheckedBlock: bigint): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const json = { version: VERSION, chainId: scope.chainId, batchInbox: getAddress(scope.batchInbox), lastCheckedBlock: lastCheckedBlock.toString() };
  try {
    await writeFile(tmp, `${JSON.stringify(json)}\n`);
    await rename(tmp, file);
  } catch (cause) {
    throw new WatchtowerStateError(`cannot write the watchtower state ${file}: ${(cause as Error).message}`, { cause });
  }
}
