export type { AppliedState, BatchPostedMark, CommittedTx, Hex, SignedBatchHeader, StoredBatch, StoredBatchHeader, StoredCertificate, StoredQuorumCertificate, TxLocation } from "./types.js";
export { sameBatchContent, sameBatchHeader } from "./types.js";
export { appRecordsOf, decodeAppRecord, encodeAppRecord, type AppRecord, type AppliedRecord, type BatchPostedRecord, MAX_KEY_RELEASE_BYTES } from "./records.js";
export { MAX_RANGE } from "./api.js";
export { POSITION_TAG, SLOT_KEY_BYTES, decodePositionRecord, encodePositionRecord, isPositionRecord, type PositionRecord, type SlotRef } from "./positions.js";
