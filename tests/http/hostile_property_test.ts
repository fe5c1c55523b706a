/**
 * Property tests (fast-check, fixed seeds): arbitrary methods, paths, query strings and bodies — and arbitrary
 * bytes on a raw connection — never get a 5xx, never stop the node from serving, and never change the
 * database unless they were answered 200 by an endpoint that writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { raw, withApi } from "./helpers.ts";
import { assertServing, content, rawExchange } from "./hostile.ts";

interface Sum {
  index: number;
  sha256: string;
}

async function checksum(url: string): Promise<Sum> {
  const r = await raw(url, "GET", "/db/checksum");
  assert.equal(r.status, 200);
  return { index: r.json.index, sha256: r.json.sha256 };
}

const ROUTES = [
  "/db/execute",
  "/db/query",
  "/db/request",
  "/status",
  "/nodes",
  "/readyz",
  "/metrics",
  "/db/checksum",
];
const KEYS = [
  "level",
  "timeout",
  "transaction",
  "q",
  "pretty",
  "associative",
  "timings",
  "raft_index",
  "queue",
  "ver",
];
/** Text with the characters that matter to URLs, JSON and SQL, and some that are not ASCII. */
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      "%",
      "%F",
      "%FF",
      "%2",
      "&",
      "=",
      "?",
      "/",
      "'",
      '"',
      ";",
      "\\",
      "[",
      "{",
      "\0",
      "é",
      "😀",
      "\uFFFD",
    ),
    fc.string({ maxLength: 1 }),
  ),
  maxLength: 12,
});

const sql = fc.oneof(
  fc.constantFrom(
    "SELECT * FROM t",
    "SELECT count(*) FROM t WHERE a = ?",
    "INSERT INTO t VALUES (?, ?)",
    "INSERT INTO t VALUES (:a, :b)",
    "UPDATE t SET b = b + 1",
    "DELETE FROM t WHERE a = ?",
    "CREATE TABLE IF NOT EXISTS u(x)",
    "ATTACH 'x.db' AS x",
    "VACUUM",
    "PRAGMA journal_mode=WAL",
    "SELECT load_extension('x')",
    "BEGIN",
    "SELEC 1",
    "",
  ),
  text,
);
const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.bigInt(), text);
const statement = fc.oneof(
  sql,
  fc.tuple(sql, fc.array(value, { maxLength: 3 })).map(([s, ps]) => [s, ...ps]),
  fc.tuple(sql, fc.dictionary(fc.constantFrom("a", "b", ":a", "c", "__proto__"), value, { maxKeys: 3 })),
  fc.jsonValue({ maxDepth: 3 }),
);
const body = fc.oneof(
  fc.array(statement, { maxLength: 4 }).map((s) =>
    JSON.stringify(s, (_k, v) => typeof v === "bigint" ? Number(v) : v)
  ),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  text,
  fc.uint8Array({ maxLength: 40 }).map((b) => new Uint8Array(b) as Uint8Array<ArrayBuffer>),
);
const query = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom(...KEYS), text),
    fc.option(fc.oneof(fc.constantFrom("none", "weak", "strong", "linearizable", "5s", "1m"), text)),
  ).map(([k, v]) =>
    // A random timeout could be a valid tiny one (a legitimate 503 timeout): keep random ones invalid.
    k === "timeout" && v !== null && !/^(5s|1m)$/.test(v) ? `${k}=x${v}` : v === null ? k : `${k}=${v}`
  ),
  { maxLength: 4 },
).map((parts) => (parts.length ? "?" + parts.join("&") : ""));
const path = fc.oneof(
  fc.constantFrom(...ROUTES),
  text.map((s) => "/" + s),
  fc.constantFrom(...ROUTES).chain((r) => text.map((s) => r + s)),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
  path,
  query,
  body,
});

const writes = (path: string) => /^\/db\/(execute|request)\/*$/.test(path);

test("arbitrary HTTP requests: no 5xx, the node keeps serving, no change unless an accepted write", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    await client.execute("INSERT INTO t VALUES (1, 2)");
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = await checksum(url);
        const beforeContent = await content(url);
        const hasBody = !["GET", "HEAD"].includes(r.method);
        const res = await raw(url, r.method, r.path + r.query, hasBody ? r.body : undefined);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${r.method} ${r.path}${r.query}: ${res.status} ${res.text}`);
        const route = (r.path + r.query).split(/[?#]/)[0];
        if (res.status !== 200 || !writes(route)) {
          if (res.status === 200 && /level=strong/i.test(r.query)) {
            // A strong read goes through the log (the index moves), but writes nothing.
            assert.deepEqual(await content(url), beforeContent);
          } else {
            assert.deepEqual(
              await checksum(url),
              before,
              `${r.method} ${r.path}${r.query} changed the database`,
            );
          }
        }
      }),
      { seed: 0x5eed, numRuns: 300 },
    );
    await assertServing(url, "after the arbitrary requests");
    // The runs must have reached the interesting outcomes, not just 404s.
    for (const status of [200, 400, 404, 405]) {
      assert.ok((seen.get(status) ?? 0) > 0, `some ${status}: ${[...seen]}`);
    }
  });
});

test("arbitrary bytes on a raw connection: answered or closed, never a 5xx, the node keeps serving", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await checksum(url);
    const start = fc.constantFrom(
      "",
      "GET / HTTP/1.1\r\n",
      "POST /db/execute HTTP/1.1\r\nContent-Length: 5\r\n",
      "GET /",
    );
    await fc.assert(
      fc.asyncProperty(start, fc.uint8Array({ maxLength: 200 }), async (head, bytes) => {
        const out = await rawExchange(url, new Uint8Array([...new TextEncoder().encode(head), ...bytes]));
        for (const m of out.matchAll(/^HTTP\/1\.1 (\d{3})/gm)) assert.ok(Number(m[1]) < 500, out);
      }),
      { seed: 0xb17e5, numRuns: 60 },
    );
    assert.deepEqual(await checksum(url), before);
    await assertServing(url, "after the arbitrary bytes");
  }, { headersTimeoutMs: 500, requestTimeoutMs: 1000 });
});
