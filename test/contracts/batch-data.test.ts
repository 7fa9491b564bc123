/**
 * S6, differentially: the inbox's on-chain decoder and root (contracts/libraries/BatchData.sol,
 * through a harness) against the node's (`node/batching/format.ts`, `node/commitments/merkle.ts`).
 * For random batches the roots are equal; for every rejection docs/batch-format.md lists, and for
 * random corruptions of valid data, the contract refuses exactly what the node's decoder refuses,
 * with the error of the same kind.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import { BaseError, ContractFunctionRevertedError, type Hex, bytesToHex, concatBytes, keccak256 } from "viem";
import { BatchFormatError, batchTxHashes, decodeBatchData, encodeBatchData } from "../../node/batching/format.js";
import { buildPositionalTree, merkleRoot } from "../../node/commitments/merkle.js";

const MAX_UINT64 = (1n << 64n) - 1n;

/** Which contract error each of the node decoder's rejections corresponds to. */
const KINDS: readonly [RegExp, string][] = [
  [/batch data is empty/, "EmptyBatchData"],
  [/version \d+ is not supported/, "UnsupportedBatchDataVersion"],
  [/overlong encoding/, "OverlongVarint"],
  [/exceeds 2\^53 - 1|longer than 8 bytes/, "VarintTooLarge"],
  [/truncated reading/, "TruncatedBatchData"],
  [/holds no transactions/, "NoTransactions"],
  [/cannot fit in/, "TransactionCountTooLarge"],
  [/the header covers/, "TransactionCountMismatch"],
  [/transaction \d+ is empty/, "EmptyTransaction"],
  [/trailing bytes/, "TrailingBatchData"],
];

/** What the node makes of `data` for a header of `positions` positions from `first`: a root, or the contract error its rejection matches. */
function nodeVerdict(data: Uint8Array, first: bigint, positions: number): { root: Hex } | { error: string } {
  let txs: Uint8Array[];
  try {
    txs = decodeBatchData(data, positions);
  } catch (error) {
    if (!(error instanceof BatchFormatError)) throw error;
    const kind = KINDS.find(([pattern]) => pattern.test(error.message));
    if (kind === undefined) throw new Error(`no contract error for the decoder's "${error.message}"`);
    return { error: kind[1] };
  }
  return { root: merkleRoot(buildPositionalTree(first, batchTxHashes(txs))) };
}

/** Canonical LEB128 of `n` (what encodeBatchData writes). */
function varint(n: bigint): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return Uint8Array.from(out);
}

