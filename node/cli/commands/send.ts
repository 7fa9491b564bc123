/** `seq send`: a signed test transaction, its order commitment verified. */
import { createPublicClient, http, parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { nodeRpc } from "../../rpc/client.js";
import { decodeOrderCommitmentProof, verifyOrderCommitment, verifyOrderCommitmentOnL1 } from "../../commitments/index.js";

export type SendInput = { readonly rpc: string; readonly chainId: number | undefined; readonly key: Hex | undefined; readonly l1: string | undefined };

export async function send(input: SendInput): Promise<void> {
  const chainId = input.chainId ?? Number.parseInt(String(await nodeRpc(input.rpc, "eth_chainId")).slice(2), 16);
  const account = privateKeyToAccount(input.key ?? generatePrivateKey());
  const raw = await account.signTransaction({
    type: "eip1559",
    chainId,
    nonce: Math.floor(Date.now() / 1000),
    to: account.address,
    value: 0n,
    gas: 21_000n,
    maxFeePerGas: parseGwei("1"),
    maxPriorityFeePerGas: parseGwei("1"),
  });
  const started = performance.now();
  const commitment = await nodeRpc(input.rpc, "seq_sendRawTransaction", [raw]);
  const ms = performance.now() - started;
  console.log(JSON.stringify(commitment, null, 2));
  const proof = decodeOrderCommitmentProof(commitment);
  const result = input.l1
    ? await verifyOrderCommitmentOnL1(proof, { client: createPublicClient({ transport: http(input.l1) }), registry: proof.registry })
    : await verifyOrderCommitment(proof, { chainId: proof.chainId, registry: proof.registry });
  console.log(`committed at position ${proof.position} in ${ms.toFixed(1)} ms; commitment ${result.valid ? "VERIFIES" : "DOES NOT VERIFY"} (signer ${result.signer})`);
  if (!result.valid) {
    for (const r of result.reasons) console.log(`  - ${r.code}: ${r.message}`);
    process.exitCode = 1;
  }
}
