/**
 * rqlite request bodies to Statements: a JSON array whose elements are a SQL string, `[sql, p1, p2, ...]`
 * (positional) or `[sql, {name: value}]` (named). Values: strings, null, numbers (integer literals are
 * integers, other literals reals), booleans (1/0) and arrays of bytes 0..255 (BLOBs, as rqlite accepts).
 * Anything else is a 400 with the position of the offending element; nothing is executed. So are parameters
 * that do not match the SQL's placeholders (too many or too few values, a name the SQL does not use): SQLite
 * would ignore an unknown name and bind NULL to a missing value, silently storing something else than meant.
 */
import type { NamedParams, Statement } from "../../store/command.ts";
import { tokenize } from "../../store/lexer.ts";
import type { SqlValue } from "../../store/results.ts";
import { HttpError } from "./errors.ts";
import { nestsDeeperThan, parseJson } from "./json.ts";

/** The deepest a valid body nests: array > statement > named object > byte array, with room to spare. */
const MAX_JSON_DEPTH = 32;

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

/** The SQL's placeholders as SQLite numbers them: `count` is sqlite3_bind_parameter_count. */
interface Placeholders {
  count: number;
  /** Bare `?`s present (only positional values can fill them). */
  anonymous: boolean;
  /** Named (`:a`, `@a`, `$a`) and numbered (`?3`) placeholders, as written. */
  named: Set<string>;
}

function placeholders(sql: string): Placeholders {
  const p: Placeholders = { count: 0, anonymous: false, named: new Set() };
  for (const t of tokenize(sql)) {
    if (t.kind !== "param") continue;
    if (t.text === "?") {
      p.anonymous = true;
      p.count++;
    } else if (t.text.startsWith("?")) {
      p.named.add(t.text);
      p.count = Math.max(p.count, Number(t.text.slice(1)) || 0);
    } else if (!p.named.has(t.text)) {
      p.named.add(t.text);
      p.count++;
    }
  }
  return p;
}

function checkPositional(sql: string, n: number, i: number): void {
  const { count } = placeholders(sql);
  if (n !== count) {
    throw bad(`statement ${i}: ${n} parameter values given, the SQL has ${count} placeholders`);
  }
}

/** Every key names a placeholder (`name` matches `:name`, `@name` or `$name`) and every placeholder has a key. */
function checkNamed(sql: string, keys: string[], i: number): void {
  const p = placeholders(sql);
  if (p.anonymous) throw bad(`statement ${i}: the SQL has ? placeholders, which need positional values`);
  const used = new Set<string>();
  for (const k of keys) {
    const forms = /^[:@$?]/.test(k) ? [k] : [":" + k, "@" + k, "$" + k];
    const hits = forms.filter((f) => p.named.has(f));
    if (hits.length === 0) throw bad(`statement ${i}: no placeholder for parameter "${k}" in the SQL`);
    for (const h of hits) used.add(h);
  }
  for (const name of p.named) {
    if (!used.has(name)) throw bad(`statement ${i}: no value for placeholder ${name}`);
  }
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
    checkNamed(sql, Object.keys(named), i);
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
  checkPositional(sql, params.length, i);
  return { sql, params };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Parse a request body (already UTF-8 text) into statements; throws HttpError 400. */
export function parseStatements(text: string): Statement[] {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw bad(`invalid JSON body: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
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
