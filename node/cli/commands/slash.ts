/** `seq slash`: check a commitment against its L1 batch and slash its signers if it broke; or claim the rewards. */
import { commitmentOfSignature, decodeOrderCommitmentProof, decodeQuorumCommitment, type OrderCommitmentProof } from "../../commitments/index.js";
import { loadDeploymentRecord } from "../../l1/deployment.js";
import { checkOrderCommitment, type CommitmentCheck } from "../../watchtower/commitment-check.js";
import { SlashSubmitter } from "../../watchtower/slashing.js";
import { l1ClientsFor } from "../evidence-source.js";
import { keyOptions } from "../common.js";
import { readCommitment } from "./verify.js";

export type SlashInput = {
  readonly l1: string;
  readonly deployment: string;
  readonly key: string | undefined;
  readonly passwordFile: string | undefined;
};

/** `seq slash --claim`: pays out the key's reporter rewards whose claim window has closed. */
export async function claim(input: SlashInput & { readonly key: string }): Promise<void> {
  const deployment = await loadDeploymentRecord(input.deployment);
  const { publicClient, wallet } = await l1ClientsFor(input.l1, deployment, input.key, keyOptions(input.passwordFile));
  const paid = await new SlashSubmitter(publicClient, wallet!, deployment.slashing).claimRewards();
  for (const p of paid) console.log(`paid: reward ${p.amount} for offence ${p.offenceId} (L1 tx ${p.txHash})`);
  if (paid.length === 0) console.log("no reporter reward of this key is claimable yet");
}

export async function slash(input: SlashInput & { readonly commitment: string }): Promise<void> {
  // A quorum commitment (seq_getQuorumCommitment) is checked signer by signer: each signature is
  // one statement, and whoever of its signers also signed the contradicting batch is slashable.
  const proofs = await readCommitment("slash", input.commitment, (json) =>
    typeof json === "object" && json !== null && "signatures" in json
      ? ((q) => q.signatures.map((signature) => commitmentOfSignature(q, signature)))(decodeQuorumCommitment(json))
      : [decodeOrderCommitmentProof(json)],
  );
  const deployment = await loadDeploymentRecord(input.deployment);
  const { publicClient, wallet } = await l1ClientsFor(input.l1, deployment, input.key, keyOptions(input.passwordFile));
  for (const proof of proofs) {
    const result = await checkOrderCommitment(proof, { publicClient, deployment, ...(wallet ? { wallet } : {}) });
    console.log(JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
    reportCheck(result, proof, { l1: input.l1, deployment: input.deployment, key: input.key });
    if (result.status === "kept" || result.status === "not-batched") break; // the same for every signer
  }
}

/** One sentence per outcome of `seq slash`; a broken or invalid commitment sets a failing exit code. */
function reportCheck(result: CommitmentCheck, proof: OrderCommitmentProof, values: { l1: string; deployment: string; key: string | undefined }): void {
  const l1 = values.l1;
  const at = `position ${proof.position}`;
  switch (result.status) {
    case "invalid":
      console.log(`the commitment does not verify: ${result.reasons.map((r) => r.message).join("; ")}`);
      process.exitCode = 1;
      break;
    case "not-batched":
      console.log(`not yet batched: no accepted L1 batch covers ${at} (last batched position: ${result.lastBatchedPosition ?? "none"})`);
      break;
    case "kept":
      console.log(`verified: batch ${result.batchNumber} (L1 tx ${result.l1TxHash}) holds ${proof.txHash} at ${at}`);
      break;
    case "unreadable":
      console.log(`cannot check: batch ${result.batchNumber} (L1 tx ${result.l1TxHash}) covers ${at} but cannot be read from L1 (${result.reason}); nothing can be proven against it`);
      process.exitCode = 1;
      break;
    case "broken-unprovable":
      console.log(
        `BROKEN: batch ${result.batchNumber} holds ${result.batchTxHash} at ${at}, the commitment promised ${proof.txHash}; the certificate's signer ${result.signer} did not sign that batch (its signers: ${result.batchSigners.join(", ")}), so this signature proves nothing against anyone (a quorum commitment from seq_getQuorumCommitment would)`,
      );
      process.exitCode = 1;
      break;
    case "broken":
      console.log(`BROKEN: batch ${result.batchNumber} holds ${result.batchTxHash} at ${at}, the commitment promised ${proof.txHash}; pass --key FILE to slash ${result.signer}`);
      process.exitCode = 1;
      break;
    case "already-slashed":
      console.log(`broken, and already slashed: batch ${result.batchNumber} holds ${result.batchTxHash} at ${at} (offence ${result.offenceId})`);
      break;
    case "slashed":
      console.log(`slashed: batch ${result.batchNumber} broke the commitment at ${at}; operator ${result.operator} lost ${result.amount} (L1 tx ${result.txHash})`);
      console.log(`the reporter reward is claimable from L1 block ${result.rewardClaimableFrom}: seq slash --claim --l1-rpc ${l1} --deployment ${values.deployment} --key ${values.key}`);
      break;
    case "reward-taken-over":
      console.log(`broken, and slashed by a later reporter: our earlier commitment took the reporter reward over (L1 tx ${result.txHash}); claimable from L1 block ${result.rewardClaimableFrom} with seq slash --claim`);
      break;
  }
}
