/**
 * FileStorage holds a snapshot's bytes only while write() writes them to a temp file; the commit fsyncs and
 * renames it, and every getSnapshot() after that write reads and verifies the file (issue 7: a node must
 * not hold its database twice).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { StorageError } from "../../src/omnipaxos/errors.ts";
import { FileStorage, StorageCorruptionError } from "../../src/storage/mod.ts";
import { Prng, withDir } from "./helpers.ts";

const HEADER = 28; // magic, idx, size, CRC (snapshot_file.ts)

/** Byte equality without assert's diff, which on large arrays can take gigabytes when it fails. */
function assertSnapshot(
  got: { idx: number; data: Uint8Array } | undefined,
  idx: number,
  data: Uint8Array,
): void {
  assert.ok(got, "a snapshot");
  assert.equal(got.idx, idx);
  assert.ok(
    got.data.length === data.length && got.data.every((b, i) => b === data[i]),
    "snapshot bytes differ",
  );
}

function snapFiles(dir: string): string[] {
  return fs.readdirSync(`${dir}/snapshots`).filter((n) => n.endsWith(".snap"));
}

function tmpFiles(dir: string): string[] {
  return fs.readdirSync(`${dir}/snapshots`).filter((n) => n.endsWith(".tmp"));
}

/** A storage with entries [0, 4) decided, and `data` set as the snapshot at 2 (not yet committed). */
async function withPendingSnapshot(
  f: (s: FileStorage, dir: string, data: Uint8Array) => Promise<void>,
): Promise<void> {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir, { fsync: "never" });
    const rng = new Prng(7);
    const data = new Uint8Array(50_000).map(() => rng.int(256));
    s.write([{ op: "append", entries: [1, 2, 3, 4].map((b) => new Uint8Array([b])) }, {
      op: "setDecidedIdx",
      idx: 4,
    }]);
    await s.sync();
    s.write([{ op: "trim", idx: 2 }, { op: "setSnapshot", snapshot: { idx: 2, data } }]);
    try {
      await f(s, dir, data);
    } finally {
      await s.close().catch(() => {});
    }
  });
}

test("a snapshot is held only while write's temp file is written; the commit places that file", async () => {
  await withPendingSnapshot(async (s, dir, data) => {
    const [tmp, ...more] = tmpFiles(dir);
    assert.ok(tmp && more.length === 0, "write itself started the temp file");
    assert.ok(s.getSnapshot()?.data === data, "held while being written");
    await s.snapshotWritten();
    const pending = s.getSnapshot();
    assert.ok(pending?.data !== data, "written: read from the temp file, not the bytes the core wrote");
    assertSnapshot(pending, 2, data);
    // Proof that nothing holds the bytes: without the temp file there is no snapshot to return.
    fs.renameSync(`${dir}/snapshots/${tmp}`, `${dir}/hidden`);
    assert.throws(() => s.getSnapshot(), (e: unknown) => {
      assert.ok(e instanceof StorageCorruptionError, String(e));
      assert.equal(e.reason, "missing-snapshot");
      assert.equal(e.file, `${dir}/snapshots/${tmp}`);
      return true;
    });
    fs.renameSync(`${dir}/hidden`, `${dir}/snapshots/${tmp}`);
    assert.deepEqual(snapFiles(dir), [], "not placed before the commit");
    await s.sync();
    const [name] = snapFiles(dir);
    assert.equal(`${name}.tmp`, tmp, "the commit renamed the temp file into place");
    assert.deepEqual(tmpFiles(dir), []);
    assertSnapshot(s.getSnapshot(), 2, data);
    // A trim-only commit keeps the same file and still reads it.
    s.write([{ op: "trim", idx: 3 }]);
    await s.sync();
    assert.deepEqual(snapFiles(dir), [name]);
    assertSnapshot(s.getSnapshot(), 2, data);
    fs.rmSync(`${dir}/snapshots/${name}`);
    assert.throws(() => s.getSnapshot(), (e: unknown) => {
      assert.ok(e instanceof StorageCorruptionError, String(e));
      assert.equal(e.reason, "missing-snapshot");
      assert.equal(e.file, `${dir}/snapshots/${name}`);
      assert.equal(e.offset, 0);
      return true;
    });
  });
});

