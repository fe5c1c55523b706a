/**
 * JSON without precision loss for SQLite integers: bigints are written as plain JSON integer literals, and
 * integer literals beyond 2^53 are read back as bigints. Both use the source-text-access additions to JSON
 * (JSON.rawJSON and the reviver's `context.source`), present in Node >= 21 and Deno 2.
 */

interface RawJson {
  readonly rawJSON: string;
}
type JsonWithRaw = typeof JSON & { rawJSON(text: string): RawJson };
type SourceReviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Serialize with bigints as exact integer literals; `pretty` indents by four spaces (rqlite's `?pretty`). */
export function stringifyJson(value: unknown, pretty = false): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === "bigint" ? (JSON as JsonWithRaw).rawJSON(v.toString()) : v),
    pretty ? 4 : undefined,
  );
}

/**
 * What a JSON number literal means as a SQLite value: an integer literal is an integer (a bigint beyond the
 * safe range, up to int64; past int64 it falls back to a real, as rqlite does); anything else is a real.
 */
export function numberFromLiteral(value: number, source: string | undefined): number | bigint {
  if (source === undefined || !INTEGER_LITERAL.test(source) || Number.isSafeInteger(value)) return value;
  const big = BigInt(source);
  return big >= INT64_MIN && big <= INT64_MAX ? big : value;
}

/**
 * True when `text` nests arrays/objects deeper than `max` levels (strings skipped). JSON.parse recurses per
 * level, so a body of a million "[" would otherwise be rejected only by a stack overflow; checking first
 * gives a clear error and keeps the parser's recursion (and its reviver's) shallow.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string: up to the next quote not escaped by a backslash.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** JSON.parse, with integer literals outside the safe range read as bigints (see numberFromLiteral). */
export function parseJson(text: string): unknown {
  const reviver: SourceReviver = (_k, v, context) =>
    typeof v === "number" ? numberFromLiteral(v, context?.source) : v;
  return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
}
