/**
 * Durable storage for the Omni-Paxos core: FileStorage (a write-ahead log of StorageOp batches with
 * group commit, checkpoints and snapshot files), plus the core's MemoryStorage for ephemeral nodes.
 * See docs/storage.md.
 */
export {
  FileStorage,
  type FileStorageOptions,
  type FileStorageStats,
  type FsyncMode,
} from "./file_storage.ts";
export type { RecoveryReport } from "./recovery.ts";
export { type CorruptionReason, StorageCorruptionError, StorageLockedError } from "./errors.ts";
export { MemoryStorage } from "../omnipaxos/memory_storage.ts";
