/**
 * HTTP requests to a node over node:http / node:https, on Node and on Deno alike: credentials (Basic or
 * Bearer), a private CA or client certificates (`ca`, `cert`, `key` work the same on both runtimes, which
 * fetch's dispatcher options do not), and the answer read as plain Buffers. fetch cost about 0.4 ms of CPU
 * per request in the bench client (undici and web streams, docs/performance.md), as much as a follower.
 * A client that sends many requests passes a KeepAlivePool so that they reuse connections; without one,
 * each request has its own connection, closed after the answer (one-shot CLI calls).
 */
import { Buffer } from "node:buffer";
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export type HttpCredentials = { username: string; password: string } | { token: string };

export interface HttpConnectOptions {
  /** Credentials sent with every request (see docs/security.md). */
  auth?: HttpCredentials;
  /** PEM CA certificate(s) to trust for https URLs, instead of the system's (a private CA, self-signed). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for a server that requires them (mutual TLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface SendOptions {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Deadline of the whole exchange (connect, send, answer, redirects included). */
  timeoutMs?: number;
}

/** Connections one pool keeps per node: enough for 256 requests in flight (the bench's largest run). */
export const MAX_SOCKETS = 256;
/** fetch's limit, kept: more redirects than this is a loop. */
const MAX_REDIRECTS = 20;

/** Kept-alive connections of one client, one agent per protocol; close() ends them. */
export class KeepAlivePool {
  #http?: HttpAgent;
  #https?: HttpsAgent;

  agentFor(url: URL): HttpAgent {
    const o = { keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS };
    if (url.protocol === "https:") return this.#https ??= new HttpsAgent(o);
    return this.#http ??= new HttpAgent(o);
  }

  close(): void {
    this.#http?.destroy();
    this.#https?.destroy();
    this.#http = this.#https = undefined;
  }
}

/** The Authorization header value for credentials. */
export function authorization(auth: HttpCredentials): string {
  if ("token" in auth) return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64")}`;
}

/** A request failed before any answer (refused, TLS, timeout): `reason` is meant for people. */
export class TransportError extends Error {
  override name = "TransportError";
  readonly reason: string;
  constructor(url: URL, reason: string, cause?: unknown) {
    super(`cannot reach ${url.origin}: ${reason}`, { cause });
    this.reason = reason;
  }
}

/** A short reason from a node:http(s) error (the system error may also sit in `cause`). */
function reasonOf(err: unknown): string {
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  };
  if (e.name === "TimeoutError" || e.code === "ETIMEDOUT") return "no answer (timed out)";
  const text = `${e.code ?? ""} ${e.cause?.code ?? ""} ${e.cause?.message ?? ""} ${e.message ?? ""}`;
  if (/ECONNREFUSED|connection refused/i.test(text)) return "connection refused";
  return e.cause?.message ?? e.message ?? String(err);
}

interface Exchange {
  status: number;
  location: string | undefined;
  text: string;
}

/** One request/answer on node:http(s); `signal` ends it (the deadline). */
function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  c: HttpConnectOptions,
  pool: KeepAlivePool | undefined,
  signal: AbortSignal | undefined,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    const https = url.protocol === "https:";
    if (!https && url.protocol !== "http:") {
      reject(new Error(`unsupported protocol ${url.protocol} (http: or https: only)`));
      return;
    }
    const options = {
      method,
      headers: body !== undefined
        ? { ...headers, "Content-Length": String(Buffer.byteLength(body)) }
        : headers,
      // No pool: a connection of its own, closed after the answer (`Connection: close`).
      agent: pool ? pool.agentFor(url) : false,
      ...(signal ? { signal } : {}),
      ...(https && c.ca !== undefined ? { ca: c.ca } : {}),
      ...(https && c.cert !== undefined ? { cert: c.cert } : {}),
      ...(https && c.key !== undefined ? { key: c.key } : {}),
    };
    const onAnswer = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("end", () => {
        const location = res.headers.location;
        resolve({
          status: res.statusCode ?? 0,
          location: typeof location === "string" ? location : undefined,
          text: chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8"),
        });
      });
      // An answer cut off mid-body ends with an error ("aborted"), never with "end".
      res.on("error", reject);
    };
    const req = https ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
    req.on("error", reject);
    req.end(body);
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Sends one request and follows redirects as fetch did (303, and 301/302 after a POST, become a GET without
 * a body; credentials are not sent to another origin); throws TransportError when there is no answer.
 */
export async function send(
  url: URL,
  o: SendOptions,
  c: HttpConnectOptions = {},
  pool?: KeepAlivePool,
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...o.headers };
  if (c.auth) headers["Authorization"] = authorization(c.auth);
  const signal = o.timeoutMs !== undefined ? AbortSignal.timeout(o.timeoutMs) : undefined;
  let at = url;
  let method: string = o.method;
  let body = o.body;
  try {
    for (let hop = 0;; hop++) {
      const r = await exchange(at, method, headers, body, c, pool, signal);
      if (!REDIRECTS.has(r.status) || r.location === undefined) return { status: r.status, text: r.text };
      if (hop === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(r.location, at);
      if (r.status === 303 || ((r.status === 301 || r.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        for (const k of Object.keys(headers)) if (/^content-/i.test(k)) delete headers[k];
      }
      if (next.origin !== at.origin) delete headers["Authorization"];
      at = next;
    }
  } catch (err) {
    throw new TransportError(at, reasonOf(signal?.aborted ? signal.reason : err), err);
  }
}
