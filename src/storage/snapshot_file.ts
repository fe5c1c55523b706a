/**
 * Snapshot files: <dataDir>/snapshots/<idx>-<gen>.snap, each written atomically (temp, fsync, rename,
 * directory fsync) before any log record refers to it. Layout: magic "CSSNAP" v1 (8 bytes), f64 idx,
 * f64 size, u32 CRC-32 of the data, then the data. The referring checkpoint repeats idx, size and CRC, so a
 * swapped, truncated or damaged file is detected on open.
 */
import fs from "node:fs";
import { crc32 } from "./crc32.ts";
import { StorageCorruptionError } from "./errors.ts";
import { writeFileAtomic } from "./fsio.ts";
import type { SnapshotRef } from "./values.ts";

const MAGIC = new Uint8Array([0x43, 0x53, 0x53, 0x4e, 0x41, 0x50, 0, 1]);
const HEADER = 28;

export function snapshotFileName(ref: Pick<SnapshotRef, "idx" | "gen">): string {
  return `${String(ref.idx).padStart(16, "0")}-${ref.gen}.snap`;
}

export async function writeSnapshotFile(
  dir: string,
  idx: number,
  gen: number,
  data: Uint8Array,
  durable: boolean,
): Promise<SnapshotRef> {
  const ref: SnapshotRef = { idx, gen, size: data.length, crc: crc32(data) };
  const header = new Uint8Array(HEADER);
  const view = new DataView(header.buffer);
  header.set(MAGIC);
  view.setFloat64(8, idx, true);
  view.setFloat64(16, data.length, true);
  view.setUint32(24, ref.crc, true);
  await writeFileAtomic(dir, snapshotFileName(ref), [header, data], durable);
  return ref;
}

/**
 * The snapshot bytes `ref` names, verified; StorageCorruptionError if missing or not what the log says.
 * Synchronous because the core's Storage getters are: FileStorage reads the file whenever the core asks for
 * the snapshot instead of keeping its bytes in memory.
 */
export function readSnapshotFile(dir: string, ref: SnapshotRef): Uint8Array {
  const path = `${dir}/${snapshotFileName(ref)}`;
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

/** Snapshot files (and leftover temp files) other than `keep`; returns the names removed. */
export function removeSnapshotsExcept(dir: string, keep: SnapshotRef | undefined): string[] {
  const keepName = keep ? snapshotFileName(keep) : undefined;
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name === keepName || !(name.endsWith(".snap") || name.endsWith(".tmp"))) continue;
    fs.rmSync(`${dir}/${name}`, { force: true });
    removed.push(name);
  }
  return removed;
}
