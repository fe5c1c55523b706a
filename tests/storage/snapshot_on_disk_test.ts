/**
 * FileStorage keeps a snapshot in memory only until a commit has written its file; after that every
 * getSnapshot() reads and verifies the file (issue 7: a node must not hold its database twice).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
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

test("a committed snapshot is read from its file, a pending one from memory", async () => {
  await withPendingSnapshot(async (s, dir, data) => {
    assert.deepEqual(snapFiles(dir), [], "not written before the commit");
    assert.ok(s.getSnapshot()?.data === data, "pending: the bytes the core wrote");
    await s.sync();
    const [name] = snapFiles(dir);
    assert.ok(name, "the commit wrote the snapshot file");
    const got = s.getSnapshot();
    assert.ok(got?.data !== data, "a fresh copy read from the file, not the bytes written");
    assertSnapshot(got, 2, data);
    // A trim-only commit keeps the same file and still reads it.
    s.write([{ op: "trim", idx: 3 }]);
    await s.sync();
    assert.deepEqual(snapFiles(dir), [name]);
    assertSnapshot(s.getSnapshot(), 2, data);
    // Proof that nothing else holds the bytes: without the file there is no snapshot to return.
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

test("a snapshot replaced while its commit runs: the newer one wins, in memory then on disk", async () => {
  await withPendingSnapshot(async (s, dir) => {
    const committing = s.sync();
    // A few microtasks start the commit (it captures the first snapshot, then waits on file I/O, which
    // cannot complete within microtasks): the temp file shows it is in flight.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.equal(fs.readdirSync(`${dir}/snapshots`).filter((n) => n.endsWith(".tmp")).length, 1);
    const newer = new Uint8Array(30_000).fill(9);
    s.write([{ op: "trim", idx: 3 }, { op: "setSnapshot", snapshot: { idx: 3, data: newer } }]);
    await committing;
    assert.ok(s.getSnapshot()?.data === newer, "the first commit did not replace the newer bytes");
    await s.sync();
    assert.equal(snapFiles(dir).length, 1, "the first snapshot's file is gone");
    const got = s.getSnapshot();
    assert.ok(got?.data !== newer, "read from the file");
    assertSnapshot(got, 3, newer);
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
