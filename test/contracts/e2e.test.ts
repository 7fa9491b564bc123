/**
 * End to end on one chain, with node/commitments doing everything a node and a user do:
 * users send real signed transactions, the leader hands out certificates per group commit,
 * users verify them offline against the registry's active set, followers sign the batch
 * header, the leader posts it, a fallback re-posts it, an indexer rebuilds the stream from L1
 * alone, and every kind of misbehaviour is slashed with the material users and nodes hold.
 */
import { expect } from "chai";
import { batchEquivocationOffenceId, brokenCommitmentOffenceId, certificateEquivocationOffenceId } from "../../node/watchtower/slashing.js";
import { type Address, type Hex, bytesToHex, decodeFunctionData, getAddress, hexToBytes, keccak256, parseEther } from "viem";
import { decodeBatchData } from "../../node/batching/format.js";
import { privateKeyToAccount } from "viem/accounts";
import { buildPositionalTree, leafHash, merkleProof, merkleRoot, verifyMerkleProof } from "../../node/commitments/merkle.js";
import {
  type BatchHeader,
  type OrderCommitment,
  batchHash,
  recoverBatchHeaderSigner,
  recoverOrderCommitmentSigner,
  signBatchHeader,
  signOrderCommitment,
} from "../../node/commitments/typed-data.js";
import { type Operator, type SequencerFixture, batchDataOf, deploySequencer, testKey } from "./helpers/sequencer.js";

/** What a user gets back for one transaction. */
type Receipt = { position: bigint; txHash: Hex; certificate: OrderCommitment; signature: Hex; proof: Hex[] };

