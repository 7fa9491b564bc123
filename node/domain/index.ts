export type { AppliedState, BatchPostedMark, CommittedTx, Hex, SignedBatchHeader, StoredBatch, StoredBatchHeader, StoredCertificate, StoredQuorumCertificate, TxLocation } from "./types.js";
export { sameBatchContent, sameBatchHeader } from "./types.js";
export { appRecordsOf, decodeAppRecord, encodeAppRecord, type AppRecord, type AppliedRecord, type BatchPostedRecord } from "./records.js";
export { MAX_RANGE } from "./api.js";
