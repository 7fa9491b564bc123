/**
 * The main job (`npm start`): compile, start an in-process chain, deploy the system, register
 * and stake three operators through contract calls (each with its own signing key and libp2p
 * Ed25519 peer id), mine into the next epoch, print the active set and the leader schedule of
 * the next few epochs, and write the deployment record.
 */
import { network } from "hardhat";
import { formatUnits, getAddress, parseUnits } from "viem";
import { loadDeployConfig } from "./lib/config.js";
import { deploySystem, mineToNextEpoch } from "./lib/deploy.js";
import { generateOperatorIdentity, peerIdFromBytes, registerOperator } from "../node/l1/operator.js";
import { recordNameOf, toRecord, writeRecord } from "./lib/record.js";

const EPOCHS_TO_SHOW = 4;
const STAKES = ["2500", "1500", "1000"]; // whole tokens; the default minimum is 1000

const connection = await network.getOrCreate();
const { viem, networkHelpers } = connection;
const publicClient = await viem.getPublicClient();
const { path: configPath, config } = loadDeployConfig(connection.networkName);
console.log(`Deploying on an in-process chain (${connection.networkName}) with ${configPath}`);
const deployment = await deploySystem(connection, config);
const { registry, token } = deployment;
const decimals = await token.read.decimals();
const symbol = await token.read.symbol();

const wallets = await viem.getWalletClients();
const identities = [];
for (let i = 0; i < STAKES.length; i++) {
  const wallet = wallets[i + 1]!;
  const identity = await generateOperatorIdentity();
  const addrs = [`/ip4/127.0.0.1/tcp/${4001 + i}`];
  const { registrationId } = await registerOperator({
    publicClient,
    wallet,
    registry: registry.address,
    token: token.address,
    signer: identity.signer,
    peerIdBytes: identity.peerIdBytes,
    addrs,
    stake: parseUnits(STAKES[i]!, decimals),
    mint: true,
  });
  identities.push({ operator: wallet.account.address, registrationId, ...identity });
}
console.log("\nRegistered operators (one contract call each, after approve):");
console.table(
  identities.map((o) => ({ registration: o.registrationId, operator: getAddress(o.operator), signer: o.signer, peerId: o.peerId })),
);

const first = await mineToNextEpoch(connection, registry);
const members = await registry.read.activeSet([first]);
console.log(`\nActive set of epoch ${first} (blocks ${await registry.read.epochStartBlock([first])}.., frozen at its start):`);
console.table(
  members.map((m, i) => ({
    rank: i + 1,
    operator: m.operator,
    signer: m.signer,
    peerId: peerIdFromBytes(m.peerId),
    addrs: m.addrs.join(" "),
    stake: `${formatUnits(m.stake, decimals)} ${symbol}`,
  })),
);

const names = new Map(identities.map((o, i) => [o.operator.toLowerCase(), `op${i + 1} (${STAKES[i]} ${symbol})`]));
const rows = [];
for (let k = 0; k < EPOCHS_TO_SHOW; k++) {
  const epoch = k === 0 ? first : await mineToNextEpoch(connection, registry);
  // A node or batch poster touches the registry each epoch; its checkpoint feeds later seeds.
  await registry.write.checkpoint();
  const schedule = await registry.read.leaderSchedule([epoch]);
  rows.push({
    epoch: Number(epoch),
    seed: `${(await registry.read.epochSeed([epoch])).slice(0, 18)}…`,
    primary: names.get(schedule[0]!.toLowerCase()),
    fallback1: names.get(schedule[1]!.toLowerCase()),
    fallback2: names.get(schedule[2]!.toLowerCase()),
  });
}
console.log("\nLeader schedule per epoch (stake-weighted, seed fixed before each epoch begins):");
console.table(rows);

const file = writeRecord(toRecord(recordNameOf(connection), deployment));
console.log(`\nDeployment record: ${file}`);
console.table(
  Object.fromEntries(Object.entries(deployment.contracts).map(([k, c]) => [k, { address: c.address, block: c.block.toString() }])),
);
await connection.close();
