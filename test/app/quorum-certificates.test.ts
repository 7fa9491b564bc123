/**
 * Quorum certificates (S2): members co-sign only positions they applied whose root their own log
 * gives, and the leader replicates a certificate once signers hold more than half the stake.
 */
import { expect } from "chai";
import path from "node:path";
import { keccak256, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Entry } from "../../node/consensus/index.js";
import { CosignRefusedError, QuorumCertificates, decodeCosignRequest, encodeCosignRequest } from "../../node/app/quorum-certificates.js";
import {
  buildPositionalTree,
  domain,
  merkleRoot,
  quorumCommitmentFromStore,
  recoverOrderCommitmentSigner,
  verifyQuorumCommitment,
  type OrderCommitment,
} from "../../node/commitments/index.js";
import { decodeAppRecord, type StoredQuorumCertificate } from "../../node/domain/index.js";
import { createLogger } from "../../node/ops/logger.js";
import { NodeStore } from "../../node/storage/index.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

const d = domain(1, `0x${"11".repeat(20)}`);
const txs = [1, 2, 3, 4].map((i) => ({ hash: keccak256(Uint8Array.of(i)), data: Uint8Array.of(i) }));

describe("quorum certificates", function () {
  this.timeout(30_000);
  let dir: string;
  const stores: NodeStore[] = [];
  const keys = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
  /** Stakes: node 0 and node 2 together hold more than half, node 1 alone does not. */
  const stakes = [40n, 35n, 25n];
  const members = keys.map((k, i) => ({ nodeId: `n${i}`, signer: k.address, stake: stakes[i]! }));

  before(async () => {
    dir = makeTempDir("seq-quorum-");
    for (let i = 0; i < 3; i++) stores.push(await NodeStore.open(path.join(dir, `db${i}`)));
  });
  after(async () => {
    for (const s of stores) await s.close();
    await removeTempDir(dir);
  });

  async function commit(store: NodeStore, entries: Entry[]): Promise<void> {
    await store.persistReady({ entries, hardState: { term: 1, vote: null, commit: entries.at(-1)!.index } });
    await store.applyCommitted(entries);
  }

  function service(i: number, opts: { down?: ReadonlySet<number>; proposed?: StoredQuorumCertificate[] } = {}): QuorumCertificates {
    const q: QuorumCertificates = new QuorumCertificates({
      store: stores[i]!,
      signer: keys[i]!,
      domain: d,
      selfId: `n${i}`,
      logger: createLogger({ level: "silent" }),
      epochView: async () => ({ members }),
      request: async (to, payload) => {
        const j = Number(to.slice(1));
        if (opts.down?.has(j)) throw new Error(`${to} is unreachable`);
        return peers[j]!.handleSignatureRequest(payload);
      },
      proposeApp: (data) => {
        const r = decodeAppRecord(data);
        if (r.kind === "quorumCertificate") opts.proposed?.push(r.certificate);
        return true;
      },
      leaderTerm: () => (i === 0 ? 1 : null),
      epoch: () => 3,
      postedNext: () => 0,
      applyWaitMs: 50,
    });
    return q;
  }
  let peers: QuorumCertificates[] = [];

  const certificateOver = (first: number, hashes: Hex[]): OrderCommitment => ({
    epoch: 3n,
    term: 1n,
    firstPosition: BigInt(first),
    lastPosition: BigInt(first + hashes.length - 1),
    merkleRoot: merkleRoot(buildPositionalTree(first, hashes)),
  });

  it("a member refuses positions it has not applied, a root its log does not give, and an empty range", async () => {
    // Node 0 and 1 applied all four transactions, node 2 only the first two.
    for (const store of stores.slice(0, 2)) await commit(store, [{ index: 1, term: 1, kind: "txs", firstPosition: 0, txs }]);
    await commit(stores[2]!, [{ index: 1, term: 1, kind: "txs", firstPosition: 0, txs: txs.slice(0, 2) }]);
    peers = [0, 1, 2].map((i) => service(i));
    const all = certificateOver(0, txs.map((t) => t.hash));
    expect(decodeCosignRequest(encodeCosignRequest(all))).to.deep.equal(all);
    const signature = await peers[1]!.sign(all);
    expect(await recoverOrderCommitmentSigner(d, all, signature)).to.equal(keys[1]!.address);
    let refused = await peers[2]!.sign(all).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(CosignRefusedError);
    expect((refused as Error).message).to.include("position 3 is not applied here yet");
    const lie = certificateOver(0, [txs[0]!.hash, keccak256("0xbad"), txs[2]!.hash, txs[3]!.hash]);
    refused = await peers[1]!.sign(lie).catch((e: unknown) => e);
    expect((refused as Error).message).to.include("this node's log gives the root");
    refused = await peers[1]!.sign({ ...all, lastPosition: -1n }).catch((e: unknown) => e);
    expect((refused as Error).message).to.include("the range must hold");
  });

  it("the leader replicates a certificate once more than half the stake co-signed it, and not before", async () => {
    // Node 2 cannot sign positions 2..3 and node 1 is unreachable: 40 of 100 signed.
    const proposed: StoredQuorumCertificate[] = [];
    const leader = service(0, { down: new Set([1]), proposed });
    peers[0] = leader;
    await leader.step();
    expect(proposed).to.deep.equal([]);

    // Node 2 catches up: 40 + 25 of 100.
    await commit(stores[2]!, [{ index: 2, term: 1, kind: "txs", firstPosition: 2, txs: txs.slice(2) }]);
    await leader.step();
    expect(proposed).to.have.length(1);
    const [q] = proposed;
    expect(q).to.deep.include({ epoch: 3, term: 1, firstPosition: 0, lastPosition: 3 });
    expect(q!.signatures).to.have.length(2);
    // Nothing new while its record is in flight; once it applies, nothing is left to certify.
    await leader.step();
    expect(proposed).to.have.length(1);
    const record = { index: 3, term: 1, kind: "app" as const, firstPosition: 4, app: new Uint8Array() };
    expect(leader.certificatesIn([{ entry: record, record: { kind: "quorumCertificate", certificate: q! } }])).to.deep.equal([q]);
    expect(leader.nextUncovered).to.equal(4);
    await leader.step();
    expect(proposed).to.have.length(1);

    // What a user gets: it verifies offline, signed by nodes 0 and 2.
    const commitment = quorumCommitmentFromStore(q!, txs.map((t) => t.hash), 2, d);
    const result = await verifyQuorumCommitment(commitment, { chainId: 1, registry: d.verifyingContract });
    expect(result.valid, JSON.stringify(result.reasons)).to.equal(true);
    expect([...result.signers].sort()).to.deep.equal([keys[0]!.address, keys[2]!.address].sort());
  });

  it("a replicated quorum certificate is stored with its entries and found by position after a restart", async () => {
    const certificate: StoredQuorumCertificate = { epoch: 3, term: 1, firstPosition: 0, lastPosition: 3, merkleRoot: merkleRoot(buildPositionalTree(0, txs.map((t) => t.hash))), signatures: [`0x${"ab".repeat(64)}1b`] };
    const entry: Entry = { index: 2, term: 1, kind: "app", firstPosition: 4, app: new Uint8Array() };
    const store = stores[1]!;
    await store.persistReady({ entries: [entry], hardState: { term: 1, vote: null, commit: 2 } });
    const q = service(1);
    await store.applyCommitted([entry], { quorumCertificates: q.certificatesIn([{ entry, record: { kind: "quorumCertificate", certificate } }]) });
    expect(await store.getQuorumCertificateForPosition(2)).to.deep.equal(certificate);
    expect(await store.getQuorumCertificateForPosition(4)).to.equal(undefined);
    const restarted = service(1);
    await restarted.recover();
    expect(restarted.nextUncovered).to.equal(4);
  });
});
