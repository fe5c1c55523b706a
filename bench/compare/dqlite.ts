/**
 * dqlite through Debian's go-dqlite `dqlite-benchmark`: a fresh 3-node cluster on loopback per measurement
 * (the driver node bootstraps, two join), workload `kvwrite` = `INSERT OR REPLACE INTO model(key, value)`
 * with `workers` clients in flight for `durationS` seconds. The driver writes one file per worker with
 * every request's latency; this module turns them into the same figures as the other systems.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../src/cli/bench/cluster.ts";
import { type PhaseResult, quantile } from "../../src/cli/bench/workload.ts";
import { Proc } from "./procs.ts";

export const DQLITE_BIN = "/usr/bin/dqlite-benchmark";

export interface DqliteWorkerFile {
  /** Successful requests and errors as the header states them. */
  n: number;
  nErr: number;
  /** Latency of every request in ms, in the file's order. */
  latenciesMs: number[];
  /** First and last request start in ns since the epoch (0 when empty). */
  firstNs: bigint;
  lastNs: bigint;
}

/**
 * Parses one results file: a header (`n 4914`, `n_err 0`, `avg [ms] …`, …), then
 * `measurements [timestamp in ns] [ms]` and one `<ns> <ms>` line per successful request, then optionally
 * `errors` and one `<ns> <message>` line per failed one (with several workers, mostly SQLite's
 * "database is locked": the workers' write transactions conflict and the tool retries at once). Throws on
 * anything else.
 */
export function parseDqliteResults(text: string): DqliteWorkerFile {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = new Map<string, string>();
  let i = 0;
  for (; i < lines.length && !lines[i].startsWith("measurements"); i++) {
    const m = /^(.+?)\s+(\S+)$/.exec(lines[i]);
    if (!m) throw new Error(`dqlite results: bad header line '${lines[i]}'`);
    header.set(m[1], m[2]);
  }
  if (i === lines.length) throw new Error("dqlite results: no measurements section");
  const n = Number(header.get("n"));
  const nErr = Number(header.get("n_err"));
  if (!Number.isInteger(n) || !Number.isInteger(nErr)) throw new Error("dqlite results: no n / n_err header");
  const latenciesMs: number[] = [];
  let firstNs = 0n;
  let lastNs = 0n;
  let errorLines = 0;
  let inErrors = false;
  for (const line of lines.slice(i + 1)) {
    if (line.trim() === "errors") {
      inErrors = true;
      continue;
    }
    if (inErrors) {
      if (!/^\d+ \S/.test(line)) throw new Error(`dqlite results: bad error line '${line}'`);
      errorLines++;
      continue;
    }
    const m = /^(\d+) ([\d.]+)$/.exec(line.trim());
    if (!m) throw new Error(`dqlite results: bad measurement line '${line}'`);
    const ns = BigInt(m[1]);
    if (latenciesMs.length === 0) firstNs = ns;
    lastNs = ns;
    latenciesMs.push(Number(m[2]));
  }
  if (latenciesMs.length !== n) {
    throw new Error(`dqlite results: header says n ${n} but ${latenciesMs.length} measurements follow`);
  }
  if (errorLines !== nErr) {
    throw new Error(`dqlite results: header says n_err ${nErr} but ${errorLines} errors follow`);
  }
  return { n, nErr, latenciesMs, firstNs, lastNs };
}

/** The workers' files as one phase: requests/s over the configured duration, latency quantiles. */
export function dqlitePhase(files: DqliteWorkerFile[], durationS: number): PhaseResult {
  const all = files.flatMap((f) => f.latenciesMs).sort((a, b) => a - b);
  const errors = files.reduce((a, f) => a + f.nErr, 0);
  const sum = all.reduce((a, b) => a + b, 0);
  return {
    inflight: files.length,
    count: all.length,
    errors,
    seconds: durationS,
    perSecond: all.length / durationS,
    p50Ms: quantile(all, 0.5),
    p99Ms: quantile(all, 0.99),
    meanMs: all.length > 0 ? sum / all.length : 0,
    maxMs: all.at(-1) ?? 0,
  };
}

/**
 * One measurement on a fresh cluster under `root` (which must be empty): starts 3 nodes, waits for the
 * driver to finish, stops the others and reads the driver's results. `valueSize` and `keySize` in bytes.
 */
export async function runDqlite(opts: {
  root: string;
  workers: number;
  durationS: number;
  keySize: number;
  valueSize: number;
  timeoutMs?: number;
}): Promise<PhaseResult> {
  const addrs: string[] = [];
  for (let i = 0; i < 3; i++) addrs.push(`127.0.0.1:${await freePort()}`);
  const common = (addr: string) => ["--db", addr, "--dir", opts.root];
  const driver = new Proc("dqlite driver", DQLITE_BIN, [
    ...common(addrs[0]),
    "--driver",
    "--cluster",
    addrs.join(","),
    "--workload",
    "kvwrite",
    "--workers",
    String(opts.workers),
    "--duration",
    String(opts.durationS),
    "--key-size",
    String(opts.keySize),
    "--value-size",
    String(opts.valueSize),
    "--cluster-timeout",
    "60",
  ]);
  const joiners = addrs.slice(1).map((a, i) =>
    new Proc(`dqlite node ${i + 2}`, DQLITE_BIN, [...common(a), "--join", addrs[0]])
  );
  const timeoutMs = opts.timeoutMs ?? (opts.durationS + 90) * 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const code = await Promise.race([
      driver.exited,
      new Promise<number>((resolve) => {
        timer = setTimeout(() => resolve(-2), timeoutMs);
      }),
    ]);
    if (code !== 0) {
      const why = code === -2 ? `did not finish within ${timeoutMs} ms` : `exited with ${code}`;
      throw new Error(`dqlite-benchmark ${why}\n${[driver, ...joiners].map((p) => p.tail()).join("\n")}`);
    }
  } finally {
    clearTimeout(timer);
    await Promise.all([driver, ...joiners].map((p) => p.stop()));
  }
  const dir = join(opts.root, addrs[0], "results");
  const names = (await readdir(dir)).filter((f) => /^\d+-exec-/.test(f));
  // A worker that never got a request through writes no file (seen at 64 workers), so fewer is allowed.
  if (names.length === 0 || names.length > opts.workers) {
    throw new Error(
      `dqlite-benchmark: expected 1 to ${opts.workers} exec result files in ${dir}, found ${names.length}`,
    );
  }
  const files = await Promise.all(
    names.map(async (f) => parseDqliteResults(await readFile(join(dir, f), "utf8"))),
  );
  return { ...dqlitePhase(files, opts.durationS), inflight: opts.workers };
}
