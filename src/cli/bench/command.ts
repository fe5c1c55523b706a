/**
 * `chiselstore bench`: end-to-end figures through the HTTP API, against a local cluster of real node processes
 * it starts (and always stops) or a running cluster given by --url.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import process from "node:process";
import { HttpClient } from "../../client/http_client.ts";
import type { Consistency } from "../../server/consistency.ts";
import { type CliIo, defineCommand, UsageError } from "../command.ts";
import { formatTable } from "../table.ts";
import { LocalCluster } from "./cluster.ts";
import { Interrupted } from "./poll.ts";
import { type ProcSample, procSupported, sampleProcess } from "./procstat.ts";
import {
  createTableSql,
  dropTableSql,
  insertOp,
  type PhaseResult,
  runPhase,
  selectOp,
  uniqueTableName,
} from "./workload.ts";

declare const Deno: { version: { deno: string } } | undefined;

const FSYNC_MODES = ["always", "batch", "never"] as const;
type FsyncMode = (typeof FSYNC_MODES)[number];
const READ_LEVELS: readonly Consistency[] = ["none", "weak", "linearizable", "strong"];
const READ_INFLIGHT = 64;

const USAGE =
  `Usage: chiselstore bench [--url <http-url>]... [--nodes 3] [--duration-s 5] [--inflight 1,16,64]
                         [--json <file>] [--fsync always|batch|never]

Measures a cluster end to end through the HTTP API, requests spread round-robin over the nodes:
  1. write latency (p50/p99): 1 client, one INSERT at a time, for --duration-s;
  2. write throughput (statements/s) with each --inflight number of requests in flight, --duration-s each;
  3. read throughput at each consistency level (none, weak, linearizable, strong), ${READ_INFLIGHT} in flight,
     half of --duration-s each;
  4. RSS and CPU time of every node process it started (Linux /proc only).
Prints a table; --json also writes the results with the machine's description.

Without --url it starts --nodes real \`chiselstore node\` processes (this CLI, same runtime) over libp2p on
127.0.0.1 in a temporary directory, waits until each answers /readyz, and stops them (SIGTERM, SIGKILL after
5 s) and removes the directory when done, on error and on Ctrl-C. With --url it uses a running cluster:
it creates a table with a unique name (bench_…) and drops it at the end.

Options:
  --url <http-url>       a node of a running cluster (repeat for several); excludes --nodes and --fsync
  --nodes <n>            local cluster size (default 3)
  --duration-s <s>       seconds per measurement (default 5; reads take half)
  --inflight <n,n,...>   requests in flight for the write throughput runs (default 1,16,64)
  --json <file>          also write the results as JSON to <file>
  --fsync <mode>         local cluster's fsync mode: always | batch | never (default always)
  -h, --help             show this help`;

export interface BenchOptions {
  urls: string[];
  nodes: number;
  durationS: number;
  inflight: number[];
  json: string | undefined;
  fsync: FsyncMode;
}

function positiveInt(flag: string, s: string, max: number): number {
  if (!/^\d+$/.test(s.trim()) || Number(s) < 1 || Number(s) > max) {
    throw new UsageError(`${flag}: expected an integer from 1 to ${max}, got '${s}'`);
  }
  return Number(s);
}

/** The flags as options; UsageError on a bad value or combination. */
export function benchOptions(values: Record<string, string | boolean | string[] | undefined>): BenchOptions {
  const urls = (values.url as string[] | undefined) ?? [];
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new UsageError(`--url: expected an http:// or https:// URL, got '${u}'`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new UsageError(`--url: expected an http:// or https:// URL, got '${u}'`);
    }
  }
  if (urls.length > 0 && values.nodes !== undefined) {
    throw new UsageError("--nodes: only for a local cluster (not with --url)");
  }
  if (urls.length > 0 && values.fsync !== undefined) {
    throw new UsageError("--fsync: only for a local cluster (not with --url)");
  }
  const nodes = values.nodes === undefined ? 3 : positiveInt("--nodes", values.nodes as string, 15);
  let durationS = 5;
  if (values["duration-s"] !== undefined) {
    const s = values["duration-s"] as string;
    durationS = Number(s);
    if (s.trim() === "" || !Number.isFinite(durationS) || durationS <= 0 || durationS > 3600) {
      throw new UsageError(`--duration-s: expected a number of seconds above 0 and at most 3600, got '${s}'`);
    }
  }
  const inflight = values.inflight === undefined
    ? [1, 16, 64]
    : (values.inflight as string).split(",").map((p) => positiveInt("--inflight", p, 4096));
  const fsync = (values.fsync as string | undefined) ?? "always";
  if (!(FSYNC_MODES as readonly string[]).includes(fsync)) {
    throw new UsageError(`--fsync: expected always | batch | never, got '${fsync}'`);
  }
  const json = values.json as string | undefined;
  if (json === "") throw new UsageError("--json: expected a file name");
  return { urls, nodes, durationS, inflight, json, fsync: fsync as FsyncMode };
}

