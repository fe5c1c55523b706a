/**
 * Hostile request bodies: every malformed, mistyped, oversized or deeply nested body is a 400/413 with a
 * clear message, nothing is proposed or applied (GET /db/checksum and the row count are unchanged), and the
 * node goes on serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { raw, withApi } from "./helpers.ts";
import { assertServing, assertUnchanged, content, openRaw, state, statusOf } from "./hostile.ts";
import { waitFor } from "../net/wait.ts";

type Body = string | Uint8Array<ArrayBuffer>;

const BAD_BODIES: [string, Body, RegExp][] = [
  // Not JSON.
  ["truncated array", '["INSERT INTO t VALUES (1, 2)"', /^invalid JSON body/],
  ["trailing comma", '["INSERT INTO t VALUES (1, 2)",]', /^invalid JSON body/],
  ["missing comma", '["INSERT INTO t VALUES (1, 2)" "x"]', /^invalid JSON body/],
  ["garbage after the array", '["INSERT INTO t VALUES (1, 2)"] x', /^invalid JSON body/],
  ["single quotes", "['INSERT INTO t VALUES (1, 2)']", /^invalid JSON body/],
  ["NaN", '[["INSERT INTO t VALUES (?)", NaN]]', /^invalid JSON body/],
  // JSON, but not a list of statements.
  ["null", "null", /must be a JSON array of statements, got null/],
  ["a number", "42", /must be a JSON array of statements, got a number/],
  ["a boolean", "true", /must be a JSON array of statements, got a boolean/],
  [
    "an object",
    '{"statements": ["INSERT INTO t VALUES (1, 2)"]}',
    /must be a JSON array of statements, got an object/,
  ],
  ["a string", '"INSERT INTO t VALUES (1, 2)"', /must be a JSON array of statements, got a string/],
  ["empty array", "[]", /^no statements$/],
  ["empty body", "", /^empty request body/],
  ["blank body", " \r\n\t ", /^empty request body/],
  // Statements of the wrong type; the valid one before them must not run either.
  [
    "statement null",
    '["INSERT INTO t VALUES (1, 2)", null]',
    /statement 1: expected a SQL string or an array .* got null/,
  ],
  ["statement a number", '["INSERT INTO t VALUES (1, 2)", 7]', /statement 1: .* got a number/],
  ["statement an object", '["INSERT INTO t VALUES (1, 2)", {"sql": "x"}]', /statement 1: .* got an object/],
  ["statement empty array", "[[]]", /statement 0: empty array/],
  ["sql a number", "[[1, 2]]", /statement 0: the first element must be the SQL string/],
  ["sql null", "[[null]]", /statement 0: the first element must be the SQL string/],
  [
    "sql nested array",
    '[[["INSERT INTO t VALUES (1, 2)"]]]',
    /statement 0: the first element must be the SQL string/,
  ],
  // Parameters of the wrong type or shape.
  [
    "param an object",
    '[["INSERT INTO t VALUES (?, ?)", 1, {"a": 1}]]',
    /named parameters must be the only element/,
  ],
  [
    "param nested array",
    '[["INSERT INTO t VALUES (?)", [[1]]]]',
    /statement 0, parameter 1: .*integers 0\.\.255/,
  ],
  ["param byte 256", '[["INSERT INTO t VALUES (?)", [1, 256]]]', /integers 0\.\.255/],
  ["param byte -1", '[["INSERT INTO t VALUES (?)", [-1]]]', /integers 0\.\.255/],
  ["param byte 1.5", '[["INSERT INTO t VALUES (?)", [1.5]]]', /integers 0\.\.255/],
  ["param byte a string", '[["INSERT INTO t VALUES (?)", ["1"]]]', /integers 0\.\.255/],
  ["param 1e400", '[["INSERT INTO t VALUES (?)", 1e400]]', /statement 0, parameter 1: number out of range/],
  ["param -1e400", '[["INSERT INTO t VALUES (?)", -1e400]]', /number out of range/],
  ["named param an object", '[["INSERT INTO t VALUES (:a)", {"a": {"b": 1}}]]', /parameter "a": unsupported/],
  ["named param nested array", '[["INSERT INTO t VALUES (:a)", {"a": [[0]]}]]', /parameter "a": .*0\.\.255/],
  [
    "named param that does not exist",
    '[["INSERT INTO t VALUES (:a)", {"a": 1, "b": 2}]]',
    /no placeholder for parameter "b"/,
  ],
  ["named param missing", '[["INSERT INTO t VALUES (:a, :b)", {"a": 1}]]', /no value for placeholder :b/],
  [
    "named params for ?",
    '[["INSERT INTO t VALUES (?)", {"a": 1}]]',
    /\? placeholders, which need positional values/,
  ],
  ["empty named params", '[["INSERT INTO t VALUES (:a)", {}]]', /no value for placeholder :a/],
  [
    "too many values",
    '[["INSERT INTO t VALUES (?)", 1, 2]]',
    /2 parameter values given, the SQL has 1 placeholders/,
  ],
  [
    "too few values",
    '[["INSERT INTO t VALUES (?, ?)", 1]]',
    /1 parameter values given, the SQL has 2 placeholders/,
  ],
  [
    "values for no placeholder",
    '[["INSERT INTO t VALUES (1, 2)", 1]]',
    /1 parameter values given, the SQL has 0/,
  ],
  ["? inside a string is text", `[["INSERT INTO t VALUES ('?')", 1]]`, /the SQL has 0 placeholders/],
  // Bytes that are not UTF-8: invalid, overlong, an encoded surrogate.
  ["byte 0xff", new Uint8Array([0x5b, 0x22, 0xff, 0x22, 0x5d]), /not valid UTF-8/],
  ["overlong /", new Uint8Array([0x5b, 0x22, 0xc0, 0xaf, 0x22, 0x5d]), /not valid UTF-8/],
  ["encoded surrogate", new Uint8Array([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x5d]), /not valid UTF-8/],
  ["truncated sequence", new Uint8Array([0x5b, 0x22, 0xe2, 0x82, 0x22, 0x5d]), /not valid UTF-8/],
];

test("malformed, mistyped and mismatched bodies: 400 with the reason, nothing proposed or applied", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    for (const path of ["/db/execute", "/db/query", "/db/request", "/db/request?transaction"]) {
      for (const [name, body, message] of BAD_BODIES) {
        const r = await raw(url, "POST", path, body);
        assert.equal(r.status, 400, `${path} ${name}: ${r.text}`);
        assert.match(r.json?.error ?? "", message, `${path} ${name}`);
      }
    }
    await assertUnchanged(url, before, "after the bad bodies");
    await assertServing(url, "after the bad bodies");
  });
});

test("odd but valid values: BigInt-ish strings stay text, integers past int64 become REAL", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const r = await raw(
      url,
      "POST",
      "/db/execute",
      '[["INSERT INTO t VALUES (?, ?)", "9223372036854775808n", 123456789012345678901234567890]]',
    );
    assert.equal(r.status, 200, r.text);
    const q = await raw(
      url,
      "GET",
      "/db/query?q=" + encodeURIComponent("SELECT a, typeof(a), typeof(b) FROM t"),
    );
    assert.deepEqual(q.json.results[0].values, [["9223372036854775808n", "text", "real"]]);
  });
});

test("deep nesting, 100k parameters and very long SQL: clear errors, no stack overflow, no change", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    await client.execute("INSERT INTO t VALUES (1, 2)");
    const before = await state(url);
    const beforeContent = await content(url);
    const deep = "[".repeat(1_000_000) + "]".repeat(1_000_000);
    const nestedParam = '[["INSERT INTO t VALUES (:a)", {"a": ' + "[".repeat(100_000) + "]".repeat(100_000) +
      "}]]";
    for (const [name, body] of [["a million [", deep], ["a deep named parameter", nestedParam]]) {
      const r = await raw(url, "POST", "/db/execute", body);
      assert.equal(r.status, 400, name);
      assert.equal(r.json.error, "invalid JSON body: nested deeper than 32 levels", name);
    }
    // Brackets inside a string are text, not nesting.
    const inString = await raw(url, "POST", "/db/query", JSON.stringify([`SELECT '${"[".repeat(10_000)}'`]));
    assert.equal(inString.status, 200, inString.text);
    assert.equal(inString.json.results[0].values[0][0].length, 10_000);

    // 100k values for one placeholder: refused before anything runs.
    const manyValues = JSON.stringify([[
      "INSERT INTO t VALUES (?, 0)",
      ...Array.from({ length: 100_000 }, (_, i) => i),
    ]]);
    const many = await raw(url, "POST", "/db/execute", manyValues);
    assert.equal(many.status, 400);
    assert.match(many.json.error, /100000 parameter values given, the SQL has 1 placeholders/);
    // 100k placeholders and as many values: past SQLite's variable limit, an error result, no row.
    const sql100k = "INSERT INTO t(a) SELECT 1 WHERE 1 IN (" + Array(100_000).fill("?").join(",") + ")";
    const matched = await raw(
      url,
      "POST",
      "/db/execute",
      JSON.stringify([[sql100k, ...Array(100_000).fill(1)]]),
    );
    assert.equal(matched.status, 200, matched.text.slice(0, 200));
    assert.match(matched.json.results[0].error, /too many SQL variables/);
    // A 2 MB expression: SQLite's own limits answer, as a per-statement error.
    const long = await raw(
      url,
      "POST",
      "/db/execute",
      JSON.stringify(["INSERT INTO t(a) SELECT " + "1+".repeat(1_000_000) + "1"]),
    );
    assert.equal(long.status, 200);
    assert.match(long.json.results[0].error, /Expression tree is too large/);
    const parens = await raw(
      url,
      "POST",
      "/db/execute",
      JSON.stringify(["INSERT INTO t(a) VALUES (" + "(".repeat(100_000) + "1" + ")".repeat(100_000) + ")"]),
    );
    assert.equal(parens.status, 200);
    assert.ok(parens.json.results[0].error, parens.text.slice(0, 200));

    // These went through the log (SQL errors are per statement), so the index moved; the content did not.
    assert.equal((await state(url)).rows, before.rows, "no row written");
    assert.deepEqual(await content(url), beforeContent, "schema and rows unchanged");
    await assertServing(url, "after the large requests");
  });
});

test("oversized bodies: 413 by Content-Length at once and while streaming, and the connection is closed", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    const before = await state(url);
    // Declared too large: the answer comes before any body byte is sent, and the server hangs up.
    const declared = await openRaw(url);
    declared.socket.write(
      "POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n",
    );
    await waitFor(
      () => declared.isClosed(),
      10_000,
      "the server to close the oversized request's connection",
    );
    assert.equal(statusOf(declared.received()), 413, declared.received());
    assert.match(declared.received(), /request body larger than 1024 bytes/);

    // Chunked, no length: cut off once past the limit, though the client keeps the request open.
    const streamed = await openRaw(url);
    streamed.socket.write(
      "POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = '["INSERT INTO t VALUES (1, 2)",' + " ".repeat(500);
    for (let i = 0; i < 4; i++) streamed.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await waitFor(() => streamed.isClosed(), 10_000, "the server to close the streamed request's connection");
    assert.equal(statusOf(streamed.received()), 413, streamed.received());

    // Just under the limit is fine.
    const fits = await raw(url, "POST", "/db/query", JSON.stringify(["SELECT '" + "x".repeat(900) + "'"]));
    assert.equal(fits.status, 200);
    await assertUnchanged(url, before, "after the oversized bodies");
  }, { maxBodyBytes: 1024 });
});
