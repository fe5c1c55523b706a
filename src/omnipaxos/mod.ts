/**
 * The Omni-Paxos consensus core: Sequence Paxos + Ballot Leader Election as a pure state machine.
 * Other layers (network, storage, node) drive exactly this API. See docs/protocol.md.
 */
export { OmniPaxos, type OmniPaxosStatus } from "./omnipaxos.ts";
export type { OmniPaxosConfig, Snapshotter } from "./config.ts";
export { type Ballot, ballotEq, compareBallots, NO_BALLOT } from "./ballot.ts";
export type { DurabilityMark, LogSync, NodeId, SequenceNumber, SnapshotData, StopSign } from "./types.ts";
export type { LogEntry } from "./log_entry.ts";
export type { ReadConfirmation } from "./read_confirm.ts";
export { isBleMessage, MESSAGE_TYPES } from "./messages.ts";
export type * from "./messages.ts";
export { continueLogOps, type Storage, type StorageOp } from "./storage.ts";
export { MemoryStorage } from "./memory_storage.ts";
export {
  BufferFullError,
  CompactionError,
  ConfigError,
  NotLeaderError,
  OmniPaxosError,
  PendingReconfigError,
  StorageError,
} from "./errors.ts";
export type { PaxosCounters, Phase, Role } from "./sequence_paxos.ts";
