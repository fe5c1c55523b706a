/**
 * Shared helpers for the storage tests: temp data directories, a seeded generator of StorageOp batches
 * (valid and occasionally invalid, against a model's current state), and a full comparison of two Storages.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Storage, StorageOp } from "../../mod.ts";
import { Prng } from "../sim/prng.ts";

export type Op = StorageOp<Uint8Array>;
export { Prng };

export async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chisel-storage-"));
  try {
    await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The data directory's only segment file. */
export function segmentFile(dir: string): string {
  const names = fs.readdirSync(`${dir}/log`).filter((n) => n.endsWith(".wal"));
  assert.equal(names.length, 1, `one segment in ${dir}/log: ${names.join(",")}`);
  return `${dir}/log/${names[0]}`;
}

export function bytes(rng: Prng, max = 24): Uint8Array {
  const b = new Uint8Array(rng.int(max + 1));
  for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
  return b;
}

function entries(rng: Prng, max = 5): Uint8Array[] {
  return Array.from({ length: rng.int(max + 1) }, () => bytes(rng));
}

/** One operation that is valid against a log spanning [compacted, end) (invalid ones when `bad`). */
function randomOp(rng: Prng, compacted: number, end: number, bad: boolean): Op {
  if (bad) {
    return rng.chance(0.5)
      ? { op: "appendOnPrefix", from: end + 1 + rng.int(3), entries: entries(rng) }
      : { op: "trim", idx: compacted - 1 - rng.int(3) };
  }
  switch (rng.int(10)) {
    case 0:
    case 1:
      return { op: "append", entries: entries(rng) };
    case 2:
      return { op: "appendOnPrefix", from: compacted + rng.int(end - compacted + 1), entries: entries(rng) };
    case 3:
      return { op: "setPromise", ballot: { n: rng.int(50), priority: rng.int(3), pid: `p${rng.int(5)}é` } };
    case 4:
      return { op: "setAcceptedRound", ballot: { n: rng.int(50), priority: 0, pid: `p${rng.int(5)}` } };
    case 5:
      return { op: "setDecidedIdx", idx: rng.int(end + 2) };
    case 6: {
      if (rng.chance(0.3)) return { op: "setStopSign" };
      const ss = { configId: 2 + rng.int(5), nodes: ["a", "b", `c${rng.int(9)}`] };
      return { op: "setStopSign", ss: rng.chance(0.5) ? { ...ss, metadata: bytes(rng, 8) } : ss };
    }
    case 7:
      // Trims within the log, at its end, and past it (the log empties).
      return { op: "trim", idx: compacted + rng.int(end - compacted + 4) };
    case 8:
      return rng.chance(0.2)
        ? { op: "setSnapshot" }
        : { op: "setSnapshot", snapshot: { idx: compacted, data: bytes(rng, 2000) } };
    default:
      return { op: "append", entries: entries(rng, 40) };
  }
}

/** A batch of 1–4 operations against `s`'s current state; with probability `pBad` one of them is invalid. */
export function randomBatch(rng: Prng, s: Storage<Uint8Array>, pBad = 0): Op[] {
  let compacted = s.getCompactedIdx();
  let end = compacted + s.getLogLen();
  const n = 1 + rng.int(4);
  const badAt = rng.chance(pBad) ? rng.int(n) : -1;
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const op = randomOp(rng, compacted, end, i === badAt);
    ops.push(op);
    // Track the range the way MemoryStorage validates it, so later ops in the batch stay valid.
    if (op.op === "append") end += op.entries.length;
    else if (op.op === "appendOnPrefix") end = op.from + op.entries.length;
    else if (op.op === "trim") {
      compacted = Math.max(compacted, op.idx);
      end = Math.max(end, compacted);
    }
  }
  return ops;
}

/** Everything a Storage returns, for deepEqual. */
export function dump(s: Storage<Uint8Array>) {
  const compacted = s.getCompactedIdx();
  return {
    promise: s.getPromise(),
    acceptedRound: s.getAcceptedRound(),
    decidedIdx: s.getDecidedIdx(),
    compactedIdx: compacted,
    logLen: s.getLogLen(),
    entries: s.getEntries(compacted, compacted + s.getLogLen()).map((e) => [...e]),
    stopSign: s.getStopSign(),
    snapshot: s.getSnapshot(),
  };
}

export function assertSame(actual: Storage<Uint8Array>, expected: Storage<Uint8Array>, msg: string): void {
  assert.deepEqual(dump(actual), dump(expected), msg);
}