describe("end to end: commitments, batches and slashing through node/commitments", () => {
  let f: SequencerFixture;
  let leader: Operator;
  let followers: Operator[];
  const rawTxs: Hex[] = [];
  const receipts: Receipt[] = [];
  let header1: BatchHeader;
  let signatures1: Hex[];

  before(async () => {
    f = await deploySequencer(5);
    const schedule = await f.registry.read.leaderSchedule([f.epoch]);
    leader = f.operators.find((o) => o.address === getAddress(schedule[0]!))!;
    followers = f.operators.filter((o) => o !== leader);

    // Twelve users each sign a real EIP-1559 transfer.
    for (let i = 0; i < 12; i++) {
      const user = privateKeyToAccount(testKey("user", i));
      rawTxs.push(
        await user.signTransaction({
          chainId: 901,
          type: "eip1559",
          to: privateKeyToAccount(testKey("recipient", i)).address,
          value: parseEther("0.01"),
          nonce: 0,
          gas: 21_000n,
          maxFeePerGas: 10n ** 9n,
          maxPriorityFeePerGas: 10n ** 9n,
        }),
      );
    }
  });

  it("the leader certifies each group commit and every user verifies its receipt offline", async () => {
    let position = 0n;
    for (const size of [5, 4, 3]) {
      const group = rawTxs.slice(Number(position), Number(position) + size).map((raw) => keccak256(raw));
      const tree = buildPositionalTree(position, group);
      const certificate: OrderCommitment = {
        epoch: f.epoch,
        term: 1n,
        firstPosition: position,
        lastPosition: position + BigInt(size - 1),
        merkleRoot: merkleRoot(tree),
      };
      const signature = await signOrderCommitment(leader.signer, f.domain, certificate); // one signature per group
      group.forEach((txHash, i) => receipts.push({ position: position + BigInt(i), txHash, certificate, signature, proof: merkleProof(tree, i) }));
      position += BigInt(size);
    }

    // The user side: the signer must be in the epoch's active set, the leaf in the certificate.
    const activeSigners = new Set(await f.registry.read.activeSigners([f.epoch]));
    for (const r of receipts) {
      expect(r.txHash).to.equal(keccak256(rawTxs[Number(r.position)]!));
      expect(activeSigners.has(await recoverOrderCommitmentSigner(f.domain, r.certificate, r.signature))).to.equal(true);
      const index = r.position - r.certificate.firstPosition;
      const count = r.certificate.lastPosition - r.certificate.firstPosition + 1n;
      expect(verifyMerkleProof(leafHash(r.position, r.txHash), index, count, r.proof, r.certificate.merkleRoot)).to.equal(true);
    }
  });

  it("followers check and sign the batch header, the leader posts it with a quorum", async () => {
    const data = batchDataOf(rawTxs);
    header1 = {
      epoch: f.epoch,
      batchNumber: 1n,
      prevBatchHash: f.ZERO_HASH,
      firstPosition: 0n,
      lastPosition: 11n,
      merkleRoot: merkleRoot(buildPositionalTree(0n, rawTxs.map((raw) => keccak256(raw)))),
      dataHash: keccak256(data),
    };
    // Each follower recomputes the root from its own log before signing; two followers + the leader = 3 of 5.
    signatures1 = [await signBatchHeader(leader.signer, f.domain, header1)];
    for (const follower of followers.slice(0, 2)) {
      const ownRoot = merkleRoot(buildPositionalTree(0n, rawTxs.map((raw) => keccak256(raw))));
      expect(ownRoot).to.equal(header1.merkleRoot);
      const sig = await signBatchHeader(follower.signer, f.domain, header1);
      expect(await recoverBatchHeaderSigner(f.domain, header1, sig)).to.equal(follower.signer.address);
      signatures1.push(sig);
    }
    await f.viem.assertions.emit(f.submitBatch([header1, data, signatures1], leader.signer), f.inbox, "BatchAccepted");
    expect((await f.inbox.read.batch([1n])).batchHash).to.equal(batchHash(header1));
  });

  it("a fallback re-posting the same batch after a leader failure is a no-op", async () => {
    const data = batchDataOf(rawTxs);
    const fallback = followers[0]!;
    await f.viem.assertions.emitWithArgs(
      f.inbox.write.submitBatch([header1, data, signatures1], { account: fallback.address }),
      f.inbox,
      "BatchAlreadyAccepted",
      [1n, batchHash(header1), fallback.address],
    );
    expect(await f.inbox.read.batchCount()).to.equal(1n);
  });

  it("an indexer rebuilds the ordered stream from L1 alone and checks every user's position", async () => {
    const events = await f.publicClient.getContractEvents({ address: f.inbox.address, abi: f.inbox.abi, eventName: "BatchAccepted", fromBlock: 0n });
    const stream: Hex[] = [];
    for (const event of events) {
      const tx = await f.publicClient.getTransaction({ hash: event.transactionHash });
      const call = decodeFunctionData({ abi: f.inbox.abi, data: tx.input });
      const [header, data] = call.args as readonly [BatchHeader, Hex, readonly Hex[]];
      expect(keccak256(data)).to.equal(event.args.dataHash);
      expect(batchHash(header)).to.equal(event.args.batchHash);
      const txs = decodeBatchData(hexToBytes(data)).map((raw) => bytesToHex(raw));
      const root = merkleRoot(buildPositionalTree(header.firstPosition, txs.map((raw) => keccak256(raw))));
      expect(root).to.equal(event.args.merkleRoot);
      expect(BigInt(stream.length)).to.equal(event.args.firstPosition);
      stream.push(...txs);
    }
    expect(stream).to.deep.equal(rawTxs);

    // A user checks its certificate against the batch now final on L1.
    const batchTree = buildPositionalTree(0n, stream.map((raw) => keccak256(raw)));
    for (const r of receipts) {
      const [number, stored] = await f.inbox.read.batchCoveringPosition([r.position]);
      expect(number).to.equal(1n);
      const index = r.position - stored.firstPosition;
      const ok = verifyMerkleProof(leafHash(r.position, r.txHash), index, stored.lastPosition - stored.firstPosition + 1n, merkleProof(batchTree, Number(index)), stored.merkleRoot);
      expect(ok).to.equal(true);
    }
  });

  describe("misbehaviour is slashed with what users and nodes hold", () => {
    let rogueCertificate: OrderCommitment;
    let rogueSignature: Hex;
    let rogueTree: ReturnType<typeof buildPositionalTree>;
    const rogueTx = keccak256("0xbad0");

    before(async () => {
      // The leader promises position 3 to another transaction in a later term.
      rogueTree = buildPositionalTree(3n, [rogueTx]);
      rogueCertificate = { epoch: f.epoch, term: 2n, firstPosition: 3n, lastPosition: 3n, merkleRoot: merkleRoot(rogueTree) };
      rogueSignature = await signOrderCommitment(leader.signer, f.domain, rogueCertificate);
    });

    const honestLeaf = (r: Receipt) => ({ certificate: r.certificate, signature: r.signature, txHash: r.txHash, proof: r.proof });
    const rogueLeaf = () => ({ certificate: rogueCertificate, signature: rogueSignature, txHash: rogueTx, proof: merkleProof(rogueTree, 0) });

    it("certificate equivocation: the user of position 3 and the holder of the rogue certificate", async () => {
      const before = await f.registry.read.operatorInfo([leader.address]);
      const id = certificateEquivocationOffenceId(leader.signer.address, receipts[3]!.certificate, rogueCertificate);
      await f.slashing.write.slashCertificateEquivocation([3n, honestLeaf(receipts[3]!), rogueLeaf(), ...(await f.commitProof(id))], { account: f.reporter.account });
      const after = await f.registry.read.operatorInfo([leader.address]);
      expect(after.jailed).to.equal(true);
      expect(after.activeStake < before.activeStake).to.equal(true);
    });

    it("broken order commitment: the rogue certificate against the accepted batch its signer also signed", async () => {
      const batchTree = buildPositionalTree(0n, rawTxs.map((raw) => keccak256(raw)));
      const before = (await f.registry.read.operatorInfo([leader.address])).activeStake;
      const id = brokenCommitmentOffenceId(leader.signer.address, header1.batchNumber);
      // The leader's own signature of batch 1, as the submitBatch calldata carries it.
      const batchLeaf = { header: header1, signature: signatures1[0]!, txHash: receipts[3]!.txHash, proof: merkleProof(batchTree, 3) };
      await f.slashing.write.slashBrokenCommitment([3n, rogueLeaf(), batchLeaf, ...(await f.commitProof(id))], { account: f.reporter.account });
      expect((await f.registry.read.operatorInfo([leader.address])).activeStake < before).to.equal(true);
    });

    it("batch equivocation by a follower, and the jailed leader is out of the next epoch's set", async () => {
      const follower = followers[3]!;
      const h2 = (root: Hex): BatchHeader => ({ ...header1, batchNumber: 2n, prevBatchHash: batchHash(header1), firstPosition: 12n, lastPosition: 12n, merkleRoot: root });
      const a = h2(keccak256("0x01"));
      const b = h2(keccak256("0x02"));
      const id = batchEquivocationOffenceId(follower.signer.address, 2n, a.epoch);
      await f.slashing.write.slashBatchEquivocation(
        [a, await signBatchHeader(follower.signer, f.domain, a), b, await signBatchHeader(follower.signer, f.domain, b), ...(await f.commitProof(id))],
        { account: f.reporter.account },
      );
      expect((await f.registry.read.operatorInfo([follower.address])).jailed).to.equal(true);

      await f.mineToNextEpoch();
      const epoch = await f.registry.read.currentEpoch();
      await f.registry.write.checkpoint();
      const signers: readonly Address[] = await f.registry.read.activeSigners([epoch]);
      expect(signers).to.not.include(leader.signer.address);
      expect(signers).to.not.include(follower.signer.address);
      expect(signers).to.have.length(3);

      // Batch 2 now needs 2 of the 3 remaining members; the jailed leader's key no longer counts.
      const data = batchDataOf([rawTxs[0]!]);
      const header2: BatchHeader = { ...a, epoch, merkleRoot: merkleRoot(buildPositionalTree(12n, [keccak256(rawTxs[0]!)])), dataHash: keccak256(data) };
      const remaining = f.operators.filter((o) => signers.includes(o.signer.address));
      const withLeader = [await signBatchHeader(leader.signer, f.domain, header2), await signBatchHeader(remaining[0]!.signer, f.domain, header2)];
      await f.viem.assertions.revertWithCustomErrorWithArgs(f.submitBatch([header2, data, withLeader], remaining[0]!.signer), f.inbox, "SignerNotInActiveSet", [0n, leader.signer.address]);
      const valid = await Promise.all(remaining.slice(0, 2).map((o) => signBatchHeader(o.signer, f.domain, header2)));
      await f.submitBatch([header2, data, valid], remaining[0]!.signer);
      expect((await f.inbox.read.lastBatch())[0]).to.equal(2n);
    });
  });
});
