/**
 * Batch data format v2 (docs/batch-format.md): v1 data compressed with brotli from Node's own
 * zlib.
 *
 *   byte 0          version (0x02)
 *   varint          length of the v1 data it holds (at most MAX_UNCOMPRESSED_BYTES)
 *   rest            brotli(v1 data), quality 5, window 2^20 bytes, generic mode
 *
 * Every member recomputes `dataHash` from its own log, so the compressed bytes must be a pure
 * function of the v1 bytes: the encoder's parameters are pinned here (never the library's
 * defaults, which may change), and the Node version is pinned by the project (the brotli encoder
 * ships inside Node). Decoding is bounded: a payload that claims or inflates to more than
 * MAX_UNCOMPRESSED_BYTES is refused before it is expanded.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import { CodecError, Reader, Writer } from "../codec/index.js";
import { BATCH_FORMAT_VERSION, BatchFormatError, decodeBatchData } from "./format.js";

export const BATCH_FORMAT_COMPRESSED = 2;

/** The most v1 bytes a v2 payload may hold: 4 MiB, well above any batch an L1 transaction (or six blobs) carries. */
export const MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024;

/** The pinned encoder: changing any of these changes every v2 dataHash. */
const BROTLI_PARAMS = {
  [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_GENERIC,
  [constants.BROTLI_PARAM_QUALITY]: 5,
  [constants.BROTLI_PARAM_LGWIN]: 20,
};

/**
 * v2 data holding the v1 data `v1`.
 * @throws BatchFormatError when `v1` is not v1 data or is larger than MAX_UNCOMPRESSED_BYTES
 */
export function compressBatchData(v1: Uint8Array): Uint8Array {
  if (v1[0] !== BATCH_FORMAT_VERSION) throw new BatchFormatError("only v1 batch data is compressed");
  if (v1.length > MAX_UNCOMPRESSED_BYTES) throw new BatchFormatError(`batch data of ${v1.length} bytes is over the ${MAX_UNCOMPRESSED_BYTES}-byte limit of format v2`);
  const compressed = brotliCompressSync(v1, { params: BROTLI_PARAMS });
  const w = new Writer(compressed.length + 6);
  w.u8(BATCH_FORMAT_COMPRESSED);
  w.varint(v1.length, "uncompressed length");
  w.raw(compressed);
  return w.finish();
}

/**
 * The v1 data a v2 payload holds.
 * @throws BatchFormatError for a truncated header, a length over MAX_UNCOMPRESSED_BYTES, a
 *   stream that does not decompress, or one whose output differs from the stated length
 */
export function decompressBatchData(v2: Uint8Array): Uint8Array {
  const r = new Reader(v2, "compressed batch data");
  let length: number;
  try {
    if (r.u8("version") !== BATCH_FORMAT_COMPRESSED) throw new BatchFormatError(`batch data version ${v2[0]} is not the compressed format ${BATCH_FORMAT_COMPRESSED}`);
    length = r.varint("uncompressed length");
  } catch (cause) {
    if (cause instanceof CodecError) throw new BatchFormatError(`malformed compressed batch data: ${cause.message}`, { cause });
    throw cause;
  }
  if (length > MAX_UNCOMPRESSED_BYTES) throw new BatchFormatError(`compressed batch data claims ${length} bytes, over the ${MAX_UNCOMPRESSED_BYTES}-byte limit`);
  let out: Buffer;
  try {
    // One byte more than stated, so that a stream inflating past its stated length is caught without expanding it further.
    out = brotliDecompressSync(r.raw(r.remaining, "compressed stream"), { maxOutputLength: length + 1 });
  } catch (cause) {
    throw new BatchFormatError(`compressed batch data does not decompress within its stated ${length} bytes: ${(cause as Error).message}`, { cause });
  }
  if (out.length !== length) throw new BatchFormatError(`compressed batch data inflates to ${out.length} bytes, it states ${length}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * The transactions of a batch payload, format v1 or v2 (what a blob carries, or calldata).
 * @param expectedCount when given, the header's `lastPosition - firstPosition + 1`
 * @throws BatchFormatError as decodeBatchData and decompressBatchData do
 */
export function decodeBatchPayload(payload: Uint8Array, expectedCount?: number): Uint8Array[] {
  return decodeBatchData(payload[0] === BATCH_FORMAT_COMPRESSED ? decompressBatchData(payload) : payload, expectedCount);
}
