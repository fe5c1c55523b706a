/** What reading the log returns: a decided or undecided entry, a compacted range, or the stop sign. */
import type { InternalStorage } from "./internal_storage.ts";
import type { StopSign } from "./types.ts";

export type LogEntry<T> =
  | { kind: "decided"; idx: number; entry: T }
  | { kind: "undecided"; idx: number; entry: T }
  /** Everything below `trimmedIdx` was trimmed without a snapshot. */
  | { kind: "trimmed"; trimmedIdx: number }
  /** Everything below `trimmedIdx` is folded into `snapshot` (application state). */
  | { kind: "snapshotted"; trimmedIdx: number; snapshot: Uint8Array }
  /** The last slot of this configuration. */
  | { kind: "stopSign"; idx: number; ss: StopSign; decided: boolean };

function compacted<T>(log: InternalStorage<T>): LogEntry<T> {
  const snap = log.snapshot();
  return snap && snap.idx === log.compactedIdx
    ? { kind: "snapshotted", trimmedIdx: log.compactedIdx, snapshot: snap.data }
    : { kind: "trimmed", trimmedIdx: log.compactedIdx };
}

export function readEntry<T>(log: InternalStorage<T>, idx: number): LogEntry<T> | undefined {
  if (!Number.isSafeInteger(idx) || idx < 0) return undefined;
  if (idx < log.compactedIdx) return compacted(log);
  if (idx < log.storedEnd) {
    const [entry] = log.entries(idx, idx + 1);
    return { kind: idx < log.decidedIdx ? "decided" : "undecided", idx, entry };
  }
  if (idx === log.storedEnd && log.stopSign) {
    return { kind: "stopSign", idx, ss: log.stopSign, decided: log.isStopSignDecided() };
  }
  return undefined;
}

/** Decided entries from `from` on; a compacted start yields one trimmed/snapshotted item first. */
export function readDecided<T>(log: InternalStorage<T>, from: number): LogEntry<T>[] {
  const out: LogEntry<T>[] = [];
  const start = Math.max(0, from);
  if (start >= log.decidedIdx) return out;
  if (start < log.compactedIdx) out.push(compacted(log));
  const lo = Math.max(start, log.compactedIdx);
  const hi = Math.min(log.decidedIdx, log.storedEnd);
  const entries = log.entries(lo, hi);
  for (let i = 0; i < entries.length; i++) out.push({ kind: "decided", idx: lo + i, entry: entries[i] });
  if (log.isStopSignDecided() && log.stopSign && start <= log.storedEnd) {
    out.push({ kind: "stopSign", idx: log.storedEnd, ss: log.stopSign, decided: true });
  }
  return out;
}
