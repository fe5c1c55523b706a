/**
 * Runs one Statement (one or more SQL statements in a string) on a connection and shapes its result.
 * Prepared statements of single-statement SQL are cached (LRU): a replicated workload repeats the same few
 * statements with different parameters, and preparing dominates the cost of a small INSERT.
 */
import type { NamedParams, Params, Statement } from "./command.ts";
import type { SqlValue, StatementResult } from "./results.ts";
import { SQL_STATS } from "./schema.ts";
import type { BindValue, SqlJsDatabase, SqlJsStatement } from "./sqljs.ts";

const CACHE_SIZE = 64;

/**
 * sql.js binds a number outside int32 as a double; safe integers must stay INTEGER, so they go as bigint.
 * Larger integral doubles stay REAL (they may not even fit in int64).
 */
function bindable(v: SqlValue): BindValue {
  return typeof v === "number" && Number.isSafeInteger(v) && (v | 0) !== v ? BigInt(v) : v;
}

function toBind(p: Params): BindValue[] | Record<string, BindValue> {
  if (Array.isArray(p)) return p.map(bindable);
  const out: Record<string, BindValue> = Object.create(null);
  for (const [k, v] of Object.entries(p as NamedParams)) {
    const b = bindable(v);
    if (/^[:@$?]/.test(k)) {
      out[k] = b;
    } else {
      // rqlite-style names come without a prefix; an absent name is ignored by sql.js.
      out[":" + k] = b;
      out["@" + k] = b;
      out["$" + k] = b;
    }
  }
  return out;
}

function normalize(v: SqlValue): SqlValue {
  return typeof v === "bigint" && v >= Number.MIN_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER
    ? Number(v)
    : v;
}

function storageClass(v: SqlValue): string {
  if (typeof v === "bigint") return "integer"; // before normalize: INTEGER comes back as bigint
  if (typeof v === "number") return "real";
  if (typeof v === "string") return "text";
  return "blob";
}

/** An error SQLite reported (deterministic), as opposed to a host failure such as wasm running out of memory. */
export function isSqlError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

export class Executor {
  private readonly db: SqlJsDatabase;
  private readonly cache = new Map<string, SqlJsStatement>();
  private readonly stats: SqlJsStatement;

  constructor(db: SqlJsDatabase) {
    this.db = db;
    this.stats = db.prepare(SQL_STATS);
  }

  /** [total_changes, changes, last_insert_rowid] of the connection. */
  private counters(): [number, number, number | bigint] {
    this.stats.step();
    const [total, changes, lastId] = this.stats.get(null, { useBigInt: true });
    this.stats.reset();
    return [Number(total), Number(changes), normalize(lastId) as number | bigint];
  }

  private take(sql: string): SqlJsStatement | undefined {
    const st = this.cache.get(sql);
    if (st) this.cache.delete(sql); // re-inserted after use: Map order is the LRU order
    return st;
  }

  private keep(sql: string, st: SqlJsStatement): void {
    st.reset();
    this.cache.set(sql, st);
    if (this.cache.size > CACHE_SIZE) {
      const [oldest, old] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      old.free();
    }
  }

  /** Parameterized writes are the repeated ones; DDL would fail to re-prepare once it has run. */
  private cacheFresh(sql: string): void {
    try {
      this.keep(sql, this.db.prepare(sql));
    } catch (e) {
      if (!isSqlError(e)) throw e;
    }
  }

  run(s: Statement, timings: boolean): StatementResult {
    const t0 = timings ? performance.now() : 0;
    const res = this.runUntimed(s);
    if (timings) res.timeMs = performance.now() - t0;
    return res;
  }

  private runUntimed(s: Statement): StatementResult {
    const [totalBefore] = this.counters();
    const cached = this.take(s.sql);
    try {
      if (cached) {
        try {
          if (s.params) cached.bind(toBind(s.params));
          else cached.reset();
          return this.collect(cached, totalBefore);
        } finally {
          this.keep(s.sql, cached);
        }
      }
      // The iterator frees each statement when it moves on (and on early exit), so a single-statement SQL
      // is prepared once more for the cache.
      let n = 0;
      let res: StatementResult = {};
      for (const st of this.db.iterateStatements(s.sql)) {
        if (++n === 1 && s.params) st.bind(toBind(s.params));
        res = this.collect(st, totalBefore);
      }
      if (n === 1 && res.columns === undefined && s.params) this.cacheFresh(s.sql);
      return res;
    } catch (e) {
      if (!isSqlError(e)) throw e;
      return { error: e.message };
    }
  }

  private collect(st: SqlJsStatement, totalBefore: number): StatementResult {
    const columns = st.getColumnNames();
    if (columns.length === 0) {
      while (st.step());
      const [total, changes, lastId] = this.counters();
      const rowsAffected = total !== totalBefore ? changes : 0;
      return rowsAffected > 0 && lastId !== 0 ? { rowsAffected, lastInsertId: lastId } : { rowsAffected };
    }
    const types = columns.map(() => "");
    const values: SqlValue[][] = [];
    while (st.step()) {
      const row = st.get(null, { useBigInt: true });
      for (let c = 0; c < row.length; c++) {
        const v = row[c];
        if (v !== null && types[c] === "") types[c] = storageClass(v);
        row[c] = normalize(v);
      }
      values.push(row);
    }
    return { columns, types, values };
  }

  close(): void {
    for (const st of this.cache.values()) st.free();
    this.cache.clear();
    this.stats.free();
  }
}
