/** Public surface of the RPC layer: the server, the method-registration API and the error codes. */
export * from "./errors.js";
export { defineMethod, noParams, positionalParams, subscriptionMethods } from "./methods.js";
export type { RpcContext, RpcMethod, RpcMethods, SubscribeOptions, Transport } from "./methods.js";
export { toJson } from "./protocol.js";
export { createRpcServer, DEFAULT_LIMITS, RpcServerListenError } from "./server.js";
export type { CorsOptions, ExtraRoutes, HealthReport, RpcLimits, RpcServer, RpcServerOptions, RpcServerStats, StaticFile } from "./server.js";
