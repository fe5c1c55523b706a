/**
 * The CLI's calls to a node's HTTP API (rqlite-style JSON): one function per request, errors a person can
 * act on (which URL, refused or timed out, the server's own message).
 */
import { type HttpConnectOptions, send, TransportError } from "../client/http_transport.ts";
import { UsageError } from "./command.ts";

export const DEFAULT_URL = "http://127.0.0.1:4001";

/** The server answered with a non-2xx status. */
export class HttpStatusError extends Error {
  override name = "HttpStatusError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Normalizes a URL argument: adds http:// when no scheme is given, drops a trailing slash. */
export function baseUrl(arg: string | undefined): string {
  const url = arg ?? DEFAULT_URL;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  try {
    new URL(withScheme);
  } catch {
    throw new UsageError(`not a URL: ${url}`);
  }
  return withScheme.replace(/\/+$/, "");
}

/** A node's HTTP API: its base URL and how to connect (CA, client certificate, credentials). */
export interface Target {
  base: string;
  connect: HttpConnectOptions;
}

/** The server's error text from a JSON `{"error": …}` body, else the body itself. */
function errorText(body: string, status: number): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown };
    const msg = j.error ?? j.message;
    if (typeof msg === "string") return msg;
    if (msg && typeof msg === "object" && typeof (msg as { message?: unknown }).message === "string") {
      return (msg as { message: string }).message;
    }
  } catch {
    // Not JSON: use the text.
  }
  return body.trim() || `HTTP ${status}`;
}

/** One request; resolves with the parsed JSON body of a 2xx answer. */
export async function callApi(
  target: Target,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<unknown> {
  const url = `${target.base}${path}`;
  let status: number;
  let text: string;
  try {
    ({ status, text } = await send(new URL(url), {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs,
    }, target.connect));
  } catch (err) {
    if (!(err instanceof TransportError)) throw err;
    throw new Error(
      err.reason === "no answer (timed out)" ? `${url}: ${err.reason}` : `cannot reach ${url}: ${err.reason}`,
    );
  }
  if (status < 200 || status > 299) {
    const hint = status === 401
      ? " (give credentials: --user or CHISELSTORE_USER, or CHISELSTORE_TOKEN)"
      : "";
    throw new HttpStatusError(status, `${method} ${path}: HTTP ${status}: ${errorText(text, status)}${hint}`);
  }
  try {
    return text === "" ? {} : JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: the answer is not JSON: ${text.slice(0, 200)}`);
  }
}
