/**
 * The encrypted slots as the nodes run them (node/app/encrypted-slots.ts), message by message:
 * several EncryptedSlots instances with epoch keys from a real DKG, a log that applies what the
 * leader proposes to every live node in one order, key releases delivered by direct calls standing
 * in for the `keyRelease` request, a clock the test moves.
 */
import { expect } from "chai";
import { parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Entry } from "../../node/consensus/index.js";
import { decodeAppRecord, decodePositionRecord, encodeAppRecord, encodePositionRecord, isPositionRecord, type AppliedRecord } from "../../node/domain/index.js";
import { EncryptedSlots, EncryptedTransactionError, keyReleaseDigest, type PositionOutcome } from "../../node/app/encrypted-slots.js";
import type { EpochKey } from "../../node/app/epoch-keys.js";
import { decryptTransactions } from "../../node/intake/index.js";
import { createLogger } from "../../node/ops/logger.js";
import {
  type Ciphertext,
  encodeCiphertext,
  g2ToBytes,
  encodeKeyShareRelease,
  encrypt,
  planStakeUnits,
  prepareEncryptionTarget,
  releaseKeyShares,
  slotIdentity,
} from "../../node/threshold/index.js";
import { runDkg, seededRandom } from "../threshold/helpers.js";

const ROLLUP = 901;
const CHAIN_ID = 31337;
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const EPOCH = 2;
const logger = createLogger({ level: "silent" });
const user = privateKeyToAccount(generatePrivateKey());

type Member = { id: string; signer: PrivateKeyAccount; stake: bigint };
type Pending = { kind: "tx"; hash: string; data: Uint8Array } | { kind: "app"; data: Uint8Array };

class Cluster {
  readonly members: Member[];
  readonly keys: EpochKey[];
  readonly nodes: EncryptedSlots[] = [];
  readonly down = new Set<number>();
  readonly proposed: Pending[] = [];
  /** Everything committed, in order (a position's bytes or an app record). */
  readonly log: Pending[] = [];
  readonly entries: { entry: Entry; records: AppliedRecord[] }[] = [];
  readonly applied: number[];
  leader = 0;
  clock = 1_000_000;
  private index = 0;
  private position = 0;

