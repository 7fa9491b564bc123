/** `seq set-batcher`: name the account that posts the operator's batches. */
import { isAddressEqual, type Hex } from "viem";
import { loadDeploymentRecord } from "../../l1/deployment.js";
import { sequencerRegistryAbi } from "../../l1/generated/abi.js";
import { operatorClients, setOperatorBatcher } from "../../l1/operator.js";
import { loadSigner } from "../../keys/index.js";
import { loadNodeConfig } from "../../sequencer/config.js";
import { keyOptions } from "../common.js";

/** Exactly one of `config`, `batcherKey` and neither (`--reset`: the signer again); `l1` and `deployment` unless `config` names them. */
export type SetBatcherInput = {
  readonly config: string | undefined;
  readonly batcherKey: string | undefined;
  readonly l1: string | undefined;
  readonly deployment: string | undefined;
  readonly operatorKey: Hex;
  readonly passwordFile: string | undefined;
};

export async function setBatcher(input: SetBatcherInput): Promise<void> {
  const config = input.config === undefined ? undefined : await loadNodeConfig(input.config);
  const l1 = (input.l1 ?? config?.l1RpcUrl)!;
  const deployment = await loadDeploymentRecord((input.deployment ?? config?.deployment)!);
  const { publicClient, wallet } = await operatorClients(l1, deployment, input.operatorKey);
  const operator = wallet.account.address;
  const info = await publicClient.readContract({ address: deployment.sequencerRegistry, abi: sequencerRegistryAbi, functionName: "operatorInfo", args: [operator] });
  const passwords = keyOptions(input.passwordFile ?? config?.keystorePasswordFile);
  // The node's batcher is its batcherKeyFile, else its signer: the registry's default.
  const keyFile = input.batcherKey ?? (config !== undefined && config.batcherKeyFile !== "" ? config.batcherKeyFile : undefined);
  const batcher = keyFile === undefined ? info.signer : await loadSigner(keyFile, passwords);
  const address = typeof batcher === "string" ? batcher : batcher.address;
  const txHash = await setOperatorBatcher({ publicClient, wallet, registry: deployment.sequencerRegistry, batcher, chainId: deployment.chainId });
  console.log(JSON.stringify({ operator, batcher: address, signer: info.signer, transactionHash: txHash }, null, 2));
  console.log(isAddressEqual(address, info.signer) ? "batcher: the operator's signer posts its batches (the default)" : `batcher: ${address} posts this operator's batches; fund it with ETH for L1 gas`);
}
