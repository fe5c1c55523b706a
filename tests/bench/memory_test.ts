/** bench/memory.ts: row values, the sizing rule that steers the database to its target, and the sql.js probe. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nextValueLength, probe, rowValue } from "../../bench/memory.ts";

test("memory: row values are deterministic, distinct and exactly as long as asked", () => {
  assert.equal(rowValue(7, 40), rowValue(7, 40));
  assert.notEqual(rowValue(7, 40), rowValue(8, 40));
  for (const len of [1, 5, 36, 250, 1000]) assert.equal(rowValue(123456, len).length, len);
});

test("memory: value length aims the database at its target, corrected by the measured cost per byte", () => {
  // Nothing measured yet: 100 MiB over 1M rows at an assumed 1.15 db bytes per value byte.
  assert.equal(
    nextValueLength({
      targetBytes: 100 * 2 ** 20,
      dbBytes: 0,
      rowsLeft: 1e6,
      valueBytesSoFar: 0,
      dbBytesSoFar: 0,
    }),
    Math.round(100 * 2 ** 20 / 1e6 / 1.15),
  );
  // Half written, each value byte cost 2 db bytes: the remaining 60,000 bytes over 100 rows → 300 per row.
  assert.equal(
    nextValueLength({
      targetBytes: 100_000,
      dbBytes: 40_000,
      rowsLeft: 100,
      valueBytesSoFar: 20_000,
      dbBytesSoFar: 40_000,
    }),
    300,
  );
  // Overshot: never below 1; done: 1.
  assert.equal(
    nextValueLength({ targetBytes: 10, dbBytes: 100, rowsLeft: 5, valueBytesSoFar: 50, dbBytesSoFar: 100 }),
    1,
  );
  assert.equal(
    nextValueLength({ targetBytes: 10, dbBytes: 0, rowsLeft: 0, valueBytesSoFar: 0, dbBytesSoFar: 0 }),
    1,
  );
});

test(
  "memory: the sql.js probe grows a database step by step and exports it each time",
  { timeout: 120_000 },
  async () => {
    const p = await probe(8, 4);
    assert.equal(p.steps.length, 2, JSON.stringify(p));
    for (const [i, s] of p.steps.entries()) {
      assert.equal(s.error, undefined);
      // 4 MiB of blobs per step plus a few pages of b-tree.
      assert.ok(s.dbMb >= 4 * (i + 1) && s.dbMb < 4 * (i + 1) + 1, JSON.stringify(s));
      assert.ok(s.exportMs !== null && s.rssMb > 0, JSON.stringify(s));
    }
    assert.deepEqual(p.result, {
      done: true,
      largestMb: p.steps[1].dbMb,
      largestExportedMb: p.steps[1].dbMb,
    });
  },
);

test(
  "memory: a probe step that makes no progress within the stall limit ends the probe",
  { timeout: 60_000 },
  async () => {
    // Loading sql.js alone takes longer than 1 ms, so the child is killed before its first step.
    const p = await probe(64, 32, 1);
    assert.deepEqual(p.steps, []);
    assert.deepEqual(p.result, { done: false, stalled: true, stallMs: 1, afterMb: 0 });
  },
);
