import { expect } from "chai";
import { network } from "hardhat";
import { type Hex, concat, encodeAbiParameters, keccak256, toHex as viemToHex } from "viem";
import {
  EmptyTreeError,
  InvalidHashError,
  InvalidPositionError,
  LeafIndexOutOfRangeError,
  buildMerkleTree,
  buildPositionalTree,
  leafAt,
  leafHash,
  leafHashHex,
  merkleProof,
  merkleRoot,
  toHex,
  verifyMerkleProof,
} from "../../node/commitments/merkle.js";

/** Independent, naive implementation of docs/protocol.md (hex strings, viem hashing). */
function referenceLeaf(position: bigint, txHash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "bytes32" }], [position, txHash]));
}
function referenceRoot(leaves: Hex[]): Hex {
  let level = leaves;
  while (level.length > 1) {
    const next: Hex[] = [];
    for (let k = 0; k + 1 < level.length; k += 2) next.push(keccak256(concat([level[k]!, level[k + 1]!])));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

function txHash(i: number): Hex {
  return keccak256(viemToHex(`tx-${i}`));
}
function txHashes(n: number, salt = 0): Hex[] {
  return Array.from({ length: n }, (_, i) => txHash(i + salt * 1_000_000));
}

describe("commitments/merkle", () => {
  describe("leafHash", () => {
    it("is keccak256(abi.encode(uint256 position, bytes32 txHash))", () => {
      for (const p of [0n, 1n, 255n, 256n, (1n << 64n) - 1n]) {
        expect(leafHashHex(p, txHash(7))).to.equal(referenceLeaf(p, txHash(7)));
      }
      expect(toHex(leafHash(42, txHash(1)))).to.equal(referenceLeaf(42n, txHash(1)));
    });

    it("rejects positions outside uint64 and malformed hashes with typed errors", () => {
      expect(() => leafHash(-1, txHash(0))).to.throw(InvalidPositionError);
      expect(() => leafHash(1.5, txHash(0))).to.throw(InvalidPositionError);
      expect(() => leafHash(1n << 64n, txHash(0))).to.throw(InvalidPositionError);
      expect(() => leafHash(0, "0x1234")).to.throw(InvalidHashError);
      expect(() => leafHash(0, `0x${"zz".repeat(32)}`)).to.throw(InvalidHashError);
      expect(() => leafHash(0, new Uint8Array(31))).to.throw(InvalidHashError);
    });
  });

  describe("tree, root and proofs", () => {
    it("matches the reference root for sizes 1..33 and proves every leaf", () => {
      for (let n = 1; n <= 33; n++) {
        const hashes = txHashes(n, n);
        const leaves = hashes.map((h, i) => referenceLeaf(BigInt(100 + i), h));
        const tree = buildPositionalTree(100n, hashes);
        const root = merkleRoot(tree);
        expect(root, `n=${n}`).to.equal(referenceRoot(leaves));
        expect(merkleRoot(leaves)).to.equal(root);
        for (let i = 0; i < n; i++) {
          expect(leafAt(tree, i)).to.equal(leaves[i]);
          const proof = merkleProof(tree, i);
          expect(verifyMerkleProof(leaves[i]!, i, n, proof, root), `n=${n} i=${i}`).to.equal(true);
        }
      }
    });

    it("uses carry-up, not duplication: n=1 root is the leaf, n=3 root is H(H(l0,l1),l2)", () => {
      const leaves = txHashes(3).map((h, i) => referenceLeaf(BigInt(i), h));
      expect(merkleRoot([leaves[0]!])).to.equal(leaves[0]);
      expect(merkleRoot(leaves)).to.equal(keccak256(concat([keccak256(concat([leaves[0]!, leaves[1]!])), leaves[2]!])));
      // the carried leaf's proof skips the level where it has no sibling
      expect(merkleProof(buildMerkleTree(leaves), 2)).to.deep.equal([keccak256(concat([leaves[0]!, leaves[1]!]))]);
    });

    it("rejects proofs for a wrong index, count, leaf, root or a truncated/extended proof", () => {
      for (const n of [2, 3, 5, 8, 13, 33]) {
        const hashes = txHashes(n);
        const tree = buildPositionalTree(0n, hashes);
        const root = merkleRoot(tree);
        for (let i = 0; i < n; i++) {
          const leaf = leafAt(tree, i);
          const proof = merkleProof(tree, i);
          expect(verifyMerkleProof(leaf, (i + 1) % n, n, proof, root), `index n=${n} i=${i}`).to.equal(false);
          // A proof only binds the count through its path shape (which levels carry, which side).
          const sameShape = pathShape(i, n) === pathShape(i, n + 1);
          expect(verifyMerkleProof(leaf, i, n + 1, proof, root), `count+1 n=${n} i=${i}`).to.equal(sameShape);
          expect(verifyMerkleProof(leaf, i, n - 1, proof, root), `count-1 n=${n} i=${i}`).to.equal(
            i < n - 1 && pathShape(i, n) === pathShape(i, n - 1),
          );
          expect(verifyMerkleProof(leafHashHex(i + 1, hashes[i]!), i, n, proof, root)).to.equal(false);
          expect(verifyMerkleProof(leaf, i, n, proof, txHash(999))).to.equal(false);
          expect(verifyMerkleProof(leaf, i, n, proof.slice(1), root)).to.equal(false);
          expect(verifyMerkleProof(leaf, i, n, [...proof, root], root)).to.equal(false);
        }
        expect(verifyMerkleProof(leafAt(tree, 0), n, n, merkleProof(tree, 0), root)).to.equal(false);
        expect(verifyMerkleProof(leafAt(tree, 0), -1, n, merkleProof(tree, 0), root)).to.equal(false);
        expect(verifyMerkleProof(leafAt(tree, 0), 0, 0, [], root)).to.equal(false);
      }
    });

    it("cannot pass an inner node off as a leaf", () => {
      const tree = buildPositionalTree(0n, txHashes(4));
      const inner = toHex(tree.levels[1]!.subarray(0, 32));
      const proof = [toHex(tree.levels[1]!.subarray(32, 64))];
      // With count = 4 the verifier insists on two levels of siblings.
      expect(verifyMerkleProof(inner, 0, 4, proof, merkleRoot(tree))).to.equal(false);
      expect(verifyMerkleProof(inner, 0, 2, proof, merkleRoot(tree))).to.equal(true); // only as a 2-leaf tree
    });

    it("throws typed errors for bad input", () => {
      expect(() => buildMerkleTree([])).to.throw(EmptyTreeError);
      expect(() => buildPositionalTree(0n, [])).to.throw(EmptyTreeError);
      expect(() => buildMerkleTree(["0x12"])).to.throw(InvalidHashError);
      expect(() => buildPositionalTree((1n << 64n) - 1n, txHashes(2))).to.throw(InvalidPositionError);
      const tree = buildMerkleTree(txHashes(3));
      expect(() => merkleProof(tree, 3)).to.throw(LeafIndexOutOfRangeError);
      expect(() => merkleProof(tree, -1)).to.throw(LeafIndexOutOfRangeError);
      expect(() => verifyMerkleProof("0x00", 0, 1, [], txHash(0))).to.throw(InvalidHashError);
    });

    it("builds 1,000 and 10,000-leaf trees (figures printed)", () => {
      for (const n of [1_000, 10_000]) {
        const hashes = txHashes(n);
        const t0 = performance.now();
        const tree = buildPositionalTree(0n, hashes);
        const t1 = performance.now();
        const proofs = Array.from({ length: 100 }, (_, k) => merkleProof(tree, (k * 97) % n));
        const t2 = performance.now();
        const root = merkleRoot(tree);
        proofs.forEach((p, k) => expect(verifyMerkleProof(leafAt(tree, (k * 97) % n), (k * 97) % n, n, p, root)).to.equal(true));
        const t3 = performance.now();
        console.log(
          `      merkle n=${n}: build ${(t1 - t0).toFixed(1)} ms (${Math.round(n / ((t1 - t0) / 1000))} leaves/s), ` +
            `proof ${((t2 - t1) * 10).toFixed(1)} µs, verify ${((t3 - t2) * 10).toFixed(1)} µs`,
        );
      }
    });
  });

  describe("Solidity PositionalMerkle agrees", () => {
    it("verifies the TypeScript proofs for sizes 1..33 and large trees, and rejects wrong ones", async () => {
      const { viem } = await network.create();
      const harness = await viem.deployContract("PositionalMerkleHarness");
      for (let n = 1; n <= 33; n++) {
        const hashes = txHashes(n, n);
        const tree = buildPositionalTree(7n, hashes);
        const root = merkleRoot(tree);
        expect(await harness.read.root([splitLeaves(tree.levels[0]!)]), `root n=${n}`).to.equal(root);
        expect(await harness.read.leaf([7n + BigInt(n - 1), hashes[n - 1]!])).to.equal(leafAt(tree, n - 1));
        for (let i = 0; i < n; i++) {
          const proof = merkleProof(tree, i);
          const leaf = leafAt(tree, i);
          expect(await harness.read.verify([leaf, BigInt(i), BigInt(n), proof, root]), `n=${n} i=${i}`).to.equal(true);
          
          if (n > 1) {
            expect(await harness.read.verify([leaf, BigInt((i + 1) % n), BigInt(n), proof, root])).to.equal(false);
            const sameShape = pathShape(i, n) === pathShape(i, n + 1);
            expect(await harness.read.verify([leaf, BigInt(i), BigInt(n + 1), proof, root])).to.equal(sameShape);
            expect(await harness.read.verify([leaf, BigInt(i), BigInt(n), proof.slice(1), root])).to.equal(false);
          }
          expect(await harness.read.verify([txHash(5), BigInt(i), BigInt(n), proof, root])).to.equal(false);
          expect(await harness.read.verify([leaf, BigInt(i), BigInt(n), [...proof, root], root])).to.equal(false);
          expect(await harness.read.verify([leaf, BigInt(n), BigInt(n), proof, root])).to.equal(false);
        }
      }
      for (const n of [1_000, 4_097, 10_000]) {
        const tree = buildPositionalTree(123_456n, txHashes(n, 3));
        const root = merkleRoot(tree);
        for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
          const ok = await harness.read.verify([leafAt(tree, i), BigInt(i), BigInt(n), merkleProof(tree, i), root]);
          expect(ok, `n=${n} i=${i}`).to.equal(true);
        }
      }
      expect(await harness.read.root([splitLeaves(buildPositionalTree(0n, txHashes(1000)).levels[0]!)])).to.equal(
        merkleRoot(buildPositionalTree(0n, txHashes(1000))),
      );
    });
  });
});

/** Which levels carry and on which side the node sits: all a proof's verification depends on. */
function pathShape(index: number, count: number): string {
  let shape = "";
  for (let i = index, size = count; size > 1; i >>= 1, size = (size + 1) >> 1) {
    shape += i === size - 1 && size % 2 === 1 ? "c" : i % 2 === 0 ? "l" : "r";
  }
  return shape;
}

function splitLeaves(level0: Uint8Array): Hex[] {
  const out: Hex[] = [];
  for (let k = 0; k < level0.length; k += 32) out.push(toHex(level0.subarray(k, k + 32)));
  return out;
}
