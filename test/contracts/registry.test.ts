import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { type Address, getAddress, hashDomain, parseEther, stringToHex, toHex, zeroAddress } from "viem";
import { deploySystem } from "../../scripts/lib/deploy.js";
import {
  EPOCH_LENGTH,
  MIN_STAKE,
  TEST_CONFIG,
  TEST_TREASURY,
  UNBONDING,
  peerBytes,
  peerProof,
  registryFixture,
  signerAddress,
} from "./registry.fixture.js";

/** The registry fixture's: its inbox has lag 0. */
const MIN_UNBONDING_EPOCHS = 2n;

const params = {
  minStake: MIN_STAKE,
  maxActive: 3n,
  unbondingPeriod: UNBONDING,
  slashFractionBps: 1_000n,
  reporterShareBps: 1_000n,
};

describe("SequencerRegistry: staking and registry", () => {
  let connection: NetworkConnection;
  before(async () => {
    connection = await network.create();
  });
  const load = () => connection.networkHelpers.loadFixture(registryFixture);

  describe("deployment", () => {
    it("stores its immutables and parameters and exposes the EIP-712 domain", async () => {
      const f = await load();
      const { registry, deployment } = f;
      expect(await registry.read.stakeToken()).to.equal(getAddress(deployment.token.address));
      expect(await registry.read.treasury()).to.equal(TEST_TREASURY);
      expect(await registry.read.epochLength()).to.equal(EPOCH_LENGTH);
      expect(await registry.read.genesisBlock()).to.equal(deployment.contracts.sequencerRegistry.block);
      expect(await registry.read.minStake()).to.equal(MIN_STAKE);
      expect(await registry.read.maxActive()).to.equal(3n);
      expect(await registry.read.unbondingPeriod()).to.equal(UNBONDING);
      expect(await registry.read.minUnbondingEpochs()).to.equal(MIN_UNBONDING_EPOCHS);
      expect(await registry.read.slashFractionBps()).to.equal(1_000n);
      expect(await registry.read.reporterShareBps()).to.equal(1_000n);
      expect(await registry.read.slasher()).to.equal(getAddress(deployment.contracts.slashing.address));
      expect(await registry.read.owner()).to.equal(getAddress(f.owner));
      const chainId = await f.publicClient.getChainId();
      expect(await registry.read.domainSeparator()).to.equal(
        hashDomain({
          domain: { name: "StakedSequencer", version: "1", chainId: BigInt(chainId), verifyingContract: registry.address },
          types: {
            EIP712Domain: [
              { name: "name", type: "string" },
              { name: "version", type: "string" },
              { name: "chainId", type: "uint256" },
              { name: "verifyingContract", type: "address" },
            ],
          },
        }),
      );
      // The deployment checkpoint exists and holds an empty set.
      expect(await registry.read.checkpointCount()).to.equal(1n);
      expect(await registry.read.activeSet([0n])).to.deep.equal([]);
    });

    it("rejects bad constructor arguments", async () => {
      const { viem, deployment, owner, publicClient } = await load();
      const token = deployment.token.address;
      const artifact = await import("../../artifacts/contracts/SequencerRegistry.sol/SequencerRegistry.json", {
        with: { type: "json" },
      });
      const deploy = (args: readonly unknown[]) => viem.deployContract("SequencerRegistry", args as never);
      const cases: Array<[readonly unknown[], string]> = [
        [[zeroAddress, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, params, owner], "ZeroAddress"],
        [[token, zeroAddress, 0n, 10n, MIN_UNBONDING_EPOCHS, params, owner], "ZeroAddress"],
        [[token, TEST_TREASURY, 0n, 0n, MIN_UNBONDING_EPOCHS, params, owner], "InvalidEpochLength"],
        [[token, TEST_TREASURY, 0n, 100_001n, MIN_UNBONDING_EPOCHS, params, owner], "InvalidEpochLength"],
        [[token, TEST_TREASURY, 10n ** 9n, 10n, MIN_UNBONDING_EPOCHS, params, owner], "GenesisInFuture"],
        [[token, TEST_TREASURY, 0n, 10n, 1n, params, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, 33_001n, { ...params, unbondingPeriod: 330_000n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, minStake: 0n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, maxActive: 0n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, maxActive: 101n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, unbondingPeriod: 19n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, unbondingPeriod: 330_001n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, slashFractionBps: 5_001n }, owner], "ParameterOutOfBounds"],
        [[token, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, { ...params, reporterShareBps: 1_001n }, owner], "ParameterOutOfBounds"],
      ];
      for (const [args, error] of cases) {
        await viem.assertions.revertWithCustomError(deploy(args), { abi: artifact.default.abi } as never, error as never);
      }
      // A past genesis block is kept as given.
      const past = (await publicClient.getBlockNumber()) - 3n;
      const r = await viem.deployContract("SequencerRegistry", [token, TEST_TREASURY, past, 10n, MIN_UNBONDING_EPOCHS, params, owner]);
      expect(await r.read.genesisBlock()).to.equal(past);
    });
  });

  describe("register", () => {
    it("registers, pulls the stake, binds signer and peer id, and emits", async () => {
      const { registry, token, operators, viem, register } = await load();
      const before = await token.read.balanceOf([registry.address]);
      await viem.assertions.emitWithArgs(register(0, MIN_STAKE * 2n), registry, "OperatorRegistered", [
        getAddress(operators[0]!),
        1,
        signerAddress(0),
        MIN_STAKE * 2n,
        peerBytes(0),
        peerProof(0),
        ["/ip4/127.0.0.1/tcp/9000"],
      ]);
      expect(await token.read.balanceOf([registry.address])).to.equal(before + MIN_STAKE * 2n);
      const info = await registry.read.operatorInfo([operators[0]!]);
      expect(info).to.deep.include({
        registrationId: 1,
        registered: true,
        jailed: false,
        exiting: false,
        signer: signerAddress(0),
        activeStake: MIN_STAKE * 2n,
        unbonding: 0n,
        withdrawable: 0n,
        peerId: peerBytes(0),
        peerIdProof: peerProof(0),
      });
      expect(info.addrs).to.deep.equal(["/ip4/127.0.0.1/tcp/9000"]);
      expect(await registry.read.operatorOfSigner([signerAddress(0)])).to.equal(getAddress(operators[0]!));
      expect(await registry.read.registration([1])).to.deep.equal([getAddress(operators[0]!), signerAddress(0)]);
      expect(await registry.read.registrationCount()).to.equal(1);
      expect(await registry.read.totalActiveStake()).to.equal(MIN_STAKE * 2n);
      expect(await registry.read.rankedCount()).to.equal(1n);
    });

    it("rejects a second registration, low or oversized stake, and bad signers", async () => {
      const { registry, operators, viem, register, signerProof } = await load();
      await register(0);
      const op1 = operators[1]!;
      await viem.assertions.revertWithCustomErrorWithArgs(register(0), registry, "AlreadyRegistered", [
        getAddress(operators[0]!),
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(register(1, MIN_STAKE - 1n), registry, "StakeBelowMinimum", [
        MIN_STAKE - 1n,
        MIN_STAKE,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(register(1, 2n ** 96n), registry, "StakeTooLarge", [2n ** 96n]);
      const reg = (signer: Address, proof: `0x${string}`) => registry.write.register([MIN_STAKE, signer, proof, peerBytes(1), peerProof(1), ["/a"]], { account: op1 });
      const good = await signerProof(1, op1);
      await viem.assertions.revertWithCustomError(reg(zeroAddress, good), registry, "ZeroAddress");
      await viem.assertions.revertWithCustomError(reg(op1, good), registry, "SignerIsOperator");
      await viem.assertions.revertWithCustomErrorWithArgs(reg(signerAddress(0), await signerProof(0, op1)), registry, "SignerTaken", [
        signerAddress(0),
        getAddress(operators[0]!),
      ]);
      // The signer must prove it is the caller's: signed by that key, for the caller, for this registry.
      for (const proof of [
        await signerProof(2, op1), // another key
        await signerProof(1, operators[2]!), // for another operator
        await signerProof(1, op1, operators[3]!), // for another registry
        `${good.slice(0, -2)}1f` as `0x${string}`, // malformed (v = 31)
        "0x" as const,
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(reg(signerAddress(1), proof), registry, "InvalidSignerProof", [signerAddress(1)]);
      }
      await reg(signerAddress(1), good);
      expect((await registry.read.operatorInfo([op1])).signer).to.equal(signerAddress(1));
    });

    it("S7: a front-run register cannot bind the victim's signer, and a squatted peer id binds nothing on chain", async () => {
      const { registry, operators, viem, signerProof } = await load();
      const [victim, squatter] = [operators[0]!, operators[1]!];
      // The victim's register call as it sits in the mempool.
      const args = [MIN_STAKE, signerAddress(0), await signerProof(0, victim), peerBytes(0), peerProof(0), ["/ip4/127.0.0.1/tcp/9000"]] as const;
      // Copied verbatim by another account: the signer proof names the victim, not the copier.
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.register(args, { account: squatter }), registry, "InvalidSignerProof", [
        signerAddress(0),
      ]);
      // Nor can the squatter prove the victim's signer with a key it holds.
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.register([MIN_STAKE, signerAddress(0), await signerProof(7, squatter), peerBytes(0), peerProof(0), ["/a"]], { account: squatter }),
        registry,
        "InvalidSignerProof",
        [signerAddress(0)],
      );
      // Peer ids are not exclusive on chain: claiming the victim's (with its copied proof) is
      // accepted but binds nothing; nodes trust a peer id only where its proof verifies for the
      // claimant (test/l1/follower.test.ts, "S7").
      await registry.write.register([MIN_STAKE, signerAddress(1), await signerProof(1, squatter), peerBytes(0), peerProof(0), ["/a"]], { account: squatter });
      // The victim's own call still goes through: nothing of its identity was burned.
      await viem.assertions.emit(registry.write.register(args, { account: victim }), registry, "OperatorRegistered");
      expect(await registry.read.operatorOfSigner([signerAddress(0)])).to.equal(getAddress(victim));
      expect((await registry.read.operatorInfo([victim])).peerId).to.equal(peerBytes(0));
    });

    it("bounds the peer id, its proof and the dial addresses", async () => {
      const { registry, operators, viem, signerProof } = await load();
      const op = operators[1]!;
      const proof = await signerProof(1, op);
      const reg = (peer: `0x${string}`, addrs: string[], peerIdProof: `0x${string}` = peerProof(1)) =>
        registry.write.register([MIN_STAKE, signerAddress(1), proof, peer, peerIdProof, addrs], { account: op });
      await viem.assertions.revertWithCustomErrorWithArgs(reg("0x", ["/a"]), registry, "InvalidPeerId", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(toHex(new Uint8Array(129)), ["/a"]), registry, "InvalidPeerId", [
        129n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(peerBytes(1), ["/a"], "0x"), registry, "InvalidPeerIdProof", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(peerBytes(1), ["/a"], toHex(new Uint8Array(129))), registry, "InvalidPeerIdProof", [129n]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(peerBytes(1), []), registry, "InvalidAddrCount", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(peerBytes(1), Array(9).fill("/a")), registry, "InvalidAddrCount", [
        9n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(peerBytes(1), ["/a", ""]), registry, "InvalidAddr", [1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(peerBytes(1), ["x".repeat(257)]), registry, "InvalidAddr", [0n]);
      // The limits themselves are accepted.
      await reg(toHex(new Uint8Array(128).fill(7)), Array(8).fill("x".repeat(256)), toHex(new Uint8Array(128).fill(9)));
      expect((await registry.read.operatorInfo([op])).addrs).to.have.length(8);
    });

    it("refuses tokens that deliver less than requested and needs an allowance", async () => {
      const { viem, owner, operators, registry, outsider, token, signerProof } = await load();
      const fee = await viem.deployContract("FeeOnTransferToken");
      const r = await viem.deployContract("SequencerRegistry", [fee.address, TEST_TREASURY, 0n, 10n, MIN_UNBONDING_EPOCHS, params, owner]);
      await fee.write.mint([operators[0]!, MIN_STAKE]);
      await fee.write.approve([r.address, MIN_STAKE], { account: operators[0]! });
      await viem.assertions.revertWithCustomErrorWithArgs(
        r.write.register([MIN_STAKE, signerAddress(0), await signerProof(0, operators[0]!, r.address), peerBytes(0), peerProof(0), ["/a"]], {
          account: operators[0]!,
        }),
        r,
        "TransferAmountMismatch",
        [MIN_STAKE, (MIN_STAKE * 99n) / 100n],
      );
      // No allowance: the token's transferFrom reverts and nothing is recorded.
      await viem.assertions.revertWithCustomError(
        registry.write.register([MIN_STAKE, signerAddress(5), await signerProof(5, outsider), peerBytes(5), peerProof(5), ["/a"]], { account: outsider }),
        token,
        "ERC20InsufficientAllowance",
      );
      expect((await registry.read.operatorInfo([outsider])).registered).to.equal(false);
    });
  });

  describe("topUp", () => {
    it("adds stake and emits", async () => {
      const { registry, operators, viem, register, token } = await load();
      await register(0);
      const before = await token.read.balanceOf([registry.address]);
      await viem.assertions.emitWithArgs(
        registry.write.topUp([5n], { account: operators[0]! }),
        registry,
        "StakeAdded",
        [getAddress(operators[0]!), 5n, MIN_STAKE + 5n],
      );
      expect((await registry.read.operatorInfo([operators[0]!])).activeStake).to.equal(MIN_STAKE + 5n);
      expect(await token.read.balanceOf([registry.address])).to.equal(before + 5n);
      expect(await registry.read.totalActiveStake()).to.equal(MIN_STAKE + 5n);
    });

    it("re-ranks an operator that had unstaked everything", async () => {
      const { registry, operators, register } = await load();
      await register(0);
      await registry.write.requestUnstake([MIN_STAKE], { account: operators[0]! });
      expect(await registry.read.rankedCount()).to.equal(0n);
      await registry.write.topUp([MIN_STAKE], { account: operators[0]! });
      expect(await registry.read.rankedCount()).to.equal(1n);
    });

    it("rejects unregistered, zero, oversized, exiting and jailed top-ups", async () => {
      const { registry, operators, viem, register, slashAs } = await load();
      await viem.assertions.revertWithCustomError(registry.write.topUp([1n], { account: operators[0]! }), registry, "NotRegistered");
      await register(0);
      await viem.assertions.revertWithCustomError(registry.write.topUp([0n], { account: operators[0]! }), registry, "ZeroAmount");
      await viem.assertions.revertWithCustomError(
        registry.write.topUp([2n ** 96n], { account: operators[0]! }),
        registry,
        "StakeTooLarge",
      );
      await register(1);
      await registry.write.exit({ account: operators[1]! });
      await viem.assertions.revertWithCustomError(
        registry.write.topUp([1n], { account: operators[1]! }),
        registry,
        "OperatorIsExiting",
      );
      await slashAs(operators[0]!);
      await viem.assertions.revertWithCustomError(
        registry.write.topUp([1n], { account: operators[0]! }),
        registry,
        "OperatorIsJailed",
      );
    });
  });

  describe("unstake, withdraw, exit", () => {
    it("queues unstaked stake and pays it out only after the unbonding period", async () => {
      const { registry, operators, viem, register, publicClient, networkHelpers, token } = await load();
      const op = operators[0]!;
      await register(0, MIN_STAKE * 3n);
      const hash = await registry.write.requestUnstake([MIN_STAKE], { account: op });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const release = receipt.blockNumber + UNBONDING;
      await viem.assertions.emitWithArgs(Promise.resolve(hash), registry, "UnstakeRequested", [
        getAddress(op),
        MIN_STAKE,
        release,
        MIN_STAKE * 2n,
      ]);
      expect(await registry.read.unbondingEntries([op])).to.deep.equal([{ amount: MIN_STAKE, releaseBlock: release }]);
      expect(await registry.read.totalUnbonding()).to.equal(MIN_STAKE);
      expect(await registry.read.withdrawable([op])).to.equal(0n);
      await viem.assertions.revertWithCustomError(registry.write.withdraw({ account: op }), registry, "NothingToWithdraw");

      // A second request matures later; only the first is paid when it matures.
      await registry.write.requestUnstake([1n], { account: op });
      await networkHelpers.mine(release - (await publicClient.getBlockNumber()) - 1n);
      // The next transaction is mined in block `release`.
      const balance = await token.read.balanceOf([op]);
      await viem.assertions.emitWithArgs(registry.write.withdraw({ account: op }), registry, "Withdrawn", [
        getAddress(op),
        MIN_STAKE,
      ]);
      expect(await token.read.balanceOf([op])).to.equal(balance + MIN_STAKE);
      const entries = await registry.read.unbondingEntries([op]);
      expect(entries.map((e) => e.amount)).to.deep.equal([1n]);
      expect(await registry.read.totalUnbonding()).to.equal(1n);
      expect((await registry.read.operatorInfo([op])).registered).to.equal(true);
    });

    it("rejects zero, excessive and unregistered unstakes and withdrawals", async () => {
      const { registry, operators, viem, register } = await load();
      const op = operators[0]!;
      await viem.assertions.revertWithCustomError(registry.write.requestUnstake([1n], { account: op }), registry, "NotRegistered");
      await viem.assertions.revertWithCustomError(registry.write.withdraw({ account: op }), registry, "NotRegistered");
      await viem.assertions.revertWithCustomError(registry.write.exit({ account: op }), registry, "NotRegistered");
      await register(0);
      await viem.assertions.revertWithCustomError(registry.write.requestUnstake([0n], { account: op }), registry, "ZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.requestUnstake([MIN_STAKE + 1n], { account: op }),
        registry,
        "InsufficientStake",
        [MIN_STAKE + 1n, MIN_STAKE],
      );
    });

    it("merges requests into the last entry once the queue is full", async () => {
      const { registry, operators, register } = await load();
      const op = operators[0]!;
      await register(0, MIN_STAKE);
      const max = Number(await registry.read.MAX_UNBONDING_ENTRIES());
      for (let i = 0; i < max + 2; i++) await registry.write.requestUnstake([1n], { account: op });
      const entries = await registry.read.unbondingEntries([op]);
      expect(entries).to.have.length(max);
      expect(entries[max - 1]!.amount).to.equal(3n);
      expect(entries[max - 1]!.releaseBlock > entries[max - 2]!.releaseBlock).to.equal(true);
      expect((await registry.read.operatorInfo([op])).unbonding).to.equal(BigInt(max + 2));
    });

    it("exits: unbonds everything, then deregisters on the final withdrawal", async () => {
      const { registry, operators, viem, register, networkHelpers, signerProof } = await load();
      const op = operators[0]!;
      await register(0, MIN_STAKE * 2n);
      await viem.assertions.emit(registry.write.exit({ account: op }), registry, "ExitRequested");
      let info = await registry.read.operatorInfo([op]);
      expect(info).to.deep.include({ registered: true, exiting: true, activeStake: 0n, unbonding: MIN_STAKE * 2n });
      expect(await registry.read.rankedCount()).to.equal(0n);
      await viem.assertions.revertWithCustomError(registry.write.exit({ account: op }), registry, "OperatorIsExiting");
      await networkHelpers.mine(UNBONDING);
      await viem.assertions.emitWithArgs(registry.write.withdraw({ account: op }), registry, "OperatorDeregistered", [
        getAddress(op),
      ]);
      info = await registry.read.operatorInfo([op]);
      expect(info).to.deep.include({ registered: false, exiting: false, unbonding: 0n });
      // The identity stays bound to the operator, who may register again with it.
      expect(await registry.read.operatorOfSigner([signerAddress(0)])).to.equal(getAddress(op));
      await viem.assertions.revertWithCustomError(
        registry.write.register([MIN_STAKE, signerAddress(0), await signerProof(0, operators[1]!), peerBytes(0), peerProof(0), ["/a"]], {
          account: operators[1]!,
        }),
        registry,
        "SignerTaken",
      );
      await viem.assertions.emitWithArgs(register(0), registry, "OperatorRegistered", [
        getAddress(op),
        2,
        signerAddress(0),
        MIN_STAKE,
        peerBytes(0),
        peerProof(0),
        ["/ip4/127.0.0.1/tcp/9000"],
      ]);
    });

    it("deregisters at once when exiting with nothing staked or unbonding", async () => {
      const { registry, operators, viem, register, networkHelpers } = await load();
      const op = operators[0]!;
      await register(0);
      await registry.write.requestUnstake([MIN_STAKE], { account: op });
      await networkHelpers.mine(UNBONDING);
      await registry.write.withdraw({ account: op });
      await viem.assertions.emitWithArgs(registry.write.exit({ account: op }), registry, "OperatorDeregistered", [getAddress(op)]);
      expect((await registry.read.operatorInfo([op])).registered).to.equal(false);
    });
  });

  describe("updatePeer", () => {
    it("replaces peer id, its proof and addresses", async () => {
      const { registry, operators, viem, register } = await load();
      await register(0);
      await register(1);
      const op = operators[0]!;
      const addrs = ["/dns4/a.example/tcp/1", "/ip4/10.0.0.1/tcp/2"];
      await viem.assertions.emitWithArgs(
        registry.write.updatePeer([peerBytes(0, "new"), peerProof(0, "new"), addrs], { account: op }),
        registry,
        "PeerUpdated",
        [getAddress(op), peerBytes(0, "new"), peerProof(0, "new"), addrs],
      );
      const info = await registry.read.operatorInfo([op]);
      expect(info).to.deep.include({ peerId: peerBytes(0, "new"), peerIdProof: peerProof(0, "new") });
      expect(info.addrs).to.deep.equal(addrs);
      await registry.write.updatePeer([peerBytes(0), peerProof(0), ["/a"]], { account: op });
      expect((await registry.read.operatorInfo([op])).peerId).to.equal(peerBytes(0));
    });

    it("rejects unregistered callers and bad peers", async () => {
      const { registry, operators, viem, register } = await load();
      const op = operators[0]!;
      const update = (peer: `0x${string}`, proof: `0x${string}`, addrs: string[]) => registry.write.updatePeer([peer, proof, addrs], { account: op });
      await viem.assertions.revertWithCustomError(update(peerBytes(0), peerProof(0), ["/a"]), registry, "NotRegistered");
      await register(0);
      await viem.assertions.revertWithCustomError(update("0x", peerProof(0), ["/a"]), registry, "InvalidPeerId");
      await viem.assertions.revertWithCustomError(update(peerBytes(0), "0x", ["/a"]), registry, "InvalidPeerIdProof");
      await viem.assertions.revertWithCustomError(update(peerBytes(0), peerProof(0), []), registry, "InvalidAddrCount");
      await viem.assertions.revertWithCustomError(update(peerBytes(0), peerProof(0), [""]), registry, "InvalidAddr");
    });
  });

  describe("setBatcher", () => {
    const batcher = (i: number) => signerAddress(i, "batcher");

    it("defaults to the signer, takes an account with its proof, frees the previous one, and resets to the signer", async () => {
      const { registry, operators, viem, register, batcherProof } = await load();
      await register(0);
      await register(1);
      const [op0, op1] = [operators[0]!, operators[1]!];
      expect(await registry.read.batcherOf([op0])).to.equal(signerAddress(0));
      expect(await registry.read.signerOfBatcher([signerAddress(0)])).to.equal(signerAddress(0));
      expect(await registry.read.signerOfBatcher([batcher(0)])).to.equal(zeroAddress);
      expect(await registry.read.batcherOf([operators[5]!])).to.equal(zeroAddress); // never registered

      await viem.assertions.emitWithArgs(registry.write.setBatcher([batcher(0), await batcherProof(0, op0)], { account: op0 }), registry, "BatcherSet", [
        getAddress(op0),
        batcher(0),
      ]);
      expect(await registry.read.batcherOf([op0])).to.equal(batcher(0));
      expect(await registry.read.signerOfBatcher([batcher(0)])).to.equal(signerAddress(0));
      // The signer is no longer the batcher: an operator has one.
      expect(await registry.read.signerOfBatcher([signerAddress(0)])).to.equal(zeroAddress);

      // Moving on to another account frees the first, which another operator may then take.
      await registry.write.setBatcher([batcher(1), await batcherProof(1, op0)], { account: op0 });
      expect(await registry.read.signerOfBatcher([batcher(0)])).to.equal(zeroAddress);
      await registry.write.setBatcher([batcher(0), await batcherProof(0, op1)], { account: op1 });
      expect(await registry.read.signerOfBatcher([batcher(0)])).to.equal(signerAddress(1));

      // The signer again, without a proof: back to the default.
      await viem.assertions.emitWithArgs(registry.write.setBatcher([signerAddress(0), "0x"], { account: op0 }), registry, "BatcherSet", [
        getAddress(op0),
        signerAddress(0),
      ]);
      expect(await registry.read.batcherOf([op0])).to.equal(signerAddress(0));
      expect(await registry.read.signerOfBatcher([signerAddress(0)])).to.equal(signerAddress(0));
      expect(await registry.read.signerOfBatcher([batcher(1)])).to.equal(zeroAddress);
    });

    it("refuses an account without its proof, one another operator holds as batcher or signer, and unregistered callers", async () => {
      const { registry, operators, outsider, viem, register, signerProof, batcherProof } = await load();
      await register(0);
      await register(1);
      const [op0, op1] = [operators[0]!, operators[1]!];
      const set = (who: Address, account: Address, proof: `0x${string}`) => registry.write.setBatcher([account, proof], { account: who });
      await viem.assertions.revertWithCustomError(set(op0, zeroAddress, "0x"), registry, "ZeroAddress");
      // The proof must be the account's, for the caller: nobody can block an account by claiming it.
      for (const proof of [await batcherProof(2, op0), await batcherProof(0, op1), await signerProof(0, op0, registry.address, "batcher"), "0x" as const]) {
        await viem.assertions.revertWithCustomErrorWithArgs(set(op0, batcher(0), proof), registry, "InvalidBatcherProof", [batcher(0)]);
      }
      await set(op0, batcher(0), await batcherProof(0, op0));
      await viem.assertions.revertWithCustomErrorWithArgs(set(op1, batcher(0), await batcherProof(0, op1)), registry, "BatcherTaken", [batcher(0), getAddress(op0)]);
      // Another operator's signer is that operator's batcher by default.
      await viem.assertions.revertWithCustomErrorWithArgs(set(op1, signerAddress(0), await batcherProof(0, op1, "signer")), registry, "BatcherTaken", [
        signerAddress(0),
        getAddress(op0),
      ]);
      // ...and a batcher cannot become another operator's signer.
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.register([MIN_STAKE, batcher(0), await signerProof(0, operators[2]!, registry.address, "batcher"), peerBytes(2), peerProof(2), ["/a"]], {
          account: operators[2]!,
        }),
        registry,
        "SignerTaken",
        [batcher(0), getAddress(op0)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(set(outsider, batcher(3), await batcherProof(3, outsider)), registry, "NotRegistered", [getAddress(outsider)]);
    });
  });

  describe("slash", () => {
    it("takes the fraction of active and unbonding stake, pays reporter and treasury, jails", async () => {
      const { registry, operators, viem, register, slashAs, reporter, token } = await load();
      const op = operators[0]!;
      await register(0, parseEther("1000"));
      await registry.write.requestUnstake([parseEther("300")], { account: op });
      await registry.write.requestUnstake([parseEther("100")], { account: op });
      const rBefore = await token.read.balanceOf([reporter]);
      const tBefore = await token.read.balanceOf([TEST_TREASURY]);
      const epoch = await registry.read.currentEpoch();
      const hash = slashAs(op);
      await viem.assertions.emitWithArgs(hash, registry, "Slashed", [
        getAddress(op),
        getAddress(reporter),
        parseEther("100"),
        parseEther("10"),
        parseEther("90"),
      ]);
      await viem.assertions.emitWithArgs(hash, registry, "OperatorJailed", [getAddress(op), epoch + 1n]);
      const info = await registry.read.operatorInfo([op]);
      expect(info).to.deep.include({ jailed: true, activeStake: parseEther("540"), unbonding: parseEther("360") });
      expect((await registry.read.unbondingEntries([op])).map((e) => e.amount)).to.deep.equal([
        parseEther("270"),
        parseEther("90"),
      ]);
      expect(await token.read.balanceOf([reporter])).to.equal(rBefore + parseEther("10"));
      expect(await token.read.balanceOf([TEST_TREASURY])).to.equal(tBefore + parseEther("90"));
      expect(await registry.read.rankedCount()).to.equal(0n);

      // Slashing again takes another cut but jails only once; jailed operators can still leave.
      const again = slashAs(op);
      await viem.assertions.emit(again, registry, "Slashed");
      const logs = await registry.getEvents.OperatorJailed({}, { fromBlock: "latest" });
      expect(logs).to.have.length(0);
      await registry.write.requestUnstake([parseEther("1")], { account: op });
      await registry.write.exit({ account: op });
    });

    it("S8: self-reporting costs the offender at least 90% of the slash, even at the highest reporter share", async () => {
      const { registry, token, operators, register, slashAs, viem } = await load();
      const op = operators[0]!;
      // An offender can always commit to its own offence first: the share is what it gets back.
      await viem.assertions.revertWithCustomErrorWithArgs(registry.write.setReporterShareBps([1_001n]), registry, "ParameterOutOfBounds", [
        stringToHex("reporterShareBps", { size: 32 }),
        1_001n,
        0n,
        1_000n,
      ]);
      await registry.write.setReporterShareBps([await registry.read.MAX_REPORTER_SHARE_BPS()]);
      await register(0, MIN_STAKE + 7n); // an odd stake: rounding must not favour the reporter
      const holdings = async () => {
        const info = await registry.read.operatorInfo([op]);
        return (await token.read.balanceOf([op])) + info.activeStake + info.unbonding;
      };
      const before = await holdings();
      const staked = (await registry.read.operatorInfo([op])).activeStake;
      await slashAs(op, op);
      const slashed = staked - (await registry.read.operatorInfo([op])).activeStake;
      expect(slashed > 0n).to.equal(true);
      expect((before - (await holdings())) * 10n >= slashed * 9n).to.equal(true, "self-reporting must cost at least 90% of the slash");
    });

    it("keeps a jailed operator from registering again after leaving", async () => {
      const { registry, operators, viem, register, slashAs, networkHelpers } = await load();
      const op = operators[0]!;
      await register(0);
      await slashAs(op);
      await registry.write.exit({ account: op });
      await networkHelpers.mine(UNBONDING);
      await registry.write.withdraw({ account: op });
      await viem.assertions.revertWithCustomError(register(0), registry, "OperatorIsJailed");
    });

    it("only the slasher may slash, a known operator, with a reporter", async () => {
      const { registry, operators, viem, register, slashAs, outsider, owner } = await load();
      await register(0);
      await viem.assertions.revertWithCustomErrorWithArgs(
        registry.write.slash([operators[0]!, outsider], { account: outsider }),
        registry,
        "NotSlasher",
        [getAddress(outsider)],
      );
      await viem.assertions.revertWithCustomError(slashAs(operators[5]!), registry, "UnknownOperator");
      await viem.assertions.revertWithCustomError(slashAs(operators[0]!, zeroAddress), registry, "ZeroAddress");
      // Without a slasher set nobody can slash.
      const r = await viem.deployContract("SequencerRegistry", [
        await registry.read.stakeToken(),
        TEST_TREASURY,
        0n,
        10n,
        MIN_UNBONDING_EPOCHS,
        params,
        owner,
      ]);
      await viem.assertions.revertWithCustomError(r.write.slash([operators[0]!, outsider]), r, "NotSlasher");
    });
  });

  describe("governance", () => {
    it("sets each parameter within bounds, owner only, with events", async () => {
      const { registry, viem, outsider } = await load();
      const setters = [
        ["setMinStake", "MinStakeSet", 1n, [0n, 2n ** 96n], "minStake"],
        ["setMaxActive", "MaxActiveSet", 100n, [0n, 101n], "maxActive"],
        ["setUnbondingPeriod", "UnbondingPeriodSet", 2n * EPOCH_LENGTH, [2n * EPOCH_LENGTH - 1n, 330_001n], "unbondingPeriod"],
        ["setSlashFractionBps", "SlashFractionSet", 5_000n, [5_001n], "slashFractionBps"],
        ["setReporterShareBps", "ReporterShareSet", 1_000n, [1_001n, 10_000n], "reporterShareBps"],
      ] as const;
      for (const [fn, event, good, bad, getter] of setters) {
        const write = registry.write[fn] as (args: [bigint], o?: { account: Address }) => Promise<`0x${string}`>;
        await viem.assertions.emitWithArgs(write([good]), registry, event, [good] as never);
        expect(await (registry.read[getter] as () => Promise<bigint>)()).to.equal(good);
        for (const value of bad) {
          await viem.assertions.revertWithCustomError(write([value]), registry, "ParameterOutOfBounds");
        }
        await viem.assertions.revertWithCustomErrorWithArgs(write([good], { account: outsider }), registry, "OwnableUnauthorizedAccount", [
          getAddress(outsider),
        ]);
      }
    });

    it("S12: governance cannot set an unbonding period below what the inbox's epoch lag needs", async () => {
      // An inbox taking batches up to 2 epochs old: signatures of epoch e stay usable to the end
      // of e + 2, so stake must stay slashable (2 + 2) epochs after its last signing epoch began.
      const lagged = await network.create();
      const d = await deploySystem(lagged, { ...TEST_CONFIG, maxBatchEpochLag: 2n, unbondingPeriod: 4n * EPOCH_LENGTH });
      const { viem } = lagged;
      expect(await d.registry.read.minUnbondingEpochs()).to.equal(4n);
      await viem.assertions.revertWithCustomErrorWithArgs(d.registry.write.setUnbondingPeriod([4n * EPOCH_LENGTH - 1n]), d.registry, "ParameterOutOfBounds", [
        stringToHex("unbondingPeriod", { size: 32 }),
        4n * EPOCH_LENGTH - 1n,
        4n * EPOCH_LENGTH,
        330_000n,
      ]);
      expect(await d.registry.read.unbondingPeriod()).to.equal(4n * EPOCH_LENGTH);
      await viem.assertions.emitWithArgs(d.registry.write.setUnbondingPeriod([4n * EPOCH_LENGTH]), d.registry, "UnbondingPeriodSet", [4n * EPOCH_LENGTH]);
      // An inbox with a longer lag than the registry's floor covers is refused at deployment.
      const inbox = await viem.getContractAt("BatchInbox", d.contracts.batchInbox.address);
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("BatchInbox", [d.registry.address, 3n, d.contracts.forcedInclusionQueue.address, 150n]), inbox, "UnbondingTooShort", [4n, 5n]);
    });

    it("sets the slasher once, and ownership moves in two steps", async () => {
      const { viem, owner, outsider, registry } = await load();
      const r = await viem.deployContract("SequencerRegistry", [
        await registry.read.stakeToken(),
        TEST_TREASURY,
        0n,
        10n,
        MIN_UNBONDING_EPOCHS,
        params,
        owner,
      ]);
      await viem.assertions.revertWithCustomError(r.write.setSlasher([zeroAddress]), r, "ZeroAddress");
      await viem.assertions.revertWithCustomError(r.write.setSlasher([outsider], { account: outsider }), r, "OwnableUnauthorizedAccount");
      await viem.assertions.emitWithArgs(r.write.setSlasher([outsider]), r, "SlasherSet", [getAddress(outsider)]);
      await viem.assertions.revertWithCustomErrorWithArgs(r.write.setSlasher([owner]), r, "SlasherAlreadySet", [getAddress(outsider)]);

      await r.write.transferOwnership([outsider]);
      expect(await r.read.owner()).to.equal(getAddress(owner));
      await r.write.acceptOwnership({ account: outsider });
      expect(await r.read.owner()).to.equal(getAddress(outsider));
      await viem.assertions.revertWithCustomError(r.write.setMinStake([1n]), r, "OwnableUnauthorizedAccount");
    });
  });

  describe("views", () => {
    it("epoch arithmetic follows genesisBlock and epochLength", async () => {
      const { registry, publicClient, networkHelpers } = await load();
      const genesis = await registry.read.genesisBlock();
      for (const e of [0n, 1n, 7n]) expect(await registry.read.epochStartBlock([e])).to.equal(genesis + e * EPOCH_LENGTH);
      const block = await publicClient.getBlockNumber();
      expect(await registry.read.currentEpoch()).to.equal((block - genesis) / EPOCH_LENGTH);
      await networkHelpers.mine(EPOCH_LENGTH * 3n);
      expect(await registry.read.currentEpoch()).to.equal((block + EPOCH_LENGTH * 3n - genesis) / EPOCH_LENGTH);
    });
  });
});
