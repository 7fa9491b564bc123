/**
 * Envelopes of the node's request/response protocol (`/seq/rpc/1.0.0`): one request frame and
 * one response frame per stream. Payloads are opaque to the transport; the forwarded-submission
 * payloads are defined here too because both ends of the forwarding need the same layout.
 */
import { Reader, Writer } from "./bytes.js";
import { CodecError } from "./errors.js";

export const RPC_CODEC_VERSION = 1;
export const RPC_MAX_PAYLOAD_BYTES = 16 * 1_048_576;
const MAX_ERROR_MESSAGE_BYTES = 4_096;

export type RpcKind = "submit" | "batchSignature" | "history" | "certificateSignature" | "dkgShares" | "dkgMessage" | "epochKeySignature" | "censorshipReport" | "keyRelease";
/** Wire tags are list positions: append new kinds, never reorder. */
export const RPC_KINDS: readonly RpcKind[] = ["submit", "batchSignature", "history", "certificateSignature", "dkgShares", "dkgMessage", "epochKeySignature", "censorshipReport", "keyRelease"];

/**
 * Why a request produced no payload: busy (per-peer concurrency limit), unsupported (no handler
 * for the kind), malformed (undecodable request), handler-failed (the handler threw).
 */
export type RpcErrorCode = "busy" | "unsupported" | "malformed" | "handler-failed";
const RPC_ERROR_CODES: readonly RpcErrorCode[] = ["busy", "unsupported", "malformed", "handler-failed"];

export interface RpcRequest {
  readonly kind: RpcKind;
  readonly payload: Uint8Array;
}

export type RpcResponse =
  | { readonly ok: true; readonly payload: Uint8Array }
  | { readonly ok: false; readonly code: RpcErrorCode; readonly message: string };

function tagOf<T>(list: readonly T[], value: T, what: string): number {
  const i = list.indexOf(value);
  if (i < 0) throw new CodecError(`unknown ${what} ${JSON.stringify(value)}`);
  return i;
}

function valueOf<T>(list: readonly T[], tag: number, what: string): T {
  const v = list[tag];
  if (v === undefined) throw new CodecError(`unknown ${what} tag ${tag}`);
  return v;
}

function readVersion(r: Reader, what: string): void {
  const v = r.u8(`${what} version`);
  if (v !== RPC_CODEC_VERSION) throw new CodecError(`unsupported ${what} codec version ${v}`);
}

export function encodeRpcRequest(req: RpcRequest): Uint8Array {
  const w = new Writer(16 + req.payload.length);
  w.u8(RPC_CODEC_VERSION);
  w.u8(tagOf(RPC_KINDS, req.kind, "rpc kind"));
  w.bytes(req.payload, RPC_MAX_PAYLOAD_BYTES, "rpc request payload");
  return w.finish();
}

export function decodeRpcRequest(bytes: Uint8Array): RpcRequest {
  const r = new Reader(bytes, "rpc request");
  readVersion(r, "rpc request");
  const kind = valueOf(RPC_KINDS, r.u8("rpc kind"), "rpc kind");
  const payload = r.bytes(RPC_MAX_PAYLOAD_BYTES, "rpc request payload");
  r.end();
  return { kind, payload };
}

export function encodeRpcResponse(res: RpcResponse): Uint8Array {
  const w = new Writer(res.ok ? 16 + res.payload.length : 64);
  w.u8(RPC_CODEC_VERSION);
  w.bool(res.ok);
  if (res.ok) {
    w.bytes(res.payload, RPC_MAX_PAYLOAD_BYTES, "rpc response payload");
  } else {
    w.u8(tagOf(RPC_ERROR_CODES, res.code, "rpc error code"));
    w.string(res.message.slice(0, MAX_ERROR_MESSAGE_BYTES / 4), MAX_ERROR_MESSAGE_BYTES, "rpc error message");
  }
  return w.finish();
}

export function decodeRpcResponse(bytes: Uint8Array): RpcResponse {
  const r = new Reader(bytes, "rpc response");
  readVersion(r, "rpc response");
  let res: RpcResponse;
  if (r.bool("rpc ok flag")) {
    res = { ok: true, payload: r.bytes(RPC_MAX_PAYLOAD_BYTES, "rpc response payload") };
  } else {
    const code = valueOf(RPC_ERROR_CODES, r.u8("rpc error code"), "rpc error code");
    res = { ok: false, code, message: r.string(MAX_ERROR_MESSAGE_BYTES, "rpc error message") };
  }
  r.end();
  return res;
}

// ---------------------------------------------------------------- forwarded submissions

/** A raw signed EIP-2718 transaction forwarded by a follower to the leader. */
export interface SubmitRequest {
  readonly rawTx: Uint8Array;
}

/**
 * Why the leader did not sequence a forwarded transaction, so the follower can answer its user
 * exactly as the leader would. Wire tags are list positions: append new ones, never reorder.
 */
export type SubmitFailure = "rejected" | "no-leader" | "timeout" | "overloaded" | "shutting-down";
export const SUBMIT_FAILURES: readonly SubmitFailure[] = ["rejected", "no-leader", "timeout", "overloaded", "shutting-down"];

/** The leader's answer: an opaque result (the encoded order commitment), or why it failed. */
export type SubmitResponse =
  | { readonly ok: true; readonly result: Uint8Array }
  | { readonly ok: false; readonly failure: SubmitFailure; readonly message: string; readonly reason?: string };

export function encodeSubmitRequest(req: SubmitRequest): Uint8Array {
  const w = new Writer(8 + req.rawTx.length);
  w.bytes(req.rawTx, RPC_MAX_PAYLOAD_BYTES, "submitted tx");
  return w.finish();
}

export function decodeSubmitRequest(bytes: Uint8Array): SubmitRequest {
  const r = new Reader(bytes, "submit request");
  const rawTx = r.bytes(RPC_MAX_PAYLOAD_BYTES, "submitted tx");
  r.end();
  return { rawTx };
}

export function encodeSubmitResponse(res: SubmitResponse): Uint8Array {
  const w = new Writer(res.ok ? 8 + res.result.length : 64);
  w.bool(res.ok);
  if (res.ok) {
    w.bytes(res.result, RPC_MAX_PAYLOAD_BYTES, "submit result");
  } else {
    w.u8(tagOf(SUBMIT_FAILURES, res.failure, "submit failure"));
    w.string(res.message.slice(0, MAX_ERROR_MESSAGE_BYTES / 4), MAX_ERROR_MESSAGE_BYTES, "submit error message");
    w.string((res.reason ?? "").slice(0, 64), 256, "submit failure reason");
  }
  return w.finish();
}

export function decodeSubmitResponse(bytes: Uint8Array): SubmitResponse {
  const r = new Reader(bytes, "submit response");
  let res: SubmitResponse;
  if (r.bool("submit ok flag")) {
    res = { ok: true, result: r.bytes(RPC_MAX_PAYLOAD_BYTES, "submit result") };
  } else {
    const failure = valueOf(SUBMIT_FAILURES, r.u8("submit failure"), "submit failure");
    const message = r.string(MAX_ERROR_MESSAGE_BYTES, "submit error message");
    const reason = r.string(256, "submit failure reason");
    res = reason === "" ? { ok: false, failure, message } : { ok: false, failure, message, reason };
  }
  r.end();
  return res;
}
