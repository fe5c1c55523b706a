/**
 * The replicated SQL state machine: applies decided log entries (encoded Commands) to a sql.js database,
 * exactly once and identically on every replica; serves local read-only queries; exports and restores
 * snapshots; reports checksums. See docs/store.md.
 *
 * Every command runs in one SQLite transaction that also writes the applied index and the dedupe record, so
 * the database (and any snapshot of it) is always exactly "the log applied up to appliedIndex".
 */
import type { Snapshotter } from "../omnipaxos/config.ts";
import { type Command, decodeCommand, type Statement } from "./command.ts";
import { installRandom, Prng, randomSeed, realNow, withClock } from "./determinism.ts";
import { CommandDecodeError, StoreError } from "./errors.ts";
import { Executor, isSqlError } from "./executor.ts";
import { type CommandResult, decodeResult, encodeResult, type StatementResult } from "./results.ts";
import * as S from "./schema.ts";
import { loadSqlJs, type SqlJsDatabase, type SqlJsModule, type SqlJsStatement } from "./sqljs.ts";
import { checkStatements } from "./validate.ts";

export interface SqlStateMachineOptions {
  /** Start from these snapshot bytes instead of an empty database. */
  snapshot?: Uint8Array;
  /** PRAGMA foreign_keys for the connection (per connection, not in the file): must match cluster-wide. */
  foreignKeys?: boolean;
  /**
   * Results kept per client for retries (latest N sequence numbers) when its request ids carry no ackBelow;
   * with ackBelow, max(N, ACKED_WINDOW). Fixed in the database at creation.
   */
  dedupeWindow?: number;
  /** A client silent this long (by command timestamps) loses its dedupe state. Fixed at creation. */
  clientTtlMs?: number;
  /** Add `timeMs` to statement results (never stored for retries). */
  timings?: boolean;
}

export interface QueryOptions {
  timings?: boolean;
}

export interface Checksum {
  /** The applied index the digest was taken at. */
  index: number;
  /** Hex SHA-256 of the exported database file. */
  sha256: string;
}

export const DEFAULT_DEDUPE_WINDOW = 64;
/**
 * Results a client that acknowledges (RequestId.ackBelow) may keep un-acknowledged: its window is
 * max(dedupeWindow, this). A hard bound so a client that never acknowledges cannot grow the table forever.
 */
export const ACKED_WINDOW = 16384;
export const DEFAULT_CLIENT_TTL_MS = 24 * 3600 * 1000;
/** Idle clients are expired every this many commands (a deterministic schedule). */
const EXPIRE_EVERY = 1024;
const READONLY_MESSAGE = "attempt to write a readonly database";

interface Prepared {
  begin: SqlJsStatement;
  commit: SqlJsStatement;
  rollback: SqlJsStatement;
  savepoint: SqlJsStatement;
  rollbackTo: SqlJsStatement;
  release: SqlJsStatement;
  metaPut: SqlJsStatement;
  resultGet: SqlJsStatement;
  resultPut: SqlJsStatement;
  resultPrune: SqlJsStatement;
  clientGet: SqlJsStatement;
  clientPut: SqlJsStatement;
  expireResults: SqlJsStatement;
  expireClients: SqlJsStatement;
}

interface Connection {
  db: SqlJsDatabase;
  exec: Executor;
  stmts: Prepared;
  randomPtr: number;
  applied: number;
  lastTs: number;
  window: number;
  ttl: number;
}

/** The first row, or undefined. */
function firstRow(st: SqlJsStatement, params: (string | bigint)[]): unknown[] | undefined {
  st.bind(params);
  const v = st.step() ? st.get(null, { useBigInt: true }) : undefined;
  st.reset();
  return v;
}

/** The first column of the first row, or undefined. */
function scalar(st: SqlJsStatement, params: (string | bigint)[]): unknown {
  return firstRow(st, params)?.[0];
}

/** What finish() records for a command that is remembered for retries. */
interface Keep {
  /** The client's highest seq once this command is recorded. */
  maxSeq: number;
  /** The client's acknowledged-below watermark once this command is recorded. */
  acked: number;
  /** Results with seq <= floor are forgotten. */
  floor: number;
}

export class SqlStateMachine {
  private readonly sql: SqlJsModule;
  private readonly opts: SqlStateMachineOptions;
  private conn: Connection | undefined;
  private readonly applyRng = new Prng(0n);
  private readonly readRng = new Prng(0n);
  private rng = this.applyRng;

  private constructor(sql: SqlJsModule, opts: SqlStateMachineOptions) {
    this.sql = sql;
    this.opts = opts;
  }

  static async open(opts: SqlStateMachineOptions = {}): Promise<SqlStateMachine> {
    const sm = new SqlStateMachine(await loadSqlJs(), opts);
    sm.conn = sm.connect(opts.snapshot);
    return sm;
  }

