/** Bad input gets a 4xx with a clear message, executes nothing, and never hurts the node. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { HttpClientError } from "../../src/client/http_client.ts";
import { post, raw, withApi } from "./helpers.ts";

const BAD_BODIES: [string, string | Uint8Array<ArrayBuffer>, RegExp][] = [
  ["malformed JSON", '["SELECT 1"', /invalid JSON body/],
  ["not an array", '{"q": "SELECT 1"}', /must be a JSON array of statements, got an object/],
  ["a bare string", '"INSERT INTO t VALUES (1)"', /must be a JSON array of statements, got a string/],
  ["empty array", "[]", /no statements/],
  ["empty body", "", /empty request body/],
  ["whitespace body", "  \n", /empty request body/],
  ["statement is a number", "[42]", /statement 0: expected a SQL string or an array/],
  [
    "statement is an object",
    '["INSERT INTO t VALUES (1)", {"sql": "x"}]',
    /statement 1: expected a SQL string/,
  ],
  ["empty statement array", "[[]]", /statement 0: empty array/],
  ["sql not a string", "[[1, 2]]", /statement 0: the first element must be the SQL string/],
  [
    "params object among positional",
    '[["INSERT INTO t VALUES (?, ?)", 1, {"a": 1}]]',
    /named parameters must be the only element/,
  ],
  [
    "nested object param",
    '[["INSERT INTO t VALUES (:a)", {"a": {"b": 1}}]]',
    /parameter "a": unsupported parameter type/,
  ],
  ["byte array out of range", '[["INSERT INTO t VALUES (?)", [1, 256]]]', /integers 0\.\.255/],
  ["non-UTF-8 body", new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), /not valid UTF-8/],
];

test("malformed and mistyped bodies: 400 with the reason, nothing executed", async () => {
  await withApi(async ({ url, client, node }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const decided = node.status().consensus.decidedIdx;
    for (const path of ["/db/execute", "/db/query", "/db/request"]) {
      for (const [name, body, message] of BAD_BODIES) {
        const r = await raw(url, "POST", path, body);
        assert.equal(r.status, 400, `${path} ${name}: ${r.text}`);
        assert.match(r.json?.error ?? "", message, `${path} ${name}`);
      }
    }
    // A bad statement after good ones: the good ones do not run either.
    const partial = await raw(url, "POST", "/db/execute", '["INSERT INTO t VALUES (1, 2)", 7]');
    assert.equal(partial.status, 400);
    assert.equal(node.status().consensus.decidedIdx, decided, "nothing was proposed");
    assert.deepEqual((await client.query("SELECT count(*) FROM t"))[0].values, [[0]]);
    const noQ = await raw(url, "GET", "/db/query");
    assert.deepEqual([noQ.status, noQ.json.error], [400, "missing query parameter q (the SQL)"]);
    const badTimeout = await raw(url, "GET", "/db/query?q=SELECT%201&timeout=soon");
    assert.equal(badTimeout.status, 400);
    assert.match(badTimeout.json.error, /timeout is not a valid duration/);
    assert.equal((await raw(url, "GET", "/db/query?q=SELECT%201&timeout=1m30s")).status, 200);
    const queued = await post(url, "/db/execute?queue", ["INSERT INTO t VALUES (1, 2)"]);
    assert.equal(queued.status, 400);
    assert.match(queued.json.error, /queued writes/);
  });
});

test("refused statements: ATTACH is a 400 with code bad-request and changes nothing", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a)");
    const r = await post(url, "/db/execute", ["INSERT INTO t VALUES (1)", "ATTACH DATABASE 'x.db' AS x"]);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, "bad-request");
    assert.match(r.json.error, /ATTACH is not allowed/);
    assert.deepEqual((await client.query("SELECT count(*) FROM t"))[0].values, [[0]]);
    await assert.rejects(
      client.execute("DETACH DATABASE x"),
      (e) => e instanceof HttpClientError && e.status === 400 && e.code === "bad-request",
    );
  });
});

test("oversized bodies get 413 (declared and streamed), unknown paths 404, wrong methods 405", async () => {
  await withApi(async ({ url, client }) => {
    const big = JSON.stringify(["SELECT '" + "x".repeat(4096) + "'"]);
    const r = await raw(url, "POST", "/db/execute", big);
    assert.equal(r.status, 413);
    assert.match(r.json.error, /larger than 1024 bytes/);
    // Chunked (no Content-Length): the limit holds while streaming.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url + "/db/query", {
        method: "POST",
        headers: { "Transfer-Encoding": "chunked" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 4; i++) req.write("[" + " ".repeat(400));
      req.end();
    });
    assert.equal(streamed, 413);
    assert.equal((await post(url, "/db/query", ["SELECT 1"])).status, 200, "the server still answers");

    const missing = await raw(url, "GET", "/db/nothing");
    assert.deepEqual([missing.status, missing.json.error], [404, "no such endpoint: /db/nothing"]);
    const wrong = await raw(url, "GET", "/db/execute");
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    assert.equal((await raw(url, "DELETE", "/status")).status, 405);
    assert.equal((await raw(url, "PUT", "/db/query", "[]")).status, 405);
    const head = await raw(url, "HEAD", "/status");
    assert.deepEqual([head.status, head.text], [200, ""]);
    assert.equal((await client.ready()).ok, true);
  }, { maxBodyBytes: 1024 });
});

test("a stopped node answers 503 with its error code instead of failing the server", async () => {
  await withApi(async ({ url, node }) => {
    await node.stop();
    const r = await post(url, "/db/execute", ["CREATE TABLE t(a)"]);
    assert.equal(r.status, 503);
    assert.equal(r.json.code, "stopped");
    assert.equal(r.headers.get("retry-after"), "1");
    assert.equal((await raw(url, "GET", "/status")).status, 200);
  });
});
