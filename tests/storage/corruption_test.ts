/**
 * Arbitrary damage to a data directory, property-based (fast-check, seeded): byte flips anywhere in the
 * log segment (header, checkpoint, any commit), cuts at any length including zero, flips and cuts anywhere
 * in the snapshot file, a deleted segment or log directory. Each run checks the one allowed outcome:
 * damage inside the last commit is a torn tail, cut back to the last whole record before it and
 * reported; damage anywhere earlier is a StorageCorruptionError naming the file and the damaged record's
 * offset. Never a silent truncation of fsynced records that later records vouch for.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fc from "fast-check";
import { FileStorage, StorageCorruptionError } from "../../src/storage/mod.ts";
import { parseRecord, SEGMENT_MAGIC } from "../../src/storage/record.ts";
import { dump, Prng, randomBatch, segmentFile, withDir } from "./helpers.ts";

type State = ReturnType<typeof dump>;

interface Fixture {
  /** The undamaged data directory's files, by path relative to it. */
  files: Map<string, Buffer>;
  segment: string;
  snapshot: string;
  /** Record boundaries of the segment: starts[i] is where record i begins (0: the checkpoint). */
  starts: number[];
  ends: number[];
  /** State after each record (0: after the checkpoint). */
  states: State[];
  /** Start of the last commit's first record. */
  lastCommit: number;
  /** The group commit each record belongs to (-1: the checkpoint). */
  commitOf: number[];
}

/**
 * A directory whose segment is not the first (a snapshot and trim started it with a checkpoint that
 * refers to a snapshot file) followed by several group commits of 1–3 batches.
 */
async function makeFixture(dir: string, seed: number): Promise<Fixture> {
  const rng = new Prng(seed);
  const s = await FileStorage.open(dir);
  s.write([{ op: "append", entries: [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])] }]);
  s.write([{ op: "setDecidedIdx", idx: 2 }]);
  const data = new Uint8Array(3000).map((_, i) => (i * 31) & 0xff);
  s.write([{ op: "trim", idx: 2 }, { op: "setSnapshot", snapshot: { idx: 2, data } }]);
  await s.sync();
  const states = [dump(s)];
  const commitStarts: number[] = [];
  const commitOf = [-1];
  for (let c = 0; c < 6; c++) {
    commitStarts.push(fs.statSync(segmentFile(dir)).size);
    for (let b = 1 + rng.int(3); b > 0;) {
      const ops = randomBatch(rng, s);
      if (ops.some((op) => op.op === "trim" || op.op === "setSnapshot")) continue; // stay in this segment
      s.write(ops);
      states.push(dump(s));
      commitOf.push(c);
      b--;
    }
    await s.sync();
  }
  await s.close();
  const segment = segmentFile(dir);
  assert.ok(!segment.endsWith("00000001.wal"), "the compaction started a new segment");
  const [snapName] = fs.readdirSync(`${dir}/snapshots`);
  const buf = fs.readFileSync(segment);
  const starts: number[] = [];
  const ends: number[] = [];
  for (let at = SEGMENT_MAGIC.length; at < buf.length;) {
    const r = parseRecord(buf, at);
    assert.ok(typeof r !== "string", r as string);
    starts.push(at);
    ends.push(at = r.end);
  }
  assert.equal(starts.length, states.length, "one record per write");
  const files = new Map<string, Buffer>();
  for (const rel of [segment.slice(dir.length + 1), `snapshots/${snapName}`]) {
    files.set(rel, fs.readFileSync(`${dir}/${rel}`));
  }
  return {
    files,
    segment: segment.slice(dir.length + 1),
    snapshot: `snapshots/${snapName}`,
    starts,
    ends,
    states,
    lastCommit: commitStarts.at(-1)!,
    commitOf,
  };
}

/** Restores the fixture's files into `dir` (and only them), applying `damage` to one of them. */
function restore(dir: string, fx: Fixture, target: string, damage: (b: Buffer) => Buffer | undefined): void {
  fs.rmSync(`${dir}/log`, { recursive: true, force: true });
  fs.rmSync(`${dir}/snapshots`, { recursive: true, force: true });
  fs.mkdirSync(`${dir}/log`, { recursive: true });
  fs.mkdirSync(`${dir}/snapshots`, { recursive: true });
  for (const [rel, bytes] of fx.files) {
    const out = rel === target ? damage(Buffer.from(bytes)) : bytes;
    if (out) fs.writeFileSync(`${dir}/${rel}`, out);
  }
}

type Outcome = { state: State; truncatedAt: number | undefined } | StorageCorruptionError;

async function open(dir: string): Promise<Outcome> {
  let s: FileStorage;
  try {
    s = await FileStorage.open(dir);
  } catch (e) {
    assert.ok(e instanceof StorageCorruptionError, `not a typed error: ${e}`);
    assert.ok(!fs.existsSync(`${dir}/LOCK`), "a refused open releases the lock");
    return e;
  }
  const out = { state: dump(s), truncatedAt: s.recoveryReport.truncatedAt };
  await s.close();
  return out;
}

