/**
 * Node results to rqlite's JSON. Rows: `{columns, types, values}` or, with `associative`, `{types: {col:
 * type}, rows: [{col: value}]}`; writes: `{last_insert_id, rows_affected}` (each left out when zero, as rqlite
 * does); failures: `{error}`. BLOBs are base64 strings; integers beyond 2^53 stay bigints, which stringifyJson
 * writes as exact integer literals. Times are seconds.
 */
import { Buffer } from "node:buffer";
import type { SqlValue, StatementResult } from "../../store/results.ts";

export type JsonValue = null | number | bigint | string;

export interface RqliteResult {
  columns?: string[];
  types?: string[] | Record<string, string>;
  values?: JsonValue[][];
  rows?: Record<string, JsonValue>[];
  last_insert_id?: number | bigint;
  rows_affected?: number;
  error?: string;
  time?: number;
}

export interface RqliteResponse {
  results: RqliteResult[];
  error?: string;
  time?: number;
  raft_index?: number;
}

export function jsonValue(v: SqlValue): JsonValue {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") : v;
}

export function toRqliteResult(r: StatementResult, associative: boolean): RqliteResult {
  const out: RqliteResult = {};
  if (r.error !== undefined) {
    out.error = r.error;
  } else if (r.columns) {
    const columns = r.columns;
    const types = r.types ?? columns.map(() => "");
    const rows = r.values ?? [];
    if (associative) {
      const typeMap: Record<string, string> = {};
      columns.forEach((c, i) => (typeMap[c] = types[i]));
      out.types = typeMap;
      out.rows = rows.map((row) => {
        const o: Record<string, JsonValue> = {};
        columns.forEach((c, i) => (o[c] = jsonValue(row[i])));
        return o;
      });
    } else {
      out.columns = columns;
      out.types = types;
      if (rows.length > 0) out.values = rows.map((row) => row.map(jsonValue));
    }
  } else {
    if (r.lastInsertId !== undefined && r.lastInsertId !== 0) out.last_insert_id = r.lastInsertId;
    if (r.rowsAffected) out.rows_affected = r.rowsAffected;
  }
  if (r.timeMs !== undefined) out.time = r.timeMs / 1000;
  return out;
}
