/**
 * S5 (posting lag): a signer can break a commitment only by signing the contradicting batch, and
 * every batch the inbox still accepts was signed by stake that cannot have been withdrawn yet.
 * On 4a015c6 slashBrokenCommitment punished the certificate's signer, who could exit and
 * withdraw while the covering batch was still unposted (the lag was free to inflate), and the
 * slash took 0. Now the offender is whoever signed the batch, and that batch lands while its
 * signers' stake is still bonded: the inbox takes signatures at most maxEpochLag epochs old, and
 * the registry's unbonding floor outlasts that by a full epoch of evidence.
 */
import { expect } from "chai";
import { keccak256 } from "viem";
import { merkleProof } from "../../node/commitments/merkle.js";
import { batchHash, signBatchHeader } from "../../node/commitments/typed-data.js";
import { conflictingBatchesOffenceId } from "../../node/watchtower/slashing.js";
import { EPOCH_LENGTH, MAX_EPOCH_LAG, SLASH_FRACTION_BPS, deploySequencer, fakeTxs } from "./helpers/sequencer.js";

describe("S5: the posting lag never outlasts a signer's stake", () => {
  it("S5: a batch signed before its signer exited is accepted only while that signer's stake is slashable", async () => {
    const f = await deploySequencer(3);
    const b1 = f.makeBatch({ epoch: f.epoch, batchNumber: 1n, prevBatchHash: f.ZERO_HASH, firstPosition: 0n, txs: fakeTxs(3, "s5-1") });
    await f.submitBatch([b1.header, b1.data, await f.signHeader(b1.header)]);
    // Operators 0 and 1 (a stake majority) sign batch 2 for epoch e, an honest header of the
    // same batch exists that operator 1 also signed, and both exit at once: the batch is left
    // unposted while they try to get their stake out.
    const e = f.epoch;
    const next = { batchNumber: 2n, prevBatchHash: batchHash(b1.header), firstPosition: 3n };
    const honestTxs = fakeTxs(2, "s5-honest");
    const rogueTxs = [honestTxs[0]!, fakeTxs(1, "s5-rogue")[0]!];
    const rogue = f.makeBatch({ ...next, epoch: e, txs: rogueTxs });
    const honest = f.makeBatch({ ...next, epoch: e - 1n, txs: honestTxs });
    const signers = f.operators.slice(0, 2);
    const rogueSigs = await f.signHeader(rogue.header, signers);
    // And batch 3 after it, signed for the same epoch, kept back longer still.
    const late = f.makeBatch({ epoch: e, batchNumber: 3n, prevBatchHash: batchHash(rogue.header), firstPosition: 5n, txs: fakeTxs(1, "s5-late") });
    const lateSigs = await f.signHeader(late.header, signers);
    for (const op of signers) await f.registry.write.exit({ account: op.address });

    let accepted = false;
    for (let epoch = e; epoch <= e + MAX_EPOCH_LAG + 3n; epoch++) {
      const withdrawable = await Promise.all(signers.map((op) => f.registry.read.withdrawable([op.address])));
      const current = await f.registry.read.currentEpoch();
      const usable = current <= e + MAX_EPOCH_LAG;
      if (usable) {
        // While the inbox still takes the signatures, none of the signers' stake can leave.
        expect(withdrawable, `epoch ${current}: stake withdrawable while batch signatures of epoch ${e} are still usable`).to.deep.equal([0n, 0n]);
      } else {
        // Past the lag nothing those signatures carry is accepted any more.
        await f.viem.assertions.revertWithCustomError(f.submitBatch([late.header, late.data, lateSigs]), f.inbox, "EpochTooOld");
      }
      if (current === e + MAX_EPOCH_LAG && !accepted) {
        // The latest moment the lag allows: the batch lands, and its signer is slashed in full.
        await f.submitBatch([rogue.header, rogue.data, rogueSigs]);
        accepted = true;
        const offender = f.operators[1]!;
        const before = await f.registry.read.operatorInfo([offender.address]);
        const id = conflictingBatchesOffenceId(offender.signer.address, honest.header, rogue.header);
        const leaf = async (b: typeof honest, txs: readonly `0x${string}`[]) => ({
          header: b.header,
          signature: await signBatchHeader(offender.signer, f.domain, b.header),
          txHash: keccak256(txs[1]!),
          proof: merkleProof(b.tree, 1),
        });
        await f.slashing.write.slashConflictingBatches([4n, await leaf(honest, honestTxs), await leaf(rogue, rogueTxs), ...(await f.commitProof(id))], { account: f.reporter.account });
        const after = await f.registry.read.operatorInfo([offender.address]);
        const bonded = before.activeStake + before.unbonding;
        expect(bonded > 0n).to.equal(true);
        expect(bonded - (after.activeStake + after.unbonding)).to.equal((bonded * SLASH_FRACTION_BPS) / 10_000n);
      }
      await f.networkHelpers.mine(Number(EPOCH_LENGTH));
    }
    expect(accepted).to.equal(true);
    // The stake becomes withdrawable only after all that.
    expect((await f.registry.read.withdrawable([f.operators[0]!.address])) > 0n).to.equal(true);
  });
});
