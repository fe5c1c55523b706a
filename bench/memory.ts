/**
 * `npm run bench:memory`: memory of one `chiselstore node` process against the size of its database.
 *
 * 1. Load: a single-node cluster (a real process, fsync never since durability does not change memory,
 *    snapshot + log trim every --snapshot-entries entries, the node's default 10,000) gets --entries
 *    single-row INSERTs through the HTTP API, 64 in flight, sized so that the database ends near --db-mb.
 *    At every checkpoint: VmRSS and VmHWM (peak) of the node, the database size (page_count × page_size),
 *    the decided index and the snapshot file on disk. At the end, after the node is idle, the steady RSS.
 * 2. Probe (bench/memory_probe.ts, own process): the largest database sql.js holds here, and whether
 *    db.export() (a snapshot's copy) still works at each size (--probe-max-mb, --probe-step-mb); a step that
 *    prints nothing for --probe-stall-s seconds ends it and is reported as a stall.
 *
 * Output: a table and bench/results/memory.json (--out). Everything it starts is stopped and removed.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LocalCluster, type LocalNode } from "../src/cli/bench/cluster.ts";
import { sampleProcess } from "../src/cli/bench/procstat.ts";
import { formatTable } from "../src/cli/table.ts";
import { logDirFor } from "../src/server/cluster_config.ts";
import type { ProbeStep } from "./memory_probe.ts";

export interface Checkpoint {
  entries: number;
  decidedIdx: number;
  dbMb: number;
  rssMb: number;
  peakRssMb: number;
  /** The node's V8 heap and its ArrayBuffers (sql.js' database file and WASM heap), from /status. */
  heapTotalMb?: number;
  arrayBuffersMb?: number;
  /** Size of the newest snapshot file on disk. */
  snapshotMb: number;
  /** Rows written per second since the previous checkpoint. */
  rate: number;
  load1m: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const load1m = () => Math.round(os.loadavg()[0] * 100) / 100;

/** A deterministic text value of exactly `len` characters for row `seq`. */
export function rowValue(seq: number, len: number): string {
  const head = `r${seq.toString(36)}-`;
  return (head + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(Math.ceil(len / 36) + 1)).slice(0, len);
}

/**
 * Value length for the next rows: the bytes still wanted over the rows still to write, scaled by how many
 * database bytes one value byte has cost so far (row header, b-tree and page slack).
 */
export function nextValueLength(o: {
  targetBytes: number;
  dbBytes: number;
  rowsLeft: number;
  valueBytesSoFar: number;
  dbBytesSoFar: number;
}): number {
  if (o.rowsLeft <= 0) return 1;
  const costPerValueByte = o.valueBytesSoFar > 0 ? o.dbBytesSoFar / o.valueBytesSoFar : 1.15;
  const perRow = (o.targetBytes - o.dbBytes) / o.rowsLeft / costPerValueByte;
  return Math.max(1, Math.min(65_536, Math.round(perRow)));
}

async function dbBytes(n: LocalNode): Promise<number> {
  const [r] = await n.client.query(
    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    { consistency: "none" },
  );
  return Number(r.values![0][0]);
}

async function newestSnapshotBytes(dataDir: string): Promise<number> {
  const snaps = join(logDirFor(dataDir, 1), "snapshots");
  let names: string[];
  try {
    names = (await readdir(snaps)).filter((f) => f.endsWith(".snap"));
  } catch {
    return 0;
  }
  const sizes = await Promise.all(names.map(async (f) => ({ f, s: await stat(join(snaps, f)) })));
  sizes.sort((a, b) => b.s.mtimeMs - a.s.mtimeMs);
  return sizes[0]?.s.size ?? 0;
}

async function nodeStatus(
  n: LocalNode,
): Promise<{ decided: number; heapTotal: number; arrayBuffers: number }> {
  const st = await n.client.status() as {
    store?: { raft?: { decided_index?: number } };
    runtime?: { memory?: { heap_total?: number; array_buffers?: number } };
  };
  return {
    decided: st.store?.raft?.decided_index ?? 0,
    heapTotal: st.runtime?.memory?.heap_total ?? 0,
    arrayBuffers: st.runtime?.memory?.array_buffers ?? 0,
  };
}

/** Set by SIGINT/SIGTERM: the load stops and the node is stopped and removed. */
let interrupted = false;

