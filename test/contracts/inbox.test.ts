import { expect } from "chai";
import { type Hex, concatHex, createWalletClient, custom, decodeFunctionData, encodeFunctionData, getAddress, keccak256, parseEther, toHex } from "viem";
import { signBatcherBinding } from "../../node/l1/key-binding.js";
import { privateKeyToAccount } from "viem/accounts";
import { type BatchHeader, batchHash, signBatchHeader } from "../../node/commitments/typed-data.js";
import { EPOCH_LENGTH, MAX_EPOCH_LAG, MIN_STAKE, type SequencerFixture, batchDataOf, deploySequencer, fakeTxs, testKey } from "./helpers/sequencer.js";

/** The stake the operators hold together. */
const stakeOf = (operators: readonly { stake: bigint }[]) => operators.reduce((sum, o) => sum + o.stake, 0n);

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("BatchInbox", () => {
  let f: SequencerFixture;

  /** Batch `number` continuing the chain after `prev` (or the first batch), `size` fake txs. */
  function next(prev: BatchHeader | undefined, size: number, overrides: Partial<BatchHeader> = {}, salt = "tx") {
    const firstPosition = prev ? prev.lastPosition + 1n : 0n;
    const b = f.makeBatch({
      epoch: f.epoch,
      batchNumber: prev ? prev.batchNumber + 1n : 1n,
      prevBatchHash: prev ? batchHash(prev) : f.ZERO_HASH,
      firstPosition,
      txs: fakeTxs(size, `${salt}-${firstPosition}`),
    });
    return { ...b, header: { ...b.header, ...overrides } };
  }

  async function submit(header: BatchHeader, data: Hex, signatures?: Hex[]) {
    return f.submitBatch([header, data, signatures ?? (await f.signHeader(header))]);
  }

  async function expectError(promise: Promise<unknown>, name: string, args?: unknown[]) {
    if (args) {
      await f.viem.assertions.revertWithCustomErrorWithArgs(promise as Promise<Hex>, f.inbox, name as never, args as never);
    } else {
      await f.viem.assertions.revertWithCustomError(promise as Promise<Hex>, f.inbox, name as never);
    }
  }

  describe("with 3 operators", () => {
    /** Headers accepted so far, in order. */
    const chain: BatchHeader[] = [];
    before(async () => {
      f = await deploySequencer(3);
    });

    it("sees the registry's active set in the fixture epoch", async () => {
      const signers = await f.registry.read.activeSigners([f.epoch]);
      expect(signers).to.deep.equal(f.operators.map((o) => o.signer.address));
    });

    it("accepts a chain of batches, stores what slashing needs and emits BatchAccepted", async () => {
      const b1 = next(undefined, 5);
      await f.viem.assertions.emitWithArgs(submit(b1.header, b1.data), f.inbox, "BatchAccepted", [
        1n,
        f.epoch,
        batchHash(b1.header),
        0n,
        4n,
        b1.header.merkleRoot,
        b1.header.dataHash,
      ]);
      const [n, last] = await f.inbox.read.lastBatch();
      expect(n).to.equal(1n);
      expect(last).to.deep.equal({
        batchHash: batchHash(b1.header),
        merkleRoot: b1.header.merkleRoot,
        epoch: f.epoch,
        firstPosition: 0n,
        lastPosition: 4n,
      });

      const b2 = next(b1.header, 1);
      await submit(b2.header, b2.data, await f.signHeader(b2.header, f.operators)); // all three sign
      const b3 = next(b2.header, 10);
      await submit(b3.header, b3.data, (await f.signHeader(b3.header, f.operators.slice(1))).reverse());
      chain.push(b1.header, b2.header, b3.header);
      expect(await f.inbox.read.batchCount()).to.equal(3n);
      expect((await f.inbox.read.batch([2n])).batchHash).to.equal(batchHash(b2.header));
      expect((await f.inbox.read.batch([3n])).firstPosition).to.equal(6n);
    });

    it("finds the batch covering any position and rejects positions and numbers it does not have", async () => {
      // batches: [0,4] [5,5] [6,15]
      const expected: [bigint, bigint][] = [
        [0n, 1n],
        [4n, 1n],
        [5n, 2n],
        [6n, 3n],
        [10n, 3n],
        [15n, 3n],
      ];
      for (const [position, number] of expected) {
        const [found, b] = await f.inbox.read.batchCoveringPosition([position]);
        expect(found, `position ${position}`).to.equal(number);
        expect(b.firstPosition <= position && position <= b.lastPosition).to.equal(true);
      }
      await expectError(f.inbox.read.batchCoveringPosition([16n]), "NoBatchCoversPosition", [16n]);
      await expectError(f.inbox.read.batch([0n]), "UnknownBatch", [0n]);
      await expectError(f.inbox.read.batch([4n]), "UnknownBatch", [4n]);
    });

    it("treats re-posting an accepted header as a cheap no-op, even without valid signatures", async () => {
      const accepted = await f.inbox.read.batch([2n]);
      const [, last] = await f.inbox.read.lastBatch();
      const b2 = next(chain[0], 1); // rebuilt exactly as posted
      expect(batchHash(b2.header)).to.equal(accepted.batchHash);
      const { result } = await f.inbox.simulate.submitBatch([b2.header, b2.data, []]);
      expect(result).to.equal(false);
      await f.viem.assertions.emitWithArgs(
        f.inbox.write.submitBatch([b2.header, b2.data, []], { account: f.outsider.account }),
        f.inbox,
        "BatchAlreadyAccepted",
        [2n, accepted.batchHash, f.outsider.account.address],
      );
      expect(await f.inbox.read.batchCount()).to.equal(3n);
      expect((await f.inbox.read.lastBatch())[1]).to.deep.equal(last);
    });

    it("rejects a different header for an accepted number with ConflictingBatch", async () => {
      const other = next(chain[0], 2, {}, "other");
      const accepted = (await f.inbox.read.batch([2n])).batchHash;
      await expectError(submit(other.header, other.data), "ConflictingBatch", [2n, accepted, batchHash(other.header)]);
    });

    describe("rejections (nothing changes)", () => {
      let prev: BatchHeader;
      before(() => {
        prev = chain[2]!;
      });
      afterEach(async () => {
        expect(await f.inbox.read.batchCount()).to.equal(3n);
      });

      it("a signature from a key outside the active set", async () => {
        const b = next(prev, 3);
        const outsider = privateKeyToAccount(testKey("outsider", 0));
        const sigs = [...(await f.signHeader(b.header, f.operators.slice(0, 1))), await signBatchHeader(outsider, f.domain, b.header)];
        await expectError(submit(b.header, b.data, sigs), "SignerNotInActiveSet", [1n, outsider.address]);
      });

      it("a member's signature over a different header (recovers a stranger)", async () => {
        const b = next(prev, 3);
        const [good] = await f.signHeader(b.header, [f.operators[0]!]);
        const [wrong] = await f.signHeader({ ...b.header, lastPosition: b.header.lastPosition + 1n }, [f.operators[1]!]);
        await expectError(submit(b.header, b.data, [good!, wrong!]), "SignerNotInActiveSet");
      });

      it("the same signer twice", async () => {
        const b = next(prev, 3);
        const [sig] = await f.signHeader(b.header, [f.operators[2]!]);
        await expectError(submit(b.header, b.data, [sig!, sig!]), "DuplicateSigner", [1n, f.operators[2]!.signer.address]);
      });

      it("a minority (1 of 3, a third of the stake)", async () => {
        const b = next(prev, 3);
        const total = stakeOf(f.operators);
        await expectError(submit(b.header, b.data, await f.signHeader(b.header, [f.operators[0]!])), "InsufficientStakeSigned", [f.operators[0]!.stake, total]);
        await expectError(submit(b.header, b.data, []), "InsufficientStakeSigned", [0n, total]);
      });

      it("an epoch that has not started", async () => {
        const b = next(prev, 3, { epoch: f.epoch + 1n });
        await expectError(submit(b.header, b.data), "EpochInFuture", [f.epoch + 1n, f.epoch]);
      });

      it("an epoch before the previous batch's", async () => {
        const b = next(prev, 3, { epoch: f.epoch - 1n });
        await expectError(submit(b.header, b.data), "EpochBeforePreviousBatch", [f.epoch - 1n, f.epoch]);
      });

      it("a gap in batch numbers, and batch number 0", async () => {
        const b = next(prev, 3, { batchNumber: 5n });
        await expectError(submit(b.header, b.data), "UnexpectedBatchNumber", [4n, 5n]);
        const z = next(prev, 3, { batchNumber: 0n });
        await expectError(submit(z.header, z.data, []), "UnexpectedBatchNumber", [4n, 0n]);
      });

      it("a wrong previous batch hash", async () => {
        const wrong = keccak256(toHex("not the tip"));
        const b = next(prev, 3, { prevBatchHash: wrong });
        await expectError(submit(b.header, b.data), "PrevBatchHashMismatch", [batchHash(prev), wrong]);
      });

      it("positions that do not continue the previous batch, or an inverted range", async () => {
        const gap = next(prev, 3, { firstPosition: prev.lastPosition + 2n, lastPosition: prev.lastPosition + 5n });
        await expectError(submit(gap.header, gap.data), "UnexpectedFirstPosition", [16n, 17n]);
        const overlap = next(prev, 3, { firstPosition: prev.lastPosition });
        await expectError(submit(overlap.header, overlap.data), "UnexpectedFirstPosition", [16n, 15n]);
        const inverted = next(prev, 3, { lastPosition: prev.lastPosition });
        await expectError(f.submitBatch([inverted.header, inverted.data, []]), "InvalidPositionRange", [16n, 15n]);
      });

      it("data that does not hash to dataHash", async () => {
        const b = next(prev, 3);
        const tampered = `${b.data.slice(0, -2)}ff` as Hex;
        await expectError(submit(b.header, tampered, await f.signHeader(b.header)), "DataHashMismatch", [b.header.dataHash, keccak256(tampered)]);
      });

      it("malformed signatures: truncated, bad v, high s", async () => {
        const b = next(prev, 3);
        const [sig0, sig1] = await f.signHeader(b.header);
        await expectError(submit(b.header, b.data, [sig0!, sig1!.slice(0, 130) as Hex]), "MalformedSignature", [1n]);
        await expectError(submit(b.header, b.data, [`${sig0!.slice(0, 130)}05` as Hex, sig1!]), "MalformedSignature", [0n]);
        const s = BigInt(`0x${sig1!.slice(66, 130)}`);
        const flippedV = sig1!.slice(130) === "1b" ? "1c" : "1b";
        const highS = `${sig1!.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, "0")}${flippedV}` as Hex;
        await expectError(submit(b.header, b.data, [sig0!, highS]), "MalformedSignature", [1n]);
      });
    });
  });

  describe("with 4 operators (even set)", () => {
    before(async () => {
      f = await deploySequencer(4);
    });

    it("rejects half the members (under half the stake) and accepts three of four", async () => {
      const b = next(undefined, 2);
      await expectError(submit(b.header, b.data, await f.signHeader(b.header, f.operators.slice(2))), "InsufficientStakeSigned", [stakeOf(f.operators.slice(2)), stakeOf(f.operators)]);
      await submit(b.header, b.data, await f.signHeader(b.header, f.operators.slice(1)));
      expect(await f.inbox.read.batchCount()).to.equal(1n);
    });

    it("rejects an epoch whose active set is empty", async () => {
      // Fresh fixture: epoch 0 was frozen (empty) at deployment, before anyone registered.
      f = await deploySequencer(4);
      expect(await f.registry.read.activeSigners([0n])).to.deep.equal([]);
      const b = next(undefined, 2, { epoch: 0n });
      await expectError(submit(b.header, b.data), "EmptyActiveSet", [0n]);
    });

    it("checks signatures against the header's epoch: a member who joined later cannot sign an older epoch", async () => {
      const b = next(undefined, 2);
      await submit(b.header, b.data);
      // A fifth operator registers now: it is in the set of the next epoch, not of f.epoch.
      const late = (await f.registerOperator(4, 500n * 10n ** 18n)).signer;
      await f.mineToNextEpoch();
      const newEpoch = await f.registry.read.currentEpoch();
      expect(await f.registry.read.activeSigners([newEpoch])).to.include(late.address);
      const old = next(b.header, 2);
      const sigs = [...(await f.signHeader(old.header, f.operators.slice(0, 2))), await signBatchHeader(late, f.domain, old.header)];
      await expectError(submit(old.header, old.data, sigs), "SignerNotInActiveSet", [2n, late.address]);
      // The same three signatures form a majority (3 of 5) for the new epoch.
      const fresh = next(b.header, 2, { epoch: newEpoch });
      const freshSigs = [...(await f.signHeader(fresh.header, f.operators.slice(0, 2))), await signBatchHeader(late, f.domain, fresh.header)];
      await submit(fresh.header, fresh.data, freshSigs);
      expect(await f.inbox.read.batchCount()).to.equal(2n);
    });
  });

  describe("a quorum by stake", () => {
    it("S1: four honest operators holding the stake post a batch that six minimum-stake sybils in the same set cannot", async () => {
      // A 10-seat set: four operators with 100,000 tokens each and six sybils at the minimum stake.
      const honestStake = 100_000n * 10n ** 18n;
      f = await deploySequencer(10, { stakes: [...Array(4).fill(honestStake), ...Array(6).fill(MIN_STAKE)] });
      const honest = f.operators.slice(0, 4);
      const sybils = f.operators.slice(4);
      const b = next(undefined, 2);
      // Six of ten members, 0.15 % of the stake: not a quorum.
      await expectError(submit(b.header, b.data, await f.signHeader(b.header, sybils)), "InsufficientStakeSigned", [stakeOf(sybils), stakeOf(f.operators)]);
      // Four of ten members, 99.85 % of the stake: a quorum (counting heads refused it: 4 of 10).
      await submit(b.header, b.data, await f.signHeader(b.header, honest));
      expect(await f.inbox.read.batchCount()).to.equal(1n);
    });
  });

  describe("who may post (S3)", () => {
    before(async () => {
      f = await deploySequencer(3);
    });

    it("S3: nobody can make a batch unreadable: a copy of the leader's pending submitBatch sent by an outsider, relayed by a contract, or relayed by a member's EIP-7702 batcher is refused", async () => {
      const b = next(undefined, 3);
      const sigs = await f.signHeader(b.header);
      // The leader's call as it waits in the mempool.
      const input = encodeFunctionData({ abi: f.inbox.abi, functionName: "submitBatch", args: [b.header, b.data, sigs] });
      const outsider = f.outsider.account.address;
      await expectError(f.submitBatch([b.header, b.data, sigs], outsider), "NotBatcher", [getAddress(outsider), f.epoch]);
      // The review's attack: the copy relayed through a contract. On da717cf the inbox accepted
      // it, and readers found no submitBatch in the transaction's input.
      const relay = await f.viem.deployContract("CallRelay");
      await expectError(relay.write.relay([f.inbox.address, input], { account: outsider }), "NotDirectCall", [relay.address]);
      // A member's own batcher delegating to the same code (EIP-7702) and calling itself:
      // msg.sender is tx.origin there, but the inbox's call is not the transaction's.
      const member = f.operators[1]!.signer;
      const wallet = createWalletClient({ account: member, chain: f.publicClient.chain, transport: custom(f.connection.provider) });
      const authorization = await wallet.signAuthorization({ contractAddress: relay.address, executor: "self" });
      const relayed = wallet.sendTransaction({
        to: member.address,
        data: encodeFunctionData({ abi: relay.abi, functionName: "relay", args: [f.inbox.address, input] }),
        authorizationList: [authorization],
      });
      await expectError(relayed, "NotDirectCall", [member.address]);
      expect(await f.inbox.read.batchCount()).to.equal(0n);

      // Any member's batcher (here its signer, the default) may post it itself, and every reader
      // finds the batch in the input of the transaction that emitted BatchAccepted.
      const hash = await wallet.writeContract({ address: f.inbox.address, abi: f.inbox.abi, functionName: "submitBatch", args: [b.header, b.data, sigs] });
      const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
      expect(receipt.status).to.equal("success");
      const tx = await f.publicClient.getTransaction({ hash });
      expect(tx.to).to.equal(f.inbox.address.toLowerCase());
      expect(decodeFunctionData({ abi: f.inbox.abi, data: tx.input }).args[0]).to.deep.equal(b.header);
      // Re-posting stays open to anyone: it accepts nothing new and carries no data anyone reads.
      const { result } = await f.inbox.simulate.submitBatch([b.header, b.data, []], { account: outsider });
      expect(result).to.equal(false);
    });

    it("takes batchers from the header's epoch, and an operator's own batcher once it set one", async () => {
      const prev = (await f.inbox.read.lastBatch())[1];
      const header1 = { ...next(undefined, 3).header, epoch: prev.epoch };
      expect(batchHash(header1)).to.equal(prev.batchHash);
      // Operator 2 moves its posting to a separate account: its signer no longer posts.
      const op = f.operators[2]!;
      const account = privateKeyToAccount(testKey("batcher", 2));
      await f.networkHelpers.setBalance(account.address, parseEther("1"));
      await f.registry.write.setBatcher([account.address, await signBatcherBinding(account, f.domain, op.address)], { account: op.address });
      const b2 = next(header1, 2);
      await expectError(f.submitBatch([b2.header, b2.data, await f.signHeader(b2.header)], op.signer), "NotBatcher", [op.signer.address, f.epoch]);
      await f.submitBatch([b2.header, b2.data, await f.signHeader(b2.header)], account);

      // A member who joined later is no batcher for an earlier epoch's batch...
      const late = await f.registerOperator(3, MIN_STAKE);
      await f.mineToNextEpoch();
      const current = await f.registry.read.currentEpoch();
      const b3 = next(b2.header, 2);
      await expectError(f.submitBatch([b3.header, b3.data, await f.signHeader(b3.header)], late.signer), "NotBatcher", [late.signer.address, f.epoch]);
      // ...but is one for its own epoch's.
      const fresh = next(b2.header, 2, { epoch: current });
      await f.submitBatch([fresh.header, fresh.data, await f.signHeader(fresh.header, [...f.operators.slice(0, 2), late])], late.signer);
      expect(await f.inbox.read.batchCount()).to.equal(3n);
    });
  });

  describe("data bound to the header's Merkle root", () => {
    before(async () => {
      f = await deploySequencer(3);
    });

    it("S6: a quorum cannot post data that contradicts its own merkleRoot, nor data of another length or format", async () => {
      const b = next(undefined, 3);
      // A majority signs a header whose root commits to transactions other than the data it posts
      // (the data hash matches the data): before S6 (da717cf) the inbox accepted it, and every reader
      // then either refused the batch or could prove nothing against it.
      const otherTxs = fakeTxs(3, "other");
      const other = f.makeBatch({ ...b.header, txs: otherTxs });
      const contradicting = { ...b.header, dataHash: other.header.dataHash };
      await expectError(submit(contradicting, other.data), "MerkleRootMismatch", [b.header.merkleRoot, other.header.merkleRoot]);
      const two = batchDataOf(fakeTxs(2, "two"));
      await expectError(submit({ ...b.header, dataHash: keccak256(two) }, two), "TransactionCountMismatch", [2n, 3n]);
      // What these tests used to post: the transaction hashes back to back, not format v1.
      const hashes = concatHex(b.txHashes);
      await expectError(submit({ ...b.header, dataHash: keccak256(hashes) }, hashes), "UnsupportedBatchDataVersion", [Number.parseInt(hashes.slice(2, 4), 16)]);
      const trailing = concatHex([b.data, "0x00"]);
      await expectError(submit({ ...b.header, dataHash: keccak256(trailing) }, trailing), "TrailingBatchData", [BigInt((b.data.length - 2) / 2)]);
      expect(await f.inbox.read.batchCount()).to.equal(0n);
      // The header with its own data goes through.
      await submit(b.header, b.data);
      expect(await f.inbox.read.batchCount()).to.equal(1n);
    });
  });

  describe("epoch lag", () => {
    before(async () => {
      f = await deploySequencer(3);
    });

    it("reads back its lag and refuses a registry whose unbonding floor is too short to keep old signatures slashable", async () => {
      expect(await f.inbox.read.maxEpochLag()).to.equal(MAX_EPOCH_LAG);
      // The fixture's registry floors the unbonding period at exactly (lag + 2) epochs: one more
      // epoch of lag needs more.
      const floor = await f.registry.read.minUnbondingEpochs();
      expect(floor).to.equal(MAX_EPOCH_LAG + 2n);
      expect(await f.registry.read.unbondingPeriod()).to.equal(floor * EPOCH_LENGTH);
      const fresh = await f.viem.deployContract("BatchInbox", [f.registry.address, MAX_EPOCH_LAG, f.forcedQueue.address, 150n]);
      expect(await fresh.read.maxEpochLag()).to.equal(MAX_EPOCH_LAG);
      await f.viem.assertions.revertWithCustomErrorWithArgs(
        f.viem.deployContract("BatchInbox", [f.registry.address, MAX_EPOCH_LAG + 1n, f.forcedQueue.address, 150n]),
        f.inbox,
        "UnbondingTooShort",
        [floor, MAX_EPOCH_LAG + 3n],
      );
    });

    it("accepts a batch signed up to maxEpochLag epochs ago, refuses older ones, and still re-posts old accepted headers", async () => {
      const e0 = f.epoch;
      const b1 = next(undefined, 2);
      await submit(b1.header, b1.data);
      for (let i = 0n; i < MAX_EPOCH_LAG; i++) await f.mineToNextEpoch();
      expect(await f.registry.read.currentEpoch()).to.equal(e0 + MAX_EPOCH_LAG);
      const b2 = next(b1.header, 2); // still epoch e0: exactly maxEpochLag old
      await submit(b2.header, b2.data);

      await f.mineToNextEpoch();
      const current = e0 + MAX_EPOCH_LAG + 1n;
      const stale = next(b2.header, 2);
      await expectError(submit(stale.header, stale.data), "EpochTooOld", [e0, current, MAX_EPOCH_LAG]);
      // The idempotent path is not age-checked: it accepts nothing new.
      const { result } = await f.inbox.simulate.submitBatch([b2.header, b2.data, []]);
      expect(result).to.equal(false);
      // The same batch re-signed under a recent enough epoch goes through.
      const resigned = next(b2.header, 2, { epoch: e0 + 1n });
      await submit(resigned.header, resigned.data);
      expect(await f.inbox.read.batchCount()).to.equal(3n);
      expect((await f.inbox.read.batch([3n])).epoch).to.equal(e0 + 1n);
    });
  });
});
