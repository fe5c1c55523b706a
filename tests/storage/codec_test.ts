/** The record codec's building blocks: CRC-32 and the validated binary encoding of operations. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32, crc32Js } from "../../src/storage/crc32.ts";
import { DecodeError } from "../../src/storage/errors.ts";
import { decodeBatch, decodeCheckpoint, encodeBatch, encodeCheckpoint } from "../../src/storage/values.ts";
import { bytes, type Op, Prng } from "./helpers.ts";

test("crc32: the IEEE check value, and the table version agrees with the native one", () => {
  const check = new TextEncoder().encode("123456789");
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32Js(check), 0xcbf43926);
  const rng = new Prng(1);
  for (let i = 0; i < 50; i++) {
    const b = bytes(rng, 300);
    assert.equal(crc32Js(b), crc32(b));
    assert.equal(crc32(b.subarray(7), crc32(b.subarray(0, 7))), crc32(b), "continues across chunks");
  }
});

test("batches and checkpoints round-trip; snapshots and trims mark a compaction", () => {
  const ops: Op[] = [
    { op: "append", entries: [new Uint8Array([1, 2]), new Uint8Array()] },
    { op: "appendOnPrefix", from: 1, entries: [new Uint8Array([3])] },
    { op: "setPromise", ballot: { n: 2 ** 40, priority: -1, pid: "12D3Koo✓" } },
    { op: "setAcceptedRound", ballot: { n: 1, priority: 0, pid: "" } },
    { op: "setDecidedIdx", idx: 1 },
    { op: "setStopSign", ss: { configId: 2, nodes: ["a", "b"], metadata: new Uint8Array([9]) } },
    { op: "setStopSign" },
  ];
  const plain = encodeBatch(ops);
  assert.equal(plain.compaction, false);
  assert.deepEqual(decodeBatch(plain.payload), ops);
  const withTrim = encodeBatch([...ops, { op: "trim", idx: 1 }, { op: "setSnapshot" }]);
  assert.equal(withTrim.compaction, true);
  assert.deepEqual(
    decodeBatch(withTrim.payload),
    [...ops, { op: "trim", idx: 1 }],
    "setSnapshot is not encoded",
  );

  const cp = {
    compactedIdx: 3,
    decidedIdx: 4,
    promise: { n: 5, priority: 0, pid: "x" },
    snapshot: { idx: 3, gen: 2, size: 10, crc: 0xdeadbeef },
    entries: [new Uint8Array([7])],
  };
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(cp)), cp);
});

test("decoding refuses truncated payloads, trailing bytes, unknown tags and bad indexes", () => {
  const { payload } = encodeBatch([{ op: "append", entries: [new Uint8Array([1, 2, 3])] }]);
  assert.throws(() => decodeBatch(payload.subarray(0, payload.length - 1)), DecodeError);
  assert.throws(() => decodeBatch(new Uint8Array([...payload, 0])), DecodeError);
  assert.throws(() => decodeBatch(new Uint8Array([1, 0, 0, 0, 99])), /unknown operation tag 99/);
  const cp = encodeCheckpoint({ compactedIdx: 0, decidedIdx: 0, entries: [] });
  new DataView(cp.buffer, cp.byteOffset).setFloat64(0, -1, true);
  assert.throws(() => decodeCheckpoint(cp), /expected an index, got -1/);
});