async function load(opts: { entries: number; dbMb: number; checkpoints: number; inflight: number }) {
  const cluster = await LocalCluster.start({ nodes: 1, fsync: "never" });
  const node = cluster.nodes[0];
  const checkpoints: Checkpoint[] = [];
  try {
    await node.client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    const targetBytes = opts.dbMb * 2 ** 20;
    const sql = "INSERT INTO t(v) VALUES (?)";
    let written = 0;
    let valueBytes = 0;
    let len = nextValueLength({
      targetBytes,
      dbBytes: 0,
      rowsLeft: opts.entries,
      valueBytesSoFar: 0,
      dbBytesSoFar: 0,
    });
    const per = Math.ceil(opts.entries / opts.checkpoints);
    const base = await dbBytes(node);
    for (let cp = 1; written < opts.entries; cp++) {
      const until = Math.min(opts.entries, cp * per);
      const t0 = performance.now();
      let next = written;
      const worker = async () => {
        while (next < until) {
          if (interrupted) throw new Error("interrupted");
          const seq = next++;
          const r = await node.client.execute(sql, [rowValue(seq, len)], { timeoutMs: 30_000 });
          const failed = r.error ?? r.results.find((s) => s.error !== undefined)?.error;
          if (failed !== undefined) throw new Error(`insert ${seq}: ${failed}`);
        }
      };
      await Promise.all(Array.from({ length: opts.inflight }, worker));
      valueBytes += (until - written) * len;
      const rate = (until - written) / ((performance.now() - t0) / 1000);
      written = until;
      const [db, proc, snap, st] = await Promise.all([
        dbBytes(node),
        sampleProcess(node.pid!),
        newestSnapshotBytes(node.dir),
        nodeStatus(node),
      ]);
      len = nextValueLength({
        targetBytes,
        dbBytes: db,
        rowsLeft: opts.entries - written,
        valueBytesSoFar: valueBytes,
        dbBytesSoFar: db - base,
      });
      const c: Checkpoint = {
        entries: written,
        decidedIdx: st.decided,
        dbMb: mb(db),
        rssMb: mb(proc.rssKb * 1024),
        peakRssMb: mb(proc.peakRssKb * 1024),
        heapTotalMb: mb(st.heapTotal),
        arrayBuffersMb: mb(st.arrayBuffers),
        snapshotMb: mb(snap),
        rate: Math.round(rate),
        load1m: load1m(),
      };
      checkpoints.push(c);
      console.error(
        `${c.entries} entries: db ${c.dbMb} MiB, RSS ${c.rssMb} MiB (peak ${c.peakRssMb}, V8 heap ${c.heapTotalMb}, ` +
          `array buffers ${c.arrayBuffersMb}), snapshot ${c.snapshotMb} MiB, ` +
          `${c.rate}/s, load ${c.load1m}`,
      );
    }
    // Steady state: the node idle (the last snapshot written), RSS sampled every second for 10 s.
    const steady: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      steady.push((await sampleProcess(node.pid!)).rssKb);
    }
    const end = await sampleProcess(node.pid!);
    return {
      checkpoints,
      steadyRssMb: mb(Math.min(...steady) * 1024),
      steadyRssMaxMb: mb(Math.max(...steady) * 1024),
      peakRssMb: mb(end.peakRssKb * 1024),
      dbMb: checkpoints.at(-1)!.dbMb,
    };
  } finally {
    await cluster.stop();
  }
}

declare const Deno: { execPath(): string } | undefined;

/** Runs bench/memory_probe.ts in its own process (same runtime) and collects its steps. */
export async function probe(maxMb: number, stepMb: number, stallMs = 300_000) {
  const script = fileURLToPath(new URL("./memory_probe.ts", import.meta.url));
  const [cmd, pre] = typeof Deno !== "undefined"
    ? [Deno.execPath(), ["run", "--allow-all"]]
    : [process.execPath, []];
  const child = spawn(cmd, [...pre, script, String(maxMb), String(stepMb)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  let stalled = false;
  // A step that makes no progress for stallMs (seen near 3.6 GiB: CPU-bound for 15+ minutes) ends the probe.
  let timer = setTimeout(() => (stalled = true, child.kill("SIGKILL")), stallMs);
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    clearTimeout(timer);
    timer = setTimeout(() => (stalled = true, child.kill("SIGKILL")), stallMs);
  });
  const code = await new Promise<number | null>((resolve) => {
    child.on("error", () => resolve(null));
    child.on("close", (c) => resolve(c));
  });
  clearTimeout(timer);
  // A crash (e.g. out of memory) or a stall still leaves the steps printed so far.
  const lines = stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  const steps = lines.filter((l) => l.done === undefined) as ProbeStep[];
  const done = lines.find((l) => l.done) ??
    (stalled
      ? { done: false, stalled: true, stallMs, afterMb: steps.at(-1)?.dbMb ?? 0 }
      : { done: false, crashed: true, exitCode: code });
  return { maxMb, stepMb, steps, result: done };
}

