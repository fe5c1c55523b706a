/**
 * The HTTP transport under HttpClient (node:http, no fetch): connections are kept alive and bounded, answers
 * are read whole (multi-byte text split across chunks, cut-off answers refused), redirects are followed as
 * fetch did, and failures without an answer name their reason (refused, timed out).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { HttpClient, HttpClientError } from "../../src/client/http_client.ts";
import { KeepAlivePool, MAX_SOCKETS, send, TransportError } from "../../src/client/http_transport.ts";
import { waitFor } from "../net/wait.ts";

interface Seen {
  method: string;
  url: string;
  body: string;
  auth: string | undefined;
}

/** A bare server: counts connections and hands each request (body read) to `answer`. */
async function withServer(
  answer: (seen: Seen, res: ServerResponse, req: IncomingMessage) => void,
  fn: (url: string, stats: { connections: number; open: Set<Socket>; seen: Seen[] }) => Promise<void>,
): Promise<void> {
  const stats = { connections: 0, open: new Set<Socket>(), seen: [] as Seen[] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("end", () => {
      const seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        body: Buffer.concat(chunks).toString("utf8"),
        auth: req.headers.authorization,
      };
      stats.seen.push(seen);
      answer(seen, res, req);
    });
  });
  server.on("connection", (s: Socket) => {
    stats.connections++;
    stats.open.add(s);
    s.on("close", () => stats.open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await fn(url, stats);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const json = (res: ServerResponse, body: unknown, status = 200) =>
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
const emptyResults = { results: [{ rows_affected: 1, last_insert_id: 1 }], raft_index: 7 };

test("HttpClient keeps connections alive: sequential requests share one, close() ends it", async () => {
  await withServer((_s, res) => json(res, emptyResults), async (url, stats) => {
    const client = new HttpClient(url);
    for (let i = 0; i < 20; i++) assert.equal((await client.execute("INSERT INTO t VALUES (1)")).index, 7);
    assert.equal(stats.seen.length, 20);
    assert.equal(stats.connections, 1, "20 sequential requests on one connection");
    await client.close();
    await waitFor(() => stats.open.size === 0, 10_000, "the kept-alive connection to close");
  });
});

test(`at most ${MAX_SOCKETS} connections per node however many requests are in flight`, async () => {
  const waiting: ServerResponse[] = [];
  const inflight = MAX_SOCKETS + 44;
  // Answers are held until as many requests as can be in flight arrived, so the client must queue the rest.
  await withServer((_s, res) => {
    waiting.push(res);
    if (waiting.length >= MAX_SOCKETS) { for (const r of waiting.splice(0)) json(r, emptyResults); }
  }, async (url, stats) => {
    const client = new HttpClient(url);
    const all = Promise.all(
      Array.from({ length: inflight }, () => client.execute("INSERT INTO t VALUES (1)")),
    );
    // The last 44 land after the first batch is answered: flush whatever is still held once all arrived.
    await waitFor(
      () => {
        if (stats.seen.length === inflight) { for (const r of waiting.splice(0)) json(r, emptyResults); }
        return stats.seen.length === inflight;
      },
      30_000,
      "every request to arrive",
    );
    assert.equal((await all).length, inflight);
    assert.ok(stats.connections <= MAX_SOCKETS, `${stats.connections} connections`);
    assert.ok(
      stats.connections >= MAX_SOCKETS / 2,
      `requests were spread (${stats.connections} connections)`,
    );
    await client.close();
  });
});

test("answers: multi-byte text split across chunks is read whole; a cut-off answer is an error", async () => {
  const text = JSON.stringify({
    results: [{ columns: ["v"], types: ["text"], values: [["é€😀".repeat(3000)]] }],
  });
  const bytes = Buffer.from(text, "utf8");
  await withServer((seen, res) => {
    if (seen.url.startsWith("/db/query")) {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(bytes.length) });
      // Split inside a character, in several writes.
      let at = 0;
      for (const n of [1, 5, 4097, 3]) {
        res.write(bytes.subarray(at, at + n));
        at += n;
      }
      res.end(bytes.subarray(at));
    } else {
      res.writeHead(200, { "Content-Length": "1000" });
      res.write('{"results":');
      setTimeout(() => res.socket?.destroy(), 20);
    }
  }, async (url) => {
    const client = new HttpClient(url);
    const [r] = await client.query("SELECT v FROM t");
    assert.deepEqual(r.values, [["é€😀".repeat(3000)]]);
    await assert.rejects(client.status(), (e: unknown) => {
      assert.ok(e instanceof HttpClientError, String(e));
      assert.equal(e.status, 0);
      assert.match(e.message, /cannot reach/);
      return true;
    });
    await client.close();
  });
});

test("no answer: connection refused and timeouts are TransportErrors with a reason for people", async () => {
  // A port nothing listens on: take one from a server that is then closed.
  let closedUrl = "";
  await withServer(() => {}, (url) => {
    closedUrl = url;
    return Promise.resolve();
  });
  await assert.rejects(new HttpClient(closedUrl).status(), (e: unknown) => {
    assert.ok(e instanceof HttpClientError, String(e));
    assert.equal(e.status, 0);
    assert.equal(e.message, `cannot reach ${closedUrl}: connection refused`);
    return true;
  });
  // A server that never answers: the deadline ends the request.
  await withServer(() => {}, async (url) => {
    // The guard turns a missing deadline into a failure instead of a hung test.
    let guard: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<never>((_, reject) => {
      guard = setTimeout(() => reject(new Error("the request's deadline never fired")), 15_000);
    });
    const request = send(new URL(`${url}/status`), { method: "GET", timeoutMs: 300 });
    await assert.rejects(Promise.race([request, hung]), (e: unknown) => {
      assert.ok(e instanceof TransportError, String(e));
      assert.equal(e.reason, "no answer (timed out)");
      return true;
    });
    clearTimeout(guard);
  });
});

test("redirects are followed like fetch: 307 keeps the POST, 303 turns it into a GET, loops end", async () => {
  await withServer((seen, res) => {
    const path = seen.url.split("?")[0];
    if (path === "/a") res.writeHead(307, { Location: "/b?x=1" }).end();
    else if (path === "/c") res.writeHead(303, { Location: "/b" }).end();
    else if (path === "/loop") res.writeHead(302, { Location: "/loop" }).end();
    else json(res, { method: seen.method, body: seen.body });
  }, async (url, stats) => {
    const pool = new KeepAlivePool();
    const post = { method: "POST" as const, body: "[1]", headers: { "Content-Type": "application/json" } };
    const auth = { auth: { token: "t0k" } };
    const a = await send(new URL(`${url}/a`), post, auth, pool);
    assert.deepEqual(JSON.parse(a.text), { method: "POST", body: "[1]" });
    assert.equal(stats.seen[1].url, "/b?x=1");
    assert.equal(stats.seen[1].auth, "Bearer t0k", "same origin: credentials still sent");
    const c = await send(new URL(`${url}/c`), post, auth, pool);
    assert.deepEqual(JSON.parse(c.text), { method: "GET", body: "" });
    await assert.rejects(send(new URL(`${url}/loop`), { method: "GET" }, {}, pool), /more than 20 redirects/);
    pool.close();
  });
  // To another origin the credentials stay behind.
  await withServer((seen, res) => json(res, { auth: seen.auth ?? null }), async (other) => {
    await withServer((_s, res) => res.writeHead(307, { Location: `${other}/x` }).end(), async (url) => {
      const r = await send(new URL(`${url}/y`), { method: "GET" }, { auth: { token: "t0k" } });
      assert.deepEqual(JSON.parse(r.text), { auth: null });
    });
  });
});
