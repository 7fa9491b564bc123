export * from "./format.js";
export * from "./header.js";
export * from "./errors.js";
export * from "./wire.js";
export { BatchService, type BatchEpochView, type BatchLimits, type BatchServiceOptions, type BatchStatus } from "./service.js";
