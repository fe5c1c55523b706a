/**
 * startHttpApi: an rqlite-compatible HTTP API for one ChiselStore node (node:http, so it runs on Node and
 * on Deno). Every handler is wrapped: bad input yields a 4xx, a failure a 5xx, never a crashed node.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Statement } from "../../store/command.ts";
import type { ChiselStore } from "../node.ts";
import { Authenticator, type AuthOptions } from "./auth.ts";
import { DEFAULT_MAX_BODY_BYTES, readTextBody } from "./body.ts";
import { checksumBody } from "./checksum.ts";
import { DASHBOARD_HTML, dashboardData } from "./dashboard.ts";
import * as cluster from "./cluster_admin.ts";
import * as data from "./data.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { stringifyJson } from "./json.ts";
import { applyServerLimits, requestTarget, type ServerLimits } from "./limits.ts";
import { HttpMetrics } from "./metrics.ts";
import { QueryParams } from "./params.ts";
import { parseStatements } from "./statements.ts";
import { buildNodes, buildStatus, readiness, VERSION } from "./status.ts";
import { checkTls, type HttpTlsOptions } from "./tls.ts";
import { isReadStatement } from "./classify.ts";
import type { Permission, Users } from "./users.ts";

export interface HttpApiOptions extends ServerLimits {
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** TCP port. Default 4001 (rqlite's); 0 picks a free one. */
  port?: number;
  /** Largest accepted request body. Default 8 MiB; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Deadline of the member probes behind /nodes when the request sets no `timeout`. Default 2 s. */
  nodesTimeoutMs?: number;
  /** The URL to advertise to the cluster, when clients reach this node by another name (proxy, NAT). */
  advertiseUrl?: string;
  /** Serve HTTPS with this certificate (and require client certificates signed by `clientCa`). */
  tls?: HttpTlsOptions;
  /** Require credentials from this users file (users.ts); without it every request may do everything. */
  users?: Users;
  /** Tuning of the credential checks (cache period). */
  auth?: AuthOptions;
}

export interface HttpApi {
  url: string;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  /** JSON bodies are serialized with bigints exact; strings are sent as text/plain. */
  body: unknown;
  headers?: Record<string, string>;
}

interface Ctx {
  node: ChiselStore;
  req: IncomingMessage;
  q: QueryParams;
  maxBodyBytes: number;
  /** Throws 401/403 unless the caller holds these permissions (a no-op without a users file). */
  authorize(perms: Permission[]): void;
}

type Handler = (ctx: Ctx) => Promise<Reply>;

interface Route {
  methods: Partial<Record<string, Handler>>;
  /**
   * Needed before the request is read. Several: any one lets the request in, and the handler checks the
   * rest (/db/request, whose statements decide between execute and query).
   */
  perms: Permission[];
}

async function bodyStatements(ctx: Ctx): Promise<Statement[]> {
  return parseStatements(await readTextBody(ctx.req, ctx.maxBodyBytes));
}

function queryStatements(ctx: Ctx): Statement[] {
  const sql = ctx.q.get("q");
  if (sql === undefined || sql.trim() === "") throw new HttpError(400, "missing query parameter q (the SQL)");
  return [{ sql }];
}

const ok = (body: unknown): Reply => ({ status: 200, body });

