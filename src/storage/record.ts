/**
 * Log records: [u32 payload length][u32 CRC-32][u8 type][f64 syncedUpTo][payload], little-endian.
 *
 * The CRC covers type, syncedUpTo and payload; a wrong length makes the CRC fail too. `syncedUpTo` is the
 * segment offset that was already durable when the record was written. Recovery uses it to tell a torn
 * tail from real corruption: a damaged record at offset p followed by a valid record whose syncedUpTo > p
 * was fsynced before that later write began, so it is corruption of acknowledged data, not a torn write.
 */
import { crc32 } from "./crc32.ts";

export const RECORD_HEADER = 17;
/** Largest payload accepted on read (a Buffer's size limit on 32-bit-length platforms). */
export const MAX_PAYLOAD = 0x7fff_ffff;
/** First bytes of every segment file: "CSWAL", format version 1. */
export const SEGMENT_MAGIC = new Uint8Array([0x43, 0x53, 0x57, 0x41, 0x4c, 0, 0, 1]);

export const RECORD_CHECKPOINT = 1;
export const RECORD_BATCH = 2;

export interface PendingRecord {
  type: number;
  payload: Uint8Array;
}

export interface ParsedRecord {
  type: number;
  payload: Uint8Array;
  syncedUpTo: number;
  offset: number;
  /** Offset just past this record. */
  end: number;
}

export function recordSize(payloadLen: number): number {
  return RECORD_HEADER + payloadLen;
}

/** Frames `records` into one buffer, to be written at once. */
export function frameRecords(records: readonly PendingRecord[], syncedUpTo: number): Uint8Array {
  let total = 0;
  for (const r of records) total += recordSize(r.payload.length);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  let at = 0;
  for (const r of records) {
    const end = at + recordSize(r.payload.length);
    view.setUint32(at, r.payload.length, true);
    buf[at + 8] = r.type;
    view.setFloat64(at + 9, syncedUpTo, true);
    buf.set(r.payload, at + RECORD_HEADER);
    view.setUint32(at + 4, crc32(buf.subarray(at + 8, end)), true);
    at = end;
  }
  return buf;
}

/** The record starting at `offset`, or why there is no valid one there. */
export function parseRecord(buf: Uint8Array, offset: number): ParsedRecord | string {
  if (offset + RECORD_HEADER > buf.length) return `header cut short (${buf.length - offset} bytes left)`;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(offset, true);
  const type = buf[offset + 8];
  if (type !== RECORD_CHECKPOINT && type !== RECORD_BATCH) return `unknown record type ${type}`;
  if (len > MAX_PAYLOAD || offset + RECORD_HEADER + len > buf.length) {
    return `length ${len} runs past the end of the file`;
  }
  const end = offset + RECORD_HEADER + len;
  if (crc32(buf.subarray(offset + 8, end)) !== view.getUint32(offset + 4, true)) return "CRC mismatch";
  const syncedUpTo = view.getFloat64(offset + 9, true);
  if (!Number.isSafeInteger(syncedUpTo) || syncedUpTo < 0) return `bad syncedUpTo ${syncedUpTo}`;
  return { type, payload: buf.subarray(offset + RECORD_HEADER, end), syncedUpTo, offset, end };
}

/** Evidence that the bytes before `syncedUpTo` had been fsynced when the record at `offset` was written. */
export interface Confirmation {
  offset: number;
  syncedUpTo: number;
  /** The record's CRC holds; otherwise only its header is intact (see plausibleHeader). */
  verified: boolean;
}

/**
 * A record after `bad` (the offset of a damaged one) proving that the damaged bytes had been fsynced
 * before it was written; undefined when everything from `bad` on is an unconfirmed (torn) tail.
 */
export function findConfirmingRecord(buf: Uint8Array, bad: number): Confirmation | undefined {
  for (let at = bad + 1; at + RECORD_HEADER <= buf.length; at++) {
    const r = parseRecord(buf, at);
    if (typeof r !== "string") {
      if (r.syncedUpTo > bad) return { offset: at, syncedUpTo: r.syncedUpTo, verified: true };
    } else {
      const h = plausibleHeader(buf, at, bad);
      if (h) return h;
    }
  }
  return undefined;
}

/**
 * A record whose CRC fails but whose header is consistent: a known type, a syncedUpTo past `bad` but not
 * past the record itself (no real record claims more), and a length ending exactly at the end of the file
 * or at a valid record. Without it, damage in two commits — the older one fsynced long ago, the last one
 * holding the only records that vouch for it — would be cut as a torn tail. A genuine torn tail never
 * yields one: every header written after the last fsync says syncedUpTo <= that fsync's offset <= `bad`.
 */
function plausibleHeader(buf: Uint8Array, at: number, bad: number): Confirmation | undefined {
  const type = buf[at + 8];
  if (type !== RECORD_CHECKPOINT && type !== RECORD_BATCH) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const syncedUpTo = view.getFloat64(at + 9, true);
  if (!Number.isSafeInteger(syncedUpTo) || syncedUpTo <= bad || syncedUpTo > at) return undefined;
  const end = at + RECORD_HEADER + view.getUint32(at, true);
  if (end !== buf.length && (end > buf.length || typeof parseRecord(buf, end) === "string")) return undefined;
  return { offset: at, syncedUpTo, verified: false };
}
