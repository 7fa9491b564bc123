export * from "./merkle.js";
export * from "./typed-data.js";
export * from "./certificate.js";
export * from "./verify.js";
export * from "./quorum.js";
export * from "./quorum-commitment.js";
