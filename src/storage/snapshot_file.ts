/**
 * Snapshot files: <dataDir>/snapshots/<idx>-<gen>.snap, each written atomically (temp, fsync, rename,
 * directory fsync) before any log record refers to it: the temp file is started when the snapshot is set,
 * the rest is done by the commit that writes the referring checkpoint. Layout: magic "CSSNAP" v1 (8 bytes),
 * f64 idx, f64 size, u32 CRC-32 of the data, then the data. The referring checkpoint repeats idx, size and CRC, so a
 * swapped, truncated or damaged file is detected on open.
 */
import fs from "node:fs";
import { crc32 } from "./crc32.ts";
import { StorageCorruptionError } from "./errors.ts";
import { fsync, fsyncDir, writeAt } from "./fsio.ts";
import type { SnapshotRef } from "./values.ts";

const MAGIC = new Uint8Array([0x43, 0x53, 0x53, 0x4e, 0x41, 0x50, 0, 1]);
const HEADER = 28;

export function snapshotFileName(ref: Pick<SnapshotRef, "idx" | "gen">): string {
  return `${String(ref.idx).padStart(16, "0")}-${ref.gen}.snap`;
}

/** A snapshot's file name while it is written and not yet durable (placeSnapshotFile renames it). */
export function snapshotTempName(ref: Pick<SnapshotRef, "idx" | "gen">): string {
  return `${snapshotFileName(ref)}.tmp`;
}

/** The reference (with the CRC) of `data` as the snapshot at `idx`, generation `gen`. */
export function snapshotRef(idx: number, gen: number, data: Uint8Array): SnapshotRef {
  return { idx, gen, size: data.length, crc: crc32(data) };
}

/**
 * Writes header and data to the snapshot's temp file (no fsync: placeSnapshotFile does it). The file is
 * created before this returns its promise; a partial file is removed before the promise rejects.
 */
export async function writeSnapshotTemp(dir: string, ref: SnapshotRef, data: Uint8Array): Promise<void> {
  const header = new Uint8Array(HEADER);
  const view = new DataView(header.buffer);
  header.set(MAGIC);
  view.setFloat64(8, ref.idx, true);
  view.setFloat64(16, ref.size, true);
  view.setUint32(24, ref.crc, true);
  const path = `${dir}/${snapshotTempName(ref)}`;
  const fd = fs.openSync(path, "w");
  try {
    await writeAt(fd, header, 0);
    await writeAt(fd, data, HEADER);
  } catch (e) {
    fs.rmSync(path, { force: true });
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes a temp file from writeSnapshotTemp the snapshot file: fsync it, rename it into place, fsync the
 * directory, so a reader (or a checkpoint referring to it) sees the whole file or none. `durable: false`
 * skips both fsyncs (the rename is still atomic against process crashes, not against power loss).
 */
export async function placeSnapshotFile(dir: string, ref: SnapshotRef, durable: boolean): Promise<void> {
  const tmp = `${dir}/${snapshotTempName(ref)}`;
  if (durable) {
    const fd = fs.openSync(tmp, "r");
    try {
      await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fs.renameSync(tmp, `${dir}/${snapshotFileName(ref)}`);
  if (durable) await fsyncDir(dir);
}

/**
 * The snapshot bytes `ref` names, verified; StorageCorruptionError if missing or not what the log says.
 * Synchronous because the core's Storage getters are: FileStorage reads the file whenever the core asks for
 * the snapshot instead of keeping its bytes in memory. `temp`: read the not yet placed temp file.
 */
export function readSnapshotFile(dir: string, ref: SnapshotRef, temp = false): Uint8Array {
  const path = `${dir}/${temp ? snapshotTempName(ref) : snapshotFileName(ref)}`;
  let buf: Uint8Array;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new StorageCorruptionError(path, 0, "missing-snapshot", `cannot read the snapshot file (${code})`);
  }
  const fail = (offset: number, detail: string): never => {
    throw new StorageCorruptionError(path, offset, "bad-snapshot", detail);
  };
  if (buf.length < HEADER) fail(0, `${buf.length} bytes, shorter than the header`);
  if (!MAGIC.every((b, i) => buf[i] === b)) fail(0, "not a snapshot file (bad magic)");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getFloat64(8, true) !== ref.idx) fail(8, `index ${view.getFloat64(8, true)}, log says ${ref.idx}`);
  const size = view.getFloat64(16, true);
  if (size !== ref.size || buf.length - HEADER !== ref.size) {
    fail(16, `size ${buf.length - HEADER} (header ${size}), log says ${ref.size}`);
  }
  // A plain Uint8Array view (not a Buffer), like what was written.
  const data = new Uint8Array(buf.buffer, buf.byteOffset + HEADER, ref.size);
  if (view.getUint32(24, true) !== ref.crc || crc32(data) !== ref.crc) fail(HEADER, "CRC mismatch");
  return data;
}

/**
 * Removes snapshot files and leftover temp files except the file of `keep` and the file names in
 * `keepNames` (a newer snapshot's temp file still to be placed); returns the names removed.
 */
export function removeSnapshotsExcept(
  dir: string,
  keep: SnapshotRef | undefined,
  keepNames: readonly string[] = [],
): string[] {
  const kept = new Set(keepNames);
  if (keep) kept.add(snapshotFileName(keep));
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (kept.has(name) || !(name.endsWith(".snap") || name.endsWith(".tmp"))) continue;
    fs.rmSync(`${dir}/${name}`, { force: true });
    removed.push(name);
  }
  return removed;
}
