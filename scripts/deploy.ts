/**
 * Deploys the token (or uses an existing one), the registry, the batch inbox, the slashing
 * contract and the epoch-key anchor to the network Hardhat is pointed at, with parameters from config/<network>.json
 * (default: config/default.json), and writes deployments/<network>.json.
 *
 *   npx hardhat run scripts/deploy.ts                      # in-process chain (vanishes after)
 *   npx hardhat run scripts/deploy.ts --network localhost  # `npx hardhat node`, or L1_RPC_URL
 */
import { network } from "hardhat";
import { loadDeployConfig } from "./lib/config.js";
import { deploySystem } from "./lib/deploy.js";
import { recordNameOf, toRecord, writeRecord } from "./lib/record.js";
import { reportFailure } from "../node/cli/common.js";

const connection = await network.getOrCreate();
const name = recordNameOf(connection);
// A bad config or a refused deployment is one sentence (what is wrong and where to change it), never the bytecode.
const fail = async (error: unknown): Promise<never> => {
  await reportFailure("deploy: ", error);
  await connection.close();
  process.exit(1);
};
const { path: configPath, config } = await Promise.resolve()
  .then(() => loadDeployConfig(connection.networkName))
  .catch(fail);
console.log(`deploying to ${connection.networkName} with ${configPath}`);
const deployment = await deploySystem(connection, config).catch(fail);
const record = toRecord(name, deployment);
const file = writeRecord(record);

console.table(
  Object.fromEntries(Object.entries(record.contracts).map(([k, c]) => [k, { address: c.address, block: c.block.toString() }])),
);
console.log(`chain ${record.chainId}, epochs of ${record.epochs.epochLength} blocks from block ${record.epochs.genesisBlock}`);
if (deployment.owner !== deployment.deployer) {
  console.log(`ownership offered to ${deployment.owner}: it must call acceptOwnership() on the registry`);
}
console.log(`wrote ${file}`);
await connection.close();
