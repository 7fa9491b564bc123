/** `seq force`: force a signed raw transaction in through the L1 queue, and report its position and commitment once ordered. */
import type { Hex } from "viem";
import { loadDeploymentRecord } from "../../l1/deployment.js";
import { forceTransaction } from "../../l1/force.js";
import { keyOptions } from "../common.js";
import { l1ClientsFor } from "../evidence-source.js";
import { CliError } from "../usage.js";

export type ForceInput = {
  readonly raw: Hex;
  readonly l1: string;
  readonly deployment: string;
  readonly key: string;
  readonly rpc: string | undefined;
  readonly passwordFile: string | undefined;
};

export async function force(input: ForceInput): Promise<void> {
  const deployment = await loadDeploymentRecord(input.deployment);
  if (deployment.forcedInclusionQueue === undefined) throw new CliError(`the deployment ${input.deployment} has no forced-inclusion queue (it was deployed before the queue existed)`);
  const { publicClient, wallet } = await l1ClientsFor(input.l1, deployment, input.key, keyOptions(input.passwordFile));
  const result = await forceTransaction({
    publicClient,
    wallet: wallet!,
    queue: deployment.forcedInclusionQueue,
    inbox: deployment.batchInbox,
    raw: input.raw,
    ...(input.rpc === undefined ? {} : { rpc: input.rpc }),
    onProgress: (e) => {
      if (e.kind === "enqueued") console.log(`enqueued as forced item ${e.item} in L1 block ${e.l1Block} (tx ${e.l1TxHash}); a batch must cover it by L1 block ${e.deadlineBlock}`);
      else if (e.kind === "ordered") console.log(`ordered at position ${e.position} after ${e.afterMs} ms:\n${JSON.stringify(e.commitment, null, 2)}`);
      else console.log(`on L1 at position ${e.position} in batch ${e.batchNumber} after ${e.afterMs} ms`);
    },
  });
  if (result.commitment !== null && BigInt(result.commitment.position) !== result.position) {
    console.log(`the node committed position ${BigInt(result.commitment.position)}, L1 holds it at ${result.position}: the commitment is broken (seq slash)`);
    process.exitCode = 1;
  }
}
