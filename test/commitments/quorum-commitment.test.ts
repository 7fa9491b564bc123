/** Quorum commitments (S2): JSON form, offline checks, and the stake majority checked against the registry. */
import { expect } from "chai";
import { type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  InvalidOrderCommitmentError,
  certifyGroup,
  decodeQuorumCommitment,
  encodeQuorumCommitment,
  signOrderCommitment,
  verifyQuorumCommitment,
  verifyQuorumCommitmentOnL1,
  type QuorumCommitment,
  type TypedDataSigner,
} from "../../node/commitments/index.js";
import { deploySequencer, fakeTxHashes, testKey, type SequencerFixture } from "../contracts/helpers/sequencer.js";

describe("commitments: quorum commitments", () => {
  let f: SequencerFixture;

  before(async () => {
    f = await deploySequencer(3);
  });

  /** Position 3 of a certificate over five transactions, signed by each of `signers`. */
  async function quorum(signers: readonly TypedDataSigner[]): Promise<QuorumCommitment> {
    const opts = { chainId: f.chainId, registry: f.registry.address };
    const signed = await certifyGroup({ epoch: f.epoch, term: 4n, firstPosition: 0n, txHashes: fakeTxHashes(5) }, { ...opts, signer: signers[0]! });
    const { signature: _, ...body } = signed.proofAt(3);
    const signatures: Hex[] = [];
    for (const s of signers) signatures.push(await signOrderCommitment(s, f.domain, signed.certificate));
    return { ...body, signatures };
  }
  const onL1 = (q: QuorumCommitment) => verifyQuorumCommitmentOnL1(q, { client: f.publicClient, registry: f.registry.address });

  it("round-trips its JSON form and refuses one without signatures", async () => {
    const q = await quorum([f.operators[0]!.signer, f.operators[1]!.signer]);
    const json = JSON.parse(JSON.stringify(encodeQuorumCommitment(q)));
    expect(decodeQuorumCommitment(json)).to.deep.equal({ ...q, signatures: q.signatures.map((s) => s.toLowerCase()) });
    expect(() => decodeQuorumCommitment({ ...json, signatures: [] })).to.throw(InvalidOrderCommitmentError, "signatures");
    expect(() => decodeQuorumCommitment({ ...json, signatures: ["nothex"] })).to.throw(InvalidOrderCommitmentError, "signatures[0]");
  });

  it("verifies on L1 when the signers hold more than half of the epoch's stake", async () => {
    const result = await onL1(await quorum([f.operators[0]!.signer, f.operators[1]!.signer]));
    expect(result.valid, JSON.stringify(result.reasons)).to.equal(true);
    expect(result.signers).to.deep.equal([f.operators[0]!.signer.address, f.operators[1]!.signer.address]);
    expect(result.signedStake * 2n > result.activeStake).to.equal(true);
  });

  it("is not accountable with a minority, an outsider, a duplicate or a bad signature", async () => {
    const minority = await onL1(await quorum([f.operators[2]!.signer]));
    expect(minority.reasons.map((r) => r.code)).to.deep.equal(["insufficient-stake"]);
    const outsider = privateKeyToAccount(testKey("quorum-outsider", 0));
    const withOutsider = await onL1(await quorum([f.operators[2]!.signer, outsider]));
    expect(withOutsider.reasons.map((r) => r.code)).to.deep.equal(["signer-not-active", "insufficient-stake"]);
    const q = await quorum([f.operators[0]!.signer, f.operators[1]!.signer]);
    const doubled = await verifyQuorumCommitment({ ...q, signatures: [q.signatures[0]!, q.signatures[0]!] });
    expect(doubled.reasons.map((r) => r.code)).to.deep.equal(["duplicate-signer"]);
    const broken = await verifyQuorumCommitment({ ...q, signatures: [q.signatures[0]!, "0x1234"] });
    expect(broken.valid).to.equal(false);
    expect(broken.reasons.map((r) => r.code)).to.include("invalid-signature");
    const tampered = await verifyQuorumCommitment({ ...q, txHash: fakeTxHashes(1, "other")[0]! });
    expect(tampered.reasons.map((r) => r.code)).to.deep.equal(["invalid-merkle-proof"]);
  });
});
