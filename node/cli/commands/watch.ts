/** `seq watch`: the slashing watchtower of a node, standalone. */
import path from "node:path";
import { loadNodeConfig } from "../../sequencer/config.js";
import { loadDeploymentRecord } from "../../l1/deployment.js";
import { componentLogger, createLogger } from "../../ops/logger.js";
import { Watchtower, slashReportView } from "../../watchtower/watchtower.js";
import { l1ClientsFor, openNodeEvidence } from "../evidence-source.js";
import { keyOptions } from "../common.js";

export type WatchInput = {
  readonly config: string;
  readonly rpc: string | undefined;
  readonly key: string | undefined;
  readonly state: string | undefined;
  readonly once: boolean;
  readonly passwordFile: string | undefined;
};

export async function watch(input: WatchInput): Promise<void> {
  const config = await loadNodeConfig(input.config);
  const deployment = await loadDeploymentRecord(config.deployment);
  // The watchtower's own account, never the batcher's (the two would take each other's nonces).
  const keyFile = input.key ?? (config.watchtowerKeyFile !== "" ? config.watchtowerKeyFile : config.signerKeyFile);
  const { publicClient, wallet } = await l1ClientsFor(config.l1RpcUrl, deployment, keyFile, keyOptions(input.passwordFile ?? config.keystorePasswordFile));
  const source = await openNodeEvidence(config, deployment, input.rpc);
  const logger = createLogger({ level: config.logLevel });
  const tower = new Watchtower({
    publicClient,
    wallet: wallet!,
    deployment,
    evidence: source.evidence,
    stateFile: input.state ?? path.join(config.dataDir, "watchtower-standalone.json"),
    logger: componentLogger(logger, "watchtower", { evidence: source.description }),
    confirmations: config.l1Confirmations,
    pollMs: config.l1PollMs,
    ...(deployment.forcedInclusionQueue === undefined ? {} : { forcedQueue: deployment.forcedInclusionQueue }),
  });
  const report = () => {
    const s = tower.stats();
    console.log(JSON.stringify({ evidence: source.description, ...s, lastCheckedBlock: s.lastCheckedBlock?.toString() ?? null, waitingForPosition: s.waitingForPosition?.toString() ?? null, recentSlashes: s.recentSlashes.map(slashReportView) }));
  };
  if (input.once) {
    try {
      let run;
      do run = await tower.runOnce();
      while (!run.caughtUp && tower.stats().waitingForPosition === null);
      report();
    } finally {
      await source.close();
    }
    return;
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "stopping the watchtower");
    await tower.stop();
    await source.close();
    report();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  tower.start();
}
