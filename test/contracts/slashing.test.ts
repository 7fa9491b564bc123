import { expect } from "chai";
import { type Hex, decodeEventLog, encodeAbiParameters, getAddress, keccak256, toHex, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type MerkleTree, merkleProof } from "../../node/commitments/merkle.js";
import { type BatchHeader, type OrderCommitment, batchHash, signBatchHeader, signOrderCommitment } from "../../node/commitments/typed-data.js";
import {
  batchEquivocationOffenceId,
  brokenCommitmentOffenceId,
  certificateEquivocationOffenceId,
  conflictingBatchesOffenceId,
  proofCommitment,
} from "../../node/watchtower/slashing.js";
import {
  type Operator,
  type SequencerFixture,
  MIN_STAKE,
  REPORTER_SHARE_BPS,
  SLASH_FRACTION_BPS,
  deploySequencer,
  fakeTxHashes,
  fakeTxs,
  testKey,
} from "./helpers/sequencer.js";

type Certified = { certificate: OrderCommitment; signature: Hex; tree: MerkleTree; txHashes: Hex[] };

describe("Slashing", () => {
  let f: SequencerFixture;
  /** Batch 1, accepted in `before`: positions [0, 9]. */
  let batch1: { header: BatchHeader; tree: MerkleTree; txHashes: Hex[] };
  const gas: [string, bigint][] = [];
  const stranger = privateKeyToAccount(testKey("stranger", 0));
  /** Reveal arguments with no commitment behind them: a refused proof never gets that far. */
  const uncommitted = () => [f.reporter.account.address, keccak256(toHex("no commitment"))] as const;
  let claimWindow: bigint;

  before(async () => {
    f = await deploySequencer(3);
    const b = f.makeBatch({ epoch: f.epoch, batchNumber: 1n, prevBatchHash: f.ZERO_HASH, firstPosition: 0n, txs: fakeTxs(10, "batch1") });
    await f.submitBatch([b.header, b.data, await f.signHeader(b.header)]);
    batch1 = { header: b.header, tree: b.tree, txHashes: b.txHashes };
    claimWindow = await f.slashing.read.CLAIM_WINDOW();
  });

  after(() => {
    console.log("      gas per slashing call:");
    for (const [name, used] of gas) console.log(`        ${name.padEnd(44)} ${used.toString().padStart(8)}`);
  });

  async function certify(by: Operator | typeof stranger, firstPosition: bigint, txHashes: Hex[], term = 1n): Promise<Certified> {
    const signer = "signer" in by ? by.signer : by;
    const c = await f.certify({ address: signer.address, signer, stake: 0n }, firstPosition, txHashes, term);
    return { ...c, txHashes, signature: await signOrderCommitment(signer, f.domain, c.certificate) };
  }

  /** The CertifiedLeaf argument for `position` of `c`. */
  function leafOf(c: Certified, position: bigint, overrides: Partial<{ txHash: Hex; proof: Hex[]; signature: Hex }> = {}) {
    const index = Number(position - c.certificate.firstPosition);
    return {
      certificate: c.certificate,
      signature: overrides.signature ?? c.signature,
      txHash: overrides.txHash ?? c.txHashes[index]!,
      proof: overrides.proof ?? merkleProof(c.tree, index),
    };
  }

  /** The SignedBatchLeaf argument for `position` of batch 1 (or `batch`), signed by `by`. */
  async function batchLeaf(position: bigint, by: Operator | typeof stranger, batch: { header: BatchHeader; tree: MerkleTree; txHashes: Hex[] } = batch1) {
    const signer = "signer" in by ? by.signer : by;
    const index = Number(position - batch.header.firstPosition);
    return { header: batch.header, signature: await signBatchHeader(signer, f.domain, batch.header), txHash: batch.txHashes[index]!, proof: merkleProof(batch.tree, index) };
  }

  const gasOf = async (hash: Promise<Hex>) => (await f.publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed;

  /**
   * Commits to `offenceId`, reveals with `reveal(reporter, salt)`, checks the Slashed event, the
   * held reward and its payout after the claim window, and records gas.
   */
  async function expectSlash(label: string, offenceId: Hex, reveal: (reporter: Hex, salt: Hex) => Promise<Hex>, offence: number, victim: Operator) {
    const before = await f.token.read.balanceOf([f.reporter.account.address]);
    const info = await f.registry.read.operatorInfo([victim.address]);
    const expectedAmount = ((info.activeStake + info.unbonding) * SLASH_FRACTION_BPS) / 10_000n;
    const salt = keccak256(toHex(label));
    const commitment = proofCommitment(offenceId, f.reporter.account.address, salt);
    expect(await f.slashing.read.commitmentOf([offenceId, f.reporter.account.address, salt])).to.equal(commitment);
    gas.push(["commit", await gasOf(f.slashing.write.commit([commitment], asReporter()))]);
    await f.networkHelpers.mine(1);
    const receipt = await f.publicClient.waitForTransactionReceipt({ hash: await reveal(f.reporter.account.address, salt) });
    gas.push([`${label} (reveal)`, receipt.gasUsed]);
    const events = receipt.logs
      .filter((l) => l.address.toLowerCase() === f.slashing.address.toLowerCase())
      .map((l) => decodeEventLog({ abi: f.slashing.abi, data: l.data, topics: l.topics }));
    expect(events).to.have.length(1);
    const args = events[0]!.args as { offence: number; operator: Hex; signer: Hex; reporter: Hex; amount: bigint; offenceId: Hex };
    expect(args.offence).to.equal(offence);
    expect(args.operator).to.equal(victim.address);
    expect(args.signer).to.equal(victim.signer.address);
    expect(getAddress(args.reporter)).to.equal(getAddress(f.reporter.account.address));
    expect(args.amount).to.equal(expectedAmount);
    expect(args.offenceId).to.equal(offenceId);
    expect(await f.slashing.read.isSlashed([args.offenceId])).to.equal(true);
    expect((await f.registry.read.operatorInfo([victim.address])).jailed).to.equal(true);
    // The reward is held for the claim window, then paid to the reporter by anyone's call.
    const reward = (expectedAmount * REPORTER_SHARE_BPS) / 10_000n;
    const claim = await f.slashing.read.claimOf([offenceId]);
    expect(claim).to.deep.include({ reporter: getAddress(f.reporter.account.address), paid: false, reward, claimableFrom: receipt.blockNumber + claimWindow });
    expect(await f.slashing.read.unpaidClaims([f.reporter.account.address])).to.deep.equal([offenceId]);
    expect(await f.token.read.balanceOf([f.reporter.account.address])).to.equal(before);
    await expectError(f.slashing.write.claimReward([offenceId]), "ClaimWindowOpen", [offenceId, claim.claimableFrom]);
    await f.networkHelpers.mineUpTo(claim.claimableFrom);
    gas.push(["claimReward", await gasOf(f.slashing.write.claimReward([offenceId], { account: f.outsider.account }))]);
    expect(await f.token.read.balanceOf([f.reporter.account.address])).to.equal(before + reward);
    expect(await f.slashing.read.unpaidClaims([f.reporter.account.address])).to.deep.equal([]);
    await expectError(f.slashing.write.claimReward([offenceId]), "RewardAlreadyPaid", [offenceId]);
    return args.offenceId;
  }

  async function expectError(promise: Promise<unknown>, name: string, args?: unknown[]) {
    if (args) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(promise as Promise<Hex>, f.slashing, name as never, args as never);
    } else {
      await f.viem.assertions.revertWithCustomError(promise as Promise<Hex>, f.slashing, name as never);
    }
  }

  const asReporter = () => ({ account: f.reporter.account });

  describe("batch equivocation", () => {
    let a: BatchHeader;
    let b: BatchHeader;
    before(() => {
      a = f.makeBatch({ epoch: f.epoch, batchNumber: 2n, prevBatchHash: batchHash(batch1.header), firstPosition: 10n, txs: fakeTxs(3, "a") }).header;
      b = { ...a, lastPosition: 11n, merkleRoot: keccak256(toHex("b")) };
    });

    it("rejects non-equivocations and bad proofs with clear errors", async () => {
      const op = f.operators[0]!;
      const sigA = await signBatchHeader(op.signer, f.domain, a);
      const sigB = await signBatchHeader(op.signer, f.domain, b);
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, { ...b, batchNumber: 3n }, sigB, ...uncommitted()]), "BatchNumbersDiffer", [2n, 3n]);
      // Re-signing batch 2 under a later epoch is allowed (the inbox takes one header per number).
      const later = { ...b, epoch: a.epoch + 1n };
      const sigLater = await signBatchHeader(op.signer, f.domain, later);
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, later, sigLater, ...uncommitted()]), "EpochsDiffer", [a.epoch, a.epoch + 1n]);
      await expectError(f.slashing.write.slashBatchEquivocation([{ ...a, epoch: a.epoch + 1n }, sigA, later, sigLater, ...uncommitted()]), "SignersDiffer");
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, a, sigA, ...uncommitted()]), "NotEquivocation");
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, b, sigB.slice(0, 100) as Hex, ...uncommitted()]), "BadSignature", [1n]);
      await expectError(f.slashing.write.slashBatchEquivocation([a, "0x", b, sigB, ...uncommitted()]), "BadSignature", [0n]);
      const other = await signBatchHeader(f.operators[1]!.signer, f.domain, b);
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, b, other, ...uncommitted()]), "SignersDiffer", [op.signer.address, f.operators[1]!.signer.address]);
      const strangerA = await signBatchHeader(stranger, f.domain, a);
      const strangerB = await signBatchHeader(stranger, f.domain, b);
      await expectError(f.slashing.write.slashBatchEquivocation([a, strangerA, b, strangerB, ...uncommitted()]), "UnknownSigner", [stranger.address]);
      expect((await f.registry.read.operatorInfo([op.address])).jailed).to.equal(false);
    });

    it("slashes a signer of two different headers for the same number, once", async () => {
      const op = f.operators[0]!;
      const sigA = await signBatchHeader(op.signer, f.domain, a);
      const sigB = await signBatchHeader(op.signer, f.domain, b);
      const offenceId = batchEquivocationOffenceId(op.signer.address, 2n, a.epoch);
      // A valid proof without a commitment behind it is refused, and nothing happens.
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, b, sigB, ...uncommitted()]), "NotCommitted");
      const id = await expectSlash("slashBatchEquivocation", offenceId, (r, salt) => f.slashing.write.slashBatchEquivocation([a, sigA, b, sigB, r, salt], asReporter()), 0, op);
      // Another reporter, after the claim window: the offence is punished once.
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, b, sigB, ...(await f.commitProof(id, f.outsider))]), "AlreadySlashed", [id]);
      await expectError(f.slashing.write.slashBatchEquivocation([b, sigB, a, sigA, ...(await f.commitProof(id, f.outsider, "swapped"))]), "AlreadySlashed", [id]);
      // A third header for the same number is the same incident, not a new offence.
      const c = { ...b, dataHash: keccak256(toHex("third header")) };
      const sigC = await signBatchHeader(op.signer, f.domain, c);
      await expectError(f.slashing.write.slashBatchEquivocation([a, sigA, c, sigC, ...(await f.commitProof(id, f.outsider, "third"))]), "AlreadySlashed", [id]);
      // The offence id is (offence kind, signer, batch number, epoch).
      expect(id).to.equal(
        keccak256(encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "uint64" }, { type: "uint64" }], [0, op.signer.address, 2n, a.epoch])),
      );
    });

    it("treats equivocation on the same batch number in another epoch as a separate offence", async () => {
      const op = f.operators[0]!;
      const [a2, b2] = [a, b].map((h) => ({ ...h, epoch: h.epoch + 1n }));
      const sigA = await signBatchHeader(op.signer, f.domain, a2!);
      const sigB = await signBatchHeader(op.signer, f.domain, b2!);
      const first = keccak256(encodeAbiParameters([{ type: "uint8" }, { type: "address" }, { type: "uint64" }, { type: "uint64" }], [0, op.signer.address, 2n, a.epoch]));
      const offenceId = batchEquivocationOffenceId(op.signer.address, 2n, a2!.epoch);
      const id = await expectSlash("slashBatchEquivocation (repeat offender)", offenceId, (r, salt) => f.slashing.write.slashBatchEquivocation([a2!, sigA, b2!, sigB, r, salt], asReporter()), 0, op);
      expect(id).to.not.equal(first);
    });
  });

  describe("certificate equivocation", () => {
    // Two certificates by operator 1 overlapping on [12, 14]; they disagree at 12 and 13, agree at 14.
    let c1: Certified;
    let c2: Certified;
    before(async () => {
      const op = f.operators[1]!;
      const shared = keccak256(toHex("shared"));
      c1 = await certify(op, 10n, [...fakeTxHashes(4, "c1"), shared]);
      c2 = await certify(op, 12n, [...fakeTxHashes(2, "c2"), shared, ...fakeTxHashes(3, "c2b")], 2n);
    });

    it("rejects agreeing leaves, positions outside a range, bad proofs and signatures", async () => {
      const op = f.operators[1]!;
      const slash = (position: bigint, x: ReturnType<typeof leafOf>, y: ReturnType<typeof leafOf>) =>
        f.slashing.write.slashCertificateEquivocation([position, x, y, ...uncommitted()]);
      await expectError(slash(14n, leafOf(c1, 14n), leafOf(c2, 14n)), "LeavesAgree", [keccak256(toHex("shared"))]);
      await expectError(slash(11n, leafOf(c1, 11n), { ...leafOf(c2, 12n) }), "PositionOutOfRange", [1n, 11n, 12n, 17n]);
      await expectError(slash(15n, leafOf(c1, 14n), leafOf(c2, 15n)), "PositionOutOfRange", [0n, 15n, 10n, 14n]);
      const x = leafOf(c1, 12n);
      const y = leafOf(c2, 12n);
      await expectError(slash(12n, { ...x, txHash: keccak256(toHex("made up")) }, y), "InvalidProof", [0n]);
      await expectError(slash(12n, x, { ...y, proof: y.proof.slice(1) }), "InvalidProof", [1n]);
      await expectError(slash(13n, leafOf(c1, 13n), { ...y, txHash: c2.txHashes[1]! }), "InvalidProof", [1n]); // proof of 12 used for 13
      await expectError(slash(12n, x, { ...y, signature: `${y.signature.slice(0, 130)}00` as Hex }), "BadSignature", [1n]);
      const otherSig = await signOrderCommitment(f.operators[2]!.signer, f.domain, c2.certificate);
      await expectError(slash(12n, x, { ...y, signature: otherSig }), "SignersDiffer", [op.signer.address, f.operators[2]!.signer.address]);
      const s1 = await certify(stranger, 10n, c1.txHashes);
      const s2 = await certify(stranger, 12n, c2.txHashes, 2n);
      await expectError(slash(12n, leafOf(s1, 12n), leafOf(s2, 12n)), "UnknownSigner", [stranger.address]);
    });

    it("slashes a signer of two certificates with different transactions at one position, once per pair of certificates", async () => {
      const op = f.operators[1]!;
      const offenceId = certificateEquivocationOffenceId(op.signer.address, c1.certificate, c2.certificate);
      const id = await expectSlash(
        "slashCertificateEquivocation",
        offenceId,
        (r, salt) => f.slashing.write.slashCertificateEquivocation([12n, leafOf(c1, 12n), leafOf(c2, 12n), r, salt], asReporter()),
        1,
        op,
      );
      await expectError(f.slashing.write.slashCertificateEquivocation([12n, leafOf(c2, 12n), leafOf(c1, 12n), ...(await f.commitProof(id, f.outsider))]), "AlreadySlashed", [id]);
      // The same two certificates contradicting each other at another position are the same offence.
      await expectError(f.slashing.write.slashCertificateEquivocation([13n, leafOf(c1, 13n), leafOf(c2, 13n), ...(await f.commitProof(id, f.outsider, "13"))]), "AlreadySlashed", [id]);
    });
  });

  describe("broken order commitment", () => {
    // Operator 2 certified positions [5, 7] with its own transaction at 6; batch 1 holds another one there.
    let c: Certified;
    before(async () => {
      const txs = [batch1.txHashes[5]!, keccak256(toHex("promised")), batch1.txHashes[7]!];
      c = await certify(f.operators[2]!, 5n, txs);
    });

    it("rejects agreement with the batch, positions outside either range, bad proofs and signatures", async () => {
      const op = f.operators[2]!;
      const slash = (position: bigint, x: ReturnType<typeof leafOf>, y: Awaited<ReturnType<typeof batchLeaf>>) =>
        f.slashing.write.slashBrokenCommitment([position, x, y, ...uncommitted()]);
      const at6 = await batchLeaf(6n, op);
      await expectError(slash(5n, leafOf(c, 5n), await batchLeaf(5n, op)), "LeavesAgree", [batch1.txHashes[5]!]);
      await expectError(slash(8n, leafOf(c, 7n), await batchLeaf(8n, op)), "PositionOutOfRange", [0n, 8n, 5n, 7n]);
      const late = await certify(op, 10n, fakeTxHashes(2, "late"));
      await expectError(slash(10n, leafOf(late, 10n), at6), "PositionOutOfRange", [1n, 10n, 0n, 9n]);
      await expectError(slash(6n, leafOf(c, 6n), { ...at6, proof: merkleProof(batch1.tree, 7) }), "InvalidProof", [1n]);
      await expectError(slash(6n, leafOf(c, 6n), { ...at6, txHash: keccak256(toHex("not in batch")) }), "InvalidProof", [1n]);
      await expectError(slash(6n, leafOf(c, 6n, { proof: merkleProof(c.tree, 0) }), at6), "InvalidProof", [0n]);
      await expectError(slash(6n, leafOf(c, 6n, { signature: "0x1234" }), at6), "BadSignature", [0n]);
      await expectError(slash(6n, leafOf(c, 6n), { ...at6, signature: "0x1234" }), "BadSignature", [1n]);
      const s = await certify(stranger, 5n, c.txHashes);
      await expectError(slash(6n, leafOf(s, 6n), await batchLeaf(6n, stranger)), "UnknownSigner", [stranger.address]);
    });

    it("S2: a certificate contradicted by a batch its signer did not sign proves nothing against that signer", async () => {
      // Batch 1 was signed by operators 0 and 1, not by operator 2, whose certificate it contradicts.
      // On 4a015c6 this proof slashed operator 2: any stake majority could frame an honest leader.
      const signedBy0 = await batchLeaf(6n, f.operators[0]!);
      await expectError(
        f.slashing.write.slashBrokenCommitment([6n, leafOf(c, 6n), signedBy0, ...uncommitted()]),
        "SignersDiffer",
        [f.operators[2]!.signer.address, f.operators[0]!.signer.address],
      );
    });

    it("slashes a signer of a certificate and of a batch header that contradicts it, once per batch however many certificates", async () => {
      const op = f.operators[2]!;
      const at6 = await batchLeaf(6n, op);
      const offenceId = brokenCommitmentOffenceId(op.signer.address, 1n);
      const id = await expectSlash("slashBrokenCommitment", offenceId, (r, salt) => f.slashing.write.slashBrokenCommitment([6n, leafOf(c, 6n), at6, r, salt], asReporter()), 2, op);
      await expectError(f.slashing.write.slashBrokenCommitment([6n, leafOf(c, 6n), at6, ...(await f.commitProof(id, f.outsider))]), "AlreadySlashed", [id]);
      // S2: another certificate the same batch breaks is the same incident (on 4a015c6 each
      // certificate was its own offence: twenty of them took 88 % of a leader's stake).
      const again = await certify(op, 6n, [keccak256(toHex("promised again"))], 2n);
      await expectError(f.slashing.write.slashBrokenCommitment([6n, leafOf(again, 6n), at6, ...(await f.commitProof(id, f.outsider, "again"))]), "AlreadySlashed", [id]);
    });
  });

  describe("S2: conflicting batches (a colluding majority cannot frame an honest leader)", () => {
    // A fresh set: an honest leader with a certificate, and two colluders holding more than half
    // the stake. All three signed the honest header of batch 2 (the user's accountable
    // commitment); the colluders then sign a rogue header of batch 2 under a later epoch that
    // puts another transaction at position 11.
    let g: SequencerFixture;
    let honest: { header: BatchHeader; tree: MerkleTree; txHashes: Hex[] };
    let rogue: { header: BatchHeader; tree: MerkleTree; txHashes: Hex[] };
    /** The rogue batch's raw transactions (the honest ones but at position 11). */
    let rogueTxs: Hex[];
    let leaderCert: Certified;
    const leafIn = async (g2: SequencerFixture, b: typeof honest, position: bigint, by: Operator) => {
      const index = Number(position - b.header.firstPosition);
      return { header: b.header, signature: await signBatchHeader(by.signer, g2.domain, b.header), txHash: b.txHashes[index]!, proof: merkleProof(b.tree, index) };
    };

    before(async () => {
      g = await deploySequencer(3);
      const b1 = g.makeBatch({ epoch: g.epoch, batchNumber: 1n, prevBatchHash: g.ZERO_HASH, firstPosition: 0n, txs: fakeTxs(10, "g1") });
      await g.submitBatch([b1.header, b1.data, await g.signHeader(b1.header)]);
      const next = { batchNumber: 2n, prevBatchHash: batchHash(b1.header), firstPosition: 10n };
      const honestTxs = fakeTxs(3, "honest");
      rogueTxs = [honestTxs[0]!, toHex("rogue"), honestTxs[2]!];
      const h = g.makeBatch({ ...next, epoch: g.epoch, txs: honestTxs });
      const r = g.makeBatch({ ...next, epoch: g.epoch + 1n, txs: rogueTxs });
      honest = { header: h.header, tree: h.tree, txHashes: h.txHashes };
      rogue = { header: r.header, tree: r.tree, txHashes: r.txHashes };
      const leader = g.operators[0]!;
      const c = await g.certify({ address: leader.signer.address, signer: leader.signer, stake: 0n }, 10n, h.txHashes, 1n);
      leaderCert = { ...c, txHashes: h.txHashes, signature: await signOrderCommitment(leader.signer, g.domain, c.certificate) };
    });

    const expectGError = (promise: Promise<unknown>, name: string, args: unknown[]) =>
      g.viem.assertions.revertWithCustomErrorWithArgs(promise as Promise<Hex>, g.slashing, name as never, args as never);

    it("S2: the honest leader's certificate against the rogue batch slashes nobody, and neither does its honest header", async () => {
      const [leader, colluder] = [g.operators[0]!, g.operators[1]!];
      const certLeaf = { certificate: leaderCert.certificate, signature: leaderCert.signature, txHash: honest.txHashes[1]!, proof: merkleProof(leaderCert.tree, 1) };
      const noCommitment = [g.reporter.account.address, keccak256(toHex("none"))] as const;
      await expectGError(g.slashing.write.slashBrokenCommitment([11n, certLeaf, await leafIn(g, rogue, 11n, colluder), ...noCommitment]), "SignersDiffer", [
        leader.signer.address,
        colluder.signer.address,
      ]);
      await expectGError(
        g.slashing.write.slashConflictingBatches([11n, await leafIn(g, honest, 11n, leader), await leafIn(g, rogue, 11n, colluder), ...noCommitment]),
        "SignersDiffer",
        [leader.signer.address, colluder.signer.address],
      );
      expect((await g.registry.read.operatorInfo([leader.address])).jailed).to.equal(false);
    });

    it("S2: each colluder that signed both headers is slashed, once for the incident", async () => {
      for (const colluder of [g.operators[1]!, g.operators[2]!]) {
        const before = await g.registry.read.operatorInfo([colluder.address]);
        const id = conflictingBatchesOffenceId(colluder.signer.address, honest.header, rogue.header);
        await g.slashing.write.slashConflictingBatches([11n, await leafIn(g, honest, 11n, colluder), await leafIn(g, rogue, 11n, colluder), ...(await g.commitProof(id))], {
          account: g.reporter.account,
        });
        const after = await g.registry.read.operatorInfo([colluder.address]);
        expect(after.jailed).to.equal(true);
        expect(after.activeStake).to.equal(before.activeStake - (before.activeStake * SLASH_FRACTION_BPS) / 10_000n);
        // The same two headers are one incident, in either order.
        await expectGError(
          g.slashing.write.slashConflictingBatches([11n, await leafIn(g, rogue, 11n, colluder), await leafIn(g, honest, 11n, colluder), ...(await g.commitProof(id, g.outsider))]),
          "AlreadySlashed",
          [id],
        );
      }
      expect((await g.registry.read.operatorInfo([g.operators[0]!.address])).jailed).to.equal(false);
    });

    it("rejects agreeing leaves, bad proofs and headers of the same content", async () => {
      const op = g.operators[0]!;
      const noCommitment = [g.reporter.account.address, keccak256(toHex("none"))] as const;
      const slash = async (position: bigint, a: typeof honest, b: typeof honest) =>
        g.slashing.write.slashConflictingBatches([position, await leafIn(g, a, position, op), await leafIn(g, b, position, op), ...noCommitment]);
      await expectGError(slash(10n, honest, rogue), "LeavesAgree", [honest.txHashes[0]!]);
      const outside = [13n, await leafIn(g, honest, 12n, op), await leafIn(g, rogue, 11n, op), ...noCommitment] as const;
      await expectGError(g.slashing.write.slashConflictingBatches(outside), "PositionOutOfRange", [0n, 13n, 10n, 12n]);
      const bad = { ...(await leafIn(g, rogue, 11n, op)), proof: merkleProof(rogue.tree, 2) };
      await expectGError(g.slashing.write.slashConflictingBatches([11n, await leafIn(g, honest, 11n, op), bad, ...noCommitment]), "InvalidProof", [1n]);
      // A re-cut under a later epoch keeps the content: it can never disagree at a position.
      const recut = { ...honest, header: { ...honest.header, epoch: honest.header.epoch + 1n } };
      await expectGError(slash(11n, honest, recut), "LeavesAgree", [honest.txHashes[1]!]);
    });

    it("two headers of one batch number and epoch are one batch-equivocation incident, whichever function proves it", async () => {
      const op = g.operators[0]!;
      const other = g.makeBatch({ epoch: honest.header.epoch, batchNumber: 2n, prevBatchHash: honest.header.prevBatchHash, firstPosition: 10n, txs: rogueTxs });
      const otherB = { header: other.header, tree: other.tree, txHashes: rogue.txHashes };
      const id = batchEquivocationOffenceId(op.signer.address, 2n, honest.header.epoch);
      expect(conflictingBatchesOffenceId(op.signer.address, honest.header, other.header)).to.equal(id);
      await g.slashing.write.slashConflictingBatches([11n, await leafIn(g, honest, 11n, op), await leafIn(g, otherB, 11n, op), ...(await g.commitProof(id))], { account: g.reporter.account });
      const sigA = await signBatchHeader(op.signer, g.domain, honest.header);
      const sigB = await signBatchHeader(op.signer, g.domain, other.header);
      await expectGError(g.slashing.write.slashBatchEquivocation([honest.header, sigA, other.header, sigB, ...(await g.commitProof(id, g.outsider))]), "AlreadySlashed", [id]);
    });
  });

  describe("S8: commit-reveal", () => {
    /** A fresh offender's broken commitment at position 6 of batch 1: a proof nobody has revealed yet. */
    async function freshOffence(i: number) {
      const offender = await f.registerOperator(i, MIN_STAKE * 10n);
      const c = await certify(offender, 5n, [batch1.txHashes[5]!, keccak256(toHex(`promised-${i}`)), batch1.txHashes[7]!]);
      return { offender, proof: [6n, leafOf(c, 6n), await batchLeaf(6n, offender)] as const, offenceId: brokenCommitmentOffenceId(offender.signer.address, 1n) };
    }
    const balanceOf = (who: { account: { address: Hex } }) => f.token.read.balanceOf([who.account.address]);

    it("S8: a proof copied from the mempool earns the copier nothing: the earliest committer that reveals gets the reward", async () => {
      const { offender, proof, offenceId } = await freshOffence(20);
      const [honest, copier] = [f.reporter, f.outsider];
      const [honestBefore, copierBefore] = [await balanceOf(honest), await balanceOf(copier)];
      // The honest reporter commits first: the commitment names neither the offence nor the evidence.
      const honestSalt = keccak256(toHex("honest salt"));
      await f.slashing.write.commit([proofCommitment(offenceId, honest.account.address, honestSalt)], { account: honest.account });
      await f.networkHelpers.mine(1);
      // Its reveal sits in the mempool. Naming itself as the reporter, the copier has no commitment...
      await expectError(f.slashing.write.slashBrokenCommitment([...proof, copier.account.address, honestSalt], { account: copier.account }), "NotCommitted");
      // ...so it commits now, and (the honest reveal held back a few blocks) reveals first: the
      // offender is slashed at once, and the copier holds the claim for now.
      const copied = await f.commitProof(offenceId, copier, "copier");
      await f.slashing.write.slashBrokenCommitment([...proof, ...copied], { account: copier.account });
      expect((await f.registry.read.operatorInfo([offender.address])).jailed).to.equal(true);
      expect((await f.slashing.read.claimOf([offenceId])).reporter).to.equal(getAddress(copier.account.address));
      // The honest reveal lands within the claim window (here even replayed verbatim by the
      // copier's account): its earlier commitment takes the reward over.
      await f.viem.assertions.emitWithArgs(
        f.slashing.write.slashBrokenCommitment([...proof, honest.account.address, honestSalt], { account: copier.account }),
        f.slashing,
        "ReporterReplaced",
        [offenceId, getAddress(copier.account.address), getAddress(honest.account.address)],
      );
      // A later commitment cannot take it back.
      await expectError(f.slashing.write.slashBrokenCommitment([...proof, ...(await f.commitProof(offenceId, copier, "again"))], { account: copier.account }), "AlreadySlashed", [offenceId]);
      expect(await f.slashing.read.unpaidClaims([copier.account.address])).to.deep.equal([]);
      expect(await f.slashing.read.unpaidClaims([honest.account.address])).to.deep.equal([offenceId]);
      // After the window the reward goes to the honest reporter, whoever calls for it.
      const claim = await f.slashing.read.claimOf([offenceId]);
      await f.networkHelpers.mineUpTo(claim.claimableFrom);
      await f.slashing.write.claimReward([offenceId], { account: copier.account });
      expect(await balanceOf(copier)).to.equal(copierBefore);
      expect((await balanceOf(honest)) - honestBefore).to.equal(claim.reward);
      expect(claim.reward > 0n).to.equal(true);
      expect((await f.slashing.read.claimOf([offenceId])).paid).to.equal(true);
    });

    it("S8: a reveal in its commitment's own block is refused", async () => {
      const { offender, proof, offenceId } = await freshOffence(21);
      const salt = keccak256(toHex("same block"));
      const provider = f.connection.provider;
      await provider.request({ method: "evm_setAutomine", params: [false] });
      let revealHash: Hex;
      try {
        // Explicit gas: nothing is estimated against the pending block.
        await f.slashing.write.commit([proofCommitment(offenceId, f.reporter.account.address, salt)], { ...asReporter(), gas: 200_000n });
        revealHash = await f.slashing.write.slashBrokenCommitment([...proof, f.reporter.account.address, salt], { ...asReporter(), gas: 1_000_000n });
        await f.networkHelpers.mine(1);
      } finally {
        await provider.request({ method: "evm_setAutomine", params: [true] });
      }
      expect((await f.publicClient.getTransactionReceipt({ hash: revealHash })).status).to.equal("reverted");
      await expectError(f.slashing.simulate.slashBrokenCommitment([...proof, f.reporter.account.address, salt], { ...asReporter(), blockTag: "latest" } as never), "RevealTooEarly");
      expect(await f.slashing.read.isSlashed([offenceId])).to.equal(false);
      expect((await f.registry.read.operatorInfo([offender.address])).jailed).to.equal(false);
      // From the next block on it goes through.
      await f.slashing.write.slashBrokenCommitment([...proof, f.reporter.account.address, salt], asReporter());
      expect(await f.slashing.read.isSlashed([offenceId])).to.equal(true);
    });

    it("refuses a second commitment of the same hash and a zero reporter", async () => {
      const commitment = proofCommitment(keccak256(toHex("some offence")), f.reporter.account.address, keccak256(toHex("salt")));
      await f.viem.assertions.emit(f.slashing.write.commit([commitment], asReporter()), f.slashing, "ProofCommitted");
      await expectError(f.slashing.write.commit([commitment], { account: f.outsider.account }), "AlreadyCommitted", [commitment]);
      const { proof } = await freshOffence(22);
      await expectError(f.slashing.write.slashBrokenCommitment([...proof, zeroAddress, keccak256(toHex("salt"))]), "ZeroReporter");
      await expectError(f.slashing.write.claimReward([keccak256(toHex("never slashed"))]), "NoClaim");
    });
  });

  it("is the registry's slasher, and nobody else can slash through the registry", async () => {
    expect((await f.registry.read.slasher()).toLowerCase()).to.equal(f.slashing.address.toLowerCase());
    await f.viem.assertions.revertWithCustomError(
      f.registry.write.slash([f.operators[0]!.address, f.reporter.account.address]),
      f.registry,
      "NotSlasher",
    );
  });
});
