/** Typed errors of the consensus core: callers branch on the class, never on message text. */
import type { NodeId } from "./types.ts";

export class OmniPaxosError extends Error {
  override name = "OmniPaxosError";
}

/** The configuration given to the constructor (or to `reconfigure`) is invalid. */
export class ConfigError extends OmniPaxosError {
  override name = "ConfigError";
}

/** An operation that only the leader may perform was called elsewhere. */
export class NotLeaderError extends OmniPaxosError {
  override name = "NotLeaderError";
  readonly leader: NodeId | undefined;
  constructor(leader: NodeId | undefined) {
    super(leader ? `not the leader; the leader is ${leader}` : "not the leader; no leader is known");
    this.leader = leader;
  }
}

/** A stop sign is accepted or proposed: this configuration takes no more entries or reconfigurations. */
export class PendingReconfigError extends OmniPaxosError {
  override name = "PendingReconfigError";
}

/** Proposals waiting for a leader exceed the configured buffer. */
export class BufferFullError extends OmniPaxosError {
  override name = "BufferFullError";
}

/** trim/snapshot refused; `reason` says why and `bound` gives the limit where one applies. */
export class CompactionError extends OmniPaxosError {
  override name = "CompactionError";
  readonly reason: "undecided" | "trimmed" | "not-accepted-by-all" | "no-snapshotter" | "refused";
  readonly bound: number;
  constructor(reason: CompactionError["reason"], bound: number, message: string) {
    super(message);
    this.reason = reason;
    this.bound = bound;
  }
}

/** A Storage implementation failed; the write it was asked for has not happened (all-or-nothing). */
export class StorageError extends OmniPaxosError {
  override name = "StorageError";
}
