/** `seq verify`: an order commitment, offline or against L1. */
import { readFile } from "node:fs/promises";
import { createPublicClient, http, type Address } from "viem";
import { decodeOrderCommitmentProof, verifyOrderCommitment, verifyOrderCommitmentOnL1 } from "../../commitments/index.js";
import { readStdin } from "../common.js";
import { UsageError } from "../usage.js";

export type VerifyInput = { readonly commitment: string; readonly l1: string | undefined; readonly registry: Address | undefined; readonly chainId: number | undefined };

/** The JSON of --commitment FILE (or standard input for `-`). */
export async function readCommitmentJson(command: string, file: string): Promise<unknown> {
  const text = file === "-" ? await readStdin() : await readFile(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${command}: --commitment ${file === "-" ? "- (standard input)" : file} is not JSON (${(error as Error).message}): give a commitment as seq send or seq_getQuorumCommitment prints it`);
  }
}

/** `decode` of the commitment in `file`; what it refuses is a usage error naming the file. */
export async function readCommitment<T>(command: string, file: string, decode: (json: unknown) => T): Promise<T> {
  const json = await readCommitmentJson(command, file);
  try {
    return decode(json);
  } catch (error) {
    throw new UsageError(`${command}: --commitment ${file === "-" ? "- (standard input)" : file} is not a commitment as seq send or seq_getQuorumCommitment prints it (${(error as Error).message})`, { cause: error });
  }
}

export async function verify(input: VerifyInput): Promise<void> {
  const proof = await readCommitment("verify", input.commitment, decodeOrderCommitmentProof);
  const registry = input.registry ?? proof.registry;
  const result = input.l1
    ? await verifyOrderCommitmentOnL1(proof, { client: createPublicClient({ transport: http(input.l1) }), registry })
    : await verifyOrderCommitment(proof, { chainId: input.chainId ?? proof.chainId, registry });
  console.log(JSON.stringify({ valid: result.valid, signer: result.signer, position: proof.position.toString(), txHash: proof.txHash, reasons: result.reasons }, null, 2));
  if (!result.valid) process.exitCode = 1;
}
