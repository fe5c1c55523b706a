/**
 * Recovery of damaged files: a torn or corrupt tail is cut back to a whole number of commits (never a part
 * of one, never garbage); damage to fsynced records followed by later commits, to the checkpoint, or to the
 * snapshot file is a StorageCorruptionError naming the file and offset.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { FileStorage, StorageCorruptionError } from "../../src/storage/mod.ts";
import { parseRecord, RECORD_HEADER, SEGMENT_MAGIC } from "../../src/storage/record.ts";
import { dump, Prng, randomBatch, segmentFile, withDir } from "./helpers.ts";

interface History {
  /** State after each write() (index 0: the empty log). */
  states: ReturnType<typeof dump>[];
  /** End offset of each record (index 0: the checkpoint); record i holds write i. */
  ends: number[];
  /** End offset of each group commit (index 0: the checkpoint). */
  commits: number[];
}

/**
 * Writes `commits` group commits of 1–3 batches each (no compaction, so all land in one segment), then
 * crashes; returns the states and record boundaries.
 */
async function history(dir: string, seed: number, commits: number): Promise<History> {
  const rng = new Prng(seed);
  const s = await FileStorage.open(dir);
  const file = segmentFile(dir);
  const h: History = { states: [dump(s)], ends: [], commits: [fs.statSync(file).size] };
  for (let i = 0; i < commits; i++) {
    for (let b = 1 + rng.int(3); b > 0;) {
      const ops = randomBatch(rng, s);
      if (ops.some((op) => op.op === "trim" || op.op === "setSnapshot")) continue;
      s.write(ops);
      h.states.push(dump(s));
      b--;
    }
    await s.sync();
    h.commits.push(fs.statSync(file).size);
  }
  s.abandon();
  const buf = fs.readFileSync(file);
  for (let at = SEGMENT_MAGIC.length; at < buf.length;) {
    const r = parseRecord(buf, at);
    assert.ok(typeof r !== "string", r as string);
    h.ends.push(at = r.end);
  }
  assert.equal(h.ends.length, h.states.length, "one record per write");
  return h;
}

/** How many writes lie wholly inside the first `len` bytes. */
function wholeWrites(h: History, len: number): number {
  return h.ends.filter((e) => e <= len).length - 1;
}

/** A history of `commits` commits in `dir`, its segment file and that file's undamaged bytes. */
async function damageable(dir: string, seed: number, commits: number) {
  const h = await history(dir, seed, commits);
  const file = segmentFile(dir);
  return { h, file, full: fs.readFileSync(file) };
}

async function reopenState(dir: string) {
  const s = await FileStorage.open(dir);
  const out = { state: dump(s), report: s.recoveryReport };
  await s.close();
  return out;
}

test("a log cut at any byte recovers exactly the writes wholly before the cut", async () => {
  await withDir(async (dir) => {
    const { h, file, full } = await damageable(dir, 7, 25);
    const rng = new Prng(99);
    for (let i = 0; i < 60; i++) {
      const cut = h.ends[0] + rng.int(full.length - h.ends[0]);
      fs.writeFileSync(file, full.subarray(0, cut));
      const { state, report } = await reopenState(dir);
      const k = wholeWrites(h, cut);
      assert.deepEqual(state, h.states[k], `cut at ${cut}: the first ${k} writes`);
      assert.equal(report.truncatedBytes, cut - h.ends[k]);
      assert.equal(fs.statSync(file).size, h.ends[k], "the torn bytes are gone from the file");
    }
  });
});

test("random bytes flipped in the last commit cut it from the first damaged record on", async () => {
  await withDir(async (dir) => {
    const { h, file, full } = await damageable(dir, 11, 12);
    const rng = new Prng(5);
    const last = h.commits.at(-2)!;
    for (let i = 0; i < 40; i++) {
      const damaged = Buffer.from(full);
      let first = full.length;
      for (let n = 1 + rng.int(3); n > 0; n--) {
        const at = last + rng.int(full.length - last);
        damaged[at] ^= 1 + rng.int(255);
        first = Math.min(first, at);
      }
      fs.writeFileSync(file, damaged);
      const { state, report } = await reopenState(dir);
      // Everything from the record holding the first damaged byte on is gone.
      const k = wholeWrites(h, first);
      assert.deepEqual(state, h.states[k], `damage pass ${i}`);
      assert.equal(report.truncatedAt, h.ends[k]);
      assert.ok(report.tornReason, "says why the tail was cut");
    }
  });
});

test("a commit of several records whose first record is damaged is cut whole (records after it too)", async () => {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    s.write([{ op: "append", entries: [new Uint8Array([1])] }]);
    await s.sync();
    const before = dump(s);
    const start = fs.statSync(segmentFile(dir)).size;
    for (let i = 0; i < 3; i++) s.write([{ op: "append", entries: [new Uint8Array([2, i])] }]);
    await s.sync();
    s.abandon();
    const file = segmentFile(dir);
    const buf = fs.readFileSync(file);
    buf[start + RECORD_HEADER] ^= 0xff; // first record's payload: the two after it stay valid
    fs.writeFileSync(file, buf);
    const { state, report } = await reopenState(dir);
    assert.deepEqual(state, before);
    assert.equal(report.truncatedAt, start);
    assert.equal(report.tornReason, "CRC mismatch");
  });
});