  /** Entries [0, appliedIndex) are applied; the next entry to apply has index appliedIndex. */
  get appliedIndex(): number {
    return this.live().applied;
  }

  private live(): Connection {
    if (!this.conn) throw new StoreError("state machine is closed");
    return this.conn;
  }

  private connect(bytes: Uint8Array | undefined): Connection {
    const db = new this.sql.Database(bytes);
    let randomPtr = 0;
    try {
      randomPtr = installRandom(this.sql, db, () => this.rng);
      // The file lives in the wasm heap: a heap journal spares MEMFS a file create/unlink per commit, an
      // exclusive lock spares the per-transaction lock, hot-journal and change-counter checks (MEMFS path
      // lookups), and no sync calls: durability comes from the log and snapshots, never from this file.
      db.run(
        `PRAGMA journal_mode = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ${
          this.opts.foreignKeys ? "ON" : "OFF"
        }`,
      );
      if (!bytes) {
        const window = this.opts.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW;
        const ttl = this.opts.clientTtlMs ?? DEFAULT_CLIENT_TTL_MS;
        if (!Number.isSafeInteger(window) || window < 1) throw new StoreError("dedupeWindow must be >= 1");
        if (!Number.isSafeInteger(ttl) || ttl < 1) throw new StoreError("clientTtlMs must be >= 1");
        db.run(`BEGIN; ${S.CREATE_SCHEMA} INSERT INTO __chisel_config VALUES
          ('format', ${S.FORMAT_VERSION}), ('dedupe_window', ${window}), ('client_ttl_ms', ${ttl}); COMMIT;`);
      }
      const config = new Map<string, number>();
      const cfg = db.prepare(S.SQL_CONFIG_GET);
      while (cfg.step()) {
        const [k, v] = cfg.get(null, { useBigInt: true });
        config.set(String(k), Number(v));
      }
      cfg.free();
      if (config.get("format") !== S.FORMAT_VERSION) throw new StoreError("not a ChiselStore database");
      // A database from before acknowledgements: add the column (before the statements below read it). Only
      // the bytes decide, so every replica restoring the same snapshot ends up with the same file.
      const has = db.prepare(S.SQL_HAS_ACKED);
      const hasAcked = Number(scalar(has, [])) === 1;
      has.free();
      if (!hasAcked) db.run(S.SQL_ADD_ACKED);
      const meta = db.prepare(S.SQL_META_GET);
      const row = meta.step() ? meta.get(null, { useBigInt: true }) : [];
      meta.free();
      const p = (q: string) => db.prepare(q);
      return {
        db,
        exec: new Executor(db),
        randomPtr,
        applied: Number(row[0]),
        lastTs: Number(row[1]),
        window: config.get("dedupe_window")!,
        ttl: config.get("client_ttl_ms")!,
        stmts: {
          begin: p("BEGIN"),
          commit: p("COMMIT"),
          rollback: p("ROLLBACK"),
          savepoint: p("SAVEPOINT __chisel_cmd"),
          rollbackTo: p("ROLLBACK TO __chisel_cmd"),
          release: p("RELEASE __chisel_cmd"),
          metaPut: p(S.SQL_META_PUT),
          resultGet: p(S.SQL_RESULT_GET),
          resultPut: p(S.SQL_RESULT_PUT),
          resultPrune: p(S.SQL_RESULT_PRUNE),
          clientGet: p(S.SQL_CLIENT_GET),
          clientPut: p(S.SQL_CLIENT_PUT),
          expireResults: p(S.SQL_EXPIRE_RESULTS),
          expireClients: p(S.SQL_EXPIRE_CLIENTS),
        },
      };
    } catch (e) {
      db.close();
      if (randomPtr) this.sql.removeFunction(randomPtr);
      if (e instanceof StoreError) throw e;
      throw new StoreError(`cannot open database: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private disconnect(c: Connection): void {
    c.exec.close();
    c.db.close(); // frees the prepared statements too
    this.sql.removeFunction(c.randomPtr);
  }

  /**
   * Applies the decided entry at `idx`. Returns its result, or null when `idx` is below appliedIndex
   * (already applied: replays after a restart are harmless). Throws StoreError on a gap or a host failure;
   * SQL errors and undecodable entries are results, identical on every replica.
   */
  apply(idx: number, entry: Uint8Array): CommandResult | null {
    const c = this.live();
    if (idx < c.applied) return null;
    if (idx !== c.applied) throw new StoreError(`apply(${idx}) but the next index to apply is ${c.applied}`);
    let cmd: Command | undefined;
    let refusal: string | undefined;
    try {
      cmd = decodeCommand(entry);
    } catch (e) {
      if (!(e instanceof CommandDecodeError)) throw e;
      refusal = `undecodable command: ${e.message}`;
    }
    const ts = Math.max(c.lastTs, cmd?.timestampMs ?? 0);
    const result = withClock(ts, () => {
      this.begin(c, idx, ts);
      try {
        const [r, keep] = cmd
          ? this.applyCommand(c, idx, ts, cmd)
          : [{ index: idx, results: [], error: refusal }, undefined];
        this.finish(c, idx, ts, keep && cmd, keep, r);
        return r;
      } catch (e) {
        this.tryRollback(c);
        throw e;
      }
    });
    c.applied = idx + 1;
    c.lastTs = ts;
    return result;
  }

  /**
   * Marks log index `idx` applied without a command: a slot that holds no SQL (the stop sign that ends a
   * configuration). Deterministic like apply: every replica records the same applied index.
   */
  skip(idx: number): void {
    const c = this.live();
    if (idx < c.applied) return;
    if (idx !== c.applied) throw new StoreError(`skip(${idx}) but the next index to apply is ${c.applied}`);
    this.begin(c, idx, c.lastTs);
    c.stmts.commit.run();
    c.applied = idx + 1;
  }

  private begin(c: Connection, idx: number, ts: number): void {
    c.stmts.begin.run();
    c.stmts.metaPut.run([BigInt(idx + 1), BigInt(ts)]);
  }

  private tryRollback(c: Connection): void {
    try {
      c.stmts.rollback.run();
    } catch {
      // no transaction was open
    }
  }

  /** After a failed statement: true when SQLite rolled back the whole transaction (OR ROLLBACK, RAISE). */
  private lostTransaction(c: Connection, idx: number, ts: number): boolean {
    try {
      c.stmts.begin.run(); // succeeds only outside a transaction
    } catch {
      return false;
    }
    c.stmts.metaPut.run([BigInt(idx + 1), BigInt(ts)]);
    return true;
  }

  /**
   * The result and, when it is to be remembered for retries (not for duplicates and refused request ids),
   * what to record for its client.
   */
  private applyCommand(
    c: Connection,
    idx: number,
    ts: number,
    cmd: Command,
  ): [CommandResult, Keep | undefined] {
    const { clientId, seq, ackBelow } = cmd.requestId;
    const stored = scalar(c.stmts.resultGet, [clientId, BigInt(seq)]);
    if (stored instanceof Uint8Array) return [{ ...decodeResult(stored), duplicate: true }, undefined];
    const prev = firstRow(c.stmts.clientGet, [clientId]);
    const prevAcked = prev ? Number(prev[1]) : 0;
    if (seq < prevAcked) {
      // The client declared this seq answered (or given up): its result is gone, and running it now would
      // apply a write the client may have retried under a new seq.
      const error = `request ${clientId}#${seq} was already answered; a late copy is ignored`;
      return [{ index: idx, results: [], error }, undefined];
    }
    // A client that acknowledges keeps results up to the hard bound; one that does not keeps the window.
    const window = ackBelow === undefined ? c.window : Math.max(c.window, ACKED_WINDOW);
    if (prev && seq <= Number(prev[0]) - window) {
      const error =
        `request ${clientId}#${seq} is older than the dedupe window (${window}); its result is gone`;
      return [{ index: idx, results: [], error }, undefined];
    }
    // What SQL_CLIENT_PUT will store: computed here once instead of read again after the upsert.
    const maxSeq = prev ? Math.max(Number(prev[0]), seq) : seq;
    const acked = Math.max(prevAcked, ackBelow ?? 0);
    const keep: Keep = { maxSeq, acked, floor: Math.max(maxSeq - window, acked - 1) };
    const invalid = checkStatements(cmd.statements);
    if (invalid) return [{ index: idx, results: [], error: invalid.message }, keep];
    this.applyRng.reseed(cmd.seed);
    this.rng = this.applyRng;
    const run = cmd.transaction ? this.runAtomic : this.runBatch;
    return [run.call(this, c, idx, ts, cmd.statements), keep];
  }

  private runAtomic(c: Connection, idx: number, ts: number, statements: Statement[]): CommandResult {
    const results: StatementResult[] = [];
    c.stmts.savepoint.run();
    for (const s of statements) {
      const r = c.exec.run(s, this.opts.timings ?? false);
      results.push(r);
      if (r.error !== undefined) {
        if (!this.lostTransaction(c, idx, ts)) {
          c.stmts.rollbackTo.run();
          c.stmts.release.run();
        }
        return { index: idx, results, rolledBack: true };
      }
    }
    c.stmts.release.run();
    return { index: idx, results };
  }

  private runBatch(c: Connection, idx: number, ts: number, statements: Statement[]): CommandResult {
    const results: StatementResult[] = [];
    for (const s of statements) {
      const r = c.exec.run(s, this.opts.timings ?? false);
      results.push(r);
      // A failed statement undoes only itself, unless its conflict clause rolled back everything.
      if (r.error !== undefined && this.lostTransaction(c, idx, ts)) {
        return { index: idx, results, rolledBack: true };
      }
    }
    return { index: idx, results };
  }

  /** Records the dedupe state and commits; a failing COMMIT (deferred constraints) undoes the command. */
  private finish(
    c: Connection,
    idx: number,
    ts: number,
    cmd: Command | undefined,
    keep: Keep | undefined,
    r: CommandResult,
  ): void {
    const record = () => {
      if (!cmd || !keep) return;
      const { clientId, seq } = cmd.requestId;
      const stored: CommandResult = { ...r, results: r.results.map(({ timeMs: _t, ...rest }) => rest) };
      c.stmts.resultPut.run([clientId, BigInt(seq), encodeResult(stored)]);
      c.stmts.clientPut.run([clientId, BigInt(seq), BigInt(ts), BigInt(keep.acked)]);
      if (keep.floor > 0) c.stmts.resultPrune.run([clientId, BigInt(keep.floor)]);
      if (idx % EXPIRE_EVERY === 0) {
        const cutoff = BigInt(ts - c.ttl);
        c.stmts.expireResults.run([cutoff]);
        c.stmts.expireClients.run([cutoff]);
      }
    };
    record();
    try {
      c.stmts.commit.run();
    } catch (e) {
      if (!isSqlError(e)) throw e;
      this.tryRollback(c);
      r.rolledBack = true;
      r.error = `COMMIT failed, command rolled back: ${e.message}`;
      this.begin(c, idx, ts);
      record();
      c.stmts.commit.run();
    }
  }

  /**
   * Runs read-only statements on the local database, outside the log (consistency levels none/weak, or
   * linearizable after a read barrier). Refused statements throw ValidationError; a statement that would
   * write gets an error result: the connection runs with PRAGMA query_only, which SQLite enforces for
   * every change (DML, DDL, header pragmas) since sql.js exposes no sqlite3_stmt_readonly.
   */
  query(statements: Statement[], opts: QueryOptions = {}): StatementResult[] {
    const c = this.live();
    const invalid = checkStatements(statements);
    if (invalid) throw invalid;
    this.readRng.reseed(randomSeed());
    this.rng = this.readRng;
    // Not a cached statement: SQLite applies flag pragmas while compiling them, not when stepping.
    c.db.run("PRAGMA query_only = ON");
    try {
      return withClock(realNow(), () =>
        statements.map((s, i) => {
          const r = c.exec.run(s, opts.timings ?? false);
          if (r.error === READONLY_MESSAGE) {
            r.error =
              `statement ${i} writes: the read-only query path refuses it (send writes through the log)`;
          }
          return r;
        }));
    } finally {
      c.db.run("PRAGMA query_only = OFF");
      this.rng = this.applyRng;
    }
  }

  /** The database file at appliedIndex (applied index and dedupe table included). Only between commands. */
  createSnapshot(): Uint8Array {
    return this.live().db.export();
  }

  /** Replaces the state with snapshot bytes (from createSnapshot on any replica). */
  restore(bytes: Uint8Array): void {
    const next = this.connect(bytes);
    if (this.conn) this.disconnect(this.conn);
    this.conn = next;
  }

  /**
   * Installs a snapshot covering the log [0, idx). Returns false (and changes nothing) when this replica
   * has already applied at least that much; throws StoreError if the bytes are not a snapshot at idx.
   */
  applySnapshot(idx: number, bytes: Uint8Array): boolean {
    if (idx <= this.live().applied) return false;
    const next = this.connect(bytes);
    if (next.applied !== idx) {
      this.disconnect(next);
      throw new StoreError(`snapshot holds index ${next.applied}, expected ${idx}`);
    }
    this.disconnect(this.live());
    this.conn = next;
    return true;
  }

  /** The core's Snapshotter: the store can only snapshot its own applied index. */
  snapshotter(): Snapshotter<Uint8Array> {
    return {
      // A snapshot is an export of the live database: the previous one is not needed (nor read back from disk).
      usesBase: false,
      create: (idx) => {
        if (idx !== this.appliedIndex) {
          throw new StoreError(
            `snapshot requested at ${idx} but the store has applied up to ${this.appliedIndex}`,
          );
        }
        return this.createSnapshot();
      },
    };
  }

  async checksum(): Promise<Checksum> {
    const index = this.appliedIndex;
    const bytes = this.createSnapshot();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
    return { index, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") };
  }

  close(): void {
    if (this.conn) this.disconnect(this.conn);
    this.conn = undefined;
  }
}
