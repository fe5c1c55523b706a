/**
 * `chiselstore bench`: end-to-end figures through the HTTP API, against a local cluster of real node processes
 * it starts (and always stops) or a running cluster given by --url.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import process from "node:process";
import { HttpClient } from "../../client/http_client.ts";
import { P2pClient } from "../../client/p2p_client.ts";
import type { SqlApi } from "../../server/call_args.ts";
import type { Consistency } from "../../server/consistency.ts";
import { type CliIo, defineCommand, UsageError } from "../command.ts";
import { formatTable } from "../table.ts";
import { LocalCluster } from "./cluster.ts";
import { type FailoverResult, measureFailover } from "./failover.ts";
import { Interrupted } from "./poll.ts";
import { type ProcSample, procSupported, sampleProcess } from "./procstat.ts";
import {
  createTableSql,
  dropTableSql,
  insertOp,
  type PhaseResult,
  runPhase,
  selectOp,
  txOp,
  uniqueTableName,
} from "./workload.ts";

declare const Deno: { version: { deno: string } } | undefined;

const FSYNC_MODES = ["always", "batch", "never"] as const;
type FsyncMode = (typeof FSYNC_MODES)[number];
const CLIENT_KINDS = ["http", "p2p"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
const READ_LEVELS: readonly Consistency[] = ["none", "weak", "linearizable", "strong"];
const READ_INFLIGHT = 64;
/** The node's own default --election-ms; the bench always passes it so the failover ratio is known. */
const DEFAULT_ELECTION_MS = 300;

const USAGE =
  `Usage: chiselstore bench [--url <http-url>]... [--nodes 3] [--duration-s 10] [--inflight 1,16,64,256]
                         [--client http,p2p] [--tx-rows 10] [--no-failover] [--election-ms 300]
                         [--json <file>] [--fsync always|batch|never]

Measures a cluster end to end, requests spread round-robin over the nodes, once per client kind
(http: the HTTP API through HttpClient; p2p: the libp2p client protocol through P2pClient):
  1. write latency (p50/p99): 1 client, one single-row INSERT at a time, for --duration-s;
  2. write throughput (statements/s) with each --inflight number of requests in flight, --duration-s each;
  3. transaction throughput: --tx-rows INSERTs in one atomic transaction per request, same in-flight numbers;
  4. read throughput at each consistency level (none, weak, linearizable, strong), ${READ_INFLIGHT} in flight,
     half of --duration-s each;
  5. RSS and CPU time of every node process it started (Linux /proc only), per client kind;
  6. leader failover (local cluster only, last): kill -9 of the leader, then the time until the first write
     sent after the kill is acknowledged, also in election timeouts (--election-ms).
Prints a table; --json also writes the results with the machine's description.

Without --url it starts --nodes real \`chiselstore node\` processes (this CLI, same runtime) over libp2p on
127.0.0.1 in a temporary directory, waits until each answers /readyz, and stops them (SIGTERM, SIGKILL after
5 s) and removes the directory when done, on error and on Ctrl-C. With --url it uses a running cluster
(HTTP client only, no failover): it creates a table with a unique name (bench_…) and drops it at the end.

Options:
  --url <http-url>       a node of a running cluster (repeat for several); excludes --nodes and --fsync
  --nodes <n>            local cluster size (default 3)
  --duration-s <s>       seconds per measurement (default 10; reads take half)
  --inflight <n,n,...>   requests in flight for the throughput runs (default 1,16,64,256)
  --client <kinds>       http, p2p or both, comma-separated (default http,p2p; http with --url)
  --tx-rows <n>          rows per transaction in the transaction runs (default 10)
  --no-failover          skip the leader failover measurement
  --election-ms <ms>     local cluster's election timeout (default ${DEFAULT_ELECTION_MS}, the node's default)
  --json <file>          also write the results as JSON to <file>
  --fsync <mode>         local cluster's fsync mode: always | batch | never (default always)
  -h, --help             show this help`;

export interface BenchOptions {
  urls: string[];
  nodes: number;
  durationS: number;
  inflight: number[];
  clients: ClientKind[];
  txRows: number;
  failover: boolean;
  electionMs: number;
  json: string | undefined;
  fsync: FsyncMode;
}

