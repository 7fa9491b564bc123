export { NodeStore, type PersistRequest, type StoreStatus } from "./store.js";
export { ConflictingBatchHeaderError, StorageClosedError, StorageCorruptionError, StorageError, StorageInvariantError } from "./errors.js";
