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
    return Math.max(1, Math.round(ms));
  }

  level(): Consistency {
    const l = this.get("level")?.trim().toLowerCase();
    return l === "none" || l === "strong" || l === "linearizable" ? l : "weak";
  }
}
