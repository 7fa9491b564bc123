import { expect } from "chai";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  InvalidOrderCommitmentError,
  certifyGroup,
  encodeOrderCommitmentProof,
  verifyOrderCommitment,
  type OrderCommitmentProof,
  type SignedCertificate,
  type VerificationFailureCode,
} from "../../node/commitments/index.js";

const CHAIN_ID = 31337;
const REGISTRY: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const OTHER_REGISTRY: Address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const leader = privateKeyToAccount(keccak256(toHex("leader")));
const impostor = privateKeyToAccount(keccak256(toHex("impostor")));

const txHashes = (n: number, salt = "tx"): Hex[] => Array.from({ length: n }, (_, i) => keccak256(toHex(`${salt}-${i}`)));
const flipByte = (hex: Hex, byteIndex: number): Hex => {
  const at = 2 + byteIndex * 2;
  const flipped = (Number.parseInt(hex.slice(at, at + 2), 16) ^ 0x01).toString(16).padStart(2, "0");
  return `${hex.slice(0, at)}${flipped}${hex.slice(at + 2)}` as Hex;
};

async function codesOf(p: OrderCommitmentProof, options: Parameters<typeof verifyOrderCommitment>[1] = {}) {
  const result = await verifyOrderCommitment(p, options);
  return result.reasons.map((r) => r.code);
}

