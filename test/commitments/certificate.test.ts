import { expect } from "chai";
import { keccak256, toHex, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  EmptyTreeError,
  InvalidOrderCommitmentError,
  InvalidTypedDataError,
  LeafIndexOutOfRangeError,
  PositionNotCertifiedError,
  certifyGroup,
  decodeOrderCommitmentProof,
  domain,
  encodeOrderCommitmentProof,
  leafHashHex,
  recoverOrderCommitmentSigner,
  verifyMerkleProof,
  leafHash,
  type OrderCommitmentProofJson,
} from "../../node/commitments/index.js";

const CHAIN_ID = 31337;
const REGISTRY: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const leader = privateKeyToAccount(keccak256(toHex("leader")));

function txHashes(n: number, salt = "tx"): Hex[] {
  return Array.from({ length: n }, (_, i) => keccak256(toHex(`${salt}-${i}`)));
}

/** The leader's account, counting how often it signs. */
function countingSigner(account: LocalAccount) {
  const counter = { calls: 0 };
  const signer = {
    signTypedData: ((args: Parameters<LocalAccount["signTypedData"]>[0]) => {
      counter.calls++;
      return account.signTypedData(args);
    }) as LocalAccount["signTypedData"],
  };
  return { signer, counter };
}

describe("commitments: certificates", () => {
  it("signs one certificate per group and gives every transaction a proof of its position", async () => {
    const { signer, counter } = countingSigner(leader);
    const hashes = txHashes(37);
    const signed = await certifyGroup(
      { epoch: 4n, term: 9n, firstPosition: 1000n, txHashes: hashes },
      { signer, chainId: CHAIN_ID, registry: REGISTRY },
    );
    const proofs = signed.proofs();
    expect(counter.calls).to.equal(1);
    expect(signed.certificate).to.include({ epoch: 4n, term: 9n, firstPosition: 1000n, lastPosition: 1036n });
    expect(await recoverOrderCommitmentSigner(domain(CHAIN_ID, REGISTRY), signed.certificate, signed.signature)).to.equal(
      leader.address,
    );

    expect(proofs).to.have.length(37);
    proofs.forEach((p, i) => {
      expect(p.position).to.equal(1000n + BigInt(i));
      expect(p.txHash).to.equal(hashes[i]);
      expect(p.signature).to.equal(signed.signature);
      expect(p.chainId).to.equal(CHAIN_ID);
      expect(p.registry).to.equal(REGISTRY);
      const leaf = leafHash(p.position, p.txHash);
      expect(verifyMerkleProof(leaf, i, 37, p.proof, signed.certificate.merkleRoot)).to.equal(true);
    });
    expect(signed.proofFor(1036n)).to.deep.equal(proofs[36]);
  });

  it("a one-transaction group has its leaf as root and an empty proof", async () => {
    const [hash] = txHashes(1);
    const signed = await certifyGroup({ epoch: 1n, term: 1n, firstPosition: 0n, txHashes: [hash!] }, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY });
    expect(signed.certificate.merkleRoot).to.equal(leafHashHex(0n, hash!));
    expect(signed.certificate.lastPosition).to.equal(0n);
    expect(signed.proofAt(0).proof).to.deep.equal([]);
  });

  it("refuses positions and indexes outside the group", async () => {
    const signed = await certifyGroup({ epoch: 1n, term: 1n, firstPosition: 10n, txHashes: txHashes(3) }, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY });
    expect(() => signed.proofFor(9n)).to.throw(PositionNotCertifiedError);
    expect(() => signed.proofFor(13n)).to.throw(PositionNotCertifiedError);
    expect(() => signed.proofAt(3)).to.throw(LeafIndexOutOfRangeError);
    expect(() => signed.proofAt(0.5)).to.throw(LeafIndexOutOfRangeError);
  });

  it("refuses to certify an empty group, a bad hash or a bad domain, without signing", async () => {
    const { signer, counter } = countingSigner(leader);
    const opts = { signer, chainId: CHAIN_ID, registry: REGISTRY };
    const attempts: [Promise<unknown>, new (...args: never[]) => Error][] = [
      [certifyGroup({ epoch: 1n, term: 1n, firstPosition: 0n, txHashes: [] }, opts), EmptyTreeError],
      [certifyGroup({ epoch: 1n, term: 1n, firstPosition: 0n, txHashes: ["0x1234"] }, opts), Error],
      [certifyGroup({ epoch: 1n, term: 1n, firstPosition: 0n, txHashes: txHashes(2) }, { ...opts, chainId: 0 }), InvalidTypedDataError],
      [certifyGroup({ epoch: 1n, term: 1n, firstPosition: 0n, txHashes: txHashes(2) }, { ...opts, registry: "0x1234" as Address }), InvalidTypedDataError],
      [certifyGroup({ epoch: -1n, term: 1n, firstPosition: 0n, txHashes: txHashes(2) }, opts), InvalidTypedDataError],
    ];
    for (const [attempt, type] of attempts) {
      let error: unknown;
      await attempt.catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(type);
    }
    expect(counter.calls).to.equal(0);
  });

  describe("JSON encoding", () => {
    it("uses hex quantities and survives JSON.stringify / parse unchanged", async () => {
      const signed = await certifyGroup({ epoch: 0n, term: 42n, firstPosition: 0n, txHashes: txHashes(5) }, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY });
      const proof = signed.proofAt(2);
      const json = encodeOrderCommitmentProof(proof);
      expect(json.certificate).to.include({ epoch: "0x0", term: "0x2a", firstPosition: "0x0", lastPosition: "0x4" });
      expect(json.position).to.equal("0x2");
      expect(json.chainId).to.equal("0x7a69");
      expect(json.registry).to.equal(REGISTRY);
      const wire = JSON.stringify(json);
      expect(decodeOrderCommitmentProof(JSON.parse(wire))).to.deep.equal({ ...proof, proof: [...proof.proof] });
    });

    it("rejects anything that is not exactly that encoding, naming the field", async () => {
      const signed = await certifyGroup({ epoch: 3n, term: 1n, firstPosition: 7n, txHashes: txHashes(4) }, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY });
      const good = encodeOrderCommitmentProof(signed.proofAt(1));
      const bad: [string, (j: OrderCommitmentProofJson) => unknown][] = [
        ["commitment", () => null],
        ["commitment", () => []],
        ["certificate", (j) => ({ ...j, certificate: undefined })],
        ["position", (j) => ({ ...j, position: "0x08" })],
        ["position", (j) => ({ ...j, position: "8" })],
        ["position", (j) => ({ ...j, position: 8 })],
        ["certificate.epoch", (j) => ({ ...j, certificate: { ...j.certificate, epoch: `0x1${"0".repeat(16)}` } })],
        ["certificate.merkleRoot", (j) => ({ ...j, certificate: { ...j.certificate, merkleRoot: "0x12" } })],
        ["txHash", (j) => ({ ...j, txHash: j.txHash.slice(0, -2) })],
        ["proof", (j) => ({ ...j, proof: j.proof[0] })],
        ["proof[1]", (j) => ({ ...j, proof: [j.proof[0], "0xzz"] })],
        ["chainId", (j) => ({ ...j, chainId: "0x0" })],
        ["registry", (j) => ({ ...j, registry: "0x1234" })],
        ["signature", (j) => ({ ...j, signature: "0xabc" })],
      ];
      for (const [field, mutate] of bad) {
        let error: unknown;
        try {
          decodeOrderCommitmentProof(mutate(structuredClone(good)));
        } catch (e) {
          error = e;
        }
        expect(error, field).to.be.instanceOf(InvalidOrderCommitmentError);
        expect((error as InvalidOrderCommitmentError).field).to.equal(field);
      }
    });
  });

  it("builds proofs for thousands of leaves quickly (figures printed, not asserted)", async () => {
    // CPU time of this process, not wall time: the machine is shared, CPU time is what we spend.
    const cpuMs = async <T>(run: () => T | Promise<T>): Promise<[T, number]> => {
      const start = process.cpuUsage();
      const result = await run();
      const used = process.cpuUsage(start);
      return [result, (used.user + used.system) / 1000];
    };
    for (const n of [1_000, 10_000]) {
      const hashes = txHashes(n, `bench-${n}`);
      const group = { epoch: 1n, term: 1n, firstPosition: 5n, txHashes: hashes };
      const [signed, certifyMs] = await cpuMs(() => certifyGroup(group, { signer: leader, chainId: CHAIN_ID, registry: REGISTRY }));
      const [proofs, proofsMs] = await cpuMs(() => signed.proofs());
      const [wire, encodeMs] = await cpuMs(() => proofs.map((p) => JSON.stringify(encodeOrderCommitmentProof(p))));
      expect(proofs).to.have.length(n);
      expect(wire[n - 1]).to.contain(`"position":"0x${(4 + n).toString(16)}"`);
      console.log(
        `      ${n} txs (CPU time): tree + 1 signature ${certifyMs.toFixed(1)} ms, ${n} proofs ${proofsMs.toFixed(1)} ms ` +
          `(${Math.round(n / (proofsMs / 1000)).toLocaleString("en-US")}/s), JSON ${encodeMs.toFixed(1)} ms`,
      );
    }
  });
});
