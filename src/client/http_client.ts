/**
 * A client for ChiselStore's rqlite-compatible HTTP API, mirroring ChiselStore's execute()/query(): it sends
 * rqlite JSON and turns the answers back into the node's result types (BLOB columns decoded from base64,
 * integers beyond 2^53 as bigints). Errors come back as NodeErrors with the HTTP status attached.
 */
import { Buffer } from "node:buffer";
import type { Consistency } from "../server/consistency.ts";
import { ERROR_CODES, type ErrorCode, NodeError } from "../server/errors.ts";
import { parseJson, stringifyJson } from "../server/http/json.ts";
import type {
  JsonValue,
  RqliteResponse as WireResponse,
  RqliteResult as WireResult,
} from "../server/http/rqlite_json.ts";
import type { RqliteNode } from "../server/http/status.ts";
import { statementArgs, type StatementInput } from "../server/call_args.ts";
import type { Params } from "../store/command.ts";
import type { CommandResult, SqlValue, StatementResult } from "../store/results.ts";
import { type HttpConnectOptions, KeepAlivePool, send, TransportError } from "./http_transport.ts";

export class HttpClientError extends NodeError {
  override name = "HttpClientError";
  /** The HTTP status (0 when the request never got an answer). */
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string, leader?: string) {
    super(code, message, leader);
    this.status = status;
  }
}

/** Parameters on the wire: BLOBs as byte arrays, bigints as exact literals. */
function wireValue(v: SqlValue): unknown {
  return v instanceof Uint8Array ? Array.from(v) : v;
}

function toWire(input: StatementInput): unknown {
  if (typeof input === "string") return input;
  const p = input.params;
  if (p === undefined) return [input.sql];
  if (Array.isArray(p)) return [input.sql, ...p.map(wireValue)];
  const named: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) named[k] = wireValue(v as SqlValue);
  return [input.sql, named];
}

function fromWireValue(v: JsonValue | undefined, type: string | undefined): SqlValue {
  if (type === "blob" && typeof v === "string") return new Uint8Array(Buffer.from(v, "base64"));
  return v ?? null;
}

function fromWire(r: WireResult): StatementResult {
  const out: StatementResult = {};
  if (r.error !== undefined) {
    out.error = r.error;
  } else if (r.rows !== undefined && r.types !== undefined && !Array.isArray(r.types)) {
    const typeMap = r.types;
    const columns = Object.keys(typeMap);
    out.columns = columns;
    out.types = columns.map((c) => typeMap[c]);
    out.values = r.rows.map((row) => columns.map((c) => fromWireValue(row[c], typeMap[c])));
  } else if (r.columns !== undefined) {
    const types = Array.isArray(r.types) ? r.types : r.columns.map(() => "");
    out.columns = r.columns;
    out.types = types;
    out.values = (r.values ?? []).map((row) => row.map((v, i) => fromWireValue(v, types[i])));
  } else {
    out.rowsAffected = r.rows_affected ?? 0;
    if (r.last_insert_id !== undefined) out.lastInsertId = r.last_insert_id;
  }
  if (r.time !== undefined) out.timeMs = r.time * 1000;
  return out;
}

/** Options of HttpClient.execute. */
export interface ExecuteOptions {
  transaction?: boolean;
  timings?: boolean;
  /** The request's deadline on the server. */
  timeoutMs?: number;
}

/** Options of HttpClient.query. */
export interface QueryOptions {
  consistency?: Consistency;
  /** Ask for rqlite's associative form (the result is converted back to columns/values either way). */
  associative?: boolean;
  timings?: boolean;
  timeoutMs?: number;
}

const EXECUTE_OPTION_KEYS = ["transaction", "timings", "timeoutMs"];
const QUERY_OPTION_KEYS = ["consistency", "associative", "timings", "timeoutMs"];

export class HttpClient {
  readonly baseUrl: string;
  readonly #connect: HttpConnectOptions;
  /** Connections kept open between requests (up to 256 per node); close() ends them. */
  readonly #pool = new KeepAlivePool();

  /** `connect`: credentials, and the CA (or client certificate) for an https URL; see docs/security.md. */
  constructor(baseUrl: string, connect: HttpConnectOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#connect = connect;
  }

