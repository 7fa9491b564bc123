export * from "./errors.js";
export { ADMISSION_BUDGETS, Admission, type AdmissionBudgets, type AdmissionKind, type AdmissionRefusal, type RateBudget } from "./admission.js";
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
export { decryptTransactions, type SlotKeyWire } from "./decrypt.js";
