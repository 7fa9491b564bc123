export { NodeStore, type PersistRequest, type StoreStatus } from "./store.js";
export { ConflictingBatchHeaderError, StorageClosedError, StorageCorruptionError, StorageInvariantError } from "./errors.js";
