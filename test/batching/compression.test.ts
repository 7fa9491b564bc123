/** Batch data format v2 (brotli): deterministic across processes, bounded when decoded, smaller than v1 on real traffic. */
import { expect } from "chai";
import fc from "fast-check";
import { brotliCompressSync } from "node:zlib";
import { encodeFunctionData, erc20Abi, keccak256, parseGwei, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { BatchFormatError, encodeBatchData } from "../../node/batching/index.js";
import { BATCH_FORMAT_COMPRESSED, MAX_UNCOMPRESSED_BYTES, compressBatchData, decodeBatchPayload, decompressBatchData } from "../../node/batching/compression.js";
import { Writer } from "../../node/codec/index.js";
import { runChild } from "../../scripts/lib/processes.js";

/** A fixed batch: 40 transactions whose bytes follow from their index (compressible and not). */
function fixedBatch(): Uint8Array[] {
  return Array.from({ length: 40 }, (_, i) => {
    const tx = new Uint8Array(120 + i);
    for (let j = 0; j < tx.length; j++) tx[j] = j < 60 ? (i * 31 + j * 7) & 0xff : j % 3;
    return tx;
  });
}

/** ERC-20 transfers signed by 8 senders, as a rollup's users send them. */
async function erc20Transfers(count: number): Promise<Uint8Array[]> {
  const senders = Array.from({ length: 8 }, (_, i) => privateKeyToAccount(keccak256(toHex(`sender ${i}`))));
  const token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const to = privateKeyToAccount(keccak256(toHex(`recipient ${i}`))).address;
    const signed = await senders[i % senders.length]!.signTransaction({
      type: "eip1559",
      chainId: 901,
      nonce: Math.floor(i / senders.length),
      to: token,
      gas: 65_000n,
      maxFeePerGas: parseGwei("2"),
      maxPriorityFeePerGas: parseGwei("0.1"),
      data: encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [to, BigInt(1 + i) * 10n ** 15n] }),
    });
    out.push(Buffer.from(signed.slice(2), "hex"));
  }
  return out;
}

/** A v2 header (version, stated length) in front of `stream`. */
function withHeader(statedLength: number, stream: Uint8Array): Uint8Array {
  const w = new Writer(stream.length + 8);
  w.u8(BATCH_FORMAT_COMPRESSED);
  w.varint(statedLength, "length");
  w.raw(stream);
  return w.finish();
}

describe("batch data format v2 (compressed)", () => {
  it("round-trips every batch: decodeBatchPayload gives the transactions of v1 and of v2 alike", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 30 }), (txs) => {
        const v1 = encodeBatchData(txs);
        const v2 = compressBatchData(v1);
        expect(v2[0]).to.equal(BATCH_FORMAT_COMPRESSED);
        expect(decompressBatchData(v2)).to.deep.equal(v1);
        expect(decodeBatchPayload(v2, txs.length)).to.deep.equal(txs);
        expect(decodeBatchPayload(v1, txs.length)).to.deep.equal(txs);
      }),
      { numRuns: 60 },
    );
  });

  it("is deterministic: another process (a restarted member) computes the same bytes, and they match the pinned hash", async () => {
    const here = keccak256(compressBatchData(encodeBatchData(fixedBatch())));
    const script = [
      'import { encodeBatchData } from "./node/batching/format.ts";',
      'import { compressBatchData } from "./node/batching/compression.ts";',
      'import { keccak256 } from "viem";',
      `const txs = (${fixedBatch.toString()})();`,
      "console.log(keccak256(compressBatchData(encodeBatchData(txs))));",
    ].join("\n");
    const child = await runChild(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeoutMs: 60_000 });
    expect(child.code, child.stderr).to.equal(0);
    expect(child.stdout.trim()).to.equal(here);
    // Pinned: a change of the encoder's parameters (or of the brotli inside Node) changes every
    // v2 dataHash, and members on either side of it would refuse each other's cuts.
    expect(here).to.equal(PINNED_V2_HASH);
  });

  it("refuses a payload that claims more than 4 MiB, or inflates past the length it states, before expanding it", () => {
    const big = withHeader(MAX_UNCOMPRESSED_BYTES + 1, brotliCompressSync(new Uint8Array(10)));
    expect(() => decompressBatchData(big)).to.throw(BatchFormatError, /claims 4194305 bytes, over the 4194304-byte limit/);
    // A bomb: 16 MiB of zeros in a few kilobytes, stating 1,000 bytes.
    const bomb = withHeader(1_000, brotliCompressSync(new Uint8Array(16 * 1024 * 1024)));
    expect(bomb.length).to.be.below(100_000);
    expect(() => decompressBatchData(bomb)).to.throw(BatchFormatError, /does not decompress within its stated 1000 bytes/);
    const v1 = encodeBatchData(fixedBatch());
    const short = withHeader(v1.length + 5, brotliCompressSync(v1));
    expect(() => decompressBatchData(short)).to.throw(BatchFormatError, new RegExp(`inflates to ${v1.length} bytes, it states ${v1.length + 5}`));
    expect(() => compressBatchData(new Uint8Array(MAX_UNCOMPRESSED_BYTES + 1).fill(1))).to.throw(BatchFormatError, /over the 4194304-byte limit/);
  });

  it("refuses truncated or corrupt payloads with a BatchFormatError", () => {
    const v2 = compressBatchData(encodeBatchData(fixedBatch()));
    expect(() => decompressBatchData(Uint8Array.of(BATCH_FORMAT_COMPRESSED))).to.throw(BatchFormatError, /malformed compressed batch data/);
    expect(() => decompressBatchData(v2.subarray(0, v2.length - 10))).to.throw(BatchFormatError, /does not decompress/);
    const flipped = v2.slice();
    flipped[flipped.length >> 1]! ^= 0xff;
    expect(() => decodeBatchPayload(flipped)).to.throw(BatchFormatError);
    expect(() => decompressBatchData(encodeBatchData(fixedBatch()))).to.throw(BatchFormatError, /not the compressed format/);
  });

  it("makes signed ERC-20 transfers smaller (their signatures do not compress)", async () => {
    const v1 = encodeBatchData(await erc20Transfers(300));
    const ratio = v1.length / compressBatchData(v1).length;
    // Measured 1.8x here; signatures (65 of ~110 bytes of a transfer) are incompressible, so it can never reach 2.5x.
    expect(ratio).to.be.above(1.3).and.below(2.5);
  });
});

const PINNED_V2_HASH = "0x46e0dc107b78889deec8da2eb6a4c0517795536b373c1e340f2e1f3a27f573a6";
