/**
 * JSON-RPC 2.0 framing: parsing and validating request messages, building responses.
 * Transport-independent; the server feeds it HTTP bodies and WebSocket messages alike.
 */
import { INVALID_REQUEST, PARSE_ERROR, type RpcErrorObject } from "./errors.js";
import { bytesToHex } from "../codec/index.js";

export type JsonRpcId = string | number | null;

export interface JsonRpcRequest {
  readonly method: string;
  /** Absent (undefined) for a notification: it gets no response. */
  readonly id: JsonRpcId | undefined;
  /** `undefined` when the request had no `params` member; otherwise an array or an object. */
  readonly params: unknown;
}

/** One element of a message: a valid request, or the error response it earns. */
export type RequestItem =
  | { readonly ok: true; readonly request: JsonRpcRequest }
  | { readonly ok: false; readonly id: JsonRpcId; readonly error: RpcErrorObject };

export type ParsedMessage =
  | { readonly kind: "single"; readonly item: RequestItem }
  | { readonly kind: "batch"; readonly items: readonly RequestItem[] }
  /** The whole message is rejected with one error response (parse error, empty or oversized batch). */
  | { readonly kind: "rejected"; readonly error: RpcErrorObject };

export function parseMessage(text: string, maxBatchLength: number): ParsedMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: "rejected", error: { code: PARSE_ERROR, message: `parse error: ${(error as Error).message}` } };
  }
  if (!Array.isArray(value)) return { kind: "single", item: validateRequest(value) };
  if (value.length === 0) return { kind: "rejected", error: { code: INVALID_REQUEST, message: "invalid request: empty batch" } };
  if (value.length > maxBatchLength) {
    return {
      kind: "rejected",
      error: { code: INVALID_REQUEST, message: `invalid request: batch of ${value.length} exceeds the limit of ${maxBatchLength}` },
    };
  }
  return { kind: "batch", items: value.map(validateRequest) };
}

export function validateRequest(value: unknown): RequestItem {
  // Echo the id when it can be read, so a client can match the error to its call; null otherwise (spec).
  const invalid = (why: string): RequestItem => ({ ok: false, id: idOf(value), error: { code: INVALID_REQUEST, message: `invalid request: ${why}` } });
  if (value === null || typeof value !== "object" || Array.isArray(value)) return invalid("expected a JSON-RPC request object");
  const request = value as Record<string, unknown>;
  if (request.jsonrpc !== "2.0") return invalid('"jsonrpc" must be "2.0"');
  const { id, method, params } = request;
  const hasId = Object.hasOwn(request, "id");
  if (hasId && id !== null && typeof id !== "string" && !(typeof id === "number" && Number.isFinite(id))) {
    return invalid('"id" must be a string, a number or null');
  }
  if (typeof method !== "string" || method === "") return invalid('"method" must be a non-empty string');
  if (Object.hasOwn(request, "params") && (params === null || typeof params !== "object")) {
    return invalid('"params" must be an array or an object');
  }
  return { ok: true, request: { method, id: hasId ? (id as JsonRpcId) : undefined, params } };
}

function idOf(value: unknown): JsonRpcId {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const id = (value as Record<string, unknown>).id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

/**
 * JSON with the Ethereum conventions for values JSON lacks: bigint becomes a hex
 * quantity (`0x1a`), bytes become hex data. Throws on what cannot be serialized
 * (cycles); the server turns that into an internal error.
 */
export function toJson(value: unknown): string {
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key, replaced: unknown) {
    // `this[key]` is the value before toJSON ran: Buffers would otherwise arrive as {type, data}.
    const original = this[key];
    if (original instanceof Uint8Array) return bytesToHex(original);
    if (typeof replaced === "bigint") return replaced < 0n ? `-0x${(-replaced).toString(16)}` : `0x${replaced.toString(16)}`;
    return replaced;
  });
  // JSON.stringify(undefined) is undefined: a handler returning nothing answers null.
  return json ?? "null";
}

export function successResponse(id: JsonRpcId, resultJson: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${resultJson}}`;
}

export function errorResponse(id: JsonRpcId, error: RpcErrorObject): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${toJson(error)}}`;
}

export function notification(method: string, paramsJson: string): string {
  return `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${paramsJson}}`;
}
