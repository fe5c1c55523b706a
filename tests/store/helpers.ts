import { type Command, encodeCommand, type Statement } from "../../src/store/mod.ts";

export const T0 = Date.UTC(2024, 1, 29, 23, 59, 59, 250); // a leap day, just before midnight

export interface CmdOpts {
  client?: string;
  transaction?: boolean;
  ts?: number;
  seed?: bigint;
  /** RequestId.ackBelow */
  ack?: number;
}

export function command(seq: number, stmts: (string | Statement)[], o: CmdOpts = {}): Command {
  return {
    requestId: { clientId: o.client ?? "client-1", seq, ...(o.ack === undefined ? {} : { ackBelow: o.ack }) },
    statements: stmts.map((s) => (typeof s === "string" ? { sql: s } : s)),
    transaction: o.transaction ?? false,
    timestampMs: o.ts ?? T0 + seq * 1000,
    seed: o.seed ?? BigInt(seq) * 0x9e3779b97f4a7c15n % (1n << 64n),
  };
}

export const entry = (seq: number, stmts: (string | Statement)[], o: CmdOpts = {}) =>
  encodeCommand(command(seq, stmts, o));

/** JSON with bigint and bytes made comparable. */
export function show(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      typeof x === "bigint"
        ? `${x}n`
        : x instanceof Uint8Array
        ? `x'${Array.from(x, (b) => b.toString(16).padStart(2, "0")).join("")}'`
        : x,
  );
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
