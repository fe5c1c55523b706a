/**
 * The measurements of `chiselstore bench`: a closed loop of `inflight` workers, each sending one request at a
 * time for a fixed duration, requests spread round-robin over the nodes' clients (HTTP or libp2p: any SqlApi). Every successful request's latency is
 * kept; failures are counted (with the first message kept) and do not stop the phase.
 */
import type { SqlApi } from "../../server/call_args.ts";
import type { Consistency } from "../../server/consistency.ts";
import { Interrupted } from "./poll.ts";

export interface PhaseResult {
  /** Requests in flight (workers). */
  inflight: number;
  /** Successful requests. */
  count: number;
  errors: number;
  /** The first error's message, when there were errors. */
  firstError?: string;
  /** From the first request to the last answer. */
  seconds: number;
  /** Successful requests per second. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted` (nearest rank); 0 when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Runs `op` with `inflight` workers for `durationMs`; `op(client, seq)` throws on failure. Any client type. */
export async function runPhase<C = SqlApi>(opts: {
  clients: readonly C[];
  inflight: number;
  durationMs: number;
  op: (client: C, seq: number) => Promise<void>;
  signal?: AbortSignal;
}): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  const start = performance.now();
  const end = start + opts.durationMs;
  const worker = async () => {
    while (performance.now() < end && !opts.signal?.aborted) {
      const n = seq++;
      const client = opts.clients[n % opts.clients.length];
      const t0 = performance.now();
      try {
        await opts.op(client, n);
        latencies.push(performance.now() - t0);
      } catch (e) {
        errors++;
        firstError ??= (e as Error)?.message ?? String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.inflight }, worker));
  if (opts.signal?.aborted) throw new Interrupted();
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const sum = latencies.reduce((a, b) => a + b, 0);
  const result: PhaseResult = {
    inflight: opts.inflight,
    count: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    meanMs: latencies.length > 0 ? sum / latencies.length : 0,
    maxMs: latencies.at(-1) ?? 0,
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}

/** The server-side deadline of every request. */
const REQUEST_TIMEOUT_MS = 10_000;

/** A 32-byte row value, different for each request. */
function payload(seq: number): string {
  return `v${seq.toString(36).padStart(8, "0")}-${"x".repeat(22)}`;
}

/** One INSERT of one row through the log. */
export function insertOp(
  table: string,
  timeoutMs = REQUEST_TIMEOUT_MS,
): (client: SqlApi, seq: number) => Promise<void> {
  const sql = `INSERT INTO ${table}(v) VALUES (?)`;
  return async (client, seq) => {
    const r = await client.execute(sql, [payload(seq)], { timeoutMs });
    const failed = r.error ?? r.results.find((s) => s.error !== undefined)?.error;
    if (failed !== undefined) throw new Error(failed);
  };
}

/** One point SELECT by primary key (ids 1..maxId, spread by a multiplicative hash) at `level`. */
export function selectOp(
  table: string,
  level: Consistency,
  maxId: number,
): (client: SqlApi, seq: number) => Promise<void> {
  const sql = `SELECT v FROM ${table} WHERE id = ?`;
  return async (client, seq) => {
    const id = ((Math.imul(seq, 2654435761) >>> 0) % maxId) + 1;
    const [r] = await client.query(sql, [id], { consistency: level, timeoutMs: REQUEST_TIMEOUT_MS });
    if (r?.error !== undefined) throw new Error(r.error);
    if (r === undefined || r.values === undefined) throw new Error("no result rows in the answer");
  };
}

/** One atomic transaction of `rows` single-row INSERTs (one log entry, one SQLite transaction). */
export function txOp(table: string, rows: number): (client: SqlApi, seq: number) => Promise<void> {
  const sql = `INSERT INTO ${table}(v) VALUES (?)`;
  return async (client, seq) => {
    const statements = Array.from({ length: rows }, (_, i) => ({ sql, params: [payload(seq * rows + i)] }));
    const r = await client.execute(statements, { transaction: true, timeoutMs: REQUEST_TIMEOUT_MS });
    const failed = r.error ?? r.results.find((s) => s.error !== undefined)?.error;
    if (failed !== undefined) throw new Error(failed);
    if (r.rolledBack) throw new Error("transaction rolled back");
    if (r.results.length !== rows) throw new Error(`expected ${rows} results, got ${r.results.length}`);
  };
}

export function createTableSql(table: string): string {
  return `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`;
}

export function dropTableSql(table: string): string {
  return `DROP TABLE IF EXISTS ${table}`;
}

/** A table name no other bench run uses: bench_<time>_<random>. */
export function uniqueTableName(): string {
  const rand = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  return `bench_${Date.now().toString(36)}_${rand}`;
}
