/**
 * Sending the operator tools' L1 transactions (registration, slashing proofs): the gas limit is
 * the node's estimate plus a margin, since a transaction's gas depends on the state it meets when
 * mined, not the one it was estimated against (three operators registering at once each estimate
 * against the set without the others; the last to land needs more). Failures read as one sentence.
 */
import type { Abi, Account, Chain, Hash, PublicClient, TransactionReceipt, Transport, WalletClient } from "viem";
import { L1Error } from "./errors.js";
import { describeL1Failure, type RevertHints } from "./revert.js";

/**
 * The gas limit to send for an estimate of `estimate`: a quarter more, plus 100,000 for an epoch
 * checkpoint falling to this transaction (measured: a registration estimated at 414,397 gas used
 * 506,438 as the first of a new epoch). Unused gas is not paid for.
 */
export function gasWithMargin(estimate: bigint): bigint {
  return estimate + estimate / 4n + 100_000n;
}

/** A transaction of the operator tools failed: `shortMessage` says which and why in one sentence. */
export class L1TransactionError extends L1Error {
  override readonly name = "L1TransactionError";
}

export type ContractCall = {
  readonly address: `0x${string}`;
  readonly abi: Abi;
  readonly functionName: string;
  readonly args?: readonly unknown[];
  readonly value?: bigint;
};

/**
 * Estimates `call` for the wallet's account, sends it with {@link gasWithMargin} and waits for
 * its receipt. `what` names it for the user ("approve of the stake").
 * @throws L1TransactionError naming `what` and the reason (the revert's meaning, out of gas, what the L1 node said)
 */
export async function sendContractTransaction(
  publicClient: PublicClient,
  wallet: WalletClient<Transport, Chain | undefined, Account>,
  what: string,
  call: ContractCall,
  hints: RevertHints = {},
): Promise<TransactionReceipt> {
  const account = wallet.account;
  let gas: bigint;
  let hash: Hash;
  try {
    gas = gasWithMargin(await publicClient.estimateContractGas({ ...call, account } as Parameters<PublicClient["estimateContractGas"]>[0]));
    hash = await wallet.writeContract({ ...call, account, chain: wallet.chain ?? null, gas } as Parameters<typeof wallet.writeContract>[0]);
  } catch (cause) {
    throw new L1TransactionError(`${what} failed: ${describeL1Failure(cause, hints)}`, { cause });
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await publicClient.waitForTransactionReceipt({ hash });
  } catch (cause) {
    throw new L1TransactionError(`${what} (tx ${hash}) was sent, but its receipt could not be read: ${describeL1Failure(cause)}`, { cause });
  }
  if (receipt.status !== "success") {
    const why = receipt.gasUsed >= gas ? `it ran out of gas (all of its ${gas} gas used)` : "it reverted";
    throw new L1TransactionError(`${what} (tx ${hash}) failed on chain: ${why}`);
  }
  return receipt;
}
