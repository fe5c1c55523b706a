/**
 * Binary encoding of what the log records hold: ballots, stop signs, batches of StorageOps and
 * checkpoints (the whole persistent state). Encoding validates the shapes the core's types promise, so a
 * value that could not be read back is refused in `write` (StorageError) rather than poisoning the log.
 */
import type { Ballot } from "../omnipaxos/ballot.ts";
import { StorageError } from "../omnipaxos/errors.ts";
import type { StorageOp } from "../omnipaxos/storage.ts";
import type { StopSign } from "../omnipaxos/types.ts";
import { Reader, Writer } from "./binary.ts";
import { DecodeError } from "./errors.ts";

type Op = StorageOp<Uint8Array>;

/** Where the snapshot bytes live: the file `snapshotFileName(idx, gen)`, checked by size and CRC. */
export interface SnapshotRef {
  idx: number;
  /** Distinguishes successive snapshots at the same index, so a live file is never overwritten. */
  gen: number;
  size: number;
  crc: number;
}

/** The whole persistent state; the first record of every segment. */
export interface Checkpoint {
  compactedIdx: number;
  decidedIdx: number;
  promise?: Ballot;
  acceptedRound?: Ballot;
  stopSign?: StopSign;
  snapshot?: SnapshotRef;
  entries: Uint8Array[];
}

const TAG = {
  append: 1,
  appendOnPrefix: 2,
  setPromise: 3,
  setAcceptedRound: 4,
  setDecidedIdx: 5,
  setStopSign: 6,
  trim: 7,
} as const;

function bad(what: string): never {
  throw new StorageError(`cannot store ${what}`);
}

function writeBallot(w: Writer, b: Ballot): void {
  if (typeof b?.n !== "number" || typeof b.priority !== "number" || typeof b.pid !== "string") {
    bad(`ballot ${JSON.stringify(b)}`);
  }
  w.f64(b.n);
  w.f64(b.priority);
  w.str(b.pid);
}

function readBallot(r: Reader): Ballot {
  const n = r.f64();
  const priority = r.f64();
  return { n, priority, pid: r.str() };
}

function writeStopSign(w: Writer, ss: StopSign): void {
  if (typeof ss.configId !== "number" || !Array.isArray(ss.nodes)) bad("stop sign");
  w.f64(ss.configId);
  w.u32(ss.nodes.length);
  for (const id of ss.nodes) {
    if (typeof id !== "string") bad(`stop sign node ${String(id)}`);
    w.str(id);
  }
  w.u8(ss.metadata ? 1 : 0);
  if (ss.metadata) {
    if (!(ss.metadata instanceof Uint8Array)) bad("stop sign metadata (not a Uint8Array)");
    w.bytes(ss.metadata);
  }
}

function readStopSign(r: Reader): StopSign {
  const configId = r.f64();
  const count = r.u32();
  const nodes: string[] = [];
  for (let i = 0; i < count; i++) nodes.push(r.str());
  return r.flag() ? { configId, nodes, metadata: r.bytes() } : { configId, nodes };
}

function writeEntries(w: Writer, entries: readonly Uint8Array[]): void {
  w.u32(entries.length);
  for (const e of entries) {
    if (!(e instanceof Uint8Array)) bad("an entry that is not a Uint8Array");
    w.bytes(e);
  }
}

function readEntries(r: Reader): Uint8Array[] {
  const count = r.u32();
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(r.bytes());
  return out;
}

function writeOptional<V>(w: Writer, v: V | undefined, put: (w: Writer, v: V) => void): void {
  w.u8(v === undefined ? 0 : 1);
  if (v !== undefined) put(w, v);
}

function readOptional<V>(r: Reader, get: (r: Reader) => V): V | undefined {
  return r.flag() ? get(r) : undefined;
}

export interface EncodedBatch {
  payload: Uint8Array;
  /** The batch trims or sets/clears the snapshot: the log must be rewritten as a checkpoint. */
  compaction: boolean;
}

/**
 * Encodes a write. A `setSnapshot` is validated but not encoded: a batch holding one (or a trim) is never
 * appended as such; the next sync writes a checkpoint of the resulting state instead.
 */
