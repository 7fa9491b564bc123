export * from "./evidence.js";
export * from "./slashing.js";
export * from "./state.js";
export * from "./watchtower.js";
export * from "./commitment-check.js";