test("zeros or garbage after the last record are cut, and later writes land after the good records", async () => {
  for (const tail of [new Uint8Array(4096), new Uint8Array([9, 0, 0, 0, 1, 2, 3, 4, 2, 7, 7])]) {
    await withDir(async (dir) => {
      const h = await history(dir, 3, 5);
      const file = segmentFile(dir);
      fs.appendFileSync(file, tail);
      let s = await FileStorage.open(dir);
      assert.deepEqual(dump(s), h.states.at(-1));
      assert.equal(s.recoveryReport.truncatedBytes, tail.length);
      s.write([{ op: "append", entries: [new Uint8Array([42])] }]);
      const after = dump(s);
      await s.close();
      s = await FileStorage.open(dir);
      assert.deepEqual(dump(s), after);
      assert.equal(s.recoveryReport.truncatedBytes, 0);
      await s.close();
    });
  }
});

test("a damaged record followed by later commits is corruption, reported with file and offset", async () => {
  await withDir(async (dir) => {
    const { h, file, full } = await damageable(dir, 13, 10);
    const rng = new Prng(8);
    for (let i = 0; i < 20; i++) {
      // Any commit but the last one: a later commit's records were written after it was fsynced.
      const c = 1 + rng.int(h.commits.length - 2);
      const start = h.commits[c - 1];
      const at = start + rng.int(h.commits[c] - start);
      const damaged = Buffer.from(full);
      damaged[at] ^= 1 + rng.int(255);
      fs.writeFileSync(file, damaged);
      await assert.rejects(FileStorage.open(dir), (e: unknown) => {
        assert.ok(e instanceof StorageCorruptionError, String(e));
        assert.equal(e.file, file);
        assert.equal(e.reason, "bad-record");
        assert.ok(e.offset >= start && e.offset <= at, `offset ${e.offset} within the damaged commit`);
        assert.match(e.message, /\.wal at byte \d+: bad-record/);
        return true;
      });
      assert.ok(!fs.existsSync(`${dir}/LOCK`), "a failed open releases the lock");
    }
    fs.writeFileSync(file, full);
    assert.deepEqual((await reopenState(dir)).state, h.states.at(-1), "the undamaged file still opens");
  });
});

test("a damaged checkpoint or segment header is corruption", async () => {
  await withDir(async (dir) => {
    await history(dir, 2, 3);
    const file = segmentFile(dir);
    const full = fs.readFileSync(file);
    for (
      const [at, reason] of [[2, "bad-magic"], [
        SEGMENT_MAGIC.length + RECORD_HEADER + 3,
        "bad-checkpoint",
      ]] as const
    ) {
      const damaged = Buffer.from(full);
      damaged[at] ^= 0x10;
      fs.writeFileSync(file, damaged);
      await assert.rejects(FileStorage.open(dir), (e: unknown) => {
        assert.ok(e instanceof StorageCorruptionError && e.reason === reason && e.file === file, String(e));
        return true;
      });
    }
  });
});

async function withSnapshot(f: (dir: string, snapFile: string) => Promise<void>): Promise<void> {
  await withDir(async (dir) => {
    const s = await FileStorage.open(dir);
    const data = new Uint8Array(100_000).map((_, i) => i * 7);
    s.write([{ op: "append", entries: [new Uint8Array([1]), new Uint8Array([2])] }, {
      op: "setDecidedIdx",
      idx: 2,
    }]);
    s.write([{ op: "trim", idx: 2 }, { op: "setSnapshot", snapshot: { idx: 2, data } }]);
    await s.close();
    const reopened = await FileStorage.open(dir);
    assert.deepEqual(reopened.getSnapshot(), { idx: 2, data }, "the snapshot round-trips");
    await reopened.close();
    const names = fs.readdirSync(`${dir}/snapshots`);
    assert.equal(names.length, 1);
    await f(dir, `${dir}/snapshots/${names[0]}`);
  });
}

for (
  const [what, damage, reason] of [
    ["missing", (p: string) => fs.rmSync(p), "missing-snapshot"],
    ["truncated", (p: string) => fs.truncateSync(p, 5000), "bad-snapshot"],
    ["flipped", (p: string) => {
      const b = fs.readFileSync(p);
      b[b.length - 10] ^= 4;
      fs.writeFileSync(p, b);
    }, "bad-snapshot"],
  ] as const
) {
  test(`a ${what} snapshot file is a clear error on open`, async () => {
    await withSnapshot(async (dir, snapFile) => {
      damage(snapFile);
      await assert.rejects(FileStorage.open(dir), (e: unknown) => {
        assert.ok(e instanceof StorageCorruptionError, String(e));
        assert.equal(e.reason, reason);
        assert.equal(e.file, snapFile);
        return true;
      });
    });
  });
}
