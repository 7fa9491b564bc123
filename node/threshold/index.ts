export * from "./errors.js";
export * from "./curve.js";
export * from "./ibe.js";
export * from "./units.js";
export * from "./shares.js";
export * from "./dkg-messages.js";
export * from "./dkg.js";
