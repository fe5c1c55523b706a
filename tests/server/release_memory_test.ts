/**
 * After a large snapshot the node runs a full garbage collection, so the dropped copy of the database leaves
 * the RSS at once (issue 7, memory): the collector is reachable on both runtimes and frees a dropped buffer,
 * FileStorage reports each snapshot file it wrote, a node collects after a snapshot of 16 MiB or more, and it
 * holds applying while a snapshot is written out (and reports what its snapshots cost).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { ChiselStore } from "../../mod.ts";
import { collectGarbage, garbageCollections } from "../../src/server/release_memory.ts";
import { FileStorage } from "../../src/storage/mod.ts";
import { waitFor } from "../net/wait.ts";

/** Memory held outside V8's heap by ArrayBuffers (Deno reports it as `external`). */
function bufferBytes(): number {
  const m = process.memoryUsage();
  return m.arrayBuffers > 0 ? m.arrayBuffers : m.external;
}

test("collectGarbage runs a full collection that frees a dropped 64 MiB buffer", () => {
  let big: Uint8Array | undefined = new Uint8Array(64 << 20).fill(1);
  const held = bufferBytes();
  assert.equal(big[123], 1);
  big = undefined;
  const before = garbageCollections();
  assert.equal(collectGarbage(), true);
  assert.equal(garbageCollections(), before + 1);
  assert.ok(bufferBytes() < held - (48 << 20), `buffers ${held} -> ${bufferBytes()} bytes`);
});

test("FileStorage reports the size of each snapshot file it writes, once", async () => {
  const dir = await mkdtemp(join(tmpdir(), "chisel-gc-"));
  const seen: number[] = [];
  const s = await FileStorage.open(dir, { fsync: "never", onSnapshotWritten: (n) => seen.push(n) });
  try {
    s.write([{ op: "append", entries: [1, 2, 3].map((b) => new Uint8Array([b])) }, {
      op: "setDecidedIdx",
      idx: 3,
    }]);
    await s.sync();
    assert.deepEqual(seen, []);
    s.write([{ op: "trim", idx: 2 }, {
      op: "setSnapshot",
      snapshot: { idx: 2, data: new Uint8Array(12_345) },
    }]);
    assert.deepEqual(seen, [], "not before the bytes are written");
    await s.snapshotWritten();
    assert.deepEqual(seen, [12_345], "once they are, before any commit");
    await s.sync();
    assert.deepEqual(seen, [12_345]);
    s.write([{ op: "append", entries: [new Uint8Array([4])] }]);
    await s.sync(); // no new snapshot: no call
    assert.deepEqual(seen, [12_345]);
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A node on file storage snapshotting every 10 entries, with table t(id, b BLOB); removed afterwards. */
async function withSnapshottingNode(f: (node: ChiselStore) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "chisel-snap-node-"));
  const node = await ChiselStore.start({ dataDir, fsync: "never", snapshotEntries: 10 });
  try {
    await node.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    await f(node);
  } finally {
    await node.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

test("a node collects garbage after writing a snapshot of 16 MiB or more", async () => {
  await withSnapshottingNode(async (node) => {
    const before = garbageCollections();
    for (let i = 0; i < 24; i++) await node.execute("INSERT INTO t(b) VALUES (zeroblob(1048576))");
    await waitFor(() => garbageCollections() > before, 20_000, "a collection after the 16+ MiB snapshot");
  });
});

test("a node holds applying while each snapshot is written out, and reports what its snapshots cost", async () => {
  await withSnapshottingNode(async (node) => {
    // One entry so far (the CREATE TABLE), fewer than 10: no snapshot yet.
    assert.deepEqual(node.status().snapshots, { taken: 0, applyHoldMs: 0, applyHolds: 0 });
    for (let i = 0; i < 25; i++) await node.execute("INSERT INTO t(b) VALUES (zeroblob(65536))");
    await waitFor(() => node.status().snapshots.applyHolds >= 2, 20_000, "two holds released");
    const s = node.status().snapshots;
    assert.ok(s.taken >= 2, JSON.stringify(s));
    assert.equal(s.applyHolds, s.taken, "every snapshot held applying until its bytes were written");
    assert.ok(s.lastIdx !== undefined && s.lastIdx >= 20 && s.lastIdx <= node.status().appliedIdx);
    assert.ok(
      s.lastBytes !== undefined && s.lastBytes > 10 * 65536,
      `a snapshot of the database: ${s.lastBytes}`,
    );
    assert.ok(
      s.lastExportMs !== undefined && s.lastApplyHoldMs !== undefined && s.applyHoldMs >= s.lastApplyHoldMs,
    );
    // Writes go on after the holds: nothing is stuck behind them.
    const r = await node.execute("INSERT INTO t(b) VALUES (x'00')");
    assert.equal(r.results[0].error, undefined);
  });
});

test("a node on memory storage counts its snapshots and holds nothing", async () => {
  const node = await ChiselStore.start({ memory: true, snapshotEntries: 10 });
  try {
    await node.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    for (let i = 0; i < 12; i++) await node.execute("INSERT INTO t VALUES (NULL)");
    await waitFor(() => node.status().snapshots.taken >= 1, 20_000, "a snapshot");
    const s = node.status().snapshots;
    assert.equal(s.applyHolds, 0);
    assert.ok(s.lastBytes !== undefined && s.lastBytes > 0);
  } finally {
    await node.stop();
  }
});