describe("commitments: verifyOrderCommitment (offline)", () => {
  let signed: SignedCertificate;
  let proofs: OrderCommitmentProof[];
  before(async () => {
    signed = await certifyGroup(
      { epoch: 2n, term: 5n, firstPosition: 100n, txHashes: txHashes(7) },
      { signer: leader, chainId: CHAIN_ID, registry: REGISTRY },
    );
    proofs = signed.proofs();
  });

  it("accepts every commitment of a group, in memory and as JSON, and returns the signer", async () => {
    for (const p of proofs) {
      const expectations = { expectedSigner: leader.address, chainId: CHAIN_ID, registry: REGISTRY };
      expect(await verifyOrderCommitment(p, expectations)).to.deep.equal({ valid: true, signer: leader.address, reasons: [] });
      const json = JSON.parse(JSON.stringify(encodeOrderCommitmentProof(p)));
      expect(await verifyOrderCommitment(json, expectations)).to.deep.equal({ valid: true, signer: leader.address, reasons: [] });
    }
    const [single] = (
      await certifyGroup({ epoch: 0n, term: 1n, firstPosition: 0n, txHashes: txHashes(1) }, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY })
    ).proofs();
    expect((await verifyOrderCommitment(single!, { expectedSigner: leader.address })).valid).to.equal(true);
  });

  it("without expectedSigner a consistent commitment by anyone is valid: the signer is returned to check", async () => {
    const [p] = (
      await certifyGroup({ epoch: 2n, term: 5n, firstPosition: 0n, txHashes: txHashes(3) }, { signer: impostor, chainId: CHAIN_ID, registry: REGISTRY })
    ).proofs();
    expect(await verifyOrderCommitment(p!)).to.deep.equal({ valid: true, signer: impostor.address, reasons: [] });
    expect(await codesOf(p!, { expectedSigner: leader.address })).to.deep.equal(["unexpected-signer"]);
  });

  const expectFailure = async (p: OrderCommitmentProof, codes: VerificationFailureCode[]) => {
    const result = await verifyOrderCommitment(p, { expectedSigner: leader.address, chainId: CHAIN_ID, registry: REGISTRY });
    expect(result.valid).to.equal(false);
    expect(result.reasons.map((r) => r.code)).to.have.members(codes);
    for (const reason of result.reasons) expect(reason.message).to.be.a("string").and.not.equal("");
    return result;
  };

  it("rejects a tampered position (inside and outside the range)", async () => {
    await expectFailure({ ...proofs[3]!, position: 104n }, ["invalid-merkle-proof"]);
    await expectFailure({ ...proofs[3]!, position: 99n }, ["position-out-of-range"]);
    await expectFailure({ ...proofs[3]!, position: 107n }, ["position-out-of-range"]);
  });

  it("rejects a tampered or swapped txHash", async () => {
    await expectFailure({ ...proofs[3]!, txHash: flipByte(proofs[3]!.txHash, 31) }, ["invalid-merkle-proof"]);
    await expectFailure({ ...proofs[3]!, txHash: proofs[4]!.txHash }, ["invalid-merkle-proof"]);
  });

  it("rejects a tampered, truncated, extended or borrowed proof", async () => {
    const p = proofs[2]!;
    await expectFailure({ ...p, proof: [flipByte(p.proof[0]!, 0), ...p.proof.slice(1)] }, ["invalid-merkle-proof"]);
    await expectFailure({ ...p, proof: p.proof.slice(0, -1) }, ["invalid-merkle-proof"]);
    await expectFailure({ ...p, proof: [...p.proof, p.proof[0]!] }, ["invalid-merkle-proof"]);
    await expectFailure({ ...p, proof: proofs[3]!.proof }, ["invalid-merkle-proof"]);
  });

  it("rejects a tampered root: the proof fails and the signature no longer recovers to the leader", async () => {
    const c = proofs[1]!.certificate;
    const result = await expectFailure({ ...proofs[1]!, certificate: { ...c, merkleRoot: flipByte(c.merkleRoot, 0) } }, [
      "invalid-merkle-proof",
      "unexpected-signer",
    ]);
    expect(result.signer).to.not.equal(leader.address);
  });

  it("rejects tampered certificate fields the proof does not cover (epoch, term, range)", async () => {
    const p = proofs[0]!;
    await expectFailure({ ...p, certificate: { ...p.certificate, epoch: 3n } }, ["unexpected-signer"]);
    await expectFailure({ ...p, certificate: { ...p.certificate, term: 6n } }, ["unexpected-signer"]);
    // Growing the range only changes the signature for leaf 0 (its path has no carried level)...
    await expectFailure({ ...p, certificate: { ...p.certificate, lastPosition: 107n } }, ["unexpected-signer"]);
    // ...but breaks the proof of the last leaf, which was carried up at level 0.
    const last = proofs[6]!;
    await expectFailure({ ...last, certificate: { ...last.certificate, lastPosition: 107n } }, ["invalid-merkle-proof", "unexpected-signer"]);
    const empty = await expectFailure({ ...p, certificate: { ...p.certificate, lastPosition: 99n } }, ["invalid-range"]);
    expect(empty.signer).to.equal(null);
  });

  it("rejects a tampered signature: other bytes, high-s, bad v, wrong length", async () => {
    const p = proofs[0]!;
    const sig = p.signature;
    const r = await verifyOrderCommitment({ ...p, signature: flipByte(sig, 5) }, { expectedSigner: leader.address });
    // Changing r either makes recovery fail or recovers some other key.
    expect(r.valid).to.equal(false);
    expect(r.reasons.map((x) => x.code)).to.satisfy((codes: string[]) => codes.includes("invalid-signature") || codes.includes("unexpected-signer"));

    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = Number.parseInt(sig.slice(130), 16);
    const highS = `${sig.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
    await expectFailure({ ...p, signature: highS }, ["invalid-signature"]);
    await expectFailure({ ...p, signature: `${sig.slice(0, 130)}1d` as Hex }, ["invalid-signature"]);
    await expectFailure({ ...p, signature: sig.slice(0, 128) as Hex }, ["invalid-signature"]);
    // A valid signature by the leader over another certificate.
    const other = await certifyGroup({ epoch: 2n, term: 5n, firstPosition: 200n, txHashes: txHashes(7) }, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY });
    await expectFailure({ ...p, signature: other.signature }, ["unexpected-signer"]);
  });

  it("rejects a commitment for another chain or registry, whether signed so or relabelled", async () => {
    const group = { epoch: 2n, term: 5n, firstPosition: 100n, txHashes: txHashes(7) };
    const [otherChain] = (await certifyGroup(group, { signer: leader, chainId: 1, registry: REGISTRY })).proofs();
    await expectFailure(otherChain!, ["wrong-chain"]);
    const [otherRegistry] = (await certifyGroup(group, { signer: leader, chainId: CHAIN_ID, registry: OTHER_REGISTRY })).proofs();
    await expectFailure(otherRegistry!, ["wrong-registry"]);
    // Relabelling the domain of a genuine commitment breaks its signature.
    await expectFailure({ ...proofs[0]!, chainId: 1 }, ["wrong-chain", "unexpected-signer"]);
    await expectFailure({ ...proofs[0]!, registry: OTHER_REGISTRY }, ["wrong-registry", "unexpected-signer"]);
    // Relabelled to match what the verifier expects: still the signature gives it away.
    await expectFailure({ ...otherChain!, chainId: CHAIN_ID }, ["unexpected-signer"]);
  });

  it("throws a typed error for input that is not a commitment at all", async () => {
    const json = encodeOrderCommitmentProof(proofs[0]!);
    for (const garbage of [{}, { ...json, txHash: "0x12" }, { ...json, position: 5 }]) {
      let error: unknown;
      await verifyOrderCommitment(garbage as never).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(InvalidOrderCommitmentError);
    }
  });
});
