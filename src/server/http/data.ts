/**
 * The data endpoints: /db/execute, /db/query and /db/request, from parsed statements and URL flags to an
 * rqlite response body.
 */
import type { Statement } from "../../store/command.ts";
import type { StatementResult } from "../../store/results.ts";
import { checkStatements } from "../../store/validate.ts";
import { NodeError } from "../errors.ts";
import type { ChiselStore } from "../node.ts";
import { isReadStatement } from "./classify.ts";
import { HttpError } from "./errors.ts";
import type { QueryParams } from "./params.ts";
import { type RqliteResponse, toRqliteResult } from "./rqlite_json.ts";

function respond(results: StatementResult[], q: QueryParams, index?: number, error?: string): RqliteResponse {
  const out: RqliteResponse = { results: results.map((r) => toRqliteResult(r, q.has("associative"))) };
  if (error !== undefined) out.error = error;
  if (index !== undefined && q.has("raft_index")) out.raft_index = index;
  return out;
}

/** Through the log: atomic with `transaction`. */
async function viaLog(node: ChiselStore, stmts: Statement[], q: QueryParams): Promise<RqliteResponse> {
  const timeoutMs = q.timeoutMs();
  const r = await node.execute(stmts, {
    transaction: q.has("transaction"),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  return respond(r.results, q, r.index, r.error);
}

function refuseQueue(q: QueryParams): void {
  if (q.has("queue")) {
    throw new HttpError(400, "queued writes (?queue) are not supported: every write is synchronous");
  }
}

export function execute(node: ChiselStore, stmts: Statement[], q: QueryParams): Promise<RqliteResponse> {
  refuseQueue(q);
  return viaLog(node, stmts, q);
}

const WRITE_REFUSED =
  "attempt to change the database via /db/query: send writes to /db/execute or /db/request";

/**
 * Reads at `level`. /db/query never writes, at any level: at `strong` the statements go through the log,
 * so ones that would write are answered with an error instead of being proposed.
 */
export async function query(node: ChiselStore, stmts: Statement[], q: QueryParams): Promise<RqliteResponse> {
  const consistency = q.level();
  const timeoutMs = q.timeoutMs();
  const opts = { consistency, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  if (consistency !== "strong") return respond(await node.query(stmts, opts), q);
  // Refused statements get the same 400 as at every other level, not a per-statement "write" error.
  const invalid = checkStatements(stmts);
  if (invalid) throw new NodeError("bad-request", invalid.message);
  const reads = stmts.filter(isReadStatement);
  const readResults = reads.length > 0 ? await node.query(reads, opts) : [];
  let next = 0;
  return respond(stmts.map((s) => (isReadStatement(s) ? readResults[next++] : { error: WRITE_REFUSED })), q);
}

/**
 * The unified endpoint: a batch that only reads is a query at `level`; a batch with any write (or at level
 * `strong`) goes through the log as one command, so its reads see its writes and run in log order.
 */
export function request(node: ChiselStore, stmts: Statement[], q: QueryParams): Promise<RqliteResponse> {
  refuseQueue(q);
  if (q.level() === "strong" || !stmts.every(isReadStatement)) return viaLog(node, stmts, q);
  return query(node, stmts, q);
}