  async #call(
    method: "GET" | "POST",
    path: string,
    params: Record<string, string | boolean | undefined>,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(params)) {
      if (v === true) url.searchParams.set(k, "");
      else if (typeof v === "string") url.searchParams.set(k, v);
    }
    try {
      return await send(
        url,
        {
          method,
          ...(body !== undefined
            ? { body: stringifyJson(body), headers: { "Content-Type": "application/json" } }
            : {}),
        },
        this.#connect,
        this.#pool,
      );
    } catch (e) {
      if (e instanceof TransportError) throw new HttpClientError(0, "timeout", e.message);
      throw e;
    }
  }

  async #json<T>(
    method: "GET" | "POST",
    path: string,
    params: Record<string, string | boolean | undefined>,
    body?: unknown,
  ): Promise<T> {
    const { status, text } = await this.#call(method, path, params, body);
    let parsed: unknown;
    try {
      parsed = parseJson(text);
    } catch {
      throw new HttpClientError(
        status,
        status >= 500 ? "internal" : "bad-request",
        `HTTP ${status}: ${text}`,
      );
    }
    if (status >= 200 && status < 300) return parsed as T;
    const e = parsed as { error?: string; code?: string; leader?: string };
    const code = ERROR_CODES.includes(e.code as ErrorCode)
      ? (e.code as ErrorCode)
      : status >= 500
      ? "internal"
      : "bad-request";
    throw new HttpClientError(status, code, e.error ?? `HTTP ${status}`, e.leader);
  }

  /**
   * Like ChiselStore.execute: `execute(sql, params?, options?)` or `execute(statements, options?)`, through
   * the log, atomically with `transaction`.
   */
  async execute(sql: string, params?: Params, opts?: ExecuteOptions): Promise<CommandResult>;
  async execute(statements: StatementInput | StatementInput[], opts?: ExecuteOptions): Promise<CommandResult>;
  async execute(
    first: StatementInput | StatementInput[],
    second?: Params | ExecuteOptions,
    third?: ExecuteOptions,
  ): Promise<CommandResult> {
    const [statements, opts] = statementArgs<ExecuteOptions>(first, second, third, EXECUTE_OPTION_KEYS);
    const list = Array.isArray(statements) ? statements : [statements];
    const r = await this.#json<WireResponse>("POST", "/db/execute", {
      transaction: opts.transaction,
      timings: opts.timings,
      timeout: opts.timeoutMs !== undefined ? `${opts.timeoutMs}ms` : undefined,
      raft_index: true,
    }, list.map(toWire));
    const out: CommandResult = { index: r.raft_index ?? -1, results: r.results.map(fromWire) };
    if (r.error !== undefined) out.error = r.error;
    return out;
  }

  /**
   * Like ChiselStore.query: `query(sql, params?, options?)` or `query(statements, options?)`, reads at a
   * consistency level (default weak).
   */
  async query(sql: string, params?: Params, opts?: QueryOptions): Promise<StatementResult[]>;
  async query(statements: StatementInput | StatementInput[], opts?: QueryOptions): Promise<StatementResult[]>;
  async query(
    first: StatementInput | StatementInput[],
    second?: Params | QueryOptions,
    third?: QueryOptions,
  ): Promise<StatementResult[]> {
    const [statements, opts] = statementArgs<QueryOptions>(first, second, third, QUERY_OPTION_KEYS);
    const list = Array.isArray(statements) ? statements : [statements];
    const r = await this.#json<WireResponse>("POST", "/db/query", {
      level: opts.consistency ?? "weak",
      associative: opts.associative,
      timings: opts.timings,
      timeout: opts.timeoutMs !== undefined ? `${opts.timeoutMs}ms` : undefined,
    }, list.map(toWire));
    return r.results.map(fromWire);
  }

  /** The unified endpoint: reads and writes in one batch (see docs/http-api.md). */
  async request(
    statements: StatementInput[],
    opts: QueryOptions & ExecuteOptions = {},
  ): Promise<StatementResult[]> {
    const r = await this.#json<WireResponse>("POST", "/db/request", {
      level: opts.consistency,
      transaction: opts.transaction,
      associative: opts.associative,
    }, statements.map(toWire));
    return r.results.map(fromWire);
  }

  status(): Promise<Record<string, unknown>> {
    return this.#json("GET", "/status", {});
  }

  /** Every member (rqlite's /nodes?ver=2). */
  async nodes(): Promise<RqliteNode[]> {
    return (await this.#json<{ nodes: RqliteNode[] }>("GET", "/nodes", { ver: "2" })).nodes;
  }

  /** Closes the kept-alive connections (idle ones do not keep the process alive either way). */
  close(): Promise<void> {
    this.#pool.close();
    return Promise.resolve();
  }

  /** /readyz: ok when the node knows a reachable leader. */
  async ready(): Promise<{ ok: boolean; status: number; text: string }> {
    const { status, text } = await this.#call("GET", "/readyz", {});
    return { ok: status === 200, status, text };
  }
}
