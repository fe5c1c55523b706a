/**
 * Opening a data directory: replay the newest segment into a view, cut a torn tail, refuse corruption.
 *
 * A damaged record at offset p is a torn tail when no later valid record says p had been fsynced
 * (`syncedUpTo > p`): the write was never acknowledged, so the file is truncated to p (dropping any
 * unconfirmed records after it too: the log must stay a prefix). Otherwise it is corruption of
 * acknowledged data and opening fails with StorageCorruptionError: silently dropping it could lose
 * decided entries or a promise.
 */
import fs from "node:fs";
import { readFile } from "node:fs/promises";
import { StorageError } from "../omnipaxos/errors.ts";
import { type CorruptionReason, DecodeError, StorageCorruptionError } from "./errors.ts";
import { fsync, ftruncate } from "./fsio.ts";
import {
  findConfirmingRecord,
  parseRecord,
  RECORD_BATCH,
  RECORD_CHECKPOINT,
  SEGMENT_MAGIC,
} from "./record.ts";
import { listSegments, segmentName } from "./segment.ts";
import { readSnapshotFile, removeSnapshotsExcept } from "./snapshot_file.ts";
import { type View, viewOf } from "./state.ts";
import { decodeBatch, decodeCheckpoint, type SnapshotRef } from "./values.ts";

export interface RecoveryReport {
  /** The segment replayed (undefined for a fresh directory). */
  segment: string | undefined;
  /** Batch records replayed after the segment's checkpoint. */
  batches: number;
  /** Offset where a torn tail was cut, if one was. */
  truncatedAt: number | undefined;
  truncatedBytes: number;
  /** Why the first cut record was invalid. */
  tornReason: string | undefined;
  /** Temp files, superseded segments and unreferenced snapshot files deleted. */
  removedFiles: string[];
  /** A stale lock left by a crashed process was taken over. */
  brokeStaleLock: boolean;
}

export interface Recovered {
  /** The state without the snapshot bytes (only `snapshot`, their file's reference). */
  view: View;
  snapshot: SnapshotRef | undefined;
  /** Segment number and its size after any truncation. */
  segmentNo: number;
  size: number;
  report: RecoveryReport;
}

function decodeOrCorrupt<V>(file: string, offset: number, reason: CorruptionReason, f: () => V): V {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError || e instanceof StorageError) {
      throw new StorageCorruptionError(file, offset, reason, e.message);
    }
    throw e;
  }
}

/** Recovers the newest segment in `logDir`, which must hold one (see createLogDir). */
export async function recover(logDir: string, snapDir: string, durable: boolean): Promise<Recovered> {
  const { segments, temps } = listSegments(logDir);
  const removedFiles: string[] = [];
  for (const t of temps) {
    fs.rmSync(`${logDir}/${t}`, { force: true });
    removedFiles.push(`log/${t}`);
  }
  if (segments.length === 0) {
    throw new StorageCorruptionError(
      logDir,
      0,
      "missing-segment",
      "the log directory holds no segment (*.wal): the log was deleted or lost",
    );
  }
  const segmentNo = segments[segments.length - 1];
  const file = `${logDir}/${segmentName(segmentNo)}`;
  const buf: Uint8Array = await readFile(file);

  if (buf.length < SEGMENT_MAGIC.length || !SEGMENT_MAGIC.every((b, i) => buf[i] === b)) {
    throw new StorageCorruptionError(file, 0, "bad-magic", "not a ChiselStore log segment");
  }
  const first = parseRecord(buf, SEGMENT_MAGIC.length);
  if (typeof first === "string" || first.type !== RECORD_CHECKPOINT) {
    const why = typeof first === "string" ? first : `record type ${first.type}`;
    throw new StorageCorruptionError(file, SEGMENT_MAGIC.length, "bad-checkpoint", why);
  }
  const cp = decodeOrCorrupt(file, first.offset, "bad-checkpoint", () => decodeCheckpoint(first.payload));
  const view = viewOf(cp);

  let at = first.end;
  let batches = 0;
  let tornReason: string | undefined;
  while (at < buf.length) {
    const r = parseRecord(buf, at);
    if (typeof r === "string") {
      const later = findConfirmingRecord(buf, at);
      if (later) {
        throw new StorageCorruptionError(
          file,
          at,
          "bad-record",
          later.verified
            ? `${r}; the record at byte ${later.offset} was written after this one was fsynced`
            : `${r}; the (also damaged) record at byte ${later.offset} says bytes up to ${later.syncedUpTo} ` +
              "had been fsynced when it was written",
        );
      }
      tornReason = r;
      break;
    }
    if (r.type !== RECORD_BATCH) {
      throw new StorageCorruptionError(file, at, "bad-payload", `unexpected record type ${r.type}`);
    }
    decodeOrCorrupt(file, at, "bad-payload", () => view.write(decodeBatch(r.payload)));
    batches++;
    at = r.end;
  }

  const size = at;
  if (size < buf.length || durable) {
    // Make what is kept durable before new records claim it as their syncedUpTo.
    const fd = fs.openSync(file, "r+");
    try {
      if (size < buf.length) await ftruncate(fd, size);
      if (durable) await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  // Verified now, so a damaged snapshot refuses the open; the bytes are dropped again (FileStorage reads
  // the file when the core asks for them).
  if (cp.snapshot) readSnapshotFile(snapDir, cp.snapshot);
  for (const old of segments.slice(0, -1)) {
    fs.rmSync(`${logDir}/${segmentName(old)}`, { force: true });
    removedFiles.push(`log/${segmentName(old)}`);
  }
  for (const name of removeSnapshotsExcept(snapDir, cp.snapshot)) removedFiles.push(`snapshots/${name}`);

  return {
    view,
    snapshot: cp.snapshot,
    segmentNo,
    size,
    report: {
      segment: file,
      batches,
      truncatedAt: size < buf.length ? size : undefined,
      truncatedBytes: buf.length - size,
      tornReason,
      removedFiles,
      brokeStaleLock: false,
    },
  };
}
