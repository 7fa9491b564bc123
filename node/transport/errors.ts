import type { RpcErrorCode } from "../codec/index.js";
import { BaseError } from "../errors/index.js";

/** The libp2p transport could not deliver, reach or trust a peer. */
export class TransportError extends BaseError {
  override readonly name: string = "TransportError";
}

/** The peer is not in the allowed set: nothing is sent to or accepted from it. */
export class PeerNotAllowedError extends TransportError {
  override readonly name = "PeerNotAllowedError";
  constructor(readonly peerId: string) {
    super(`peer ${peerId} is not in the allowed set`);
  }
}

/** A request got no response within its deadline (dial, send and response included). */
export class RpcTimeoutError extends TransportError {
  override readonly name = "RpcTimeoutError";
  constructor(
    readonly peerId: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`request to ${peerId} timed out after ${timeoutMs} ms`, options);
  }
}

/** The request could not be carried out: dial failure, stream reset, malformed response. */
export class RpcFailedError extends TransportError {
  override readonly name = "RpcFailedError";
  constructor(
    readonly peerId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`request to ${peerId} failed: ${reason}`, options);
  }
}

/** The remote answered with an error envelope (busy, unsupported, malformed, handler-failed). */
export class RpcRemoteError extends TransportError {
  override readonly name = "RpcRemoteError";
  constructor(
    readonly peerId: string,
    readonly code: RpcErrorCode,
    readonly remoteMessage: string,
  ) {
    super(`peer ${peerId} answered ${code}: ${remoteMessage}`);
  }
}

export class TransportStoppedError extends TransportError {
  override readonly name = "TransportStoppedError";
  constructor() {
    super("the transport is stopped");
  }
}

/** A peer key file that is missing, unreadable, of the wrong type or readable by others. */
export class PeerKeyFileError extends TransportError {
  override readonly name = "PeerKeyFileError";
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`peer key file ${path}: ${reason}`, options);
  }
}
