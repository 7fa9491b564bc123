/** Reading a contract revert out of a viem error: one place for the inbox writer, the operator tools and the watchtower. */
import { BaseError, ContractFunctionRevertedError } from "viem";

/** The contract revert somewhere in `error`'s cause chain, if that is what it is. */
export function contractRevertOf(error: unknown): ContractFunctionRevertedError | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert : undefined;
}
