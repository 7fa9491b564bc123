export * from "./merkle.js";
export * from "./typed-data.js";
export * from "./certificate.js";
export * from "./verify.js";
