/**
 * Encrypted transactions across node processes: a real chain, real libp2p, the epoch key from the
 * nodes' DKG anchored on L1, ciphertexts ordered, slots closed, key shares released through the
 * log, the slot key combined and every node decrypting on its worker threads. Then the failures:
 * malformed ciphertexts, a member down, a stake majority withholding its shares (the fixture
 * test/fixtures/cheating-dealer.ts with FIXTURE_FAULT=withhold-releases), a leader killed mid-slot.
 */
import { expect } from "chai";
import path from "node:path";
import { createPublicClient, http, type Hex, type PublicClient } from "viem";
import type { DecryptedTransaction, PositionOutcome } from "../../node/app/encrypted-slots.js";
import { encryptTransaction, sendEncryptedTransaction, type EpochKeysOnL1 } from "../../node/l1/encrypt-transaction.js";
import { NodeRpcError } from "../../node/rpc/client.js";
import { TX_REJECTED } from "../../node/rpc/errors.js";
import { deployAndStake, spawnNode, startLocalChain, stopNode, type LocalChain, type NodeProcess, type StakedNetwork } from "../../scripts/lib/devnet.js";
import { makeTempDir } from "../../scripts/lib/processes.js";
import { rebuildFromL1 } from "../../scripts/lib/rebuild.js";
import { decryptStream } from "../../scripts/lib/decrypt-stream.js";
import { loadDeploymentRecord } from "../../node/l1/deployment.js";
import { agreedLeader, enterNextEpoch, exitedNodes, releaseTestDir, rpc, signedTx, submit, until, type Status } from "./helpers.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/cheating-dealer.ts");
const DEADLINE_MS = 10_000;
const ENV = { SEQ_ENCRYPTED_DEADLINE_MS: String(DEADLINE_MS) };

type EncryptionStatus = Status & { epoch: number; encryption: { available: boolean; epochs: { epoch: number; state: string; anchored: boolean | null }[]; slots: { openSlot: number; pendingSlots: number; decrypted: number } } };
type Outcome = PositionOutcome & { ciphertextHash: Hex };

