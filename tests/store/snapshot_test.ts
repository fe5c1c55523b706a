import { test } from "node:test";
import assert from "node:assert/strict";
import { SqlStateMachine, StoreError } from "../../src/store/mod.ts";
import { entry, sameBytes, show } from "./helpers.ts";

function workload(n: number): Uint8Array[] {
  const out = [entry(1, ["CREATE TABLE t(id INTEGER PRIMARY KEY, r, at DEFAULT CURRENT_TIMESTAMP)"])];
  for (let seq = 2; seq <= n; seq++) {
    out.push(entry(seq, [
      { sql: "INSERT INTO t(r) VALUES (random())" },
      { sql: "DELETE FROM t WHERE id = ?", params: [seq - 3] },
      { sql: "SELECT count(*), max(at) FROM t" },
    ], { transaction: seq % 2 === 0, client: `c${seq % 3}` }));
  }
  return out;
}

test("snapshot -> restore -> continue matches a replica that never snapshotted", async () => {
  const log = workload(60);
  const full = await SqlStateMachine.open();
  const src = await SqlStateMachine.open();
  log.forEach((e, i) => full.apply(i, e));
  log.slice(0, 25).forEach((e, i) => src.apply(i, e));
  const snap = src.createSnapshot();
  assert.equal(src.snapshotter().create(25, [], undefined).length, snap.length);
  assert.throws(() => src.snapshotter().create(24, [], undefined), StoreError);

  const fresh = await SqlStateMachine.open({ snapshot: snap });
  assert.equal(fresh.appliedIndex, 25);
  const other = await SqlStateMachine.open();
  other.apply(0, log[0]);
  assert.equal(other.applySnapshot(25, snap), true);
  assert.equal(other.applySnapshot(10, snap), false, "already past it");
  for (const sm of [fresh, other, src]) {
    // Re-delivered entries below the snapshot are ignored; the dedupe table came along with the snapshot.
    assert.equal(sm.apply(3, log[3]), null);
    log.slice(25).forEach((e, i) => sm.apply(25 + i, e));
    assert.deepEqual(await sm.checksum(), await full.checksum());
    assert.ok(sameBytes(sm.createSnapshot(), full.createSnapshot()));
  }
  // Retries of requests applied before the snapshot get their first results on the restored replica.
  const retryIdx = fresh.appliedIndex;
  const r1 = fresh.apply(retryIdx, log[20])!;
  const r2 = full.apply(retryIdx, log[20])!;
  assert.equal(r1.duplicate, true);
  assert.equal(show(r1), show(r2));
  for (const sm of [full, src, fresh, other]) sm.close();
});

test("restoring bad bytes fails cleanly and keeps the current state", async () => {
  const sm = await SqlStateMachine.open();
  sm.apply(0, entry(1, ["CREATE TABLE t(x)", "INSERT INTO t VALUES (1)"]));
  const before = await sm.checksum();
  assert.throws(() => sm.restore(new Uint8Array([1, 2, 3, 4])), StoreError);
  const plain = await SqlStateMachine.open();
  plain.close();
  const foreign = await SqlStateMachine.open();
  const notOurs = foreign.createSnapshot();
  foreign.close();
  assert.throws(() => sm.applySnapshot(7, notOurs), /snapshot holds index 0, expected 7/);
  assert.deepEqual(await sm.checksum(), before);
  assert.equal(sm.query([{ sql: "SELECT x FROM t" }])[0].values?.[0][0], 1);
  sm.close();
});
