/**
 * `npm run bench:chart`: SVG bar charts for docs/performance.md from the JSON in bench/results/:
 * compare.json (bench:compare, first full run), compare-latest.json (the newest), compare-leader.json (the
 * newest with --route leader), e2e.json (`chiselstore bench --json`), memory.json (bench:memory, first run
 * and probe) and memory-latest.json (the newest bench:memory run).
 * A missing file is skipped with a message; a file of an unexpected shape is an error.
 *
 *   node bench/chart.ts [--results bench/results] [--out docs/img]
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { BenchReport } from "../src/cli/bench/command.ts";
import type { RatioRow, System } from "./compare/report.ts";
import { type BarChart, renderBars } from "./svg_bars.ts";

interface CompareJson {
  date: string;
  machine: { cpus: number; loadAvg1mStart: number; loadAvg1mEnd: number };
  config: { durationS: number; rounds: number; route?: "any" | "leader" };
  rows: RatioRow[];
}

export interface MemoryJson {
  date: string;
  loadAvg1m: number;
  checkpoints: { entries: number; dbMb: number; rssMb: number; peakRssMb: number; heapMb: number }[];
}

const day = (iso: string) => iso.slice(0, 10);

export function compareCharts(j: CompareJson, prefix = "compare"): [string, BarChart][] {
  if (!Array.isArray(j.rows)) throw new Error("compare.json: no rows");
  const sub =
    `3 nodes each on ${j.machine.cpus} vCPUs, ${j.config.durationS} s per shape, median of ${j.config.rounds} ` +
    `round(s), ${j.config.route === "leader" ? "clients to the leader only, " : ""}` +
    `load ${j.machine.loadAvg1mStart}–${j.machine.loadAvg1mEnd}, ${day(j.date)}`;
  const systems = [...new Set(j.rows.map((r) => r.system))];
  const inflights = (
    shape: string,
  ) => [...new Set(j.rows.filter((r) => r.shape === shape).map((r) => r.inflight))];
  const pick = (system: System, shape: string, k: number) =>
    j.rows.find((r) => r.system === system && r.shape === shape && r.inflight === k);
  const perShape = (shape: string, title: string): BarChart => {
    const ks = inflights(shape);
    return {
      title,
      subtitle: sub,
      unit: "requests/s",
      groups: ks.map((k) => `${k} in flight`),
      series: systems.filter((s) => ks.some((k) => pick(s, shape, k))).map((s) => ({
        name: s,
        values: ks.map((k) => pick(s, shape, k)?.perSecond ?? null),
      })),
    };
  };
  const single = systems.filter((s) => pick(s, "put", 1));
  return [
    [
      `${prefix}-puts.svg`,
      perShape("put", "Writes: one INSERT (ChiselStore, dqlite) or put (etcd), fsync on"),
    ],
    [`${prefix}-gets.svg`, perShape("get-linearizable", "Linearizable point reads")],
    [`${prefix}-latency.svg`, {
      title: "Single-client write latency (1 in flight)",
      subtitle: sub,
      unit: "ms",
      groups: single,
      series: [
        { name: "p50", values: single.map((s) => pick(s, "put", 1)!.p50Ms) },
        { name: "p99", values: single.map((s) => pick(s, "put", 1)!.p99Ms) },
      ],
    }],
  ];
}

export function e2eCharts(r: BenchReport): [string, BarChart][] {
  if (!Array.isArray(r.runs)) throw new Error("e2e.json: not the output of this chiselstore bench (no runs)");
  const first = r.runs[0];
  const labels = [
    ...first.writeThroughput.map((p) => `write ${p.inflight}`),
    ...first.txThroughput.map((p) => `tx×${p.rows} ${p.inflight}`),
    ...first.reads.map((p) => `${p.level === "linearizable" ? "lin." : p.level} read 64`),
  ];
  const values = (run: BenchReport["runs"][number]) => [
    ...run.writeThroughput.map((p) => p.perSecond),
    ...run.txThroughput.map((p) => p.perSecond * p.rows),
    ...run.reads.map((p) => p.perSecond),
  ];
  return [["e2e-throughput.svg", {
    title: "chiselstore bench: statements/s by client (3 nodes, fsync always)",
    subtitle:
      `${r.config.durationS} s per measurement, ${r.machine.cpus} vCPUs, load ${r.machine.loadAvg1m}–${
        r.machine.loadAvg1mEnd ?? "?"
      }, ${day(r.date)}; tx bars count rows`,
    unit: "statements/s",
    groups: labels,
    series: r.runs.map((run) => ({ name: run.client, values: values(run) })),
    width: 1040,
  }]];
}

export function memoryCharts(m: MemoryJson, name = "memory.svg"): [string, BarChart][] {
  if (!Array.isArray(m.checkpoints)) throw new Error("memory.json: no checkpoints");
  const cps = m.checkpoints;
  return [[name, {
    title: "Memory of one node vs database size (snapshots included)",
    subtitle:
      `one node, 1 log entry per row, snapshot every 10,000 entries; load ${m.loadAvg1m} at the start, ${
        day(m.date)
      }`,
    unit: "MiB",
    groups: cps.map((c) => `${Math.round(c.entries / 1000)}k entries`),
    series: [
      { name: "database", values: cps.map((c) => c.dbMb) },
      { name: "RSS now", values: cps.map((c) => c.rssMb) },
      { name: "RSS (peak)", values: cps.map((c) => c.peakRssMb) },
      { name: "3 × database", values: cps.map((c) => 3 * c.dbMb) },
    ],
    width: 860,
  }]];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      results: { type: "string", default: "bench/results" },
      out: { type: "string", default: "docs/img" },
    },
  });
  const sources: [string, (j: never) => [string, BarChart][]][] = [
    ["compare.json", compareCharts],
    // The newest bench:compare run (compare.json keeps the first full one, which performance.md describes).
    ["compare-latest.json", (j: CompareJson) => compareCharts(j, "compare-latest")],
    // The newest run with --route leader (clients to the leader only).
    ["compare-leader.json", (j: CompareJson) => compareCharts(j, "compare-leader")],
    ["e2e.json", e2eCharts],
    ["memory.json", memoryCharts],
    // The newest full bench:memory run (memory.json keeps the first one and the probe).
    ["memory-latest.json", (m: MemoryJson) => memoryCharts(m, "memory-latest.svg")],
  ];
  await mkdir(values.out!, { recursive: true });
  for (const [file, make] of sources) {
    const path = join(values.results!, file);
    if (!existsSync(path)) {
      console.error(`${path}: missing, skipped`);
      continue;
    }
    for (const [name, chart] of make(JSON.parse(await readFile(path, "utf8")) as never)) {
      await writeFile(join(values.out!, name), renderBars(chart));
      console.log(join(values.out!, name));
    }
  }
}

if (import.meta.main) {
  main().catch((e) => {
    console.error(`bench:chart: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