export async function startHttpApi(node: ChiselStore, opts: HttpApiOptions = {}): Promise<HttpApi> {
  const host = opts.host ?? "127.0.0.1";
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const metrics = new HttpMetrics();
  const auth = opts.users ? new Authenticator(opts.users, opts.auth) : undefined;
  if (opts.tls) checkTls(opts.tls);
  const startedAt = new Date();
  let url = "";
  let bindAddr = "";

  const dataRoute = (run: typeof data.execute, perm: Permission, get?: boolean): Route => {
    const post: Handler = async (ctx) => ok(await run(node, await bodyStatements(ctx), ctx.q));
    return {
      methods: get
        ? { GET: async (ctx) => ok(await run(node, queryStatements(ctx), ctx.q)), POST: post }
        : { POST: post },
      perms: [perm],
    };
  };
  /** /db/request: reads need `query`, writes `execute`, checked once the statements are known. */
  const requestRoute: Route = {
    methods: {
      POST: async (ctx) => {
        const stmts = await bodyStatements(ctx);
        ctx.authorize(stmts.map((s) => (isReadStatement(s) ? "query" : "execute")));
        return ok(await data.request(node, stmts, ctx.q));
      },
    },
    perms: ["execute", "query"],
  };

  const routes: Record<string, Route> = {
    "/db/execute": dataRoute(data.execute, "execute"),
    "/db/query": dataRoute(data.query, "query", true),
    "/db/request": requestRoute,
    "/db/checksum": { methods: { GET: async () => ok(await checksumBody(node)) }, perms: ["status"] },
    "/cluster/join": {
      methods: { POST: async (ctx) => ok(await cluster.join(node, ctx.req, ctx.maxBodyBytes)) },
      perms: ["join"],
    },
    "/cluster/remove": {
      methods: { POST: async (ctx) => ok(await cluster.remove(node, ctx.req, ctx.maxBodyBytes)) },
      perms: ["remove"],
    },
    "/status": {
      methods: {
        GET: () =>
          Promise.resolve(ok(buildStatus({ node, url, bindAddr, startedAt, maxBodyBytes, auth: !!auth }))),
      },
      perms: ["status"],
    },
    "/nodes": {
      methods: {
        GET: async (ctx) =>
          ok(
            await buildNodes(
              node,
              ctx.q.timeoutMs() ?? opts.nodesTimeoutMs ?? 2000,
              ctx.q.get("ver") === "2",
            ),
          ),
      },
      perms: ["status"],
    },
    "/readyz": {
      methods: {
        GET: (ctx) => {
          const r = readiness(node, ctx.q.has("noleader"));
          return Promise.resolve({ status: r.status, body: r.text });
        },
      },
      perms: ["ready"],
    },
    "/metrics": {
      methods: {
        GET: () =>
          Promise.resolve({
            status: 200,
            body: metrics.render(node.status()),
            headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
          }),
      },
      perms: ["status"],
    },
    "/": {
      methods: {
        GET: () =>
          Promise.resolve({
            status: 200,
            body: DASHBOARD_HTML,
            headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" },
          }),
      },
      perms: ["status"],
    },
    "/dashboard/data": {
      methods: {
        GET: async (ctx) =>
          ok(
            await dashboardData(
              node,
              metrics.requestsByEndpoint(),
              ctx.q.timeoutMs() ?? opts.nodesTimeoutMs ?? 2000,
            ),
          ),
      },
      perms: ["status"],
    },
  };

  async function dispatch(req: IncomingMessage, route: Route | undefined, q: QueryParams): Promise<Reply> {
    if (!route) throw new HttpError(404, `no such endpoint: ${req.url?.split("?")[0]}`);
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "");
    const handler = route.methods[method];
    if (!handler) {
      const allow = Object.keys(route.methods).join(", ");
      throw new HttpError(405, `method ${req.method} not allowed (allowed: ${allow})`, { Allow: allow });
    }
    // Nothing of the request is read or run before the caller is known and admitted.
    let authorize: Ctx["authorize"] = () => {};
    if (auth) {
      const who = await auth.authenticate(req.headers.authorization);
      authorize = (perms) => auth.authorize(who, perms);
      if (!route.perms.some((p) => who.perms.has(p))) authorize(route.perms);
    }
    return await handler({ node, req, q, maxBodyBytes, authorize });
  }

  function send(res: ServerResponse, reply: Reply, pretty: boolean, head: boolean): void {
    const text = typeof reply.body === "string" ? reply.body : stringifyJson(reply.body, pretty);
    const type = typeof reply.body === "string"
      ? "text/plain; charset=utf-8"
      : "application/json; charset=utf-8";
    res.writeHead(reply.status, {
      "Content-Type": type,
      "X-Rqlite-Version": VERSION,
      "X-Chiselstore-Node": node.peerId,
      ...reply.headers,
    });
    res.end(head ? undefined : text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    // Parsed (and checked) once, by the limits' guard in front of this handler.
    const parsed = requestTarget(req) ?? new URL(req.url ?? "/", "http://localhost");
    const path = parsed.pathname.length > 1 ? parsed.pathname.replace(/\/+$/, "") : parsed.pathname;
    const q = new QueryParams(parsed.searchParams);
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    let reply: Reply;
    try {
      reply = await dispatch(req, route, q);
      if (q.has("timings") && isTimed(reply.body)) reply.body.time = (performance.now() - t0) / 1000;
    } catch (e) {
      const err = errorResponse(e);
      reply = { status: err.status, body: err.body, headers: err.headers };
    }
    try {
      send(res, reply, q.has("pretty"), req.method === "HEAD");
    } finally {
      metrics.observe(
        route ? path : "other",
        req.method ?? "",
        reply.status,
        (performance.now() - t0) / 1000,
      );
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e) => {
      // Only send() can get here (a socket gone mid-write): nothing left to answer.
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy(e as Error);
    });
  };
  const tls = opts.tls;
  const server: Server = tls
    ? createHttpsServer({
      cert: tls.cert,
      key: tls.key,
      ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    }, listener)
    : createServer(listener);
  applyServerLimits(server, opts);
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 4001, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  bindAddr = `${hostPart}:${addr.port}`;
  url = opts.advertiseUrl ??
    `${tls ? "https" : "http"}://${
      hostPart === "0.0.0.0" || hostPart === "[::]" ? "127.0.0.1" : hostPart
    }:${addr.port}`;
  node.advertiseHttp(url);

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        node.advertiseHttp(undefined);
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function isTimed(body: unknown): body is { results: unknown[]; time?: number } {
  return typeof body === "object" && body !== null && Array.isArray((body as { results?: unknown }).results);
}
