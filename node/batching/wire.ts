/**
 * Payloads of the `batchSignature` request (node/codec/rpc.ts RpcKind): the leader sends the
 * header it wants signed, the member answers its 65-byte EIP-712 signature (the answer of the
 * `certificateSignature` request too).
 */
import type { Hex } from "viem";
import { Reader, Writer, bytesToHex } from "../codec/index.js";
import type { StoredBatchHeader } from "../domain/index.js";
import { readHeaderFields, writeHeaderFields } from "../domain/types.js";

export function encodeSignatureRequest(header: StoredBatchHeader): Uint8Array {
  const w = new Writer(160);
  writeHeaderFields(w, header);
  return w.finish();
}

/** @throws CodecError for a payload that is not exactly one header */
export function decodeSignatureRequest(payload: Uint8Array): StoredBatchHeader {
  const r = new Reader(payload, "batch signature request");
  const header = readHeaderFields(r);
  r.end();
  return header;
}

export function encodeSignatureResponse(signature: Hex): Uint8Array {
  const w = new Writer(65);
  w.hex(signature, 65, "signature");
  return w.finish();
}

/** @throws CodecError for a payload that is not exactly 65 bytes */
export function decodeSignatureResponse(payload: Uint8Array): Hex {
  const r = new Reader(payload, "signature response");
  const signature = bytesToHex(r.raw(65, "signature"));
  r.end();
  return signature;
}
