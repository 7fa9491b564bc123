/** `seq register`: join the sequencer set with the keys of `seq keys`. */
import path from "node:path";
import { erc20Abi, isAddressEqual, parseUnits, type Hex } from "viem";
import { loadPeerKey, peerIdOf } from "../../transport/index.js";
import { loadDeploymentRecord } from "../../l1/deployment.js";
import { operatorClients, proveOperatorKeys, registerOperator, setOperatorBatcher } from "../../l1/operator.js";
import { domain } from "../../commitments/typed-data.js";
import { loadSigner } from "../../keys/index.js";
import { keyOptions } from "../common.js";

export type RegisterInput = {
  readonly keys: string;
  readonly stake: string;
  readonly addrs: readonly string[];
  readonly l1: string;
  readonly deployment: string;
  readonly operatorKey: Hex;
  readonly mint: boolean;
  /** The key file of the account to name as the batcher after registering (default: the signer). */
  readonly batcherKey: string | undefined;
  readonly passwordFile: string | undefined;
};

export async function register(input: RegisterInput): Promise<void> {
  const deployment = await loadDeploymentRecord(input.deployment);
  const signer = await loadSigner(path.join(input.keys, "signer.key"), keyOptions(input.passwordFile));
  const batcher = input.batcherKey === undefined ? undefined : await loadSigner(input.batcherKey, keyOptions(input.passwordFile));
  const peerKey = await loadPeerKey(path.join(input.keys, "p2p.key"));
  const peerId = peerIdOf(peerKey);
  const { publicClient, wallet } = await operatorClients(input.l1, deployment, input.operatorKey);
  const account = wallet.account;
  const decimals = await publicClient.readContract({ address: deployment.stakeToken, abi: erc20Abi, functionName: "decimals" });
  const result = await registerOperator({
    publicClient,
    wallet,
    registry: deployment.sequencerRegistry,
    token: deployment.stakeToken,
    // Both keys sign that they belong to this operator account (proof of possession).
    ...(await proveOperatorKeys({ signer, peerKey }, domain(deployment.chainId, deployment.sequencerRegistry), account.address)),
    addrs: input.addrs,
    stake: parseUnits(input.stake, decimals),
    mint: input.mint,
  });
  console.log(JSON.stringify({ operator: account.address, signer: signer.address, peerId, registrationId: result.registrationId, transactionHash: result.transactionHash }, null, 2));
  console.log("registered: the operator joins the active set at the start of the next epoch");
  if (batcher !== undefined && !isAddressEqual(batcher.address, signer.address)) {
    const txHash = await setOperatorBatcher({ publicClient, wallet, registry: deployment.sequencerRegistry, batcher, chainId: deployment.chainId });
    console.log(`batcher: ${batcher.address} posts this operator's batches (tx ${txHash}); fund it with ETH for L1 gas`);
  }
}
