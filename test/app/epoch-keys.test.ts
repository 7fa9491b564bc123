/**
 * The epochs' key generation as the nodes run it (node/app/epoch-keys.ts): several EpochKeys
 * instances, a log that applies what the leader proposes to every node in one order, shares
 * delivered by direct calls standing in for the `dkgShares` request, a clock the test moves.
 */
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Entry } from "../../node/consensus/index.js";
import { decodeAppRecord, encodeAppRecord, type AppliedRecord } from "../../node/domain/index.js";
import { DkgRefusedError, EpochKeys, dkgRecordDigest, type DkgFaults, type EpochKeyStatus } from "../../node/app/epoch-keys.js";
import { EpochKeyAnchor, EpochKeySigningRefusedError, encodeEpochKeyRequest } from "../../node/app/epoch-key-anchor.js";
import { decodeSignatureResponse } from "../../node/batching/wire.js";
import { domain, recoverEpochKeySigner } from "../../node/commitments/index.js";
import { createLogger } from "../../node/ops/logger.js";
import {
  InsufficientSharesError,
  combineSlotKey,
  encodeDkgMessage,
  g1ToBytes,
  releaseKeyShares,
  slotIdentity,
} from "../../node/threshold/index.js";
import { bytesToHex } from "viem";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";
import { seededRandom } from "../threshold/helpers.js";

const CHAIN_ID = 31337;
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const EPOCH = 3;
const logger = createLogger({ level: "silent" });

type Member = { id: string; signer: PrivateKeyAccount; stake: bigint };

class Cluster {
  readonly members: Member[];
  readonly nodes = new Map<string, EpochKeys>();
  readonly down = new Set<string>();
  readonly proposed: Uint8Array[] = [];
  leader: string;
  clock = 1_000_000;
  private index = 0;

  constructor(
    readonly dir: string,
    stakes: readonly bigint[],
    private readonly faults: ReadonlyMap<number, DkgFaults> = new Map(),
  ) {
    this.members = stakes.map((stake) => {
      const signer = privateKeyToAccount(generatePrivateKey());
      return { id: signer.address.toLowerCase(), signer, stake };
    });
    this.leader = this.members[0]!.id;
    this.members.forEach((_, i) => this.start(i));
  }

