/** `seq send`: a signed test transaction (or, with --encrypted, its ciphertext), its order commitment verified. */
import { createPublicClient, http, parseGwei, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { nodeRpc } from "../../rpc/client.js";
import { decodeOrderCommitmentProof, verifyOrderCommitment, verifyOrderCommitmentOnL1 } from "../../commitments/index.js";
import { sendEncryptedTransaction } from "../../l1/encrypt-transaction.js";

export type SendInput = {
  readonly rpc: string;
  readonly chainId: number | undefined;
  readonly key: Hex | undefined;
  readonly l1: string | undefined;
  readonly encrypted: boolean;
  readonly epochKeys: Address | undefined;
};

/** How long `--encrypted` waits for the plaintext after the commitment. */
const DECRYPT_WAIT_MS = 30_000;

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
  const l1 = input.l1 === undefined ? undefined : (createPublicClient({ transport: http(input.l1) }) as PublicClient);
  const commitment = input.encrypted
    ? (await sendEncryptedTransaction({ serializedTransaction: raw, client: input.rpc, ...(l1 && input.epochKeys ? { l1: { client: l1, address: input.epochKeys } } : {}) })).commitment
    : await nodeRpc(input.rpc, "seq_sendRawTransaction", [raw]);
  const ms = performance.now() - started;
  console.log(JSON.stringify(commitment, null, 2));
  const proof = decodeOrderCommitmentProof(commitment);
  const result = input.l1
    ? await verifyOrderCommitmentOnL1(proof, { client: l1!, registry: proof.registry })
    : await verifyOrderCommitment(proof, { chainId: proof.chainId, registry: proof.registry });
  console.log(`committed at position ${proof.position} in ${ms.toFixed(1)} ms; commitment ${result.valid ? "VERIFIES" : "DOES NOT VERIFY"} (signer ${result.signer})`);
  if (!result.valid) {
    for (const r of result.reasons) console.log(`  - ${r.code}: ${r.message}`);
    process.exitCode = 1;
  }
  if (input.encrypted) await awaitPlaintext(input.rpc, proof.txHash, started);
}

/** Waits for the encrypted transaction's slot to settle and prints what it decrypted to. */
async function awaitPlaintext(rpc: string, hash: Hex, started: number): Promise<void> {
  const until = Date.now() + DECRYPT_WAIT_MS;
  for (;;) {
    const outcome = await nodeRpc<{ status: string; transaction?: { hash: Hex }; reason?: string } | null>(rpc, "seq_getDecryptedTransaction", [hash]);
    if (outcome !== null && outcome.status !== "pending") {
      const ms = performance.now() - started;
      console.log(outcome.status === "decrypted" ? `decrypted ${ms.toFixed(0)} ms after sending: transaction ${outcome.transaction!.hash}` : `${outcome.status}: ${outcome.reason ?? ""}`);
      if (outcome.status !== "decrypted") process.exitCode = 1;
      return;
    }
    if (Date.now() >= until) {
      console.log(`still pending after ${DECRYPT_WAIT_MS / 1000} s: query seq_getDecryptedTransaction ${hash}`);
      process.exitCode = 1;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