function positiveInt(flag: string, s: string, max: number, min = 1): number {
  if (!/^\d+$/.test(s.trim()) || Number(s) < min || Number(s) > max) {
    throw new UsageError(`${flag}: expected an integer from ${min} to ${max}, got '${s}'`);
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
  const remote = urls.length > 0;
  for (const flag of ["nodes", "fsync", "election-ms"]) {
    if (remote && values[flag] !== undefined) {
      throw new UsageError(`--${flag}: only for a local cluster (not with --url)`);
    }
  }
  const nodes = values.nodes === undefined ? 3 : positiveInt("--nodes", values.nodes as string, 15);
  let durationS = 10;
  if (values["duration-s"] !== undefined) {
    const s = values["duration-s"] as string;
    durationS = Number(s);
    if (s.trim() === "" || !Number.isFinite(durationS) || durationS <= 0 || durationS > 3600) {
      throw new UsageError(`--duration-s: expected a number of seconds above 0 and at most 3600, got '${s}'`);
    }
  }
  const inflight = values.inflight === undefined
    ? [1, 16, 64, 256]
    : (values.inflight as string).split(",").map((p) => positiveInt("--inflight", p, 4096));
  let clients: ClientKind[] = remote ? ["http"] : ["http", "p2p"];
  if (values.client !== undefined) {
    const list = (values.client as string).split(",");
    for (const k of list) {
      if (!(CLIENT_KINDS as readonly string[]).includes(k)) {
        throw new UsageError(`--client: expected http, p2p or http,p2p, got '${values.client}'`);
      }
    }
    clients = [...new Set(list as ClientKind[])];
    if (remote && clients.includes("p2p")) throw new UsageError("--client p2p: only for a local cluster");
  }
  const txRows = values["tx-rows"] === undefined
    ? 10
    : positiveInt("--tx-rows", values["tx-rows"] as string, 1000);
  const electionMs = values["election-ms"] === undefined
    ? DEFAULT_ELECTION_MS
    : positiveInt("--election-ms", values["election-ms"] as string, 60_000, 20);
  const failover = values["no-failover"] !== true && !remote;
  if (failover && nodes < 3) {
    throw new UsageError("--nodes: failover needs at least 3 nodes (or --no-failover)");
  }
  const fsync = (values.fsync as string | undefined) ?? "always";
  if (!(FSYNC_MODES as readonly string[]).includes(fsync)) {
    throw new UsageError(`--fsync: expected always | batch | never, got '${fsync}'`);
  }
  const json = values.json as string | undefined;
  if (json === "") throw new UsageError("--json: expected a file name");
  return {
    urls,
    nodes,
    durationS,
    inflight,
    clients,
    txRows,
    failover,
    electionMs,
    json,
    fsync: fsync as FsyncMode,
  };
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

/** The measurements through one kind of client. */
export interface ClientRun {
  client: ClientKind;
  writeLatency: PhaseResult;
  writeThroughput: PhaseResult[];
  /** Requests are transactions of `rows` INSERTs: perSecond is transactions/s, rows/s is rows × that. */
  txThroughput: (PhaseResult & { rows: number })[];
  reads: (PhaseResult & { level: Consistency })[];
  /** Per node process during this client's measurements, when the bench started them on Linux; else null. */
  processes: ProcessFigures[] | null;
}

export interface BenchReport {
  date: string;
  machine: {
    os: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    totalMemMb: number;
    /** 1-minute load average when the bench started, and when it ended. */
    loadAvg1m: number;
    loadAvg1mEnd: number;
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
    clients: ClientKind[];
    txRows: number;
    electionMs: number | null;
  };
  runs: ClientRun[];
  processesNote?: string;
  /** Leader failover (local cluster only); null and a note otherwise. */
  failover: FailoverResult | null;
  failoverNote?: string;
}

function machine(): Omit<BenchReport["machine"], "loadAvg1mEnd"> {
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

/** Every phase of a run, labelled. */
function phases(run: ClientRun): [string, PhaseResult, number][] {
  return [
    ["write latency", run.writeLatency, 1],
    ...run.writeThroughput.map((p): [string, PhaseResult, number] => ["write throughput", p, 1]),
    ...run.txThroughput.map((p): [string, PhaseResult, number] => [`tx of ${p.rows} rows`, p, p.rows]),
    ...run.reads.map((p): [string, PhaseResult, number] => [`read ${p.level}`, p, 1]),
  ];
}

/** The results as table lines. */
export function formatReport(r: BenchReport): string[] {
  const lines = formatTable(
    ["client", "measurement", "in flight", "ok", "errors", "per s", "rows/s", "p50 ms", "p99 ms"],
    r.runs.flatMap((run) =>
      phases(run).map(([what, p, rows]) => [
        run.client,
        what,
        p.inflight,
        p.count,
        p.errors,
        round(p.perSecond, 1),
        round(p.perSecond * rows, 1),
        round(p.p50Ms, 2),
        round(p.p99Ms, 2),
      ])
    ),
  );
  const procRows = r.runs.flatMap((run) =>
    (run.processes ?? []).map((p) => [
      run.client,
      p.node,
      p.pid,
      round(p.rssKb / 1024, 1),
      round(p.peakRssKb / 1024, 1),
      round(p.benchCpuS, 2),
      round(p.totalCpuS, 2),
    ])
  );
  if (procRows.length > 0) {
    lines.push(
      ...formatTable(
        ["client", "node", "pid", "RSS MiB", "peak RSS MiB", "CPU s (run)", "CPU s (total)"],
        procRows,
      ),
    );
  } else if (r.processesNote) {
    lines.push(r.processesNote);
  }
  if (r.failover) {
    const f = r.failover;
    lines.push(
      `failover: kill -9 of leader ${f.killedLeader} → first acknowledged write after ${
        round(f.msToFirstWrite, 1)
      } ms ` +
        `= ${round(f.electionTimeouts, 2)} election timeouts of ${f.electionMs} ms; new leader ${
          f.newLeader ?? "?"
        }` +
        ` (${f.attempts} writes sent, ${f.failed} failed)`,
    );
  } else if (r.failoverNote) {
    lines.push(r.failoverNote);
  }
  for (const run of r.runs) {
    for (const [what, p] of phases(run)) {
      if (p.firstError !== undefined) {
        lines.push(`first error (${run.client} ${what}, ${p.inflight} in flight): ${p.firstError}`);
      }
    }
  }
  return lines;
}

async function sampleAll(cluster: LocalCluster): Promise<ProcSample[]> {
  return await Promise.all(cluster.nodes.map((n) => sampleProcess(n.pid!)));
}

/** One client kind's measurements. */
async function measureRun(
  opts: BenchOptions,
  kind: ClientKind,
  clients: SqlApi[],
  cluster: LocalCluster | undefined,
  table: string,
  io: CliIo,
  signal: AbortSignal,
): Promise<ClientRun> {
  const durationMs = opts.durationS * 1000;
  const withProc = cluster !== undefined && procSupported();
  const before = withProc ? await sampleAll(cluster) : undefined;
  io.err(`[${kind}] write latency: 1 in flight for ${opts.durationS} s`);
  const writeLatency = await runPhase({ clients, inflight: 1, durationMs, op: insertOp(table), signal });
  const writeThroughput: PhaseResult[] = [];
  for (const k of opts.inflight) {
    io.err(`[${kind}] write throughput: ${k} in flight for ${opts.durationS} s`);
    writeThroughput.push(await runPhase({ clients, inflight: k, durationMs, op: insertOp(table), signal }));
  }
  const txThroughput: ClientRun["txThroughput"] = [];
  for (const k of opts.inflight) {
    io.err(`[${kind}] transactions of ${opts.txRows} rows: ${k} in flight for ${opts.durationS} s`);
    const p = await runPhase({ clients, inflight: k, durationMs, op: txOp(table, opts.txRows), signal });
    txThroughput.push({ rows: opts.txRows, ...p });
  }
  const [counted] = await clients[0].query(`SELECT max(id) FROM ${table}`, { consistency: "strong" });
  const maxId = Number(counted?.values?.[0]?.[0] ?? 0);
  if (!(maxId >= 1)) throw new Error("no row was written: nothing to read");
  const reads: ClientRun["reads"] = [];
  for (const level of READ_LEVELS) {
    io.err(`[${kind}] reads (${level}): ${READ_INFLIGHT} in flight for ${opts.durationS / 2} s`);
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
  if (withProc) {
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
  return { client: kind, writeLatency, writeThroughput, txThroughput, reads, processes };
}

/** libp2p clients, one per node of the local cluster (closed by the caller). */
async function p2pClients(cluster: LocalCluster): Promise<P2pClient[]> {
  const out: P2pClient[] = [];
  try {
    for (const n of cluster.nodes) out.push(await P2pClient.connect(LocalCluster.p2pAddr(n)));
    return out;
  } catch (e) {
    await Promise.all(out.map((c) => c.close()));
    throw e;
  }
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
  const opened: P2pClient[] = [];
  try {
    let http: HttpClient[];
    if (opts.urls.length > 0) {
      http = opts.urls.map((u) => new HttpClient(u));
    } else {
      io.err(
        `starting ${opts.nodes} local node(s), fsync ${opts.fsync}, election timeout ${opts.electionMs} ms`,
      );
      cluster = await LocalCluster.start({
        nodes: opts.nodes,
        fsync: opts.fsync,
        p2pClients: opts.clients.includes("p2p"),
        electionMs: opts.electionMs,
        signal: controller.signal,
      });
      http = cluster.nodes.map((n) => n.client);
    }
    const table = uniqueTableName();
    await http[0].execute(createTableSql(table));
    try {
      const runs: ClientRun[] = [];
      for (const kind of opts.clients) {
        let clients: SqlApi[] = http;
        if (kind === "p2p") {
          const p2p = await p2pClients(cluster!);
          opened.push(...p2p);
          clients = p2p;
        }
        runs.push(await measureRun(opts, kind, clients, cluster, table, io, controller.signal));
      }
      let failover: FailoverResult | null = null;
      let failoverNote: string | undefined;
      if (cluster === undefined) {
        failoverNote = "failover: only for a cluster the bench starts itself";
      } else if (!opts.failover) {
        failoverNote = "failover: skipped (--no-failover)";
      } else {
        io.err("failover: kill -9 of the leader, then writes until one is acknowledged");
        failover = await measureFailover({
          cluster,
          table,
          electionMs: opts.electionMs,
          signal: controller.signal,
        });
      }
      const report: BenchReport = {
        date: new Date().toISOString(),
        machine: { ...machine(), loadAvg1m: round(loadAtStart, 2), loadAvg1mEnd: round(os.loadavg()[0], 2) },
        config: {
          target: cluster ? "local" : "url",
          urls: http.map((c) => c.baseUrl),
          nodes: http.length,
          fsync: cluster ? opts.fsync : null,
          durationS: opts.durationS,
          inflight: opts.inflight,
          readInflight: READ_INFLIGHT,
          clients: opts.clients,
          txRows: opts.txRows,
          electionMs: cluster ? opts.electionMs : null,
        },
        runs,
        failover,
      };
      if (cluster === undefined) {
        report.processesNote = "process figures: only for a cluster the bench starts itself";
      } else if (!procSupported()) {
        report.processesNote = `process figures: skipped (/proc is Linux only; this is ${process.platform})`;
      }
      if (failoverNote !== undefined) report.failoverNote = failoverNote;
      for (const line of formatReport(report)) io.out(line);
      if (opts.json !== undefined) {
        await writeFile(opts.json, `${JSON.stringify(report, null, 2)}\n`);
        io.err(`results written to ${opts.json}`);
      }
      const empty = runs.flatMap((run) => phases(run).filter(([, p]) => p.count === 0));
      if (empty.length > 0) {
        io.err(`chiselstore bench: ${empty.length} measurement(s) had no successful request`);
        return 1;
      }
      return 0;
    } finally {
      if (cluster === undefined) {
        await http[0].execute(dropTableSql(table)).catch((e: Error) =>
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
    await Promise.all(opened.map((c) => c.close().catch(() => {})));
    if (cluster) {
      io.err("stopping the local nodes");
      await cluster.stop();
    }
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export const benchCommand = defineCommand({
  summary: "measure write latency, write, transaction and read throughput and leader failover of a cluster",
  usage: USAGE,
  options: {
    url: { type: "string", multiple: true },
    nodes: { type: "string" },
    "duration-s": { type: "string" },
    inflight: { type: "string" },
    client: { type: "string" },
    "tx-rows": { type: "string" },
    "no-failover": { type: "boolean" },
    "election-ms": { type: "string" },
    json: { type: "string" },
    fsync: { type: "string" },
  },
  maxPositionals: 0,
  run: async ({ values }, io) => await runBench(benchOptions(values), io),
});
