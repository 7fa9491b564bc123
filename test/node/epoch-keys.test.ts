/**
 * The epochs' key generation across node processes: a real chain, real libp2p, the DKG's public
 * messages through the replicated log and its shares over `dkgShares` requests. Node 2 is a
 * cheating dealer (test/fixtures/cheating-dealer.ts): wrong shares to everyone, no justifications.
 */
import { expect } from "chai";
import path from "node:path";
import { createPublicClient, http } from "viem";
import { epochKeysAbi } from "../../node/l1/generated/abi.js";
import type { EpochKeyStatus } from "../../node/app/epoch-keys.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { makeTempDir } from "../../scripts/lib/processes.js";
import { agreedLeader, enterNextEpoch, exitedNodes, releaseTestDir, rpc, signedTx, submit, until, type Status } from "./helpers.js";

const CHEATER = path.resolve(import.meta.dirname, "../fixtures/cheating-dealer.ts");

type EncryptionStatus = Status & { epoch: number; encryption: { available: boolean; epochs: (EpochKeyStatus & { anchored: boolean | null })[] } };

describe("epoch keys across node processes (3 nodes, one cheating dealer)", function () {
  this.timeout(240_000);
  let dir: string | undefined;
  let chain: LocalChain;
  let net: StakedNetwork;
  const procs = new Map<number, NodeProcess>();

  const urls = () => net.operators.map((o) => o.rpcUrl);
  const keyOf = (s: EncryptionStatus, epoch: number) => s.encryption.epochs.find((e) => e.epoch === epoch);
  /** Every node's view of `epoch`'s DKG once all of them have finished it. */
  const finished = (epoch: number, nodes = [0, 1, 2]) =>
    until(
      `every node to finish epoch ${epoch}'s DKG`,
      async () => {
        const statuses = await Promise.all(nodes.map((i) => rpc<EncryptionStatus>(urls()[i]!, "seq_status")));
        const keys = statuses.map((s) => keyOf(s, epoch));
        return keys.every((k) => k !== undefined && (k.state === "ready" || k.state === "failed")) ? { statuses, keys: keys as EpochKeyStatus[] } : undefined;
      },
      120_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await exitedNodes(procs)}`);
    });

  before(async () => {
    dir = makeTempDir("seq-epoch-keys-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2400", "1500", "1000"]);
    await enterNextEpoch(chain, net.deployment.registry);
    net.operators.forEach((op, i) => procs.set(i, i === 2 ? spawnNode(op, {}, CHEATER) : spawnNode(op)));
    await agreedLeader(urls(), net.operators);
  });

  after(async function () {
    await Promise.all([...procs.values()].map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  it("gives every node the same epoch key, with the cheating dealer excluded by the complaints on record", async () => {
    const { epoch } = await rpc<EncryptionStatus>(urls()[0]!, "seq_status");
    const { statuses, keys } = await finished(epoch);
    const ids = net.operators.map((o) => o.operator.toLowerCase());
    for (const [i, key] of keys.entries()) {
      expect(key.state, `node ${i}`).to.equal("ready");
      expect(key.publicKey).to.equal(keys[0]!.publicKey);
      expect(key.qualified).to.deep.equal([ids[0], ids[1]]);
      expect(key.excluded).to.deep.equal([{ nodeId: ids[2], reason: "unanswered complaint", complainers: [ids[0], ids[1]] }]);
      expect(statuses[i]!.encryption.available).to.equal(true);
    }
    // The excluded dealer still holds shares of the qualified dealers' polynomials (it may release them).
    expect(keys.map((k) => k.holdsShares)).to.deep.equal([true, true, true]);
  });

  it("anchors the epoch key on L1 with a stake majority's signatures, and every node reads it back", async () => {
    const { epoch } = await rpc<EncryptionStatus>(urls()[0]!, "seq_status");
    const anchored = await until(
      "every node to see the epoch key on L1",
      async () => {
        const statuses = await Promise.all(urls().map((u) => rpc<EncryptionStatus>(u, "seq_status")));
        return statuses.every((s) => keyOf(s, epoch)?.anchored === true) ? keyOf(statuses[0]!, epoch)! : undefined;
      },
      60_000,
    );
    const l1 = createPublicClient({ transport: http(chain.url) });
    const onChain = await l1.readContract({ address: net.deployment.contracts.epochKeys.address, abi: epochKeysAbi, functionName: "epochKey", args: [BigInt(epoch)] });
    expect(onChain).to.equal(anchored.publicKey);
    expect(onChain).to.match(/^0x[0-9a-f]{96}$/);
  });

  it("keeps plaintext transactions committing, and runs a fresh DKG for the next epoch", async () => {
    const committed = await submit<{ position: string }>(urls()[1]!, await signedTx());
    expect(committed.position).to.match(/^0x[0-9a-f]+$/);
    const before = await rpc<EncryptionStatus>(urls()[0]!, "seq_status");
    const next = Number(await enterNextEpoch(chain, net.deployment.registry));
    expect(next).to.be.greaterThan(before.epoch);
    const { keys } = await finished(next);
    expect(keys.map((k) => k.state)).to.deep.equal(["ready", "ready", "ready"]);
    expect(new Set(keys.map((k) => k.publicKey)).size).to.equal(1);
    expect(keys[0]!.publicKey).to.not.equal(keyOf(before, before.epoch)!.publicKey);
  });

  it("keeps a member's key shares across a restart (stored beside its data)", async () => {
    const { epoch } = await rpc<EncryptionStatus>(urls()[1]!, "seq_status");
    await stopNode(procs.get(1)!);
    procs.set(1, spawnNode(net.operators[1]!));
    const key = await until("node 1 to answer again with its epoch key", async () => keyOf(await rpc<EncryptionStatus>(urls()[1]!, "seq_status"), epoch), 60_000);
    expect(key).to.deep.include({ state: "ready", holdsShares: true });
  });
});
