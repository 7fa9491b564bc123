export * from "./errors.js";
export * from "./curve.js";
export * from "./ibe.js";
export * from "./units.js";