test("a snapshot that cannot be written poisons the storage: nothing after it becomes durable", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir, { fsync: "never" });
    try {
      s.write([{ op: "append", entries: [1, 2, 3].map((b) => new Uint8Array([b])) }, {
        op: "setDecidedIdx",
        idx: 3,
      }]);
      await s.sync();
      // The snapshots directory replaced by a file: creating the temp file fails with ENOTDIR.
      fs.rmSync(`${dir}/snapshots`, { recursive: true });
      fs.writeFileSync(`${dir}/snapshots`, "not a directory");
      s.write([{ op: "trim", idx: 2 }, {
        op: "setSnapshot",
        snapshot: { idx: 2, data: new Uint8Array(10) },
      }]);
      const poisoned = (e: unknown) =>
        e instanceof StorageError && /writing a snapshot failed/.test(e.message);
      await assert.rejects(s.snapshotWritten(), poisoned);
      await assert.rejects(s.sync(), poisoned);
      assert.throws(() => s.write([{ op: "append", entries: [new Uint8Array([4])] }]), poisoned);
    } finally {
      await s.close().catch(() => {});
    }
    // The trim never reached the log.
    fs.rmSync(`${dir}/snapshots`);
    fs.mkdirSync(`${dir}/snapshots`);
    const reopened = await FileStorage.open(dir, { fsync: "never" });
    try {
      assert.equal(reopened.getCompactedIdx(), 0);
      assert.equal(reopened.getLogLen(), 3);
    } finally {
      await reopened.close();
    }
  });
});

test("a batch the view refuses leaves no temp file behind", async () => {
  await withPendingSnapshot(async (s, dir) => {
    await s.sync();
    // Trimming below the compacted index is refused by the view, after the temp file was written.
    const bad = () =>
      s.write([{ op: "trim", idx: 1 }, {
        op: "setSnapshot",
        snapshot: { idx: 1, data: new Uint8Array(10) },
      }]);
    assert.throws(bad, StorageError);
    assert.deepEqual(tmpFiles(dir), []);
    assert.equal(s.getSnapshot()?.idx, 2, "the committed snapshot is still the current one");
    s.write([{ op: "append", entries: [new Uint8Array([5])] }]);
    await s.sync(); // not poisoned
  });
});

for (
  const [what, damage, offset] of [
    ["a flipped data byte", (b: Buffer) => (b[HEADER + 100] ^= 1, b), HEADER],
    ["a truncated file", (b: Buffer) => b.subarray(0, b.length - 1), 16],
    ["a bad magic", (b: Buffer) => (b[0] ^= 0xff, b), 0],
  ] as const
) {
  test(`${what} in the snapshot file is StorageCorruptionError on read, and changes nothing`, async () => {
    await withPendingSnapshot(async (s, dir, data) => {
      await s.sync();
      const file = `${dir}/snapshots/${snapFiles(dir)[0]}`;
      const good = fs.readFileSync(file);
      fs.writeFileSync(file, damage(Buffer.from(good)));
      assert.throws(() => s.getSnapshot(), (e: unknown) => {
        assert.ok(e instanceof StorageCorruptionError, String(e));
        assert.equal(e.reason, "bad-snapshot");
        assert.equal(e.file, file);
        assert.equal(e.offset, offset);
        return true;
      });
      assert.equal(s.getCompactedIdx(), 2, "the rest of the state is untouched");
      fs.writeFileSync(file, good);
      assertSnapshot(s.getSnapshot(), 2, data); // readable again once the file is
      s.write([{ op: "append", entries: [new Uint8Array([5])] }]);
      await s.sync(); // the storage was not poisoned
    });
  });
}

test("a snapshot replaced while its commit runs: the newer one wins, in its temp file then placed", async () => {
  await withPendingSnapshot(async (s, dir) => {
    const committing = s.sync();
    // A few microtasks start the commit, which captures the first snapshot and waits for its temp file.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    const newer = new Uint8Array(30_000).fill(9);
    s.write([{ op: "trim", idx: 3 }, { op: "setSnapshot", snapshot: { idx: 3, data: newer } }]);
    await committing;
    assert.deepEqual(snapFiles(dir), ["0000000000000002-1.snap"], "the commit placed the first snapshot");
    assert.deepEqual(tmpFiles(dir), ["0000000000000003-2.snap.tmp"], "and kept the newer one's temp file");
    assertSnapshot(s.getSnapshot(), 3, newer);
    await s.sync();
    assert.deepEqual(snapFiles(dir), ["0000000000000003-2.snap"], "the first snapshot's file is gone");
    assert.deepEqual(tmpFiles(dir), []);
    assertSnapshot(s.getSnapshot(), 3, newer);
  });
});

test("a cleared snapshot stays cleared, and its file is removed", async () => {
  await withPendingSnapshot(async (s, dir) => {
    await s.sync();
    s.write([{ op: "setSnapshot" }]);
    assert.ok(s.getSnapshot() === undefined, "no snapshot");
    await s.sync();
    assert.ok(s.getSnapshot() === undefined, "no snapshot");
    assert.deepEqual(snapFiles(dir), []);
  });
});

test("after reopening, the snapshot is read from its file when asked, and verified each time", async () => {
  await withPendingSnapshot(async (s, dir, data) => {
    await s.close();
    const reopened = await FileStorage.open(dir);
    try {
      assertSnapshot(reopened.getSnapshot(), 2, data);
      const file = `${dir}/snapshots/${snapFiles(dir)[0]}`;
      const b = fs.readFileSync(file);
      b[b.length - 1] ^= 0x80;
      fs.writeFileSync(file, b);
      assert.throws(() => reopened.getSnapshot(), StorageCorruptionError);
    } finally {
      await reopened.close();
    }
  });
});
