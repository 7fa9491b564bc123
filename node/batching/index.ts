export * from "./format.js";
export * from "./header.js";
export * from "./errors.js";
export * from "./wire.js";
export { BatchService, type BatchServiceOptions, type BatchStatus } from "./service.js";
export type { ForcedStatus } from "./forced.js";
export type { BatchLimits } from "./leader.js";
export type { BatchEpochView, BatchPoster } from "./poster.js";
export * from "./compression.js";
