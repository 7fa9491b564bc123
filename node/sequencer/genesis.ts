/**
 * The cluster's index-0 configuration: the first non-empty active set on L1 with its stakes as
 * Raft weights (quorums are by stake from the first entry on), read once and then kept in the
 * data dir, so every node (a later joiner included) starts from the same one.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { MembershipConfig } from "../consensus/index.js";
import type { L1Follower } from "../l1/follower.js";
import type { RegistryReader } from "../l1/registry.js";
import { NodeStartError } from "./errors.js";
import { planOf } from "./members.js";

/** The genesis configuration; a genesis.json written before weights existed gives equal weights. */
export async function genesisConfig(dataDir: string, follower: L1Follower, registry: RegistryReader): Promise<MembershipConfig> {
  const file = path.join(dataDir, "genesis.json");
  try {
    const saved = JSON.parse(await readFile(file, "utf8")) as { epoch: number; voters: string[]; weights?: string[] };
    if (Array.isArray(saved.voters) && saved.voters.length > 0) {
      const weighted = Array.isArray(saved.weights) && saved.weights.length === saved.voters.length;
      return { voters: saved.voters, ...(weighted ? { weights: saved.weights } : {}), learners: [] };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new NodeStartError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const at = follower.confirmedBlock;
  for (let e = 0n; e <= follower.epoch; e++) {
    const view = await registry.epochView(e, at);
    if (view.members.length === 0) continue;
    const { voters, weights } = planOf(view);
    await writeFile(`${file}.tmp`, JSON.stringify({ epoch: Number(e), voters, weights }));
    await rename(`${file}.tmp`, file);
    return { voters, weights, learners: [] };
  }
  throw new NodeStartError("no epoch up to the current one has an active set: nothing to bootstrap from");
}
