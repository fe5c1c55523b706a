/**
 * Result shapes, chosen so the HTTP layer can emit rqlite's JSON: a read-style result carries
 * `columns`/`types`/`values`, a write-style one `rowsAffected`/`lastInsertId`, a failed one `error`.
 * Also the binary codec that stores a CommandResult in the dedupe table (timings are never stored: they are
 * the only non-deterministic part of a result).
 */
import { Reader, Writer } from "./binary.ts";

/** A SQLite value: integers are numbers when safe, bigint beyond 2^53; blobs are Uint8Array. */
export type SqlValue = null | number | bigint | string | Uint8Array;

export interface StatementResult {
  /** Present when the statement returns rows (SELECT, PRAGMA, ... RETURNING). */
  columns?: string[];
  /**
   * Storage class of each column's first non-null value: "integer" | "real" | "text" | "blob", or "" when
   * the column held only NULLs. sql.js does not expose sqlite3_column_decltype, so declared types are not
   * available (rqlite reports declared types when it has them).
   */
  types?: string[];
  values?: SqlValue[][];
  /** Rows changed by this statement (0 for DDL and reads). */
  rowsAffected?: number;
  /** Rowid of the last row this statement inserted into a rowid table, else absent. */
  lastInsertId?: number | bigint;
  /** SQLite's error message; identical on every replica. */
  error?: string;
  /** Wall-clock execution time, only when timings are enabled; differs between replicas. */
  timeMs?: number;
}

export interface CommandResult {
  /** Log index at which the request was (first) applied. */
  index: number;
  /**
   * One result per executed statement. Execution stops at the first error in a transaction; in a plain
   * batch every statement runs and failures are reported in place.
   */
  results: StatementResult[];
  /** The command was refused as a whole (validation, undecodable entry, expired request id). */
  error?: string;
  /** Every change of the command was undone (transaction error, ROLLBACK conflict resolution, commit error). */
  rolledBack?: boolean;
  /** A retry: these are the results of the first application; nothing was executed again. */
  duplicate?: boolean;
}

const F_COLUMNS = 1;
const F_ROWS_AFFECTED = 2;
const F_LAST_ID = 4;
const F_ERROR = 8;
const C_ERROR = 1;
const C_ROLLED_BACK = 2;

export function encodeResult(r: CommandResult): Uint8Array {
  const w = new Writer();
  w.uint(r.index);
  w.byte((r.error !== undefined ? C_ERROR : 0) | (r.rolledBack ? C_ROLLED_BACK : 0));
  if (r.error !== undefined) w.str(r.error);
  w.uint(r.results.length);
  for (const s of r.results) {
    const flags = (s.columns ? F_COLUMNS : 0) | (s.rowsAffected !== undefined ? F_ROWS_AFFECTED : 0) |
      (s.lastInsertId !== undefined ? F_LAST_ID : 0) | (s.error !== undefined ? F_ERROR : 0);
    w.byte(flags);
    if (s.columns) {
      w.uint(s.columns.length);
      for (let i = 0; i < s.columns.length; i++) {
        w.str(s.columns[i]);
        w.str(s.types?.[i] ?? "");
      }
      const rows = s.values ?? [];
      w.uint(rows.length);
      for (const row of rows) for (const v of row) w.value(v);
    }
    if (s.rowsAffected !== undefined) w.uint(s.rowsAffected);
    if (s.lastInsertId !== undefined) w.value(s.lastInsertId);
    if (s.error !== undefined) w.str(s.error);
  }
  return w.finish();
}

export function decodeResult(bytes: Uint8Array): CommandResult {
  const r = new Reader(bytes);
  const index = r.uint();
  const cflags = r.byte();
  const out: CommandResult = { index, results: [] };
  if (cflags & C_ERROR) out.error = r.str();
  if (cflags & C_ROLLED_BACK) out.rolledBack = true;
  const n = r.count();
  for (let i = 0; i < n; i++) {
    const flags = r.byte();
    const s: StatementResult = {};
    if (flags & F_COLUMNS) {
      const ncol = r.count(2);
      s.columns = [];
      s.types = [];
      for (let c = 0; c < ncol; c++) {
        s.columns.push(r.str());
        s.types.push(r.str());
      }
      const nrows = r.count(ncol);
      s.values = [];
      for (let k = 0; k < nrows; k++) {
        const row: SqlValue[] = [];
        for (let c = 0; c < ncol; c++) row.push(r.value());
        s.values.push(row);
      }
    }
    if (flags & F_ROWS_AFFECTED) s.rowsAffected = r.uint();
    if (flags & F_LAST_ID) {
      const v = r.value();
      s.lastInsertId = typeof v === "number" || typeof v === "bigint"
        ? v
        : r.fail("lastInsertId is not an integer");
    }
    if (flags & F_ERROR) s.error = r.str();
    out.results.push(s);
  }
  r.end();
  return out;
}
