/**
 * rqlite request bodies to Statements: a JSON array whose elements are a SQL string, `[sql, p1, p2, ...]`
 * (positional) or `[sql, {name: value}]` (named). Values: strings, null, numbers (integer literals are
 * integers, other literals reals), booleans (1/0) and arrays of bytes 0..255 (BLOBs, as rqlite accepts).
 * Anything else is a 400 with the position of the offending element; nothing is executed.
 */
import type { NamedParams, Statement } from "../../store/command.ts";
import type { SqlValue } from "../../store/results.ts";
import { HttpError } from "./errors.ts";
import { parseJson } from "./json.ts";

function bad(message: string): HttpError {
  return new HttpError(400, message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function toBlob(arr: unknown[], where: string): Uint8Array {
  const out = new Uint8Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const b = arr[i];
    if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
      throw bad(`${where}: an array parameter is a BLOB and must hold only integers 0..255`);
    }
    out[i] = b;
  }
  return out;
}

/** One JSON value as a SQLite parameter value. */
export function toSqlValue(v: unknown, where: string): SqlValue {
  if (v === null || typeof v === "string" || typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw bad(`${where}: number out of range`);
    return v;
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  if (Array.isArray(v)) return toBlob(v, where);
  throw bad(`${where}: unsupported parameter type (use string, number, boolean, null or a byte array)`);
}

function toStatement(el: unknown, i: number): Statement {
  if (typeof el === "string") return { sql: el };
  if (!Array.isArray(el)) {
    throw bad(`statement ${i}: expected a SQL string or an array [sql, ...params], got ${describe(el)}`);
  }
  if (el.length === 0) throw bad(`statement ${i}: empty array (expected [sql, ...params])`);
  const [sql, ...rest] = el;
  if (typeof sql !== "string") throw bad(`statement ${i}: the first element must be the SQL string`);
  if (rest.length === 0) return { sql };
  if (rest.length === 1 && isPlainObject(rest[0])) {
    // A null-prototype object: a parameter named "__proto__" stays a parameter.
    const named: Record<string, SqlValue> = Object.create(null);
    for (const [k, v] of Object.entries(rest[0])) {
      named[k] = toSqlValue(v, `statement ${i}, parameter "${k}"`);
    }
    return { sql, params: named as NamedParams };
  }
  const params = rest.map((v, j) => {
    if (isPlainObject(v)) {
      throw bad(
        `statement ${i}: named parameters must be the only element after the SQL ([sql, {name: value}])`,
      );
    }
    return toSqlValue(v, `statement ${i}, parameter ${j + 1}`);
  });
  return { sql, params };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Parse a request body (already UTF-8 text) into statements; throws HttpError 400. */
export function parseStatements(text: string): Statement[] {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (e) {
    throw bad(`invalid JSON body: ${(e as Error).message}`);
  }
  if (!Array.isArray(body)) {
    throw bad(`request body must be a JSON array of statements, got ${describe(body)}`);
  }
  if (body.length === 0) throw bad("no statements");
  return body.map(toStatement);
}
