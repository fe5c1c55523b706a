/**
 * Hostile URLs: bad percent-encoding, non-UTF-8 escapes and raw bytes, odd query parameters, unknown paths
 * and methods. Each gets a clear 4xx (or the documented lenient reading), nothing is applied, and the node
 * goes on serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMEOUT_MS, QueryParams } from "../../src/server/http/params.ts";
import { raw, withApi } from "./helpers.ts";
import { assertServing, assertUnchanged, rawExchange, state, statusOf } from "./hostile.ts";

const INSERT = JSON.stringify(["INSERT INTO t VALUES (1, 2)"]);

test("bad percent-encoding and non-UTF-8 in the URL: 400 before anything runs", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    const cases: [string, RegExp][] = [
      ["/db/execute?transaction=%ZZ", /bad percent-escape "%ZZ"/],
      ["/db/execute?%", /bad percent-escape "%"/],
      ["/db/execute?timings&x=%4", /bad percent-escape "%4"/],
      ["/db/%zzexecute", /bad percent-escape "%zz"/],
      ["/db/execute?x=%FF%FE", /percent-escapes that are not UTF-8/],
      ["/db/execute?x=%C0%AF", /percent-escapes that are not UTF-8/], // overlong "/"
      ["/db/execute?x=%ED%A0%80", /percent-escapes that are not UTF-8/], // a surrogate
      ["/db/exe%E2%82cute", /percent-escapes that are not UTF-8/], // truncated sequence in the path
      ["//", /the URL path must not start with \/\//], // once a 500: "//" does not parse as a path
      ["//evil/db/execute", /the URL path must not start with \/\//], // would have run as /db/execute
    ];
    for (const [path, message] of cases) {
      const r = await raw(url, "POST", path, INSERT);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.match(r.json.error, message, path);
    }
    const q = await raw(url, "GET", "/db/query?q=SELECT%20%FF");
    assert.deepEqual([q.status, q.json.error], [400, "the URL has percent-escapes that are not UTF-8"]);
    // Raw bytes outside ASCII in the request line (fetch would escape them: a raw socket does not).
    const rawBytes = await rawExchange(
      url,
      new Uint8Array([
        ...new TextEncoder().encode("GET /db/query?q=SELECT%20'"),
        0xc3,
        0xa9,
        ...new TextEncoder().encode("' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      ]),
    );
    assert.equal(statusOf(rawBytes), 400, rawBytes);
    // Valid escapes of valid UTF-8 are read exactly.
    const ok = await raw(url, "GET", "/db/query?q=" + encodeURIComponent("SELECT 'é€😀 %ZZ'"));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.results[0].values, [["é€😀 %ZZ"]]);
    await assertUnchanged(url, before, "after the bad URLs");
    await assertServing(url, "after the bad URLs");
  });
});

test("query parameters: unknown ones ignored, unknown level is weak, bad timeouts 400", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    for (
      const t of [
        "soon",
        "-1s",
        "0",
        "0s",
        "1e9s",
        "5",
        "ms",
        "1.5.5s",
        "",
        " ",
        "1s garbage",
        "NaN",
        "Infinityh",
      ]
    ) {
      const r = await raw(url, "POST", "/db/execute?timeout=" + encodeURIComponent(t), INSERT);
      assert.equal(r.status, 400, `timeout=${t}: ${r.text}`);
      assert.match(r.json.error, /^timeout is not a valid duration/, `timeout=${t}`);
      const g = await raw(url, "GET", "/db/query?q=SELECT%201&timeout=" + encodeURIComponent(t));
      assert.equal(g.status, 400, `GET timeout=${t}`);
    }
    await assertUnchanged(url, before, "after the bad timeouts");
    // rqlite reads an unknown level as weak (its "auto"), and ignores parameters it does not know.
    for (const level of ["bogus", "", "STRONG%00", "none;DROP TABLE t", "%F0%9F%98%80"]) {
      const r = await raw(url, "GET", `/db/query?q=SELECT%201&level=${level}&frobnicate=1&q2=x&__proto__=1`);
      assert.equal(r.status, 200, `level=${level}: ${r.text}`);
      assert.deepEqual(r.json.results[0].values, [[1]]);
    }
    await assertUnchanged(url, before, "after the odd levels and unknown parameters");
    // A huge timeout is clamped to what timers can wait for (Node would otherwise fire it after 1 ms).
    const big = await raw(url, "POST", "/db/execute?timeout=99999999999h", INSERT);
    assert.equal(big.status, 200, big.text);
    assert.equal(new QueryParams(new URLSearchParams("timeout=99999999999h")).timeoutMs(), MAX_TIMEOUT_MS);
    assert.equal(new QueryParams(new URLSearchParams("timeout=0.000001ns")).timeoutMs(), 1);
  });
});

test("unknown paths 404, wrong methods 405 with Allow, unknown methods 400: nothing runs", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    const paths = [
      "/db",
      "/db/",
      "/db/execute/more",
      "/DB/EXECUTE",
      "/db//execute",
      "/__proto__",
      "/constructor",
      "/hasOwnProperty",
      "/db/execute%00",
      "/db/execute%2F",
      "/%2e%2e/etc/passwd",
      "/db/backup",
    ];
    for (const p of paths) {
      const r = await raw(url, "POST", p, INSERT);
      assert.equal(r.status, 404, `${p}: ${r.text}`);
      assert.match(r.json.error, /^no such endpoint: /, p);
    }
    for (const m of ["PUT", "PATCH", "DELETE", "OPTIONS", "GET"]) {
      const r = await raw(url, m, "/db/execute", m === "GET" ? undefined : INSERT);
      assert.equal(r.status, 405, `${m}: ${r.text}`);
      assert.equal(r.headers.get("allow"), "POST");
      assert.match(r.json.error, new RegExp(`method ${m} not allowed \\(allowed: POST\\)`));
    }
    assert.equal((await raw(url, "POST", "/status", "{}")).headers.get("allow"), "GET");
    for (const method of ["TRACE", "PROPFIND", "FROB"]) {
      const r = await rawExchange(
        url,
        `${method} /db/execute HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.ok([400, 405].includes(statusOf(r)), `${method}: ${r}`);
    }
    // A request line that is not HTTP at all.
    const junk = await rawExchange(url, "\x00\x01\x02 hello\r\n\r\n");
    assert.equal(statusOf(junk), 400, junk);
    await assertUnchanged(url, before, "after the unknown paths and methods");
    await assertServing(url, "after the unknown paths and methods");
  });
});
