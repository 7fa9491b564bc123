export { Transport, RAFT_PROTOCOL, RPC_PROTOCOL } from "./transport.js";
export type { MessageHandler, RemotePeer, RequestHandler, TransportLogger, TransportOptions, TransportStats } from "./transport.js";
export { FaultInjector } from "./faults.js";
export { generatePeerKey, loadOrCreatePeerKey, loadPeerKey, peerIdOf, savePeerKey } from "./keys.js";
export { PeerKeyFileError, PeerNotAllowedError, RpcFailedError, RpcRemoteError, RpcTimeoutError, TransportStoppedError } from "./errors.js";