describe("BatchData (S6): the inbox's decoder and root against the node's", function () {
  this.timeout(300_000);
  let harness: Awaited<ReturnType<typeof deploy>>;
  let close: () => Promise<void>;

  async function deploy() {
    const connection = await network.create();
    close = () => connection.close();
    return connection.viem.deployContract("BatchDataHarness");
  }

  before(async () => {
    harness = await deploy();
  });
  after(async () => {
    await close();
  });

  /** The contract's verdict: its root, or the name of the custom error it reverts with. */
  async function contractVerdict(data: Uint8Array, first: bigint, positions: number | bigint): Promise<{ root: Hex } | { error: string }> {
    try {
      return { root: await harness.read.positionalRoot([bytesToHex(data), first, BigInt(positions)]) };
    } catch (error) {
      const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName !== undefined) return { error: revert.data.errorName };
      throw error;
    }
  }

  async function expectSameVerdict(data: Uint8Array, first: bigint, positions: number): Promise<void> {
    const node = nodeVerdict(data, first, positions);
    expect(await contractVerdict(data, first, positions), `data ${bytesToHex(data).slice(0, 80)}, ${positions} positions from ${first}`).to.deep.equal(node);
  }

  const tx = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) },
    // Lengths of 128 bytes and more take a 2-byte varint, from 16,384 a 3-byte one.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 16_300, maxLength: 16_500 }) },
  );
  const batch = fc
    .array(tx, { minLength: 1, maxLength: 40 })
    .chain((txs) => fc.record({ txs: fc.constant(txs), first: fc.oneof(fc.bigInt(0n, 1n << 20n), fc.bigInt(0n, MAX_UINT64 - BigInt(txs.length) + 1n)) }));

  it("computes the node's root for random batches (positions up to 2^64 - 1, 1- to 3-byte lengths)", async () => {
    await fc.assert(
      fc.asyncProperty(batch, async ({ txs, first }) => {
        const data = encodeBatchData(txs);
        const expected = merkleRoot(buildPositionalTree(first, txs.map((t) => keccak256(t))));
        expect(await contractVerdict(data, first, txs.length)).to.deep.equal({ root: expected });
      }),
      { numRuns: 150 },
    );
  });

  it("computes the node's root for every tree shape up to 70 leaves and for 300 (a 2-byte count)", async () => {
    const txs = Array.from({ length: 300 }, (_, i) => varint(BigInt(i + 1) * 7919n));
    for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 127, 128, 129, 255, 256, 257, 300]) {
      const some = txs.slice(0, n);
      await expectSameVerdict(encodeBatchData(some), 1_000n, n);
      expect(nodeVerdict(encodeBatchData(some), 1_000n, n)).to.have.property("root");
    }
  });

  it("rejects every malformed payload docs/batch-format.md lists, with the node's reason", async () => {
    const good = encodeBatchData([Uint8Array.of(0xaa, 0xbb), Uint8Array.of(0xcc)]);
    const cases: [string, Uint8Array, number, string][] = [
      ["an empty payload", new Uint8Array(0), 1, "EmptyBatchData"],
      ["an unknown version", Uint8Array.of(2, 1, 1, 0xaa), 1, "UnsupportedBatchDataVersion"],
      ["a truncated count", Uint8Array.of(1, 0x80), 1, "TruncatedBatchData"],
      ["a truncated length", Uint8Array.of(1, 1, 0x80, 0x80), 1, "TruncatedBatchData"],
      ["a truncated transaction", Uint8Array.of(1, 1, 3, 0xaa, 0xbb), 1, "TruncatedBatchData"],
      ["a count of 0", Uint8Array.of(1, 0), 1, "NoTransactions"],
      ["a count that cannot fit", Uint8Array.of(1, 3, 1, 0xaa, 1), 3, "TransactionCountTooLarge"],
      ["an empty transaction", Uint8Array.of(1, 1, 0, 0xaa), 1, "EmptyTransaction"],
      ["an overlong count", Uint8Array.of(1, 0x81, 0x00, 1, 0xaa), 1, "OverlongVarint"],
      ["an overlong length", Uint8Array.of(1, 1, 0x81, 0x00, 0xaa), 1, "OverlongVarint"],
      ["a count above 2^53 - 1", concatBytes([Uint8Array.of(1), varint(1n << 53n), new Uint8Array(8)]), 1, "VarintTooLarge"],
      ["a varint longer than 8 bytes", Uint8Array.of(1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), 1, "VarintTooLarge"],
      ["trailing bytes", concatBytes([good, Uint8Array.of(0)]), 2, "TrailingBatchData"],
      ["fewer transactions than the header's positions", good, 3, "TransactionCountMismatch"],
      ["more transactions than the header's positions", good, 1, "TransactionCountMismatch"],
    ];
    for (const [what, data, positions, error] of cases) {
      expect(nodeVerdict(data, 0n, positions), what).to.deep.equal({ error });
      expect(await contractVerdict(data, 0n, positions), what).to.deep.equal({ error });
    }
  });

  it("refuses exactly what the node refuses for random corruptions of valid data, else agrees on the root", async () => {
    const corruption = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("append" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    );
    const small = fc.record({ txs: fc.array(fc.uint8Array({ minLength: 1, maxLength: 140 }), { minLength: 1, maxLength: 6 }), first: fc.bigInt(0n, 1n << 40n) });
    await fc.assert(
      fc.asyncProperty(small, fc.array(corruption, { minLength: 1, maxLength: 3 }), fc.integer({ min: -1, max: 1 }), async ({ txs, first }, corruptions, skew) => {
        let data = encodeBatchData(txs);
        for (const c of corruptions) {
          if (c.kind === "flip" && data.length > 0) data = Uint8Array.from(data, (b, i) => (i === c.at % data.length ? c.byte : b));
          if (c.kind === "cut") data = data.subarray(0, c.at % (data.length + 1));
          if (c.kind === "append") data = concatBytes([data, c.bytes]);
          if (c.kind === "insert") {
            const at = c.at % (data.length + 1);
            data = concatBytes([data.subarray(0, at), Uint8Array.of(c.byte), data.subarray(at)]);
          }
        }
        await expectSameVerdict(data, first, Math.max(1, txs.length + skew));
      }),
      { numRuns: 300 },
    );
  });
});
