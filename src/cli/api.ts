/**
 * The CLI's calls to a node's HTTP API (rqlite-style JSON): one function per request, errors a person can
 * act on (which URL, refused or timed out, the server's own message).
 */
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

function describeFetchError(url: string, err: unknown): Error {
  if ((err as Error).name === "TimeoutError") return new Error(`${url}: no answer (timed out)`);
  // Node puts the system error in `cause`; Deno spells it out in the message.
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const text = `${cause?.code ?? ""} ${cause?.message ?? ""} ${(err as Error).message}`;
  const why = /ECONNREFUSED|connection refused/i.test(text)
    ? "connection refused"
    : cause?.message ?? (err as Error).message;
  return new Error(`cannot reach ${url}: ${why}`);
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
  base: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<unknown> {
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw describeFetchError(url, err);
  }
  const text = await res.text();
  if (!res.ok) {
    throw new HttpStatusError(
      res.status,
      `${method} ${path}: HTTP ${res.status}: ${errorText(text, res.status)}`,
    );
  }
  try {
    return text === "" ? {} : JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: the answer is not JSON: ${text.slice(0, 200)}`);
  }
}
