export type { AppliedState, BatchPostedMark, CommittedTx, Hex, SignedBatchHeader, StoredBatch, StoredBatchHeader, StoredCertificate, TxLocation } from "./types.js";
export { sameBatchContent, sameBatchHeader } from "./types.js";
export { decodeAppRecord, encodeAppRecord, type AppRecord, type BatchPostedRecord } from "./records.js";
export { MAX_RANGE } from "./api.js";
