/**
 * What `seq watch` and `seq slash` need around the watchtower: the evidence of a node given its
 * config (its store when the node is stopped, its JSON-RPC while it runs: LevelDB lets one
 * process hold the store, and classic-level has no read-only mode), and L1 clients for a key file.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { createPublicClient, http, type PublicClient } from "viem";
import type { NodeConfig } from "../sequencer/config.js";
import { loadSigner, type LoadSignerOptions } from "../keys/index.js";
import { NodeStore } from "../storage/index.js";
import type { NodeDeployment } from "../l1/deployment.js";
import { operatorClients } from "../l1/operator.js";
import { domain } from "../commitments/typed-data.js";
import { rpcEvidence, storeEvidence, type SlashWallet, type WatchtowerEvidence } from "../watchtower/index.js";
import { CliError } from "./usage.js";

/** The node's evidence could not be opened. */
export class EvidenceSourceError extends CliError {
  override readonly name = "EvidenceSourceError";
}

export type EvidenceSource = {
  readonly evidence: WatchtowerEvidence;
  /** "store <path>" or "rpc <url>", for the user. */
  readonly description: string;
  close(): Promise<void>;
};

/**
 * The evidence of the node configured by `config`: its store if no process holds it, else its
 * JSON-RPC at `rpcHost:rpcPort` (which serves no signed batch headers: batch equivocation is
 * then not checked). `rpcUrl` forces the RPC.
 * @throws EvidenceSourceError
 */
export async function openNodeEvidence(config: NodeConfig, deployment: Pick<NodeDeployment, "chainId" | "sequencerRegistry">, rpcUrl?: string): Promise<EvidenceSource> {
  const viaRpc = (url: string): EvidenceSource => ({ evidence: rpcEvidence(url), description: `rpc ${url}`, close: async () => undefined });
  if (rpcUrl !== undefined) return viaRpc(rpcUrl);
  const dbPath = path.join(config.dataDir, "db");
  if (!existsSync(dbPath)) throw new EvidenceSourceError(`no node store at ${dbPath}: point --config at a node that has run, or pass --rpc URL`);
  try {
    const store = await NodeStore.open(dbPath);
    return { evidence: storeEvidence(store, domain(deployment.chainId, deployment.sequencerRegistry)), description: `store ${dbPath}`, close: () => store.close() };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== "LEVEL_LOCKED") throw new EvidenceSourceError(`cannot open the node store ${dbPath}: ${(error as Error).message}`, { cause: error });
    // The node is running and holds the store: ask it instead.
    return viaRpc(`http://${config.rpcHost}:${config.rpcPort}/`);
  }
}

/**
 * L1 clients on the deployment's chain: a wallet for the key in `keyFile` (a keystore opened with
 * the passphrase of `keyOptions`, or plain hex, as the node's keys), or none without a key file.
 */
export async function l1ClientsFor(
  rpcUrl: string,
  deployment: NodeDeployment,
  keyFile: string | undefined,
  keyOptions: LoadSignerOptions = {},
): Promise<{ publicClient: PublicClient; wallet?: SlashWallet }> {
  if (keyFile === undefined) {
    const publicClient = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
    const chainId = await publicClient.getChainId();
    if (chainId !== deployment.chainId) throw new EvidenceSourceError(`${rpcUrl} is chain ${chainId}, but the deployment is on chain ${deployment.chainId}`);
    return { publicClient };
  }
  return operatorClients(rpcUrl, deployment, await loadSigner(keyFile, keyOptions));
}