async function main(): Promise<void> {
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => (interrupted = true));
  const { values } = parseArgs({
    options: {
      entries: { type: "string", default: "1000000" },
      "db-mb": { type: "string", default: "256" },
      checkpoints: { type: "string", default: "8" },
      inflight: { type: "string", default: "64" },
      "probe-max-mb": { type: "string", default: "4096" },
      "probe-step-mb": { type: "string", default: "256" },
      "probe-stall-s": { type: "string", default: "300" },
      "skip-load": { type: "boolean" },
      "skip-probe": { type: "boolean" },
      out: { type: "string", default: "bench/results/memory.json" },
    },
  });
  const num = (k: keyof typeof values) => {
    const n = Number(values[k]);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`--${k}: expected a positive integer, got '${values[k]}'`);
    }
    return n;
  };
  const opts = {
    entries: num("entries"),
    dbMb: num("db-mb"),
    checkpoints: num("checkpoints"),
    inflight: num("inflight"),
  };
  const loadStart = load1m();
  const loaded = values["skip-load"] ? null : await load(opts);
  const report = {
    date: new Date().toISOString(),
    loadAvg1m: loadStart,
    loadAvg1mEnd: load1m(),
    machine: {
      cpus: os.cpus().length,
      totalMemMb: Math.round(os.totalmem() / 2 ** 20),
      node: process.versions.node,
    },
    config: { ...opts, fsync: "never", snapshotEntries: 10_000, nodes: 1 },
    checkpoints: loaded?.checkpoints ?? [],
    steadyRssMb: loaded?.steadyRssMb ?? null,
    steadyRssMaxMb: loaded?.steadyRssMaxMb ?? null,
    peakRssMb: loaded?.peakRssMb ?? null,
    dbMb: loaded?.dbMb ?? null,
    peakOverDb: loaded ? Math.round((loaded.peakRssMb / loaded.dbMb) * 100) / 100 : null,
    steadyOverDb: loaded ? Math.round((loaded.steadyRssMb / loaded.dbMb) * 100) / 100 : null,
    probe: null as Awaited<ReturnType<typeof probe>> | null,
  };
  // Written after each part, so the load's figures survive a probe that runs long or is interrupted.
  const save = async () => {
    await mkdir(dirname(values.out!), { recursive: true });
    await writeFile(values.out!, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`results written to ${values.out}`);
  };
  if (loaded) {
    for (
      const line of formatTable(
        [
          "entries",
          "decided",
          "db MiB",
          "RSS MiB",
          "peak RSS MiB",
          "V8 heap MiB",
          "array buffers MiB",
          "snapshot MiB",
          "rows/s",
          "load",
        ],
        loaded.checkpoints.map((c) => [
          c.entries,
          c.decidedIdx,
          c.dbMb,
          c.rssMb,
          c.peakRssMb,
          c.heapTotalMb ?? "",
          c.arrayBuffersMb ?? "",
          c.snapshotMb,
          c.rate,
          c.load1m,
        ]),
      )
    ) console.log(line);
    console.log(
      `steady RSS ${loaded.steadyRssMb}–${loaded.steadyRssMaxMb} MiB = ${report.steadyOverDb} × db; ` +
        `peak RSS ${loaded.peakRssMb} MiB = ${report.peakOverDb} × db (goal ≤ 3 ×)`,
    );
    await save();
  }
  if (!values["skip-probe"]) {
    const probed = await probe(num("probe-max-mb"), num("probe-step-mb"), num("probe-stall-s") * 1000);
    report.probe = probed;
    report.loadAvg1mEnd = load1m();
    for (
      const line of formatTable(
        ["sql.js db MiB", "insert ms", "export ms", "RSS MiB", "error"],
        probed.steps.map((s) => [s.dbMb, s.insertMs, s.exportMs ?? "", s.rssMb, s.error ?? ""]),
      )
    ) console.log(line);
    console.log(`probe: ${JSON.stringify(probed.result)}`);
    await save();
  }
}

if (import.meta.main) {
  main().catch((e) => {
    console.error(`bench:memory: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  });
}