  start(i: number, id = this.members[i]?.id ?? `observer-${i}`): EpochKeys {
    const member = this.members[i];
    const node = new EpochKeys({
      chainId: CHAIN_ID,
      registry: REGISTRY,
      selfId: id,
      signer: member?.signer ?? privateKeyToAccount(generatePrivateKey()),
      dir: `${this.dir}/${id}`,
      logger,
      epochView: async () => ({ members: this.members.map((m) => ({ nodeId: m.id, signer: m.signer.address, stake: m.stake })) }),
      request: async (to, kind, payload) => {
        const target = this.nodes.get(to);
        if (target === undefined || this.down.has(to) || this.down.has(id)) throw new Error(`${to} is unreachable`);
        return kind === "dkgShares" ? target.handleShares(payload, id) : target.handleMessage(payload);
      },
      proposeApp: (data) => {
        if (this.leader !== id) return false;
        this.proposed.push(data);
        return true;
      },
      isLeader: () => this.leader === id,
      leader: () => this.leader,
      random: seededRandom(`${this.dir}/${id}/${this.index++}`),
      now: () => this.clock,
      ...(this.faults.has(i) ? { faults: this.faults.get(i)! } : {}),
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Commits what the leader proposed: every live node applies it, in order. */
  async commit(): Promise<void> {
    const batch = this.proposed.splice(0);
    const records: AppliedRecord[] = batch.map((app) => ({ entry: { index: ++this.index, term: 1, kind: "app", firstPosition: 0, app } as Entry, record: decodeAppRecord(app) }));
    for (const [id, node] of this.nodes) if (!this.down.has(id)) await node.apply(records);
  }

  async run(rounds = 60): Promise<void> {
    for (const [id, node] of this.nodes) if (!this.down.has(id)) await node.ensure(EPOCH);
    for (let r = 0; r < rounds; r++) {
      this.clock += 400;
      for (const [id, node] of this.nodes) if (!this.down.has(id)) await node.tick();
      await this.commit();
      if ([...this.nodes].every(([id, n]) => this.down.has(id) || ["ready", "failed"].includes(this.statusOf(n).state))) return;
    }
  }

  statusOf(node: EpochKeys): EpochKeyStatus {
    return node.status().find((s) => s.epoch === EPOCH)!;
  }

  node(i: number): EpochKeys {
    return this.nodes.get(this.members[i]!.id)!;
  }
}

describe("epoch keys: the DKG through the log and member-to-member shares", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("epoch-keys-");
  });
  afterEach(async () => {
    await removeTempDir(dir);
  });

  it("gives every member the same epoch key with shares in proportion to stake; a stake majority can derive a slot key, a minority cannot", async () => {
    const cluster = new Cluster(dir, [2400n, 1500n, 1000n, 600n]);
    await cluster.run();
    const statuses = cluster.members.map((_, i) => cluster.statusOf(cluster.node(i)));
    for (const s of statuses) {
      expect(s.state).to.equal("ready");
      expect(s.publicKey).to.equal(statuses[0]!.publicKey);
      expect(s.qualified).to.have.length(4);
      expect(s.exact).to.equal(true);
      expect(s.holdsShares).to.equal(true);
    }
    const keys = cluster.members.map((_, i) => cluster.node(i).epochKey(EPOCH)!);
    const identity = slotIdentity(901, EPOCH, 7);
    const release = (i: number) => releaseKeyShares(i, keys[i]!.secretShares!, identity);
    // Of 5500: 2400 + 1000 and 1500 + 1000 + 600 are majorities; 1500 + 1000 and 2400 alone (the leader) are not.
    expect(combineSlotKey(keys[0]!.key, identity, [release(0), release(2)]).used).to.deep.equal([0, 2]);
    expect(combineSlotKey(keys[0]!.key, identity, [release(1), release(2), release(3)]).used).to.deep.equal([1, 2, 3]);
    expect(() => combineSlotKey(keys[0]!.key, identity, [release(1), release(2)])).to.throw(InsufficientSharesError);
    expect(() => combineSlotKey(keys[0]!.key, identity, [release(0)])).to.throw(InsufficientSharesError);
  });

  it("excludes a dealer that sends a member wrong shares and never answers the complaint, provably from the log", async () => {
    const faults = new Map<number, DkgFaults>([[2, { tamperShares: (m) => (m.recipient === 1 ? { ...m, values: m.values.map((v) => v + 1n) } : m), muteJustifications: true }]]);
    const cluster = new Cluster(dir, [2400n, 1500n, 1000n], faults);
    await cluster.run();
    const statuses = cluster.members.map((_, i) => cluster.statusOf(cluster.node(i)));
    for (const s of statuses) {
      expect(s.state).to.equal("ready");
      expect(s.publicKey).to.equal(statuses[0]!.publicKey);
      expect(s.qualified).to.deep.equal([cluster.members[0]!.id, cluster.members[1]!.id]);
      expect(s.excluded).to.deep.equal([{ nodeId: cluster.members[2]!.id, reason: "unanswered complaint", complainers: [cluster.members[1]!.id] }]);
      expect(s.complaints).to.equal(1);
    }
    // An observer that only replays the log judges the same.
    const observer = cluster.start(9, "observer");
    await observer.installSnapshot(cluster.node(0).snapshotData());
    expect(cluster.statusOf(observer)).to.deep.include({ state: "ready", publicKey: statuses[0]!.publicKey, excluded: statuses[0]!.excluded, holdsShares: false });
    const keys = cluster.members.map((_, i) => cluster.node(i).epochKey(EPOCH)!);
    const identity = slotIdentity(901, EPOCH, 1);
    combineSlotKey(keys[0]!.key, identity, [0, 1].map((i) => releaseKeyShares(i, keys[i]!.secretShares!, identity)));
  });

  it("keeps a dealer that sent wrong shares but answers the complaint in public: the victim uses the published shares", async () => {
    const faults = new Map<number, DkgFaults>([[2, { tamperShares: (m) => (m.recipient === 1 ? { ...m, values: m.values.map((v) => v + 1n) } : m) }]]);
    const cluster = new Cluster(dir, [2400n, 1500n, 1000n], faults);
    await cluster.run();
    const s = cluster.statusOf(cluster.node(1));
    expect(s.state).to.equal("ready");
    expect(s.qualified).to.have.length(3);
    expect(s.complaints).to.equal(1);
    const keys = cluster.members.map((_, i) => cluster.node(i).epochKey(EPOCH)!);
    const identity = slotIdentity(901, EPOCH, 2);
    // Members 0 (2400) and 1 (1500): member 1's shares hold the values dealer 2 published.
    combineSlotKey(keys[0]!.key, identity, [0, 1].map((i) => releaseKeyShares(i, keys[i]!.secretShares!, identity)));
  });

  it("survives a leader change mid-DKG: the new leader ends the phases and members resend what the log lacks", async () => {
    const cluster = new Cluster(dir, [1000n, 1000n, 1000n]);
    for (const node of cluster.nodes.values()) await node.ensure(EPOCH);
    cluster.clock += 400;
    for (const node of cluster.nodes.values()) await node.tick();
    cluster.proposed.splice(0); // the old leader dies before its proposals commit
    cluster.down.add(cluster.members[0]!.id);
    cluster.leader = cluster.members[1]!.id;
    await cluster.run();
    for (const i of [1, 2]) expect(cluster.statusOf(cluster.node(i))).to.deep.include({ state: "ready", deals: 2, holdsShares: true });
    expect(cluster.statusOf(cluster.node(1)).excluded).to.deep.equal([{ nodeId: cluster.members[0]!.id, reason: "no deal", complainers: [] }]);
  });

  it("fails the epoch's DKG when the dealers that show up hold at most half of the stake, and says why", async () => {
    const cluster = new Cluster(dir, [1000n, 1000n, 2400n]);
    cluster.down.add(cluster.members[2]!.id);
    await cluster.run();
    for (const i of [0, 1]) {
      const s = cluster.statusOf(cluster.node(i));
      expect(s.state).to.equal("failed");
      expect(s.reason).to.match(/qualified dealers hold at most half of the stake/);
      expect(s.publicKey).to.equal(null);
      expect(cluster.node(i).epochKey(EPOCH)).to.equal(undefined);
    }
  });

  it("ignores a record the leader forged in another member's name, and refuses it at intake", async () => {
    const cluster = new Cluster(dir, [2400n, 1500n, 1000n]);
    await cluster.node(0).ensure(EPOCH);
    const forged = { kind: "complaint", session: new Uint8Array(32), complainer: 1, dealer: 2 } as const;
    const message = encodeDkgMessage(forged);
    const signature = await cluster.members[0]!.signer.signMessage({ message: { raw: dkgRecordDigest(CHAIN_ID, REGISTRY, EPOCH, 1, message) } });
    const record = encodeAppRecord({ kind: "dkgMessage", epoch: EPOCH, member: 1, message, signature });
    let refused: unknown;
    await cluster.node(0).handleMessage(record).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(DkgRefusedError);
    cluster.proposed.push(record); // as if a lying leader proposed it anyway
    await cluster.run();
    for (const i of [0, 1, 2]) {
      const s = cluster.statusOf(cluster.node(i));
      expect(s.state).to.equal("ready");
      expect(s.complaints).to.equal(0);
    }
  });

  it("carries a member that restarts mid-DKG: it deals the same polynomial from its stored seed and still gets the key and its shares", async () => {
    const cluster = new Cluster(dir, [1000n, 1000n, 1000n]);
    for (const node of cluster.nodes.values()) await node.ensure(EPOCH);
    for (let r = 0; r < 3; r++) {
      cluster.clock += 400;
      for (const node of cluster.nodes.values()) await node.tick();
      await cluster.commit();
    }
    expect(cluster.statusOf(cluster.node(1)).deals).to.equal(3);
    cluster.start(1); // a fresh instance over the same directory
    await cluster.run();
    const statuses = cluster.members.map((_, i) => cluster.statusOf(cluster.node(i)));
    expect(statuses.map((s) => s.state)).to.deep.equal(["ready", "ready", "ready"]);
    expect(new Set(statuses.map((s) => s.publicKey)).size).to.equal(1);
    const keys = cluster.members.map((_, i) => cluster.node(i).epochKey(EPOCH)!);
    expect(bytesToHex(g1ToBytes(keys[1]!.key.publicKey))).to.equal(statuses[0]!.publicKey);
    const identity = slotIdentity(901, EPOCH, 3);
    combineSlotKey(keys[0]!.key, identity, [1, 2].map((i) => releaseKeyShares(i, keys[i]!.secretShares!, identity)));
  });

  it("signs an epoch key for L1 only when its own log's DKG gave that key", async () => {
    const cluster = new Cluster(dir, [1000n, 1000n, 1000n]);
    await cluster.run();
    const d = domain(CHAIN_ID, REGISTRY);
    const anchor = new EpochKeyAnchor({
      keys: cluster.node(1),
      signer: cluster.members[1]!.signer,
      domain: d,
      selfId: cluster.members[1]!.id,
      contract: undefined,
      // Only the signing side runs here: no L1 is read or written.
      publicClient: undefined as never,
      sender: undefined as never,
      logger,
      request: async () => new Uint8Array(0),
      isLeader: () => false,
    });
    const publicKey = cluster.statusOf(cluster.node(1)).publicKey!;
    const signature = decodeSignatureResponse(await anchor.handleSignatureRequest(encodeEpochKeyRequest(EPOCH, publicKey)));
    expect(await recoverEpochKeySigner(d, { epoch: BigInt(EPOCH), publicKey }, signature)).to.equal(cluster.members[1]!.signer.address);
    const other = bytesToHex(g1ToBytes(cluster.node(1).epochKey(EPOCH)!.key.publicShares[0]!));
    for (const [epoch, key] of [[EPOCH, other], [EPOCH + 1, publicKey]] as const) {
      let refused: unknown;
      await anchor.handleSignatureRequest(encodeEpochKeyRequest(epoch, key)).catch((e: unknown) => (refused = e));
      expect(refused).to.be.instanceOf(EpochKeySigningRefusedError);
    }
  });
});
