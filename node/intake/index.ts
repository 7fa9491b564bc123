export * from "./errors.js";
export {
  decodeTransaction,
  decodeTransactions,
  type DecodeOptions,
  type DecodeResult,
  type DecodedTransaction,
  type TransactionType,
} from "./decode.js";
export {
  getDefaultBackend,
  loadNativeBackend,
  nobleBackend,
  publicKeyToAddress,
  recoverSignerAddress,
  selectRecoveryBackend,
  type RecoveryBackend,
} from "./recover.js";
export {
  DecodePool,
  DecodePoolClosedError,
  DecodeWorkerError,
  recoverSenders,
  type DecodePoolOptions,
} from "./pool.js";
