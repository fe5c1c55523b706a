/** HTTP-level errors and how node errors map onto status codes. */
import { type ErrorCode, NodeError } from "../errors.ts";

/** A request the HTTP layer refuses itself (bad JSON, wrong method, body too large, ...). */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** Status for each NodeError code: the caller's fault is 400, "try again (elsewhere)" is 503. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  "bad-request": 400,
  "no-leader": 503,
  "not-leader": 503,
  "timeout": 503,
  "stopped": 503,
  "reconfiguring": 503,
  "not-member": 503,
  "internal": 500,
};

export interface ErrorBody {
  error: string;
  /** The NodeError code, when the node raised the error. */
  code?: ErrorCode;
  /** The leader's peer id, when known: where a client could retry. */
  leader?: string;
}

/** Status, body and headers of the response for any error a handler threw. */
export function errorResponse(
  e: unknown,
): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (e instanceof HttpError) return { status: e.status, body: { error: e.message }, headers: e.headers };
  if (e instanceof NodeError) {
    const body: ErrorBody = { error: e.message, code: e.code };
    if (e.leader) body.leader = e.leader;
    const status = STATUS_BY_CODE[e.code] ?? 500;
    return { status, body, headers: status === 503 ? { "Retry-After": "1" } : {} };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 500, body: { error: `internal error: ${message}`, code: "internal" }, headers: {} };
}
