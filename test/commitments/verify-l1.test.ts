import { expect } from "chai";
import { parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  RegistryReadError,
  certifyGroup,
  encodeOrderCommitmentProof,
  verifyOrderCommitmentOnL1,
  type OrderCommitmentProof,
  type TypedDataSigner,
} from "../../node/commitments/index.js";
import { MIN_STAKE, deploySequencer, fakeTxHashes, testKey, type SequencerFixture } from "../contracts/helpers/sequencer.js";

describe("commitments: verifyOrderCommitmentOnL1 against the deployed registry", () => {
  let f: SequencerFixture;
  let registry: Address;

  before(async () => {
    f = await deploySequencer(3);
    registry = f.registry.address;
  });

  async function commitment(
    signer: TypedDataSigner,
    overrides: { epoch?: bigint; chainId?: number; registry?: Address } = {},
  ): Promise<OrderCommitmentProof> {
    const signed = await certifyGroup(
      { epoch: overrides.epoch ?? f.epoch, term: 1n, firstPosition: 0n, txHashes: fakeTxHashes(5) },
      { signer, chainId: overrides.chainId ?? f.chainId, registry: overrides.registry ?? registry },
    );
    return signed.proofAt(3);
  }
  const verify = (p: Parameters<typeof verifyOrderCommitmentOnL1>[0], expectedSigner?: Address) =>
    verifyOrderCommitmentOnL1(p, { client: f.publicClient, registry, expectedSigner });

  it("accepts a commitment signed by any member of the epoch's active set, and names its operator", async () => {
    for (const operator of f.operators) {
      const p = await commitment(operator.signer);
      const result = await verify(p);
      expect(result).to.deep.equal({ valid: true, signer: operator.signer.address, reasons: [], operator: operator.address });
      expect((await verify(JSON.parse(JSON.stringify(encodeOrderCommitmentProof(p))))).valid).to.equal(true);
    }
  });

  it("rejects a signer that has never registered", async () => {
    const outsider = privateKeyToAccount(testKey("never-registered", 0));
    const result = await verify(await commitment(outsider));
    expect(result.reasons.map((r) => r.code)).to.deep.equal(["signer-not-active"]);
    expect(result).to.include({ valid: false, signer: outsider.address, operator: null });
  });

  it("checks the set of the certificate's epoch, not today's registrations", async () => {
    // The operators registered during epoch 0, whose set was frozen empty before they joined.
    expect(await f.registry.read.activeSigners([0n])).to.not.include(f.operators[0]!.signer.address);
    const early = await verify(await commitment(f.operators[0]!.signer, { epoch: 0n }));
    expect(early.reasons.map((r) => r.code)).to.deep.equal(["signer-not-active"]);
    expect(early.operator).to.equal(f.operators[0]!.address);

    // A newcomer is not in the current epoch's frozen set, only in the next one.
    const newcomer = await f.registerOperator(10, MIN_STAKE + parseEther("50"));
    const now = await f.registry.read.currentEpoch();
    expect((await verify(await commitment(newcomer.signer, { epoch: now }))).reasons.map((r) => r.code)).to.deep.equal([
      "signer-not-active",
    ]);
    await f.mineToNextEpoch();
    const next = await verify(await commitment(newcomer.signer, { epoch: now + 1n }));
    expect(next).to.deep.include({ valid: true, reasons: [], operator: newcomer.address });
  });

  it("rejects a certificate for an epoch L1 has not reached", async () => {
    const current = await f.registry.read.currentEpoch();
    const result = await verify(await commitment(f.operators[0]!.signer, { epoch: current + 1n }));
    expect(result.reasons.map((r) => r.code)).to.deep.equal(["epoch-not-started"]);
  });

  it("rejects commitments bound to another chain or registry", async () => {
    const signer = f.operators[1]!.signer;
    expect((await verify(await commitment(signer, { chainId: 1 }))).reasons.map((r) => r.code)).to.deep.equal(["wrong-chain"]);
    const elsewhere = await verify(await commitment(signer, { registry: f.inbox.address }));
    expect(elsewhere.reasons.map((r) => r.code)).to.deep.equal(["wrong-registry"]);
  });

  it("reports the offline failures too (tampered txHash, unexpected signer)", async () => {
    const p = await commitment(f.operators[0]!.signer);
    const tampered = await verify({ ...p, txHash: fakeTxHashes(1, "other")[0]! });
    expect(tampered.reasons.map((r) => r.code)).to.deep.equal(["invalid-merkle-proof"]);
    const unexpected = await verify(p, f.operators[1]!.signer.address);
    expect(unexpected.reasons.map((r) => r.code)).to.deep.equal(["unexpected-signer"]);
  });

  it("throws RegistryReadError when the registry address holds no registry", async () => {
    const p = await commitment(f.operators[0]!.signer);
    const nowhere = privateKeyToAccount(testKey("no-contract", 0)).address;
    let error: unknown;
    await verifyOrderCommitmentOnL1(p, { client: f.publicClient, registry: nowhere }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(RegistryReadError);
    expect((error as RegistryReadError).registry).to.equal(nowhere);
  });
});