  constructor(stakes: readonly bigint[], seed: string) {
    this.members = stakes.map((stake) => {
      const signer = privateKeyToAccount(generatePrivateKey());
      return { id: signer.address.toLowerCase(), signer, stake };
    });
    const plan = planStakeUnits([...stakes]);
    const results = runDkg(plan, seed).results.map((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
    const members = this.members.map((m) => ({ nodeId: m.id, signer: m.signer.address, stake: m.stake }));
    this.keys = results.map((r, i) => ({ epoch: EPOCH, members, key: r, qualified: members.map((_, k) => k), excluded: [], secretShares: r.secretShares, self: i }));
    this.members.forEach((_, i) => this.nodes.push(this.start(i)));
    this.applied = this.members.map(() => 0);
  }

  private start(i: number): EncryptedSlots {
    const id = this.members[i]!.id;
    return new EncryptedSlots({
      rollupChainId: ROLLUP,
      chainId: CHAIN_ID,
      registry: REGISTRY,
      selfId: id,
      signer: this.members[i]!.signer,
      logger,
      epochKey: (epoch) => (epoch === EPOCH ? this.keys[i] : undefined),
      loadEpoch: async () => undefined,
      currentEpoch: () => EPOCH,
      request: async (to, payload) => {
        const target = this.members.findIndex((m) => m.id === to);
        if (this.down.has(target) || this.down.has(i)) throw new Error(`${to} is unreachable`);
        return this.nodes[target]!.handleRelease(payload);
      },
      proposeApp: (data) => {
        if (this.leader !== i) return false;
        this.proposed.push({ kind: "app", data });
        return true;
      },
      propose: (tx) => {
        if (this.leader === i && !this.proposed.some((p) => p.kind === "tx" && p.hash === tx.hash)) this.proposed.push({ kind: "tx", ...tx });
      },
      isLeader: () => this.leader === i,
      leader: () => this.members[this.leader]!.id,
      decrypt: async (slot, ciphertexts) => decryptTransactions(slot, ciphertexts, { chainId: ROLLUP, maxBytes: 128 * 1024 }),
      closeIntervalMs: 100,
      deadlineMs: 5_000,
      now: () => this.clock,
    });
  }

  /** Orders bytes at the next position through the leader (what SubmissionService does after admission). */
  order(data: Uint8Array): void {
    this.proposed.push({ kind: "tx", hash: `0x${this.index++}`, data });
  }

  /** Commits what the leader proposed, one entry per item: every live node applies the log it has not applied yet (a node back up catches up). */
  async commit(): Promise<void> {
    for (const item of this.proposed.splice(0)) {
      this.log.push(item);
      const entry: Entry =
        item.kind === "tx"
          ? { index: ++this.index, term: 1, kind: "txs", firstPosition: this.position++, txs: [{ hash: item.hash, data: item.data }] }
          : { index: ++this.index, term: 1, kind: "app", firstPosition: this.position, app: item.data };
      this.entries.push({ entry, records: entry.kind === "app" ? [{ entry, record: decodeAppRecord(entry.app!) }] : [] });
    }
    for (const [i, node] of this.nodes.entries()) {
      if (this.down.has(i)) continue;
      for (; this.applied[i]! < this.entries.length; this.applied[i]!++) {
        const { entry, records } = this.entries[this.applied[i]!]!;
        await node.apply([entry], records);
      }
    }
  }

  /** One round: time passes, every live node steps, the leader's proposals commit. */
  async round(ms = 200): Promise<void> {
    this.clock += ms;
    for (const [i, node] of this.nodes.entries()) if (!this.down.has(i)) await node.tick();
    await this.commit();
    for (const node of this.nodes) await node.idle();
  }

  live(): EncryptedSlots[] {
    return this.nodes.filter((_, i) => !this.down.has(i));
  }

  /** The positions of the committed ciphertexts, in order. */
  ciphertextPositions(): number[] {
    return this.log.filter((p) => p.kind === "tx").flatMap((p, position) => (p.data[0] === 0xb1 ? [position] : []));
  }

  /** Position records and releases committed so far, by kind. */
  committed(kind: string): number {
    return this.log.filter((p) => (p.kind === "app" ? decodeAppRecord(p.data).kind === kind : isPositionRecord(p.data) && decodePositionRecord(p.data)?.kind === kind)).length;
  }
}

let nonce = 0;
async function signedTx(chainId = ROLLUP): Promise<Hex> {
  return user.signTransaction({ type: "eip1559", chainId, nonce: nonce++, to: user.address, value: 1n, gas: 21_000n, maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") });
}

function encryptTo(cluster: Cluster, slot: number, plaintext: Uint8Array, seed: string, epoch = EPOCH, chainId = ROLLUP): Ciphertext {
  const target = prepareEncryptionTarget(cluster.keys[0]!.key.publicKey, slotIdentity(chainId, epoch, slot));
  return encrypt(target, plaintext, seededRandom(seed));
}

const hexBytes = (hex: Hex) => Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
const ciphertextRecord = (c: Ciphertext) => encodePositionRecord({ kind: "ciphertext", ciphertext: encodeCiphertext(c) });

async function runUntil(cluster: Cluster, done: () => boolean, rounds = 40): Promise<void> {
  for (let r = 0; r < rounds && !done(); r++) await cluster.round();
}

describe("encrypted slots: ordering, release after the close, the slot key, decryption", function () {
  this.timeout(120_000);

  it("orders ciphertexts, releases shares only after the close, keys the slot and decrypts the same plaintexts on every node; late and invalid ones are recorded", async () => {
    const cluster = new Cluster([2400n, 1500n, 1000n], "flow");
    const raws = [await signedTx(), await signedTx(), await signedTx(7)];
    const cts = raws.map((raw, i) => encryptTo(cluster, 0, hexBytes(raw), `ct${i}`));
    for (const c of cts) {
      cluster.nodes[0]!.admit(c);
      cluster.order(ciphertextRecord(c));
    }
    await cluster.commit();
    // Not closed yet: no member has released anything, whatever time passes before the leader's step.
    for (const node of cluster.nodes.slice(1)) await node.tick();
    await cluster.commit();
    expect(cluster.committed("keyRelease")).to.equal(0);
    expect(cluster.nodes[1]!.outcomeAt(0)?.status).to.equal("pending");

    await cluster.round(); // the leader closes slot 0
    expect(cluster.committed("close")).to.equal(1);
    expect(() => cluster.nodes[0]!.admit(encryptTo(cluster, 0, hexBytes(raws[0]!), "again"))).to.throw(EncryptedTransactionError, /closed/);
    // A ciphertext for slot 0 ordered after the close (a leader that did not check) is late.
    cluster.order(ciphertextRecord(encryptTo(cluster, 0, hexBytes(await signedTx()), "late")));
    await cluster.commit();

    await runUntil(cluster, () => cluster.committed("slotKey") > 0);
    expect(cluster.committed("keyRelease")).to.be.at.least(2);
    expect(cluster.committed("undecryptable")).to.equal(0);
    for (const node of cluster.nodes) await node.idle();

    const positions = cluster.ciphertextPositions();
    expect(positions).to.deep.equal([0, 1, 2, 4]); // the close is at 3
    const views = cluster.nodes.map((n) => positions.map((p) => n.outcomeAt(p)!));
    for (const view of views) expect(view).to.deep.equal(views[0]);
    const [a, b, c, late] = views[0]! as PositionOutcome[];
    expect(a).to.deep.include({ status: "decrypted", epoch: EPOCH, slot: 0 });
    expect(a!.transaction!.raw).to.equal(raws[0]);
    expect(a!.transaction!.from).to.equal(user.address);
    expect(b!.transaction!.raw).to.equal(raws[1]);
    expect(c).to.deep.include({ status: "invalid" }); // signed for chain 7
    expect(c!.reason).to.match(/chain/);
    expect(late).to.deep.include({ status: "late" });
    expect(cluster.nodes[2]!.status()).to.deep.include({ decrypted: 2, invalid: 1, slotsKeyed: 1, pendingSlots: 0, openSlot: 1 });
  });

  it("refuses at intake what cannot be ordered: another chain, another epoch, a closed slot, a slot too far ahead", async () => {
    const cluster = new Cluster([2000n, 1500n, 1000n], "admit");
    const tx = hexBytes(await signedTx());
    const leader = cluster.nodes[0]!;
    expect(() => leader.admit(encryptTo(cluster, 0, tx, "c", EPOCH, 5))).to.throw(EncryptedTransactionError, /chain 901/);
    expect(() => leader.admit(encryptTo(cluster, 0, tx, "e", EPOCH + 1))).to.throw(EncryptedTransactionError, /current epoch/);
    expect(() => leader.admit(encryptTo(cluster, 65, tx, "f"))).to.throw(EncryptedTransactionError, /past the open slot/);
    leader.admit(encryptTo(cluster, 3, tx, "ok"));
    cluster.order(ciphertextRecord(encryptTo(cluster, 3, tx, "ok")));
    await cluster.commit();
    // The leader closes one slot per interval while a ciphertext waits: 0, 1, 2, then 3 with it.
    for (let closed = 0; closed <= 3; closed++) {
      await cluster.round();
      expect(cluster.committed("close")).to.equal(closed + 1);
      expect(cluster.nodes[1]!.target()).to.deep.include({ epoch: EPOCH, slot: closed + 1, chainId: ROLLUP });
    }
    expect(() => leader.admit(encryptTo(cluster, 2, tx, "g"))).to.throw(EncryptedTransactionError, /encrypt it again to slot 4/);
    // Nothing waits: no more closes.
    await cluster.round();
    expect(cluster.committed("close")).to.equal(4);
  });

  it("decrypts with one member down (a stake majority left); with two down it waits, then the deadline marks the slot undecryptable", async () => {
    const cluster = new Cluster([2400n, 1500n, 1000n], "down");
    cluster.down.add(2);
    cluster.order(ciphertextRecord(encryptTo(cluster, 0, hexBytes(await signedTx()), "one")));
    await cluster.commit();
    await runUntil(cluster, () => cluster.committed("slotKey") > 0);
    expect(cluster.nodes[1]!.outcomeAt(0)?.status).to.equal("decrypted");

    cluster.down.add(1); // 2400 of 4900: no majority
    cluster.order(ciphertextRecord(encryptTo(cluster, 1, hexBytes(await signedTx()), "two")));
    await cluster.commit();
    for (let r = 0; r < 10; r++) await cluster.round(); // 2 s of the 5 s deadline
    const pendingPosition = cluster.ciphertextPositions()[1]!;
    expect(cluster.nodes[0]!.outcomeAt(pendingPosition)).to.deep.include({ status: "pending", slot: 1 });
    expect(cluster.nodes[0]!.status()).to.deep.include({ pendingSlots: 1, pendingTransactions: 1 });
    expect(cluster.committed("close")).to.equal(2);
    await runUntil(cluster, () => cluster.committed("undecryptable") > 0);
    expect(cluster.nodes[0]!.outcomeAt(pendingPosition)?.status).to.equal("undecryptable");
    // A late key (the members back) is a no-op: the first of 0xb3 / 0xb4 wins.
    cluster.down.clear();
    for (let r = 0; r < 5; r++) await cluster.round();
    expect(cluster.nodes.map((n) => n.outcomeAt(pendingPosition)?.status)).to.deep.equal(["undecryptable", "undecryptable", "undecryptable"]);
  });

  it("ends a slot closed under one leader in its key under the next", async () => {
    const cluster = new Cluster([2000n, 1500n, 1000n], "leader-change");
    const raw = await signedTx();
    cluster.order(ciphertextRecord(encryptTo(cluster, 0, hexBytes(raw), "lc")));
    await cluster.commit();
    await cluster.round(); // leader 0 closes
    expect(cluster.committed("close")).to.equal(1);
    cluster.down.add(0);
    cluster.leader = 1;
    cluster.proposed.length = 0; // what the old leader proposed and did not commit is lost
    await runUntil(cluster, () => cluster.committed("slotKey") > 0);
    expect(cluster.nodes[1]!.outcomeAt(0)?.transaction?.raw).to.equal(raw);
    expect(cluster.nodes[2]!.outcomeAt(0)?.transaction?.raw).to.equal(raw);
  });

  it("records an early release and a wrong share as evidence naming the member, and ignores a wrong slot key", async () => {
    const cluster = new Cluster([1000n, 1000n, 1000n, 1000n], "evidence");
    cluster.order(ciphertextRecord(encryptTo(cluster, 0, hexBytes(await signedTx()), "ev")));
    await cluster.commit();
    const signedRelease = async (member: number, slot: number, tamper = false) => {
      const r = releaseKeyShares(member, cluster.keys[member]!.secretShares!, slotIdentity(ROLLUP, EPOCH, slot));
      const shares = tamper ? [...r.shares].reverse().map((s, k) => (k === 0 ? s.double() : s)) : r.shares;
      const release = encodeKeyShareRelease({ ...r, shares });
      const signature = await cluster.members[member]!.signer.signMessage({ message: { raw: keyReleaseDigest(CHAIN_ID, REGISTRY, EPOCH, slot, member, release) } });
      return encodeAppRecord({ kind: "keyRelease", epoch: EPOCH, slot, member, release, signature });
    };
    // Member 3 releases before the close: the leader takes it (so it is on record) and every node sees it early.
    await cluster.nodes[0]!.handleRelease(await signedRelease(3, 0));
    await cluster.commit();
    for (const node of cluster.nodes) expect(node.status().evidence).to.deep.include({ kind: "early-release", epoch: EPOCH, slot: 0, nodeId: cluster.members[3]!.id, member: 3, detail: "released before the slot's close (closed through -1)" });
    // A release signed by another member is refused at the leader.
    const forged = decodeAppRecord(await signedRelease(2, 0));
    if (forged.kind !== "keyRelease") throw new Error("unreachable");
    await cluster.nodes[0]!.handleRelease(encodeAppRecord({ ...forged, member: 1 })).then(
      () => expect.fail("a forged release was taken"),
      (error: Error) => expect(error).to.be.instanceOf(EncryptedTransactionError),
    );
    // Member 1 sends a wrong share once the slot is closed; members 0 and 2 and 3 are right (3000 of 4000).
    cluster.down.add(1);
    await cluster.round(); // close
    await cluster.nodes[0]!.handleRelease(await signedRelease(1, 0, true));
    await cluster.commit();
    // A wrong slot key is a no-op.
    const wrongKey = g2ToBytes(releaseKeyShares(0, cluster.keys[0]!.secretShares!, slotIdentity(ROLLUP, EPOCH, 0)).shares[0]!);
    cluster.order(encodePositionRecord({ kind: "slotKey", epoch: EPOCH, slot: 0, key: wrongKey }));
    await cluster.commit();
    expect(cluster.nodes[2]!.outcomeAt(0)?.status).to.equal("pending");
    await runUntil(cluster, () => cluster.committed("slotKey") > 1);
    expect(cluster.nodes[0]!.status().evidence.map((e) => [e.kind, e.member])).to.deep.include(["wrong-share", 1]);
    expect(cluster.nodes[2]!.outcomeAt(0)?.status).to.equal("decrypted");
  });
});
