/**
 * URL query parameters, read the way rqlite reads them: flags count when present (`?pretty`,
 * `?transaction=true` alike), durations are Go-style (`500ms`, `5s`, `1m30s`), and an unknown `level`
 * falls back to weak (rqlite's `auto` is weak on a voter, and every ChiselStore member votes).
 */
import type { Consistency } from "../consistency.ts";
import { HttpError } from "./errors.ts";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
/** setTimeout's largest delay (about 24.8 days): Node turns a longer one into 1 ms, which would time out at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** A Go duration string in milliseconds; undefined when it is not one. */
export function parseGoDuration(s: string): number | undefined {
  if (s === "0") return 0;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    DURATION_PART.lastIndex = at;
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    at = DURATION_PART.lastIndex;
  }
  return at === 0 ? undefined : total;
}

export class QueryParams {
  readonly #q: URLSearchParams;
  constructor(search: URLSearchParams) {
    this.#q = search;
  }

  has(flag: string): boolean {
    return this.#q.has(flag);
  }

  get(key: string): string | undefined {
    return this.#q.get(key) ?? undefined;
  }

  /** `timeout` in ms (rqlite's per-request deadline), or undefined for the node's default. */
  timeoutMs(): number | undefined {
    const t = this.get("timeout");
    if (t === undefined) return undefined;
    const ms = parseGoDuration(t.trim());
    if (ms === undefined || ms <= 0) {
      throw new HttpError(400, `timeout is not a valid duration: "${t}" (examples: 500ms, 5s, 1m)`);
    }
    return Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.round(ms)));
  }

  level(): Consistency {
    const l = this.get("level")?.trim().toLowerCase();
    return l === "none" || l === "strong" || l === "linearizable" ? l : "weak";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Percent-decodes one URL component strictly: throws on a bad escape or bytes that are not UTF-8. */
function decodeStrict(part: string): void {
  // Most parts are plain ASCII without escapes: nothing to decode (one scan, no allocation).
  let plain = 0;
  while (plain < part.length && part.charCodeAt(plain) !== 0x25 && part.charCodeAt(plain) <= 0x7f) plain++;
  if (plain === part.length) return;
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c !== 0x25) {
      // Raw bytes >= 0x80 reach req.url as latin1 characters, which the URL parser would re-encode as
      // something else than was sent: only percent-escapes carry non-ASCII text unambiguously.
      if (c > 0x7f) throw new Error("raw bytes outside ASCII (percent-encode them)");
      bytes.push(c);
      continue;
    }
    const hex = part.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`bad percent-escape "%${hex}"`);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    utf8.decode(new Uint8Array(bytes));
  } catch {
    throw new Error("percent-escapes that are not UTF-8");
  }
}

/**
 * The request target (path and query string, as sent) parsed, or why it cannot be read: the server's
 * handlers use this URL, so each request is parsed once. URLSearchParams would read `%ZZ` as the text "%ZZ"
 * and `%FF` as U+FFFD: SQL in `q` would then differ from what was sent.
 */
export function parseRequestTarget(target: string): URL | string {
  // "//host/path" (and "/\host": the URL parser reads "\" as "/") parses as a URL with a host, so the path
  // would be read from the wrong place, or it does not parse at all (the handler answered 500 before).
  if (/^[/\\]{2}/.test(target)) return "the URL path must not start with //";
  let url: URL;
  try {
    url = new URL(target, "http://localhost");
  } catch {
    return "the URL cannot be parsed";
  }
  const q = target.indexOf("?");
  const parts = [q < 0 ? target : target.slice(0, q), ...(q < 0 ? [] : target.slice(q + 1).split(/[&=]/))];
  for (const part of parts) {
    try {
      decodeStrict(part);
    } catch (e) {
      return `the URL has ${(e as Error).message}`;
    }
  }
  return url;
}
