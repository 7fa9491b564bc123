/**
 * JSON-RPC error codes and the typed error handlers throw.
 *
 * Standard codes come from the JSON-RPC 2.0 spec. Application codes sit in the
 * server-error range (-32000..-32099), reusing EIP-1474's meaning where one exists so
 * Ethereum tooling reads them sensibly. Every application error carries
 * `data.retryable`: clients retry (ideally with backoff, or against another node) only
 * when it is true.
 */
import { BaseError } from "../errors/index.js";

/** The JSON-RPC layer failed: an error answer, a client call, or the server itself. */
export class RpcLayerError extends BaseError {
  override readonly name: string = "RpcLayerError";
}


/** Malformed JSON: the body or WebSocket message could not be parsed. */
export const PARSE_ERROR = -32700;
/** Not a valid JSON-RPC 2.0 request object (or an empty / oversized batch, or an oversized body). */
export const INVALID_REQUEST = -32600;
/** No such method, or it is not available on this transport (subscriptions over HTTP). */
export const METHOD_NOT_FOUND = -32601;
/** The method exists but its params failed validation; the message says which and why. */
export const INVALID_PARAMS = -32602;
/** A bug or unexpected failure inside the node. Details are logged, never sent to the client. */
export const INTERNAL_ERROR = -32603;

/**
 * No leader is known right now (election in progress, this node is cut off from a majority,
 * or forwarding to the leader failed). The transaction is not known to be sequenced, but a
 * leader that lost its term after appending it may still see it committed by its successor:
 * resubmit (shortly, or to another node) and the answer is either a new position or the
 * existing commitment, never a second position. Retryable.
 */
export const NO_LEADER = -32002;
/**
 * The transaction was refused and will be refused again as is: undecodable, bad
 * signature, wrong chain id, unsupported type. `message` says which. Not retryable.
 * (EIP-1474 "transaction rejected".)
 */
export const TX_REJECTED = -32003;
/**
 * The call did not finish within the server's request timeout. It may still take
 * effect (a submitted transaction may yet be committed): retry is safe because
 * resubmission is idempotent. Retryable.
 */
export const TIMEOUT = -32010;
/** The requested object (transaction, commitment, batch, subscription) does not exist here. Not retryable. */
export const NOT_FOUND = -32001;
/**
 * A server limit was hit (concurrent requests, subscriptions per connection, slow
 * subscriber cut off). Nothing was done: back off and retry. Retryable. (EIP-1474 "limit exceeded".)
 */
export const OVERLOADED = -32005;
/** The node is shutting down and takes no new work. Retry against another node. Retryable. */
export const SHUTTING_DOWN = -32011;

const RETRYABLE: ReadonlySet<number> = new Set([NO_LEADER, TIMEOUT, OVERLOADED, SHUTTING_DOWN]);
const APPLICATION: ReadonlySet<number> = new Set([NO_LEADER, TX_REJECTED, TIMEOUT, NOT_FOUND, OVERLOADED, SHUTTING_DOWN]);

/** Every code this server answers with (its error counter starts each at 0, so rates see the first one). */
export const ERROR_CODES: readonly number[] = [PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR, ...APPLICATION];

/** Whether clients should retry a call that failed with `code`. */
export function isRetryable(code: number): boolean {
  return RETRYABLE.has(code);
}

/** The JSON-RPC error object as it goes on the wire. */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/**
 * An error a method handler (or params validator) throws to answer with a specific
 * JSON-RPC error. Its message and data are sent to the client verbatim, so they must
 * not contain secrets. Any other thrown error becomes INTERNAL_ERROR with a generic message.
 *
 * For application codes `data` always carries `retryable` (from the code unless the
 * thrower sets it), merged into the given data object; non-object data goes under `detail`.
 */
export class RpcError extends RpcLayerError {
  override readonly name: string = "RpcError";
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    if (!Number.isInteger(code)) throw new TypeError(`JSON-RPC error code must be an integer, got ${code}`);
    this.code = code;
    this.data = APPLICATION.has(code) ? withRetryable(code, data) : data;
  }

  toJSON(): RpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/** Thrown by params validators: the message says which parameter is wrong and why. */
export class InvalidParamsError extends RpcError {
  override readonly name = "InvalidParamsError";
  constructor(message: string, data?: unknown) {
    super(INVALID_PARAMS, message, data);
  }
}

function withRetryable(code: number, data: unknown): unknown {
  if (data === undefined) return { retryable: isRetryable(code) };
  if (data !== null && typeof data === "object" && !Array.isArray(data)) return { retryable: isRetryable(code), ...data };
  return { retryable: isRetryable(code), detail: data };
}
