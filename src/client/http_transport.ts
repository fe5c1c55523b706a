/**
 * One HTTP request to a node, with the connection options of a secured API: credentials (Basic or
 * Bearer) and, for a private CA or client certificates, node:https. fetch cannot be given a CA the same
 * way on Node (undici's dispatcher) and Deno (Deno.createHttpClient), while node:https takes `ca` on both,
 * so requests that need it use node:https and all others keep using fetch.
 */
import { Buffer } from "node:buffer";
import { request as httpsRequest } from "node:https";

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
  timeoutMs?: number;
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

/** A short reason from fetch's or node:https' error: Node puts the system error in `cause`. */
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

function viaHttps(url: URL, o: SendOptions, c: HttpConnectOptions, headers: Record<string, string>) {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = httpsRequest(url, {
      method: o.method,
      headers: {
        ...headers,
        ...(o.body !== undefined ? { "Content-Length": String(Buffer.byteLength(o.body)) } : {}),
      },
      ...(c.ca !== undefined ? { ca: c.ca } : {}),
      ...(c.cert !== undefined ? { cert: c.cert } : {}),
      ...(c.key !== undefined ? { key: c.key } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on(
        "end",
        () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    if (o.timeoutMs !== undefined) {
      req.setTimeout(
        o.timeoutMs,
        () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
      );
    }
    req.on("error", reject);
    req.end(o.body);
  });
}

/** Sends one request; throws TransportError when there is no answer. */
export async function send(url: URL, o: SendOptions, c: HttpConnectOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...o.headers };
  if (c.auth) headers["Authorization"] = authorization(c.auth);
  try {
    if (url.protocol === "https:" && (c.ca !== undefined || c.cert !== undefined)) {
      return await viaHttps(url, o, c, headers);
    }
    const res = await fetch(url, {
      method: o.method,
      headers,
      ...(o.body !== undefined ? { body: o.body } : {}),
      ...(o.timeoutMs !== undefined ? { signal: AbortSignal.timeout(o.timeoutMs) } : {}),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw new TransportError(url, reasonOf(err), err);
  }
}
