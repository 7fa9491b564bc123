/** The certificate part of the state machine: a leader's own certificate counts only once its record applies. */
import { expect } from "chai";
import path from "node:path";
import { keccak256 } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Entry } from "../../node/consensus/index.js";
import { CommitmentService } from "../../node/app/commitments.js";
import { appRecordsOf, decodeAppRecord, type StoredCertificate } from "../../node/domain/index.js";
import { createLogger } from "../../node/ops/logger.js";
import { NodeStore } from "../../node/storage/index.js";
import { makeTempDir, removeTempDir } from "../../scripts/lib/processes.js";

describe("order-commitment certificates", function () {
  this.timeout(30_000);
  let dir: string;

  before(() => {
    dir = makeTempDir("seq-certificates-");
  });
  after(async () => {
    await removeTempDir(dir);
  });

  it("a leader whose certificate was refused during a leadership transfer that then aborted signs those positions again in its term, leaving no gap", async () => {
    const store = await NodeStore.open(path.join(dir, "db-transfer"));
    try {
      const proposed: StoredCertificate[] = [];
      let transferring = true;
      const leader = new CommitmentService({
        store,
        signer: privateKeyToAccount(generatePrivateKey()),
        chainId: 1,
        registry: `0x${"11".repeat(20)}`,
        logger: createLogger({ level: "silent" }),
        epoch: () => 0,
        leaderTerm: () => 2,
        proposeApp: (data) => {
          if (transferring) return false; // the core refuses proposals while a transfer is on
          const record = decodeAppRecord(data);
          if (record.kind === "certificate") proposed.push(record.certificate);
          return true;
        },
      });
      const apply = async (entries: Entry[]) => {
        await store.persistReady({ entries, hardState: { term: 2, vote: null, commit: entries.at(-1)!.index } });
        await leader.apply(entries, appRecordsOf(entries));
      };
      const txs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ hash: keccak256(Uint8Array.of(from + i)), data: Uint8Array.of(from + i) }));
      await apply([{ index: 1, term: 2, kind: "txs", firstPosition: 0, txs: txs(0, 2) }]);
      expect(proposed, "refused while transferring").to.deep.equal([]);
      transferring = false; // the transfer aborted: still the leader of term 2
      await apply([{ index: 2, term: 2, kind: "txs", firstPosition: 2, txs: txs(2, 3) }]);
      expect(proposed.map((c) => [c.firstPosition, c.lastPosition])).to.deep.equal([[0, 4]]);
    } finally {
      await store.close();
    }
  });

  it("re-certifies positions whose certificate never committed: after the signing leader restarts, and after a snapshot install", async () => {
    const store = await NodeStore.open(path.join(dir, "db"));
    const signer = privateKeyToAccount(generatePrivateKey());
    const service = (term: number, proposed: StoredCertificate[]) =>
      new CommitmentService({
        store,
        signer,
        chainId: 1,
        registry: `0x${"11".repeat(20)}`,
        logger: createLogger({ level: "silent" }),
        epoch: () => 0,
        leaderTerm: () => term,
        proposeApp: (data) => {
          const record = decodeAppRecord(data);
          if (record.kind === "certificate") proposed.push(record.certificate);
          return true;
        },
      });
    const apply = async (s: CommitmentService, entries: Entry[]) => {
      await store.persistReady({ entries, hardState: { term: entries.at(-1)!.term, vote: null, commit: entries.at(-1)!.index } });
      await s.apply(entries, appRecordsOf(entries));
    };
    try {
      // Term 2: the leader commits three transactions and signs their certificate, then crashes
      // before that certificate's record commits.
      const first: StoredCertificate[] = [];
      const leader = service(2, first);
      const txs = [1, 2, 3].map((i) => ({ hash: keccak256(Uint8Array.of(i)), data: Uint8Array.of(i) }));
      await apply(leader, [{ index: 1, term: 2, kind: "txs", firstPosition: 0, txs }]);
      expect(first.map((c) => [c.firstPosition, c.lastPosition])).to.deep.equal([[0, 2]]);
      expect((await leader.commitmentAt(1)).status, "the user is answered from the signed certificate").to.equal("certified");
      expect(await leader.whenCertified(2, Date.now() + 10_000), "covered by its own signed certificate").to.equal(true);

      // Restarted, it leads again in term 3: its noop must bring a certificate for positions 0..2.
      const second: StoredCertificate[] = [];
      const restarted = service(3, second);
      await restarted.recover();
      expect(restarted.nextUncertified).to.equal(0);
      expect(await restarted.whenCertified(1, Date.now() + 20), "nothing certifies position 1 here yet").to.equal(false);
      const waiting = restarted.whenCertified(1, Date.now() + 10_000);
      await apply(restarted, [{ index: 2, term: 3, kind: "noop", firstPosition: 3 }]);
      expect(second.map((c) => [c.firstPosition, c.lastPosition, c.term])).to.deep.equal([[0, 2, 3]]);
      expect(await waiting, "a waiter is woken by the next leader's certificate").to.equal(true);

      // A node that installs a snapshot taken where certification stood at 0 (the old leader's
      // certificate never committed) and leads in term 4 certifies positions 0..2 too: the
      // snapshot's end is not proof that its positions were certified (nemesis seed 62024).
      const third: StoredCertificate[] = [];
      const installer = service(4, third);
      await installer.installSnapshot({ meta: { index: 2, term: 3, nextPosition: 3, config: { voters: ["a"], learners: [] } }, data: new Uint8Array() }, 0);
      expect(installer.nextUncertified).to.equal(0);
      await apply(installer, [{ index: 3, term: 4, kind: "noop", firstPosition: 3 }]);
      expect(third.map((c) => [c.firstPosition, c.lastPosition, c.term])).to.deep.equal([[0, 2, 4]]);
    } finally {
      await store.close();
    }
  });
});
