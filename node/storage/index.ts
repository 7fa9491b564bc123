export { NodeStore, type PersistRequest, type StoreStatus } from "./store.js";
export { ConflictingBatchHeaderError, StorageClosedError, StorageCorruptionError, StorageInvariantError } from "./errors.js";
export type { AppliedState, BatchPostedMark, CommittedTx, Hex, SignedBatchHeader, StoredBatch, StoredBatchHeader, StoredCertificate, TxLocation } from "./types.js";
export { sameBatchContent, sameBatchHeader } from "./types.js";
