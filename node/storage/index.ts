export { NodeStore, type PersistRequest, type StoreStatus } from "./store.js";
export { ConflictingBatchHeaderError, StorageClosedError, StorageCorruptionError, StorageInvariantError } from "./errors.js";
export type { AppliedState, CommittedTx, Hex, SignedBatchHeader, StoredCertificate, TxLocation } from "./types.js";