function assertError(
  o: Outcome,
  file: string,
  reason: string,
  offset: number,
  what: string,
): asserts o is StorageCorruptionError {
  assert.ok(o instanceof StorageCorruptionError, `${what}: expected ${reason}, opened instead`);
  assert.equal(o.reason, reason, what);
  assert.equal(o.file, file, what);
  assert.equal(o.offset, offset, what);
  assert.ok(o.message.includes(file) && o.message.includes(`at byte ${offset}`), o.message);
}

function assertRecovered(o: Outcome, fx: Fixture, records: number, cutAt: number | undefined, what: string) {
  assert.ok(!(o instanceof StorageCorruptionError), `${what}: ${o}`);
  assert.deepEqual(o.state, fx.states[records - 1], `${what}: the state after ${records} records`);
  assert.equal(o.truncatedAt, cutAt, what);
}

/** The record holding byte `at` of the segment. */
const recordAt = (fx: Fixture, at: number) => fx.starts.findLastIndex((s) => s <= at);

/**
 * Whether some record after the first damaged one, written in a later commit, still proves the damaged
 * bytes were fsynced: it is intact, or only its payload or CRC was hit (its length, type and syncedUpTo
 * hold) and it ends at the end of the file or at an intact record.
 */
function vouched(fx: Fixture, flipped: number[], first: number): boolean {
  const hit = (a: number, b: number) => flipped.some((f) => f >= a && f < b);
  const intact = (j: number) => !hit(fx.starts[j], fx.ends[j]);
  const headerIntact = (j: number) =>
    !hit(fx.starts[j], fx.starts[j] + 4) && !hit(fx.starts[j] + 8, fx.starts[j] + 17);
  for (let j = first + 1; j < fx.starts.length; j++) {
    if (fx.commitOf[j] === fx.commitOf[first]) continue;
    if (intact(j) || (headerIntact(j) && (j === fx.starts.length - 1 || intact(j + 1)))) return true;
  }
  return false;
}

test("byte flips anywhere in the log: an unvouched last commit is cut, anything fsynced is an error", async () => {
  await withDir(async (dir) => {
    const fx = await makeFixture(dir, 41);
    const size = fx.files.get(fx.segment)!.length;
    const file = `${dir}/${fx.segment}`;
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            // Anywhere, or in the last commit (a small part of the file, where the torn-tail rule applies).
            fc.oneof(fc.nat(size - 1), fc.integer({ min: fx.lastCommit, max: size - 1 })),
            fc.integer({ min: 1, max: 255 }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        async (flips) => {
          restore(dir, fx, fx.segment, (b) => {
            for (const [at, mask] of flips) b[at] ^= mask;
            return b;
          });
          const first = Math.min(...flips.map(([at]) => at));
          const o = await open(dir);
          const what = `flips ${JSON.stringify(flips)}`;
          const r = recordAt(fx, first);
          let kind: string;
          if (first < SEGMENT_MAGIC.length) {
            kind = "magic";
            assertError(o, file, "bad-magic", 0, what);
          } else if (first < fx.ends[0]) {
            kind = "checkpoint";
            assertError(o, file, "bad-checkpoint", SEGMENT_MAGIC.length, what);
          } else if (vouched(fx, flips.map(([at]) => at), r)) {
            kind = first < fx.lastCommit ? "fsynced record" : "impossible";
            assertError(o, file, "bad-record", fx.starts[r], what);
          } else {
            // Only the last commit can lack a later record vouching for it — or an earlier one when the
            // same run also destroyed every record that would have.
            kind = first >= fx.lastCommit ? "torn tail" : "earlier commit, vouchers destroyed too";
            assertRecovered(o, fx, r, fx.starts[r], what);
          }
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        },
      ),
      { seed: 7001, numRuns: 400 },
    );
    assert.ok(!kinds.has("impossible"));
    for (const k of ["magic", "checkpoint", "fsynced record", "torn tail"]) {
      assert.ok((kinds.get(k) ?? 0) >= 5, `${k}: ${kinds.get(k) ?? 0} runs`);
    }
  });
});