export interface ProcessFigures {
  node: string;
  pid: number;
  rssKb: number;
  peakRssKb: number;
  /** CPU seconds used during the measurements. */
  benchCpuS: number;
  /** CPU seconds since the process started. */
  totalCpuS: number;
}

export interface BenchReport {
  date: string;
  machine: {
    os: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    totalMemMb: number;
    loadAvg1m: number;
    runtime: "node" | "deno";
    runtimeVersion: string;
  };
  config: {
    target: "local" | "url";
    urls: string[];
    nodes: number;
    fsync: FsyncMode | null;
    durationS: number;
    inflight: number[];
    readInflight: number;
  };
  writeLatency: PhaseResult;
  writeThroughput: PhaseResult[];
  reads: (PhaseResult & { level: Consistency })[];
  /** Per node process, when the bench started them on Linux; otherwise null and a note. */
  processes: ProcessFigures[] | null;
  processesNote?: string;
}

function machine(): BenchReport["machine"] {
  const cpus = os.cpus();
  const deno = typeof Deno !== "undefined";
  return {
    os: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    totalMemMb: Math.round(os.totalmem() / 2 ** 20),
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
    runtime: deno ? "deno" : "node",
    runtimeVersion: deno ? Deno!.version.deno : process.versions.node,
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The results as table lines. */
export function formatReport(r: BenchReport): string[] {
  const row = (what: string, p: PhaseResult) => [
    what,
    p.inflight,
    p.count,
    p.errors,
    round(p.perSecond, 1),
    round(p.p50Ms, 2),
    round(p.p99Ms, 2),
  ];
  const lines = formatTable(
    ["measurement", "in flight", "ok", "errors", "per s", "p50 ms", "p99 ms"],
    [
      row("write latency", r.writeLatency),
      ...r.writeThroughput.map((p) => row("write throughput", p)),
      ...r.reads.map((p) => row(`read ${p.level}`, p)),
    ],
  );
  if (r.processes) {
    lines.push(
      ...formatTable(
        ["node", "pid", "RSS MiB", "peak RSS MiB", "CPU s (bench)", "CPU s (total)"],
        r.processes.map((p) => [
          p.node,
          p.pid,
          round(p.rssKb / 1024, 1),
          round(p.peakRssKb / 1024, 1),
          round(p.benchCpuS, 2),
          round(p.totalCpuS, 2),
        ]),
      ),
    );
  } else if (r.processesNote) {
    lines.push(r.processesNote);
  }
  const errs = [r.writeLatency, ...r.writeThroughput, ...r.reads].filter((p) => p.firstError !== undefined);
  for (const p of errs) lines.push(`first error (${p.inflight} in flight): ${p.firstError}`);
  return lines;
}

async function sampleAll(cluster: LocalCluster): Promise<ProcSample[]> {
  return await Promise.all(cluster.nodes.map((n) => sampleProcess(n.pid!)));
}

async function measure(
  opts: BenchOptions,
  clients: HttpClient[],
  cluster: LocalCluster | undefined,
  table: string,
  io: CliIo,
  signal: AbortSignal,
): Promise<BenchReport> {
  const durationMs = opts.durationS * 1000;
  const withProc = cluster !== undefined && procSupported();
  const before = withProc ? await sampleAll(cluster) : undefined;
  io.err(`write latency: 1 in flight for ${opts.durationS} s`);
  const writeLatency = await runPhase({ clients, inflight: 1, durationMs, op: insertOp(table), signal });
  const writeThroughput: PhaseResult[] = [];
  for (const k of opts.inflight) {
    io.err(`write throughput: ${k} in flight for ${opts.durationS} s`);
    writeThroughput.push(await runPhase({ clients, inflight: k, durationMs, op: insertOp(table), signal }));
  }
  const [counted] = await clients[0].query(`SELECT max(id) FROM ${table}`, { consistency: "strong" });
  const maxId = Number(counted?.values?.[0]?.[0] ?? 0);
  if (!(maxId >= 1)) throw new Error("no row was written: nothing to read");
  const reads: BenchReport["reads"] = [];
  for (const level of READ_LEVELS) {
    io.err(`reads (${level}): ${READ_INFLIGHT} in flight for ${opts.durationS / 2} s`);
    const p = await runPhase({
      clients,
      inflight: READ_INFLIGHT,
      durationMs: durationMs / 2,
      op: selectOp(table, level, maxId),
      signal,
    });
    reads.push({ level, ...p });
  }
  let processes: ProcessFigures[] | null = null;
  let processesNote: string | undefined;
  if (cluster === undefined) {
    processesNote = "process figures: only for a cluster the bench starts itself";
  } else if (!withProc) {
    processesNote = `process figures: skipped (/proc is Linux only; this is ${process.platform})`;
  } else {
    const after = await sampleAll(cluster);
    processes = cluster.nodes.map((n, i) => ({
      node: n.name,
      pid: n.pid!,
      rssKb: after[i].rssKb,
      peakRssKb: after[i].peakRssKb,
      benchCpuS: after[i].cpuS - before![i].cpuS,
      totalCpuS: after[i].cpuS,
    }));
  }
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machine(),
    config: {
      target: cluster ? "local" : "url",
      urls: clients.map((c) => c.baseUrl),
      nodes: clients.length,
      fsync: cluster ? opts.fsync : null,
      durationS: opts.durationS,
      inflight: opts.inflight,
      readInflight: READ_INFLIGHT,
    },
    writeLatency,
    writeThroughput,
    reads,
    processes,
  };
  if (processesNote !== undefined) report.processesNote = processesNote;
  return report;
}

/** Runs the bench; resolves to the exit code (0, 1 when a measurement had no successful request, 130 on Ctrl-C). */
export async function runBench(opts: BenchOptions, io: CliIo): Promise<number> {
  const controller = new AbortController();
  let cluster: LocalCluster | undefined;
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      io.err("interrupted: stopping (again to kill the nodes at once)");
      controller.abort();
    } else {
      cluster?.killNow();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const loadAtStart = os.loadavg()[0];
  try {
    let clients: HttpClient[];
    if (opts.urls.length > 0) {
      clients = opts.urls.map((u) => new HttpClient(u));
    } else {
      io.err(`starting ${opts.nodes} local node(s), fsync ${opts.fsync}`);
      cluster = await LocalCluster.start({ nodes: opts.nodes, fsync: opts.fsync, signal: controller.signal });
      clients = cluster.nodes.map((n) => n.client);
    }
    const table = uniqueTableName();
    await clients[0].execute(createTableSql(table));
    try {
      const report = await measure(opts, clients, cluster, table, io, controller.signal);
      report.machine.loadAvg1m = Math.round(loadAtStart * 100) / 100;
      for (const line of formatReport(report)) io.out(line);
      if (opts.json !== undefined) {
        await writeFile(opts.json, `${JSON.stringify(report, null, 2)}\n`);
        io.err(`results written to ${opts.json}`);
      }
      const empty = [report.writeLatency, ...report.writeThroughput, ...report.reads].filter((p) =>
        p.count === 0
      );
      if (empty.length > 0) {
        io.err(`chiselstore bench: ${empty.length} measurement(s) had no successful request`);
        return 1;
      }
      return 0;
    } finally {
      if (cluster === undefined) {
        await clients[0].execute(dropTableSql(table)).catch((e: Error) =>
          io.err(`chiselstore bench: could not drop table ${table}: ${e.message}`)
        );
      }
    }
  } catch (e) {
    if (e instanceof Interrupted || controller.signal.aborted) {
      io.err("chiselstore bench: interrupted");
      return 130;
    }
    throw e;
  } finally {
    if (cluster) {
      io.err("stopping the local nodes");
      await cluster.stop();
    }
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export const benchCommand = defineCommand({
  summary: "measure write latency, write and read throughput of a local or running cluster",
  usage: USAGE,
  options: {
    url: { type: "string", multiple: true },
    nodes: { type: "string" },
    "duration-s": { type: "string" },
    inflight: { type: "string" },
    json: { type: "string" },
    fsync: { type: "string" },
  },
  maxPositionals: 0,
  run: async ({ values }, io) => await runBench(benchOptions(values), io),
});
