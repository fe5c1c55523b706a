/**
 * The log entry format: one Command per entry, encoded compactly in binary (no JSON on the hot path).
 *
 *   magic 0xC5, version 1, flags (bit 0 = transaction, bit 1 = ackBelow present)
 *   clientId (varint length + UTF-8), seq (varint), [ackBelow (varint)], timestampMs (varint), seed (u64 LE)
 *   statement count, then per statement: sql, params kind (0 none | 1 positional | 2 named), params
 *
 * Values are tagged (see binary.ts). decodeCommand throws only CommandDecodeError.
 */
import { Reader, Writer } from "./binary.ts";
import { CommandDecodeError, CommandEncodeError } from "./errors.ts";
import type { SqlValue } from "./results.ts";

export type NamedParams = Readonly<Record<string, SqlValue>>;
/** Positional (`?`, `?NNN`) values, or named ones: keys with or without the `:`/`@`/`$` prefix. */
export type Params = readonly SqlValue[] | NamedParams;

export interface Statement {
  sql: string;
  params?: Params;
}

/** Globally unique: a client picks a unique id and numbers its requests 1, 2, 3, ... */
export interface RequestId {
  clientId: string;
  seq: number;
  /**
   * Every seq below this one has been answered to (or given up by) the client, so the store may forget
   * those results and refuses late copies of them (docs/store.md, "Acknowledgements"). 1 <= ackBelow <= seq.
   */
  ackBelow?: number;
}

export interface Command {
  requestId: RequestId;
  statements: Statement[];
  /** Run all statements as one atomic transaction: any error rolls back every statement of the command. */
  transaction: boolean;
  /** Proposer-assigned wall clock (ms since the epoch) that 'now' and CURRENT_TIMESTAMP read. */
  timestampMs: number;
  /** Seeds random() and randomblob() for this command (unsigned 64-bit). */
  seed: bigint;
}

const MAGIC = 0xc5;
const VERSION = 1;
const FLAG_TRANSACTION = 1;
const FLAG_ACK_BELOW = 2;
const MAX_CLIENT_ID = 256;

export function encodeCommand(c: Command): Uint8Array {
  const { clientId, seq, ackBelow } = c.requestId;
  if (typeof clientId !== "string" || clientId.length === 0 || clientId.length > MAX_CLIENT_ID) {
    throw new CommandEncodeError(`clientId must be 1..${MAX_CLIENT_ID} characters`);
  }
  if (!Number.isSafeInteger(seq) || seq < 1) throw new CommandEncodeError(`seq must be a positive integer`);
  if (ackBelow !== undefined && (!Number.isSafeInteger(ackBelow) || ackBelow < 1 || ackBelow > seq)) {
    throw new CommandEncodeError(`ackBelow must be an integer in 1..seq (${seq}), got ${ackBelow}`);
  }
  if (typeof c.seed !== "bigint" || c.seed < 0n || c.seed >= 1n << 64n) {
    throw new CommandEncodeError("seed must be an unsigned 64-bit bigint");
  }
  const w = new Writer();
  w.byte(MAGIC);
  w.byte(VERSION);
  w.byte((c.transaction ? FLAG_TRANSACTION : 0) | (ackBelow !== undefined ? FLAG_ACK_BELOW : 0));
  w.str(clientId);
  w.uint(seq);
  if (ackBelow !== undefined) w.uint(ackBelow);
  w.uint(c.timestampMs);
  w.u64(c.seed);
  w.uint(c.statements.length);
  for (const s of c.statements) {
    if (typeof s.sql !== "string") throw new CommandEncodeError("sql must be a string");
    w.str(s.sql);
    const p = s.params;
    if (p === undefined) {
      w.byte(0);
    } else if (Array.isArray(p)) {
      w.byte(1);
      w.uint(p.length);
      for (const v of p) w.value(v);
    } else {
      const entries = Object.entries(p as NamedParams);
      w.byte(2);
      w.uint(entries.length);
      for (const [k, v] of entries) {
        w.str(k);
        w.value(v);
      }
    }
  }
  return w.finish();
}

export function decodeCommand(bytes: Uint8Array): Command {
  if (!(bytes instanceof Uint8Array)) throw new CommandDecodeError("not a Uint8Array", 0);
  const r = new Reader(bytes);
  if (r.byte() !== MAGIC) r.fail("bad magic byte: not a command");
  const version = r.byte();
  if (version !== VERSION) r.fail(`unsupported command version ${version}`);
  const flags = r.byte();
  if (flags > (FLAG_TRANSACTION | FLAG_ACK_BELOW)) r.fail(`unknown flags ${flags}`);
  const clientId = r.str();
  if (clientId.length === 0 || clientId.length > MAX_CLIENT_ID) r.fail("bad clientId");
  const seq = r.uint();
  if (seq < 1) r.fail("seq must be positive");
  let ackBelow: number | undefined;
  if (flags & FLAG_ACK_BELOW) {
    ackBelow = r.uint();
    if (ackBelow < 1 || ackBelow > seq) r.fail(`ackBelow ${ackBelow} is outside 1..seq (${seq})`);
  }
  const timestampMs = r.uint();
  const seed = r.u64();
  const n = r.count(2);
  const statements: Statement[] = [];
  for (let i = 0; i < n; i++) {
    const sql = r.str();
    const kind = r.byte();
    if (kind === 0) {
      statements.push({ sql });
    } else if (kind === 1) {
      const m = r.count();
      const params: SqlValue[] = [];
      for (let k = 0; k < m; k++) params.push(r.value());
      statements.push({ sql, params });
    } else if (kind === 2) {
      const m = r.count(2);
      // A null-prototype object: a key such as "__proto__" must stay a plain parameter name.
      const params: Record<string, SqlValue> = Object.create(null);
      for (let k = 0; k < m; k++) {
        const key = r.str();
        if (Object.hasOwn(params, key)) r.fail(`duplicate parameter name ${key}`);
        params[key] = r.value();
      }
      statements.push({ sql, params });
    } else {
      r.fail(`unknown params kind ${kind}`);
    }
  }
  r.end();
  // ackBelow only when present: an old-format command decodes to exactly what it always did.
  const requestId: RequestId = ackBelow === undefined ? { clientId, seq } : { clientId, seq, ackBelow };
  return { requestId, statements, transaction: (flags & FLAG_TRANSACTION) !== 0, timestampMs, seed };
}