test("damage in an fsynced commit and in the last one, whose only record vouched for it, is an error", async () => {
  await withDir(async (dir) => {
    const fx = await makeFixture(dir, 45);
    const file = `${dir}/${fx.segment}`;
    const last = fx.starts.length - 1;
    // Make the last commit a single record: drop the others of the last commit (a clean cut).
    const lastCommitRecords = fx.commitOf.filter((c) => c === fx.commitOf[last]).length;
    assert.ok(lastCommitRecords >= 1);
    const single = fx.starts.findIndex((_, j) => fx.commitOf[j] === fx.commitOf[last]);
    const earlier = single - 1;
    assert.ok(fx.commitOf[earlier] >= 0, "a batch record before the last commit");
    restore(dir, fx, fx.segment, (b) => {
      const cut = Buffer.from(b.subarray(0, fx.ends[single]));
      cut[fx.starts[earlier] + 20] ^= 1; // payload of a record fsynced by the commit before
      cut[fx.ends[single] - 1] ^= 1; // payload of the last record, the only one after it
      return cut;
    });
    const o = await open(dir);
    assertError(o, file, "bad-record", fx.starts[earlier], "two damaged commits");
    assert.match(o.message, /\(also damaged\) record at byte \d+ says bytes up to \d+ had been fsynced/);
  });
});

test("a log cut at any length, zero included: a clean prefix of records, or an error inside the checkpoint", async () => {
  await withDir(async (dir) => {
    const fx = await makeFixture(dir, 42);
    const size = fx.files.get(fx.segment)!.length;
    const file = `${dir}/${fx.segment}`;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant(0), fc.nat(size)), async (len) => {
        restore(dir, fx, fx.segment, (b) => b.subarray(0, len));
        const o = await open(dir);
        const what = `cut at ${len} of ${size}`;
        if (len < SEGMENT_MAGIC.length) assertError(o, file, "bad-magic", 0, what);
        else if (len < fx.ends[0]) assertError(o, file, "bad-checkpoint", SEGMENT_MAGIC.length, what);
        else {
          const whole = fx.ends.filter((e) => e <= len).length;
          assertRecovered(o, fx, whole, len === fx.ends[whole - 1] ? undefined : fx.ends[whole - 1], what);
        }
      }),
      { seed: 7002, numRuns: 150 },
    );
  });
});

test("a snapshot file flipped, cut or emptied anywhere is bad-snapshot; deleted is missing-snapshot", async () => {
  await withDir(async (dir) => {
    const fx = await makeFixture(dir, 43);
    const size = fx.files.get(fx.snapshot)!.length;
    const file = `${dir}/${fx.snapshot}`;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(fc.constant("flip"), fc.nat(size - 1), fc.integer({ min: 1, max: 255 })),
          fc.tuple(fc.constant("cut"), fc.nat(size - 1), fc.constant(0)),
          fc.tuple(fc.constant("extend"), fc.integer({ min: 1, max: 100 }), fc.constant(0)),
          fc.tuple(fc.constant("delete"), fc.constant(0), fc.constant(0)),
        ),
        async ([how, at, mask]) => {
          restore(dir, fx, fx.snapshot, (b) => {
            if (how === "flip") b[at] ^= mask;
            else if (how === "cut") return b.subarray(0, at);
            else if (how === "extend") return Buffer.concat([b, Buffer.alloc(at, 0xee)]);
            else return undefined;
            return b;
          });
          const o = await open(dir);
          assert.ok(o instanceof StorageCorruptionError, `${how} ${at}: opened`);
          assert.equal(o.reason, how === "delete" ? "missing-snapshot" : "bad-snapshot");
          assert.equal(o.file, file);
        },
      ),
      { seed: 7003, numRuns: 150 },
    );
  });
});

test("a deleted segment or log directory is an error, not a fresh start", async () => {
  await withDir(async (dir) => {
    const fx = await makeFixture(dir, 44);
    restore(dir, fx, fx.segment, () => undefined);
    const gone = await open(dir);
    assertError(gone, `${dir}/log`, "missing-segment", 0, "segment deleted");
    assert.match(gone.message, /no segment/);

    // The whole log/ directory gone while snapshots/ still holds the data it referred to.
    restore(dir, fx, "", (b) => b);
    fs.rmSync(`${dir}/log`, { recursive: true });
    const noLog = await open(dir);
    assertError(noLog, `${dir}/log`, "missing-segment", 0, "log/ deleted");
    assert.ok(!fs.existsSync(`${dir}/log`), "nothing was created in its place");

    // Undamaged, it still opens to the last state.
    restore(dir, fx, "", (b) => b);
    assertRecovered(await open(dir), fx, fx.states.length, undefined, "undamaged");
  });
});

test("an interrupted first open (log.new left behind) is still a fresh directory", async () => {
  await withDir(async (dir) => {
    fs.mkdirSync(`${dir}/log.new`, { recursive: true });
    fs.writeFileSync(`${dir}/log.new/00000001.wal.tmp`, "partial");
    const s = await FileStorage.open(dir);
    assert.equal(s.getLogLen(), 0);
    s.write([{ op: "append", entries: [new Uint8Array([9])] }]);
    await s.close();
    assert.ok(!fs.existsSync(`${dir}/log.new`));
    const again = await FileStorage.open(dir);
    assert.equal(again.getLogLen(), 1);
    await again.close();
  });
});
