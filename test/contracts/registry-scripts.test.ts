import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { getAddress, hexToBytes, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DeployConfigError, loadDeployConfig, parseDeployConfig } from "../../scripts/lib/config.js";
import { DeploymentError, deploySystem } from "../../scripts/lib/deploy.js";
import {
  InvalidPeerIdError,
  RegistrationError,
  type RegisterOperatorArgs,
  generateOperatorIdentity,
  peerIdFromBytes,
  peerIdToBytes,
  proveOperatorKeys,
  registerOperator,
} from "../../node/l1/operator.js";
import { keyBindingDigest, provenPeerId } from "../../node/l1/key-binding.js";
import { domain } from "../../node/commitments/typed-data.js";
import { toRecord, writeRecord } from "../../scripts/lib/record.js";
import { loadDeploymentRecord } from "../../node/l1/deployment.js";
import { TEST_CONFIG } from "./registry.fixture.js";

describe("deployment scripts' library", () => {
  it("parses config files and rejects bad fields with the field's name", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cfg-"));
    try {
      const { config, path: file } = loadDeployConfig("nowhere", path.resolve(import.meta.dirname, "../../config"));
      expect(path.basename(file)).to.equal("default.json");
      expect(config.token).to.deep.equal({ deployTestToken: { name: "Sequencer Stake", symbol: "SEQ" } });
      expect(config.minStake).to.equal(parseEther("1000"));
      expect(config.maxBatchEpochLag).to.equal(2n);
      // The inbox's deploy-time check holds for the default parameters.
      expect(config.unbondingPeriod >= (config.maxBatchEpochLag + 2n) * config.epochLength).to.equal(true);
      const { maxBatchEpochLag: _lag, ...withoutLag } = JSON.parse(readFileSync(file, "utf8"));
      expect(() => parseDeployConfig(withoutLag)).to.throw(DeployConfigError, /maxBatchEpochLag/);

      writeFileSync(path.join(dir, "mynet.json"), JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), epochLength: -1 }));
      expect(() => loadDeployConfig("mynet", dir)).to.throw(DeployConfigError, /epochLength/);
      writeFileSync(path.join(dir, "default.json"), "{ not json");
      expect(() => loadDeployConfig("other", dir)).to.throw(DeployConfigError, /cannot read/);
      expect(() => parseDeployConfig({ token: {}, treasury: "0x1" })).to.throw(DeployConfigError, /token/);
      expect(() => parseDeployConfig({ token: { address: "0x1234" } })).to.throw(DeployConfigError, /token.address/);
      // What the contracts would refuse at deployment is refused here, naming the fields.
      const defaults = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      writeFileSync(path.join(dir, "long.json"), JSON.stringify({ ...defaults, epochLength: 3600, unbondingPeriod: 80 }));
      expect(() => loadDeployConfig("long", dir)).to.throw(
        DeployConfigError,
        "unbondingPeriod 80 is shorter than 4 epochs of 3600 blocks: the unbonding period must cover maxBatchEpochLag + 2 = 4 epochs (14400 blocks), so that stake cannot leave while its batch signatures are still accepted; use unbondingPeriod 14400 or more, or a shorter epochLength",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("converts libp2p peer ids to chain bytes and back, and rejects garbage", async () => {
    const id = await generateOperatorIdentity();
    expect(id.peerId.startsWith("12D3KooW")).to.equal(true);
    expect(peerIdToBytes(id.peerId)).to.equal(id.peerIdBytes);
    expect(peerIdFromBytes(id.peerIdBytes)).to.equal(id.peerId);
    expect(() => peerIdToBytes("not-a-peer-id")).to.throw(InvalidPeerIdError);
    expect(() => peerIdFromBytes("0x1205aa")).to.throw(InvalidPeerIdError);
  });

  it("deploys the whole system wired together, records it, and registers an operator", async () => {
    const connection = await network.create();
    const { viem } = connection;
    const [, operatorWallet, newOwner] = await viem.getWalletClients();
    const d = await deploySystem(connection, { ...TEST_CONFIG, owner: newOwner!.account.address });
    const inbox = await viem.getContractAt("BatchInbox", d.contracts.batchInbox.address);
    const slashing = await viem.getContractAt("Slashing", d.contracts.slashing.address);
    expect(await inbox.read.registry()).to.equal(getAddress(d.registry.address));
    expect(await slashing.read.registry()).to.equal(getAddress(d.registry.address));
    expect(await d.registry.read.slasher()).to.equal(getAddress(slashing.address));
    // Ownership is offered to the configured owner, who must accept it.
    expect(await d.registry.read.pendingOwner()).to.equal(getAddress(newOwner!.account.address));
    expect(await inbox.read.maxEpochLag()).to.equal(TEST_CONFIG.maxBatchEpochLag);
    // The registry's unbonding floor is what the inbox's lag needs: a configured unbonding
    // period that does not cover the lag stops the deployment with the registry's reason.
    expect(await d.registry.read.minUnbondingEpochs()).to.equal(TEST_CONFIG.maxBatchEpochLag + 2n);
    const tooLong = await deploySystem(connection, { ...TEST_CONFIG, maxBatchEpochLag: 1n }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(tooLong).to.be.instanceOf(DeploymentError);
    expect((tooLong as Error).message).to.match(/SequencerRegistry.*ParameterOutOfBounds/s);

    const dir = mkdtempSync(path.join(tmpdir(), "dep-"));
    try {
      const file = writeRecord(toRecord("testnet", d), dir);
      const record = JSON.parse(readFileSync(file, "utf8"));
      expect(record).to.deep.include({ network: "testnet", chainId: d.chainId });
      expect(record.contracts.sequencerRegistry.address).to.equal(d.registry.address);
      expect(record.eip712).to.deep.equal({
        name: "StakedSequencer",
        version: "1",
        chainId: d.chainId,
        verifyingContract: d.registry.address,
      });
      expect(record.parameters.maxBatchEpochLag).to.equal(TEST_CONFIG.maxBatchEpochLag.toString());
      expect(record.epochs).to.deep.equal({ genesisBlock: d.genesisBlock.toString(), epochLength: "10" });
      // What the writer produced is what a node reads.
      const read = await loadDeploymentRecord(file);
      expect(read).to.deep.include({ chainId: d.chainId, sequencerRegistry: d.registry.address, stakeToken: d.token.address, epochLength: 10n, genesisBlock: d.genesisBlock });
      expect(read.batchInbox).to.equal(d.contracts.batchInbox.address);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const id = await generateOperatorIdentity();
    const operator = operatorWallet!.account.address;
    const sequencerDomain = domain(d.chainId, d.registry.address);
    const keys = { signer: privateKeyToAccount(id.signerKey), peerKey: privateKeyFromProtobuf(hexToBytes(id.libp2pKey)) };
    const proven = await proveOperatorKeys(keys, sequencerDomain, operator);
    expect(proven).to.deep.include({ signer: id.signer, peerIdBytes: id.peerIdBytes });
    const args: RegisterOperatorArgs = {
      publicClient: await viem.getPublicClient(),
      wallet: operatorWallet!,
      registry: d.registry.address,
      token: d.token.address,
      ...proven,
      addrs: ["/ip4/127.0.0.1/tcp/4001"],
      stake: TEST_CONFIG.minStake,
      mint: true,
    };
    const { registrationId } = await registerOperator(args);
    expect(registrationId).to.equal(1);
    expect(await d.registry.read.operatorOfSigner([id.signer])).to.equal(getAddress(operator));
    // The peer-id proof the registry stores verifies for this operator, and for nobody else.
    const info = await d.registry.read.operatorInfo([operator]);
    expect(await d.registry.read.keyBindingDigest([operator])).to.equal(keyBindingDigest(sequencerDomain, operator));
    expect(await provenPeerId(info.peerId, info.peerIdProof, sequencerDomain, operator)).to.equal(id.peerId);
    expect(await provenPeerId(info.peerId, info.peerIdProof, sequencerDomain, newOwner!.account.address)).to.equal(null);
    // A second registration is refused with the registry's reason.
    const error = await registerOperator(args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(RegistrationError);
    expect((error as Error).message).to.match(/AlreadyRegistered/);
    await connection.close();
  });
});
