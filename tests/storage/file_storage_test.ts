/**
 * FileStorage's contract beyond equivalence: rejected writes change nothing, the lock, group commit,
 * the durability of synced (and only synced) writes, compaction of the files, the fsync modes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import process from "node:process";
import { StorageError } from "../../mod.ts";
import { FileStorage, StorageLockedError } from "../../src/storage/mod.ts";
import { dump, type Op, withDir } from "./helpers.ts";

const e = (...bs: number[]) => new Uint8Array(bs);

test("a rejected write throws StorageError and changes nothing, in memory or on disk", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    s.write([{ op: "append", entries: [e(1), e(2), e(3)] }, { op: "setDecidedIdx", idx: 1 }]);
    const before = dump(s);
    const bad: Op[][] = [
      // Valid first operations, then one MemoryStorage refuses.
      [{ op: "append", entries: [e(4)] }, { op: "appendOnPrefix", from: 9, entries: [] }],
      [{ op: "setPromise", ballot: { n: 1, priority: 0, pid: "a" } }, { op: "trim", idx: -1 }],
      [{ op: "setStopSign", ss: { configId: 2, nodes: ["a"] } }, { op: "setDecidedIdx", idx: -3 }],
      // Values the encoder refuses.
      [{ op: "append", entries: [e(5), "text" as unknown as Uint8Array] }],
      [{ op: "setAcceptedRound", ballot: { n: 1, priority: 0, pid: 7 as unknown as string } }],
      [{ op: "trim", idx: 1 }, {
        op: "setSnapshot",
        snapshot: { idx: 1, data: [1] as unknown as Uint8Array },
      }],
    ];
    for (const ops of bad) {
      assert.throws(() => s.write(ops), StorageError, JSON.stringify(ops));
      assert.deepEqual(dump(s), before);
    }
    await s.close();
    const reopened = await FileStorage.open(dir);
    assert.deepEqual(dump(reopened), before, "nothing of the rejected writes reached the disk");
    assert.equal(reopened.recoveryReport.batches, 1);
    await reopened.close();
  });
});

test("a second open of the same directory fails with StorageLockedError; a crashed owner's lock is taken over", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    await assert.rejects(FileStorage.open(dir), (err: unknown) => {
      assert.ok(err instanceof StorageLockedError && err.holderPid === process.pid, String(err));
      assert.match(err.message, /already open/);
      return true;
    });
    await s.close();
    // A lock left by a process that no longer exists (pids this large are not handed out).
    fs.writeFileSync(`${dir}/LOCK`, "4194303999\n");
    const t = await FileStorage.open(dir);
    assert.equal(t.recoveryReport.brokeStaleLock, true);
    await t.close();
    assert.ok(!fs.existsSync(`${dir}/LOCK`), "close releases the lock");
  });
});

test("group commit: many writes, one sync, one record each and a single fsync", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    const base = s.stats;
    for (let i = 0; i < 64; i++) s.write([{ op: "append", entries: [e(i)] }]);
    assert.ok(s.pendingBytes > 0);
    // Concurrent callers share the commit.
    await Promise.all([s.sync(), s.sync(), s.sync()]);
    const st = s.stats;
    assert.equal(st.records - base.records, 64);
    assert.equal(st.fsyncs - base.fsyncs, 1);
    assert.equal(st.commits - base.commits, 1);
    assert.equal(s.pendingBytes, 0);
    await s.sync();
    assert.equal(s.stats.fsyncs, st.fsyncs, "nothing new: no fsync");
    await s.close();
  });
});

test("synced writes survive a crash; unsynced ones are lost whole, never half", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    s.write([{ op: "append", entries: [e(1), e(2)] }, {
      op: "setPromise",
      ballot: { n: 3, priority: 0, pid: "x" },
    }]);
    await s.sync();
    const synced = dump(s);
    s.write([{ op: "append", entries: [e(3)] }, { op: "setDecidedIdx", idx: 3 }]);
    s.abandon();
    assert.throws(
      () => s.write([{ op: "append", entries: [] }]),
      StorageError,
      "an abandoned storage is dead",
    );
    const r = await FileStorage.open(dir);
    assert.deepEqual(dump(r), synced);
    await r.close();
  });
});

test("a trim or snapshot rewrites the log as one new segment and keeps only the live snapshot file", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    s.write([{ op: "append", entries: [e(1), e(2), e(3), e(4)] }, { op: "setDecidedIdx", idx: 4 }]);
    await s.sync();
    s.write([{ op: "trim", idx: 2 }, { op: "setSnapshot", snapshot: { idx: 2, data: e(9, 9) } }]);
    await s.sync();
    s.write([{ op: "trim", idx: 3 }, { op: "setSnapshot", snapshot: { idx: 3, data: e(8) } }]);
    s.write([{ op: "append", entries: [e(5)] }]);
    await s.sync();
    assert.deepEqual(fs.readdirSync(`${dir}/log`), ["00000003.wal"]);
    assert.equal(fs.readdirSync(`${dir}/snapshots`).length, 1);
    assert.equal(s.stats.checkpoints, 2);
    const want = dump(s);
    // Clearing the snapshot drops its file too.
    s.write([{ op: "setSnapshot" }]);
    await s.close();
    assert.deepEqual(fs.readdirSync(`${dir}/snapshots`), []);
    const r = await FileStorage.open(dir);
    assert.deepEqual(dump(r), { ...want, snapshot: undefined });
    await r.close();
  });
});

test("leftovers of an interrupted checkpoint (temp files, an older segment) are removed on open", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    s.write([{ op: "append", entries: [e(1)] }]);
    await s.close();
    fs.copyFileSync(`${dir}/log/00000001.wal`, `${dir}/log/00000002.wal`);
    fs.writeFileSync(`${dir}/log/00000003.wal.tmp`, "partial");
    fs.writeFileSync(`${dir}/snapshots/0000000000000005-9.snap.tmp`, "partial");
    const r = await FileStorage.open(dir);
    assert.deepEqual(r.recoveryReport.removedFiles.sort(), [
      "log/00000001.wal",
      "log/00000003.wal.tmp",
      "snapshots/0000000000000005-9.snap.tmp",
    ]);
    assert.equal(r.getLogLen(), 1);
    await r.close();
  });
});

test("fsync modes: always fsyncs every commit, batch defers to its timer, never does not fsync", async () => {
  for (const [mode, expectAfterSync] of [["always", 1], ["batch", 0], ["never", 0]] as const) {
    await withDir(async (dir) => {
      const s = await FileStorage.open(dir, { fsync: mode, batchMs: 20 });
      const base = s.stats.fsyncs;
      s.write([{ op: "append", entries: [e(1)] }]);
      await s.sync();
      assert.equal(s.stats.fsyncs - base, expectAfterSync, `${mode}: fsyncs after sync()`);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(s.stats.fsyncs - base, mode === "never" ? 0 : 1, `${mode}: fsyncs after the batch window`);
      await s.close();
    });
  }
});

test("batch mode fsyncs at once when batchBytes are unsynced", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir, { fsync: "batch", batchMs: 60_000, batchBytes: 1000 });
    s.write([{ op: "append", entries: [new Uint8Array(400)] }]);
    await s.sync();
    assert.equal(s.stats.fsyncs, 0);
    s.write([{ op: "append", entries: [new Uint8Array(700)] }]);
    await s.sync();
    assert.equal(s.stats.fsyncs, 1);
    await s.close();
  });
});

test("the log is rewritten as a checkpoint when it outgrows checkpointBytes", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir, { checkpointBytes: 2000 });
    for (let i = 0; i < 40; i++) {
      // Rewrite the same slot: the log stays small while the segment grows.
      s.write([{ op: "appendOnPrefix", from: 0, entries: [new Uint8Array(100).fill(i)] }]);
      await s.sync();
    }
    assert.ok(s.stats.checkpoints >= 1, `checkpoints: ${s.stats.checkpoints}`);
    assert.ok(fs.statSync(`${dir}/log/${fs.readdirSync(`${dir}/log`)[0]}`).size < 2500);
    const want = dump(s);
    await s.close();
    const r = await FileStorage.open(dir);
    assert.deepEqual(dump(r), want);
    await r.close();
  });
});
