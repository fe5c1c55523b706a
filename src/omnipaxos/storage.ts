/**
 * The Storage contract between the core and a persistence layer.
 *
 * The core calls Storage synchronously. Every write is a list of operations applied all-or-nothing; on
 * failure `write` throws and nothing changed. Durability is the host's side of the contract: a message
 * returned by `outgoingMessages()` may only be sent once every write made before it is durable (a file
 * store buffers writes and fsyncs them in one group commit before the host sends the batch). This keeps
 * the core free of I/O while preserving "never send before the write that justifies it is on disk".
 *
 * Indexes are global log positions: entry i is the i-th entry ever appended in this configuration's log
 * (plus the starting offset a continued configuration was seeded with; see `continueLogOps`).
 */
import type { Ballot } from "./ballot.ts";
import type { SnapshotData, StopSign } from "./types.ts";

export type StorageOp<T> =
  /** Append entries after the last stored entry. */
  | { op: "append"; entries: T[] }
  /** Keep stored entries below global index `from`, drop the rest, append `entries`. compactedIdx ≤ from ≤ end. */
  | { op: "appendOnPrefix"; from: number; entries: T[] }
  | { op: "setPromise"; ballot: Ballot }
  | { op: "setAcceptedRound"; ballot: Ballot }
  | { op: "setDecidedIdx"; idx: number }
  /** Set or (with `ss` absent) clear the stop sign. */
  | { op: "setStopSign"; ss?: StopSign }
  /** Drop entries below global index idx and set compactedIdx = idx (idx may pass the end: the log empties). */
  | { op: "trim"; idx: number }
  /** Set or (with `snapshot` absent) clear the snapshot. */
  | { op: "setSnapshot"; snapshot?: SnapshotData };

export interface Storage<T> {
  /** Apply all operations in order, atomically. Throws (changing nothing) on failure. */
  write(ops: readonly StorageOp<T>[]): void;
  /** Highest ballot promised; undefined on a server that never promised. */
  getPromise(): Ballot | undefined;
  /** Ballot of the leader whose AcceptSync last made this log current. */
  getAcceptedRound(): Ballot | undefined;
  getDecidedIdx(): number;
  /** Everything below this index is trimmed or covered by the snapshot. */
  getCompactedIdx(): number;
  /** Number of stored entries (from compactedIdx on); the stop sign is not counted. */
  getLogLen(): number;
  /** Entries at global indexes [from, to); both must lie within [compactedIdx, compactedIdx + logLen]. */
  getEntries(from: number, to: number): T[];
  getStopSign(): StopSign | undefined;
  getSnapshot(): SnapshotData | undefined;
}

/**
 * Operations that seed an empty Storage so a new configuration's log continues the global index of the
 * previous one: the first entry of the new configuration gets index `startIdx` (the old stop sign's
 * index + 1), and everything below it reads as compacted (or as `snapshot`, when given).
 */
export function continueLogOps<T>(startIdx: number, snapshot?: Uint8Array): StorageOp<T>[] {
  const ops: StorageOp<T>[] = [{ op: "trim", idx: startIdx }, { op: "setDecidedIdx", idx: startIdx }];
  if (snapshot) ops.push({ op: "setSnapshot", snapshot: { idx: startIdx, data: snapshot } });
  return ops;
}