describe("encrypted transactions across node processes (3 nodes)", function () {
  this.timeout(300_000);
  let dir: string | undefined;
  let chain: LocalChain;
  let net: StakedNetwork;
  let l1: EpochKeysOnL1;
  const procs = new Map<number, NodeProcess>();
  const urls = () => net.operators.map((o) => o.rpcUrl);
  const up = () => [...procs.keys()].sort();

  const outcome = (url: string, hash: Hex) => rpc<Outcome | null>(url, "seq_getDecryptedTransaction", [hash]);
  /** Every listed node's final outcome for `hash` (anything but pending). */
  const settled = (hash: Hex, nodes: readonly number[], timeoutMs = 60_000) =>
    until(
      `${hash} to settle on nodes ${nodes.join(", ")}`,
      async () => {
        const all = await Promise.all(nodes.map((i) => outcome(urls()[i]!, hash)));
        return all.every((o) => o !== null && o.status !== "pending") ? (all as Outcome[]) : undefined;
      },
      timeoutMs,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await exitedNodes(procs)}`);
    });
  const send = async (url: string, raw: Hex) => (await sendEncryptedTransaction<{ txHash: Hex; position: string }>({ serializedTransaction: raw, client: url, l1 })).commitment;

  before(async () => {
    dir = makeTempDir("seq-encrypted-");
    chain = await startLocalChain();
    net = await deployAndStake(chain, dir, ["2400", "1500", "1000"]);
    await enterNextEpoch(chain, net.deployment.registry);
    net.operators.forEach((op, i) => procs.set(i, spawnNode(op, ENV)));
    await agreedLeader(urls(), net.operators);
    l1 = { client: createPublicClient({ transport: http(chain.url) }) as PublicClient, address: net.deployment.contracts.epochKeys.address };
    await until(
      "every node to have the epoch key, anchored on L1",
      async () => {
        const statuses = await Promise.all(urls().map((u) => rpc<EncryptionStatus>(u, "seq_status")));
        return statuses.every((s) => s.encryption.available && s.encryption.epochs.find((e) => e.epoch === s.epoch)?.anchored === true) ? true : undefined;
      },
      180_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await exitedNodes(procs)}`);
    });
  });

  after(async function () {
    await Promise.all([...procs.values()].map((p) => stopNode(p, "SIGKILL")));
    await chain?.close();
    await releaseTestDir(dir, this.test?.parent);
  });

  /** The leader every running node agrees on, as an operator index. */
  const leaderIndex = () => agreedLeader(up().map((i) => urls()[i]!), net.operators);

  it("orders encrypted transactions sent to the leader and to followers, and every node decrypts the same plaintexts", async () => {
    const raws = await Promise.all([0, 1, 2, 3, 4, 5].map(() => signedTx()));
    const commitments = await Promise.all(raws.map((raw, i) => send(urls()[i % 3]!, raw)));
    for (const [i, c] of commitments.entries()) {
      const outcomes = await settled(c.txHash, [0, 1, 2]);
      for (const o of outcomes) {
        expect(o.status, JSON.stringify(o)).to.equal("decrypted");
        expect((o.transaction as DecryptedTransaction).raw).to.equal(raws[i]);
        expect(o.ciphertextHash).to.equal(c.txHash);
        expect(o.position).to.equal(Number(c.position));
      }
    }
    // A rebuild from L1 alone yields the same plaintexts (slot keys checked against the anchored epoch key).
    const record = await loadDeploymentRecord(net.deploymentFile);
    const last = Math.max(...commitments.map((c) => Number(c.position)));
    const decrypted = await until(
      "the batches holding the slot keys to be accepted on L1",
      async () => {
        const stream = await rebuildFromL1(l1.client, { inbox: record.batchInbox, deploymentBlock: record.deploymentBlock });
        const outcomes = await decryptStream(stream.txs, { client: l1.client, epochKeys: record.epochKeys!, rollupChainId: 901 });
        return outcomes.get(last)?.status === "decrypted" ? outcomes : undefined;
      },
      90_000,
    );
    for (const [i, c] of commitments.entries()) expect(decrypted.get(Number(c.position))?.transaction?.raw).to.equal(raws[i]);
    // The position holds the ciphertext's record, not the plaintext: the stream shows order before content.
    const stored = await rpc<{ raw: Hex }>(urls()[1]!, "seq_getTransactionByPosition", [Number(commitments[0]!.position)]);
    expect(stored.raw.slice(0, 4)).to.equal("0xb1");
    expect(stored.raw).to.not.include(raws[0]!.slice(2));
  });

  it("refuses malformed ciphertexts at intake and orders nothing", async () => {
    const leader = await leaderIndex();
    const before = (await rpc<Status>(urls()[leader]!, "seq_status")).nextPosition;
    const good = await encryptTransaction({ serializedTransaction: await signedTx(), client: urls()[leader]! });
    for (const [ct, why] of [
      ["0x01ff", /malformed ciphertext/],
      [good.slice(0, good.length - 10) as Hex, /malformed ciphertext/],
      [await signedTx(), /malformed ciphertext/],
      [`0x${good.slice(2, 4)}${"ff".repeat(70_000)}` as Hex, /the limit is/],
    ] as const) {
      for (const url of [urls()[leader]!, urls()[(leader + 1) % 3]!]) {
        const error = await rpc(url, "seq_sendEncryptedTransaction", [ct]).then(
          () => expect.fail("a malformed ciphertext was taken"),
          (e: unknown) => e as NodeRpcError,
        );
        expect(error).to.be.instanceOf(NodeRpcError);
        expect(error.code).to.equal(TX_REJECTED);
        expect(error.message).to.match(why);
      }
    }
    expect((await rpc<Status>(urls()[leader]!, "seq_status")).nextPosition).to.equal(before);
  });

  it("still decrypts with one member down (the other two hold a stake majority)", async () => {
    const leader = await leaderIndex();
    const down = [0, 1, 2].find((i) => i !== leader)!;
    await stopNode(procs.get(down)!);
    procs.delete(down);
    const raw = await signedTx();
    const c = await send(urls()[leader]!, raw);
    for (const o of await settled(c.txHash, up())) expect((o.transaction as DecryptedTransaction).raw).to.equal(raw);
  });

  it("with a stake minority releasing, waits while plaintext keeps committing, then marks the slot undecryptable at the deadline", async () => {
    const leader = await leaderIndex();
    const other = up().find((i) => i !== leader)!;
    await stopNode(procs.get(other)!);
    procs.set(other, spawnNode(net.operators[other]!, { ...ENV, FIXTURE_FAULT: "withhold-releases" }, FIXTURE));
    const now = await leaderIndex();
    const c = await send(urls()[now]!, await signedTx());
    expect((await outcome(urls()[now]!, c.txHash))?.status).to.equal("pending");
    const plain = await submit<{ position: string }>(urls()[other]!, await signedTx());
    expect(Number(plain.position)).to.be.greaterThan(Number(c.position));
    for (const o of await settled(c.txHash, up(), DEADLINE_MS * 4)) expect(o.status).to.equal("undecryptable");
  });

  it("ends a slot ordered under a leader killed before its key in the next leader's slot key; the restarted node answers it too", async () => {
    // Every member back, honest: the one withholding restarted, the one down started.
    const kept = await leaderIndex();
    for (const [i, p] of [...procs]) {
      if (i === kept) continue;
      await stopNode(p);
      procs.delete(i);
    }
    for (const i of [0, 1, 2]) if (!procs.has(i)) procs.set(i, spawnNode(net.operators[i]!, ENV));
    const leader = await leaderIndex();
    const raw = await signedTx();
    const c = await send(urls()[leader]!, raw);
    await stopNode(procs.get(leader)!, "SIGKILL");
    procs.delete(leader);
    for (const o of await settled(c.txHash, up())) expect((o.transaction as DecryptedTransaction).raw).to.equal(raw);
    procs.set(leader, spawnNode(net.operators[leader]!, ENV));
    const [back] = await settled(c.txHash, [leader]);
    expect((back!.transaction as DecryptedTransaction).raw).to.equal(raw);
  });
});