export function encodeBatch(ops: readonly Op[]): EncodedBatch {
  const w = new Writer(64);
  let count = 0;
  let compaction = false;
  for (const op of ops) if (op.op !== "setSnapshot") count++;
  w.u32(count);
  for (const op of ops) {
    if (op.op === "setSnapshot") {
      const s = op.snapshot;
      if (s && (!Number.isSafeInteger(s.idx) || s.idx < 0 || !(s.data instanceof Uint8Array))) {
        bad(`snapshot at ${s.idx}`);
      }
      compaction = true;
      continue;
    }
    const tag = TAG[op.op];
    if (tag === undefined) bad(`unknown operation ${JSON.stringify(op)}`);
    w.u8(tag);
    switch (op.op) {
      case "appendOnPrefix":
        w.f64(op.from);
        writeEntries(w, op.entries);
        break;
      case "append":
        writeEntries(w, op.entries);
        break;
      case "setPromise":
      case "setAcceptedRound":
        writeBallot(w, op.ballot);
        break;
      case "trim":
        compaction = true;
        w.f64(op.idx);
        break;
      case "setDecidedIdx":
        w.f64(op.idx);
        break;
      case "setStopSign":
        writeOptional(w, op.ss, writeStopSign);
        break;
    }
  }
  return { payload: w.finish(), compaction };
}

export function decodeBatch(payload: Uint8Array): Op[] {
  const r = new Reader(payload);
  const count = r.u32();
  const ops: Op[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const tag = r.u8();
    switch (tag) {
      case TAG.append:
        ops.push({ op: "append", entries: readEntries(r) });
        break;
      case TAG.appendOnPrefix: {
        const from = r.f64();
        ops.push({ op: "appendOnPrefix", from, entries: readEntries(r) });
        break;
      }
      case TAG.setPromise:
        ops.push({ op: "setPromise", ballot: readBallot(r) });
        break;
      case TAG.setAcceptedRound:
        ops.push({ op: "setAcceptedRound", ballot: readBallot(r) });
        break;
      case TAG.setDecidedIdx:
        ops.push({ op: "setDecidedIdx", idx: r.f64() });
        break;
      case TAG.setStopSign: {
        const ss = readOptional(r, readStopSign);
        ops.push(ss ? { op: "setStopSign", ss } : { op: "setStopSign" });
        break;
      }
      case TAG.trim:
        ops.push({ op: "trim", idx: r.f64() });
        break;
      default:
        throw new DecodeError(at, `unknown operation tag ${tag}`);
    }
  }
  r.end();
  return ops;
}

function writeSnapshotRef(w: Writer, s: SnapshotRef): void {
  w.f64(s.idx);
  w.f64(s.gen);
  w.f64(s.size);
  w.u32(s.crc);
}

function readSnapshotRef(r: Reader): SnapshotRef {
  return { idx: r.index(), gen: r.index(), size: r.index(), crc: r.u32() };
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  let size = 128;
  for (const e of c.entries) size += 4 + e.length;
  const w = new Writer(size);
  w.f64(c.compactedIdx);
  w.f64(c.decidedIdx);
  writeOptional(w, c.promise, writeBallot);
  writeOptional(w, c.acceptedRound, writeBallot);
  writeOptional(w, c.stopSign, writeStopSign);
  writeOptional(w, c.snapshot, writeSnapshotRef);
  writeEntries(w, c.entries);
  return w.finish();
}

export function decodeCheckpoint(payload: Uint8Array): Checkpoint {
  const r = new Reader(payload);
  const c: Checkpoint = { compactedIdx: r.index(), decidedIdx: r.index(), entries: [] };
  const promise = readOptional(r, readBallot);
  const acceptedRound = readOptional(r, readBallot);
  const stopSign = readOptional(r, readStopSign);
  const snapshot = readOptional(r, readSnapshotRef);
  c.entries = readEntries(r);
  r.end();
  if (promise) c.promise = promise;
  if (acceptedRound) c.acceptedRound = acceptedRound;
  if (stopSign) c.stopSign = stopSign;
  if (snapshot) c.snapshot = snapshot;
  return c;
}
