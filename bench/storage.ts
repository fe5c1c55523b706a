/**
 * bench:storage — FileStorage throughput on this machine's disk.
 *
 * 1. Appends/s for fsync always / batch / never, with writes of 1 and of 100 entries of 100 bytes, each
 *    write followed by sync() (every write is its own commit: the worst case for a host).
 * 2. Group commit: 64 writers each write one 100-byte entry, then one sync() serves them all (fsync
 *    always); reports commits (= fsyncs) per second and acknowledged writes per second.
 * 3. The I/O strategy behind write()/sync(): buffering records in memory and writing them in one call per
 *    commit (what FileStorage does) vs writeSync of every record inside write(), both with one fsync per
 *    64 records, measured on raw file descriptors.
 *
 * Each figure is the median of BENCH_REPS runs (default 5) of BENCH_MS milliseconds (default 1000).
 * Data goes to a temp dir under BENCH_DIR (default os.tmpdir(); it must be on a real disk for fsync to
 * mean anything). Writes the table to stdout and all samples to bench/results/storage.json.
 *
 * Usage: npm run bench:storage
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { FileStorage, type FsyncMode } from "../src/storage/mod.ts";
import { fsync, writeAt } from "../src/storage/fsio.ts";

const REPS = Number(process.env.BENCH_REPS ?? 5);
const MS = Number(process.env.BENCH_MS ?? 1000);
const ROOT = process.env.BENCH_DIR ?? os.tmpdir();
const ENTRY = new Uint8Array(100).fill(7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function inTempDir<R>(f: (dir: string) => Promise<R>): Promise<R> {
  const dir = fs.mkdtempSync(path.join(ROOT, "chisel-bench-storage-"));
  try {
    return await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `round` (which returns entries done) until MS elapsed; returns rounds and entries per second. */
async function timed(
  round: () => Promise<number>,
): Promise<{ rounds: number; roundsPerSec: number; entriesPerSec: number }> {
  let rounds = 0;
  let entries = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MS) {
    entries += await round();
    rounds++;
    now = performance.now();
  }
  const secs = (now - start) / 1000;
  return { rounds, roundsPerSec: rounds / secs, entriesPerSec: entries / secs };
}

async function appends(mode: FsyncMode, batch: number) {
  const samples: number[] = [];
  for (let r = 0; r < REPS; r++) {
    samples.push(
      await inTempDir(async (dir) => {
        const s = await FileStorage.open(dir, { fsync: mode });
        const entries = Array.from({ length: batch }, () => ENTRY);
        const t = await timed(async () => {
          s.write([{ op: "append", entries }]);
          await s.sync();
          return batch;
        });
        await s.close();
        return t.entriesPerSec;
      }),
    );
  }
  return { mode, batch, entryBytes: ENTRY.length, medianAppendsPerSec: median(samples), samples };
}

async function groupCommit(writers: number) {
  const commits: number[] = [];
  const writes: number[] = [];
  for (let r = 0; r < REPS; r++) {
    await inTempDir(async (dir) => {
      const s = await FileStorage.open(dir, { fsync: "always" });
      const before = s.stats.fsyncs;
      const t = await timed(async () => {
        for (let w = 0; w < writers; w++) s.write([{ op: "append", entries: [ENTRY] }]);
        await Promise.all(Array.from({ length: writers }, () => s.sync()));
        return writers;
      });
      const fsyncs = s.stats.fsyncs - before;
      commits.push(t.roundsPerSec);
      writes.push(t.entriesPerSec);
      await s.close();
      if (fsyncs !== t.rounds) {
        throw new Error(`expected one fsync per group commit: ${fsyncs} for ${t.rounds}`);
      }
    });
  }
  return {
    writers,
    mode: "always",
    medianFsyncsPerSec: median(commits),
    medianWritesPerSec: median(writes),
    fsyncSamples: commits,
    writeSamples: writes,
  };
}

/** Raw I/O: 64 records of 117 bytes (a 1-entry record) per commit, one fsync per commit. */
async function strategy(kind: "buffered" | "writeSync") {
  const samples: number[] = [];
  const record = new Uint8Array(117).fill(1);
  for (let r = 0; r < REPS; r++) {
    samples.push(
      await inTempDir(async (dir) => {
        const fd = fs.openSync(`${dir}/wal`, "w+");
        let pos = 0;
        const t = await timed(async () => {
          if (kind === "writeSync") {
            for (let i = 0; i < 64; i++) pos += fs.writeSync(fd, record, 0, record.length, pos);
          } else {
            const buf = new Uint8Array(64 * record.length);
            for (let i = 0; i < 64; i++) buf.set(record, i * record.length);
            await writeAt(fd, buf, pos);
            pos += buf.length;
          }
          await fsync(fd);
          return 64;
        });
        fs.closeSync(fd);
        return t.entriesPerSec;
      }),
    );
  }
  return { kind, recordsPerCommit: 64, medianRecordsPerSec: median(samples), samples };
}

const appendRows = [];
for (const mode of ["always", "batch", "never"] as const) {
  for (const batch of [1, 100]) {
    const row = await appends(mode, batch);
    appendRows.push(row);
    console.log(
      `fsync=${mode.padEnd(6)} entries/write=${String(batch).padStart(3)}  ` +
        `${fmt(row.medianAppendsPerSec).padStart(10)} appends/s  (samples ${
          row.samples.map(fmt).join(", ")
        })`,
    );
  }
}
const group = await groupCommit(64);
console.log(
  `group commit, 64 writers, fsync=always: ${fmt(group.medianFsyncsPerSec)} fsyncs/s, ` +
    `${fmt(group.medianWritesPerSec)} acknowledged writes/s`,
);
const strategies = [await strategy("buffered"), await strategy("writeSync")];
for (const s of strategies) {
  console.log(`I/O strategy ${s.kind.padEnd(9)}: ${fmt(s.medianRecordsPerSec)} records/s (64 per fsync)`);
}

const result = {
  bench: "storage",
  date: new Date().toISOString(),
  runtime: process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  loadavg: os.loadavg(),
  reps: REPS,
  msPerSample: MS,
  appends: appendRows,
  groupCommit: group,
  ioStrategy: strategies,
};
const out = fileURLToPath(new URL("./results/", (import.meta as { url: string }).url));
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "storage.json"), JSON.stringify(result, null, 2) + "\n");
console.log("wrote bench/results/storage.json");
