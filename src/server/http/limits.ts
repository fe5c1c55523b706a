/**
 * Server-level limits: slow or idle clients (slowloris) are cut off by deadlines, and request targets that
 * cannot be read exactly are refused before any handler runs. Node's own headersTimeout/requestTimeout are
 * only checked every 30 s (connectionsCheckingInterval, fixed at construction) and Deno's node:http does
 * not check them at all, so the deadlines here are per-connection timers that work on both runtimes.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Server as TlsServer } from "node:tls";
import { REQUEST_DEADLINE } from "./body.ts";
import { parseRequestTarget } from "./params.ts";

export interface ServerLimits {
  /**
   * How long a connection may take to send a request's headers, counted from when it opens or its last
   * response ended; an idle connection is closed after it too. Default 10 s.
   */
  headersTimeoutMs?: number;
  /** How long a connection may take to send a whole request (headers and body), same start. Default 60 s. */
  requestTimeoutMs?: number;
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** After a 408 the socket gets this long to flush before it is destroyed. */
const FLUSH_GRACE_MS = 1_000;

interface Conn {
  /** Requests whose response has not finished (more than one when the client pipelines). */
  active: number;
  /** When the connection last became idle (opened, or its last response ended). */
  idleSince: number;
  /** socket.bytesRead then: more since means a request has begun (the parser reads the socket itself). */
  readAtIdle: number;
  idleTimer?: ReturnType<typeof setTimeout>;
}

function positive(v: number | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} must be a positive number of ms, got ${v}`);
  }
  return v;
}

function timer(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
  const t = setTimeout(fn, Math.max(1, ms));
  (t as { unref?: () => void }).unref?.();
  return t;
}

function errorJson(message: string): string {
  return JSON.stringify({ error: message });
}

/** Writes a complete response on the raw socket (no IncomingMessage exists yet), then closes it. */
function closeWith408(socket: Socket, message: string): void {
  const body = errorJson(message);
  const head = "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n" +
    `Connection: close\r\nContent-Length: ${new TextEncoder().encode(body).byteLength}\r\n\r\n`;
  if (socket.writable) socket.end(head + body);
  timer(FLUSH_GRACE_MS, () => socket.destroy());
}

/** The target of each admitted request, parsed once by the guard below for the handlers. */
const targets = new WeakMap<IncomingMessage, URL>();

/** The parsed target of a request that the guard let in (undefined on a server without the limits). */
export function requestTarget(req: IncomingMessage): URL | undefined {
  return targets.get(req);
}

/** Refuses unreadable request targets with 400 before the server's own handlers see the request. */
function guardTargets(server: Server): void {
  const handlers = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const target = parseRequestTarget(req.url ?? "/");
    if (typeof target !== "string") {
      targets.set(req, target);
      for (const h of handlers) h.call(server, req, res);
      return;
    }
    res.writeHead(400, { "Content-Type": "application/json; charset=utf-8" }).end(errorJson(target));
  });
}

/** Installs the limits on a server created with its request handler (call right after createServer). */
export function applyServerLimits(server: Server, opts: ServerLimits = {}): void {
  const headersMs = positive(opts.headersTimeoutMs, "headersTimeoutMs", DEFAULT_HEADERS_TIMEOUT_MS);
  const requestMs = Math.max(
    headersMs,
    positive(opts.requestTimeoutMs, "requestTimeoutMs", DEFAULT_REQUEST_TIMEOUT_MS),
  );
  // Node's own checks stay on as a backstop, with the same values.
  server.headersTimeout = headersMs;
  server.requestTimeout = requestMs;
  // The Keep-Alive header tells clients how long an idle connection lasts: no longer than the deadline here.
  server.keepAliveTimeout = Math.min(server.keepAliveTimeout, headersMs);
  guardTargets(server);

  const conns = new WeakMap<Socket, Conn>();
  const armIdle = (socket: Socket, conn: Conn) => {
    conn.idleSince = Date.now();
    conn.readAtIdle = socket.bytesRead;
    clearTimeout(conn.idleTimer);
    conn.idleTimer = timer(headersMs, () => {
      if (conn.active > 0) return;
      // An unsolicited 408 on a silent connection could be read as the answer to a request the client
      // sends at that moment: a silent one is just closed, a started one is told why.
      if (socket.bytesRead === conn.readAtIdle) socket.destroy();
      else closeWith408(socket, `no complete request headers within ${headersMs} ms`);
    });
  };

  // Requests arrive on the TLS socket of an HTTPS server, not on the raw TCP one (whose handshake Node's
  // tls handshakeTimeout bounds).
  const accepted = server instanceof TlsServer ? "secureConnection" : "connection";
  server.on(accepted, (socket: Socket) => {
    const conn: Conn = { active: 0, idleSince: Date.now(), readAtIdle: 0 };
    conns.set(socket, conn);
    armIdle(socket, conn);
    socket.once("close", () => clearTimeout(conn.idleTimer));
  });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const conn = conns.get(socket);
    if (!conn) return; // a socket this server did not accept itself (not expected)
    const since = conn.active === 0 ? conn.idleSince : Date.now();
    conn.active++;
    clearTimeout(conn.idleTimer);
    // Only the client's part is bounded: once the request is complete, the handler's time is its own.
    const bodyTimer = timer(requestMs - (Date.now() - since), () => {
      if (req.complete || res.writableEnded) return;
      const message = `request not received within ${requestMs} ms`;
      // A handler reading the body answers 408 itself (body.ts); one that is not gets it from here.
      req.emit(REQUEST_DEADLINE, message);
      timer(FLUSH_GRACE_MS, () => {
        if (!res.headersSent) {
          res.writeHead(408, { "Content-Type": "application/json; charset=utf-8", Connection: "close" });
          res.end(errorJson(message));
        }
        timer(FLUSH_GRACE_MS, () => socket.destroy());
      });
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(bodyTimer);
      conn.active--;
      if (conn.active === 0 && !socket.destroyed) armIdle(socket, conn);
    };
    res.once("finish", finish);
    res.once("close", finish);
  });
}
