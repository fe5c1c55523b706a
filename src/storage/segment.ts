/**
 * Log segments: <dataDir>/log/<n>.wal, n increasing. A segment is the magic, one checkpoint record (the
 * whole state when it was created) and then batch records. Only the newest segment is ever read: a new
 * one is created atomically (temp, fsync, rename, directory fsync) before older ones are deleted.
 */
import fs from "node:fs";
import { fsyncDir, writeFileAtomic } from "./fsio.ts";
import { frameRecords, RECORD_CHECKPOINT, SEGMENT_MAGIC } from "./record.ts";

export function segmentName(n: number): string {
  return `${String(n).padStart(8, "0")}.wal`;
}

export interface SegmentListing {
  /** Segment numbers, ascending. */
  segments: number[];
  /** Leftover temp files (an interrupted segment creation). */
  temps: string[];
}

export function listSegments(dir: string): SegmentListing {
  const segments: number[] = [];
  const temps: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith(".tmp")) temps.push(name);
    else if (/^\d{8,}\.wal$/.test(name)) segments.push(Number.parseInt(name, 10));
  }
  return { segments: segments.sort((a, b) => a - b), temps };
}

/** Creates segment `n` holding `checkpoint`; returns its size in bytes. */
export async function createSegment(
  dir: string,
  n: number,
  checkpoint: Uint8Array,
  durable: boolean,
): Promise<number> {
  const record = frameRecords([{ type: RECORD_CHECKPOINT, payload: checkpoint }], 0);
  await writeFileAtomic(dir, segmentName(n), [SEGMENT_MAGIC, record], durable);
  return SEGMENT_MAGIC.length + record.length;
}

/**
 * Creates `<dataDir>/log` holding segment 1 with `checkpoint`, atomically: the segment is written into
 * `log.new`, which is then renamed. A crash leaves either no `log/` (a fresh directory again; the
 * leftover `log.new` is replaced) or a complete one, so an existing `log/` without a segment is damage.
 */
export async function createLogDir(
  dataDir: string,
  checkpoint: Uint8Array,
  durable: boolean,
): Promise<number> {
  const staging = `${dataDir}/log.new`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging);
  const size = await createSegment(staging, 1, checkpoint, durable);
  fs.renameSync(staging, `${dataDir}/log`);
  if (durable) await fsyncDir(dataDir);
  return size;
}
