/** Typed errors of the durable storage layer; all are StorageErrors, so the core treats them alike. */
import { StorageError } from "../omnipaxos/errors.ts";

export type CorruptionReason =
  | "bad-magic"
  | "missing-segment"
  | "bad-record"
  | "bad-checkpoint"
  | "bad-payload"
  | "missing-snapshot"
  | "bad-snapshot";

/**
 * Data that was acknowledged as durable cannot be read back: a damaged record followed by records written
 * after it was fsynced, a damaged checkpoint, a missing or damaged snapshot file. Never raised for a torn
 * tail (that is cut and reported in `recoveryReport`).
 */
export class StorageCorruptionError extends StorageError {
  override name = "StorageCorruptionError";
  readonly file: string;
  readonly offset: number;
  readonly reason: CorruptionReason;
  constructor(file: string, offset: number, reason: CorruptionReason, detail: string) {
    super(`${file} at byte ${offset}: ${reason}: ${detail}`);
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/** The data directory is held by another live FileStorage (this or another process). */
export class StorageLockedError extends StorageError {
  override name = "StorageLockedError";
  readonly lockFile: string;
  readonly holderPid: number;
  constructor(lockFile: string, holderPid: number) {
    super(`${lockFile} is held by live process ${holderPid}: the data directory is already open`);
    this.lockFile = lockFile;
    this.holderPid = holderPid;
  }
}

/** A payload that passed its CRC but does not decode: a bug or a crafted file, never a torn write. */
export class DecodeError extends Error {
  override name = "DecodeError";
  readonly at: number;
  constructor(at: number, message: string) {
    super(`${message} (payload byte ${at})`);
    this.at = at;
  }
}
