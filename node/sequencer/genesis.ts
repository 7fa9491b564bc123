/**
 * The cluster's index-0 configuration: the first non-empty active set on L1, read once and then
 * kept in the data dir, so every node (a later joiner included) starts from the same one.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NodeId } from "../consensus/index.js";
import type { L1Follower } from "../l1/follower.js";
import type { RegistryReader } from "../l1/registry.js";
import { NodeStartError } from "./errors.js";
import { membersOf } from "./members.js";

export async function genesisVoters(dataDir: string, follower: L1Follower, registry: RegistryReader): Promise<NodeId[]> {
  const file = path.join(dataDir, "genesis.json");
  try {
    const saved = JSON.parse(await readFile(file, "utf8")) as { epoch: number; voters: NodeId[] };
    if (Array.isArray(saved.voters) && saved.voters.length > 0) return saved.voters;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new NodeStartError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const at = follower.confirmedBlock;
  for (let e = 0n; e <= follower.epoch; e++) {
    const view = await registry.epochView(e, at);
    if (view.members.length === 0) continue;
    const voters = membersOf(view).map((m) => m.nodeId);
    await writeFile(`${file}.tmp`, JSON.stringify({ epoch: Number(e), voters }));
    await rename(`${file}.tmp`, file);
    return voters;
  }
  throw new NodeStartError("no epoch up to the current one has an active set: nothing to bootstrap from");
}
