/**
 * Apply-time determinism. Every replica executes the same SQL, so every value SQLite would take from the
 * host must come from the command instead:
 *
 * - Clock: SQLite's 'now' (datetime('now'), CURRENT_TIMESTAMP, julianday(), unixepoch(), strftime(...)
 *   and the same inside triggers and DEFAULTs) reads the VFS clock, which emscripten implements as a call
 *   to the JS global `Date.now()`; 'localtime' reads `new Date(t).getHours()` etc. While a command runs,
 *   `globalThis.Date` is replaced by ReplicaDate: `now()` returns the command's timestamp and every local
 *   getter is the UTC one (so 'localtime' and 'utc' are the identity on every node, whatever its TZ).
 *   Application is synchronous, so nothing else observes the swap; it is restored in `finally`.
 * - Randomness: random() and randomblob() are overridden per connection (SQLite lets application
 *   functions replace built-ins) with a PRNG seeded from the command's seed.
 */
import type { SqlJsDatabase, SqlJsModule } from "./sqljs.ts";

const RealDate = globalThis.Date;
let frozenMs = 0;

class ReplicaDate extends RealDate {
  constructor(...args: unknown[]) {
    // No arguments: "now". Date components: read as UTC, like every local getter below.
    super(
      args.length === 0
        ? frozenMs
        : args.length === 1
        ? args[0] as number
        : RealDate.UTC(...(args as [number, number])),
    );
  }
  static override now(): number {
    return frozenMs;
  }
  override getTimezoneOffset(): number {
    return 0;
  }
}

// Every local-time getter answers in UTC (emscripten's localtime_r reads these).
for (const part of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"]) {
  const utc = Object.getOwnPropertyDescriptor(RealDate.prototype, `getUTC${part}`)!;
  Object.defineProperty(ReplicaDate.prototype, `get${part}`, utc);
}

/** Runs `fn` with SQLite's clock reading `ms` and local time equal to UTC. Re-entrant. */
export function withClock<T>(ms: number, fn: () => T): T {
  const prevDate = globalThis.Date;
  const prevMs = frozenMs;
  frozenMs = ms;
  globalThis.Date = ReplicaDate as DateConstructor;
  try {
    return fn();
  } finally {
    globalThis.Date = prevDate;
    frozenMs = prevMs;
  }
}

/** The wall clock, immune to an active withClock (for timings and read-path timestamps). */
export const realNow = (): number => RealDate.now();

/** sfc32: small, fast, good enough for SQL random(); seeded from 64 bits via splitmix32 mixing. */
export class Prng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: bigint) {
    this.reseed(seed);
  }

  reseed(seed: bigint): void {
    let s = Number(seed & 0xffffffffn) ^ 0x9e3779b9;
    const hi = Number((seed >> 32n) & 0xffffffffn);
    const mix = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s ^ hi;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix() | 1;
    for (let i = 0; i < 12; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A signed 64-bit integer, like SQLite's random(). */
  int64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.next32()) << 32n) | BigInt(this.next32()));
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.next32();
      out[i] = v & 0xff;
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  }
}

/** Seeds drawn per getRandomValues call: one system call per 512 proposals instead of one each (issue 7). */
const SEED_POOL = 512;
let seeds = new BigUint64Array(0);
let nextSeed = 0;

/** A fresh unpredictable seed, for reads (which are not replicated) and for proposers. */
export function randomSeed(): bigint {
  if (nextSeed >= seeds.length) {
    seeds = crypto.getRandomValues(new BigUint64Array(SEED_POOL));
    nextSeed = 0;
  }
  return seeds[nextSeed++];
}

const SQLITE_UTF8 = 1;
/** SQLite's default SQLITE_MAX_LENGTH in this build; randomblob() beyond it is "string or blob too big". */
const MAX_BLOB = 1_000_000_000;

/** SQLite's integer conversion of a function argument, as far as sql.js passes it (numbers come as doubles). */
function toInt(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (typeof v === "string") {
    const n = Number.parseFloat(v.trim());
    return Number.isFinite(n) ? Math.trunc(n) : 0;
  }
  return 0;
}

/**
 * Installs random()/randomblob() reading `rng()` on one connection. Returns the raw function pointer to
 * release at close. random() is registered through the C API because sql.js's create_function can only
 * return doubles, and random() must stay an INTEGER.
 */
export function installRandom(sql: SqlJsModule, db: SqlJsDatabase, rng: () => Prng): number {
  const ptr = sql.addFunction((ctx: number) => sql._sqlite3_result_int64(ctx, rng().int64()), "viii");
  const name = sql.stringToNewUTF8("random");
  try {
    const rc = sql._sqlite3_create_function_v2(db.db, name, 0, SQLITE_UTF8, 0, ptr, 0, 0, 0);
    if (rc !== 0) throw new Error(`registering random() failed with code ${rc}`);
  } finally {
    sql._free(name);
  }
  db.create_function("randomblob", (n: never) => {
    const len = Math.max(1, toInt(n));
    if (len > MAX_BLOB) throw new Error("string or blob too big");
    return rng().bytes(len);
  });
  return ptr;
}
