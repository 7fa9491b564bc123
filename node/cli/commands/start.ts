/** `seq start`: run a node until SIGTERM or SIGINT. */
import path from "node:path";
import { loadNodeConfig } from "../../sequencer/config.js";
import { SequencerNode } from "../../sequencer/node.js";

export type StartInput = { readonly config: string | undefined; readonly passwordFile: string | undefined };

export async function start(input: StartInput): Promise<void> {
  const fromFile = await loadNodeConfig(input.config);
  const config = input.passwordFile === undefined ? fromFile : { ...fromFile, keystorePasswordFile: path.resolve(input.passwordFile) };
  let node: SequencerNode | undefined;
  const shutdown = async (signal: string, code: number) => {
    node?.logger.info({ signal }, "shutting down");
    await node?.stop();
    process.exit(code);
  };
  node = await SequencerNode.start(config, { onFatal: () => void shutdown("fatal", 1) });
  process.once("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.once("SIGINT", () => void shutdown("SIGINT", 0));
}
