/**
 * FileStorage behaves exactly like MemoryStorage: random batches (trims past the end, appendOnPrefix,
 * snapshots, stop signs set and cleared, invalid batches) applied to both agree after every write, and a
 * reopened FileStorage (after close, or after a crash) holds the model as of the last sync().
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage, StorageError } from "../../mod.ts";
import { FileStorage, type FsyncMode } from "../../src/storage/mod.ts";
import { assertSame, type Op, Prng, randomBatch, withDir } from "./helpers.ts";

async function run(seed: number, mode: FsyncMode, steps: number): Promise<void> {
  await withDir(async (dir) => {
    const rng = new Prng(seed);
    let model = new MemoryStorage<Uint8Array>();
    // The model as of the last sync(): what a crash must leave.
    const synced = new MemoryStorage<Uint8Array>();
    let unsynced: Op[][] = [];
    let fsStore = await FileStorage.open(dir, { fsync: mode, checkpointBytes: 4096 });
    for (let step = 0; step < steps; step++) {
      const where = `seed ${seed} step ${step}`;
      const ops = randomBatch(rng, model, 0.1);
      let modelError: unknown;
      try {
        model.write(ops);
      } catch (e) {
        modelError = e;
      }
      if (modelError) {
        assert.ok(modelError instanceof StorageError);
        assert.throws(() => fsStore.write(ops), StorageError, `${where}: FileStorage must refuse it too`);
      } else {
        fsStore.write(ops);
        unsynced.push(ops);
      }
      assertSame(fsStore, model, where);

      const roll = rng.int(20);
      if (roll < 4) {
        await fsStore.sync();
        for (const b of unsynced) synced.write(b);
        unsynced = [];
      } else if (roll === 4) {
        await fsStore.close();
        for (const b of unsynced) synced.write(b);
        unsynced = [];
        fsStore = await FileStorage.open(dir, { fsync: mode, checkpointBytes: 4096 });
        assertSame(fsStore, model, `${where}: after close and reopen`);
      } else if (roll === 5) {
        fsStore.abandon();
        fsStore = await FileStorage.open(dir, { fsync: mode, checkpointBytes: 4096 });
        assertSame(fsStore, synced, `${where}: after a crash, the state of the last sync`);
        model = copyOf(synced); // continue from what survived
        unsynced = [];
        assert.equal(fsStore.recoveryReport.truncatedBytes, 0, "commits are whole: nothing torn");
      }
    }
    await fsStore.close();
    for (const b of unsynced) synced.write(b);
    const reopened = await FileStorage.open(dir, { fsync: mode });
    assertSame(reopened, model, `seed ${seed}: final reopen`);
    await reopened.close();
  });
}

/** A MemoryStorage holding `from`'s state (what survives a crash, to continue from). */
function copyOf(from: MemoryStorage<Uint8Array>): MemoryStorage<Uint8Array> {
  const c = from.getCompactedIdx();
  const ops: Op[] = [
    { op: "trim", idx: c },
    { op: "append", entries: from.getEntries(c, c + from.getLogLen()) },
    { op: "setDecidedIdx", idx: from.getDecidedIdx() },
    { op: "setStopSign", ss: from.getStopSign() },
    { op: "setSnapshot", snapshot: from.getSnapshot() },
  ];
  const p = from.getPromise();
  const a = from.getAcceptedRound();
  if (p) ops.push({ op: "setPromise", ballot: p });
  if (a) ops.push({ op: "setAcceptedRound", ballot: a });
  const copy = new MemoryStorage<Uint8Array>();
  copy.write(ops);
  return copy;
}

for (const [mode, seeds, steps] of [["never", 40, 150], ["always", 4, 120], ["batch", 4, 120]] as const) {
  test(`equivalence with MemoryStorage (fsync ${mode}, ${seeds} seeds x ${steps} batches)`, async () => {
    for (let seed = 1; seed <= seeds; seed++) await run(seed, mode, steps);
  });
}
