/**
 * Loads sql.js once per process (its wasm heap never shrinks, so one module serves every database).
 * The package has no type declarations; the small surface used here is typed by hand.
 *
 * The wasm file is located through Node's resolver from this module's URL, which works from src/ and from
 * dist/ on Node and on Deno with `nodeModulesDir: "manual"` (and Deno's npm cache).
 */
import { createRequire } from "node:module";

export type BindValue = null | number | bigint | string | Uint8Array;

export interface SqlJsStatement {
  bind(values?: BindValue[] | Record<string, BindValue>): boolean;
  step(): boolean;
  get(params: null, config: { useBigInt: true }): (null | number | bigint | string | Uint8Array)[];
  getColumnNames(): string[];
  /** Binds (when given), steps once and resets. */
  run(values?: BindValue[] | Record<string, BindValue>): void;
  reset(): void;
  free(): boolean;
}

export interface SqlJsDatabase {
  /** The sqlite3* pointer (an internal field of sql.js's Database, needed for raw function registration). */
  db: number;
  run(sql: string): void;
  prepare(sql: string): SqlJsStatement;
  iterateStatements(sql: string): Iterable<SqlJsStatement>;
  export(): Uint8Array;
  close(): void;
  getRowsModified(): number;
  create_function(name: string, fn: (...args: never[]) => unknown): void;
}

export interface SqlJsModule {
  Database: new (data?: Uint8Array) => SqlJsDatabase;
  addFunction(fn: (...args: number[]) => void, sig: string): number;
  removeFunction(ptr: number): void;
  stringToNewUTF8(s: string): number;
  _free(ptr: number): void;
  _sqlite3_create_function_v2(
    db: number,
    name: number,
    nArg: number,
    eTextRep: number,
    pApp: number,
    xFunc: number,
    xStep: number,
    xFinal: number,
    xDestroy: number,
  ): number;
  _sqlite3_result_int64(ctx: number, v: bigint): void;
}

type InitSqlJs = (opts?: { locateFile?: (file: string) => string }) => Promise<SqlJsModule>;

let loading: Promise<SqlJsModule> | undefined;

export function loadSqlJs(): Promise<SqlJsModule> {
  if (!loading) {
    const require = createRequire(import.meta.url);
    const init = require("sql.js") as InitSqlJs;
    const wasmPath = require.resolve("sql.js/dist/sql-wasm.wasm");
    loading = init({ locateFile: (f) => (f.endsWith(".wasm") ? wasmPath : f) });
    loading.catch(() => (loading = undefined)); // a failed load may be retried
  }
  return loading;
}
