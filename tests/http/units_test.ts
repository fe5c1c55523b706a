/** The pure parts of the HTTP layer: JSON with bigints, Go durations, read/write classification, bodies. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isReadStatement } from "../../src/server/http/classify.ts";
import { HttpError } from "../../src/server/http/errors.ts";
import { parseJson, stringifyJson } from "../../src/server/http/json.ts";
import { parseGoDuration } from "../../src/server/http/params.ts";
import { parseStatements } from "../../src/server/http/statements.ts";

test("JSON: bigints written exactly, unsafe integer literals read as bigints, reals stay reals", () => {
  assert.equal(stringifyJson({ a: 2n ** 63n - 1n, b: [1, -5n] }), '{"a":9223372036854775807,"b":[1,-5]}');
  assert.equal(stringifyJson({ a: 1 }, true), '{\n    "a": 1\n}');
  assert.deepEqual(parseJson("[9007199254740993, 9007199254740991, -9223372036854775808, 1.5, 1e3]"), [
    9007199254740993n,
    9007199254740991,
    -9223372036854775808n,
    1.5,
    1000,
  ]);
  // Past int64 an integer literal is a real, as in rqlite.
  assert.deepEqual(parseJson("[99999999999999999999]"), [1e20]);
});

test("Go durations", () => {
  const cases: [string, number | undefined][] = [
    ["5s", 5000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1.5s", 1500],
    ["2h", 7_200_000],
    ["250us", 0.25],
    ["0", 0],
    ["", undefined],
    ["5", undefined],
    ["s", undefined],
    ["5 s", undefined],
    ["-1s", undefined],
  ];
  for (const [s, ms] of cases) assert.equal(parseGoDuration(s), ms, JSON.stringify(s));
});

test("read/write classification errs towards write", () => {
  const reads = [
    "SELECT 1",
    "  select * from t where name = 'INSERT'",
    "VALUES (1), (2)",
    "WITH x AS (SELECT replace(a, 'b', 'c') AS r FROM t) SELECT r FROM x",
    "EXPLAIN QUERY PLAN DELETE FROM t",
    "PRAGMA user_version",
    "PRAGMA table_info(t)",
    "PRAGMA main.table_info(t)",
    "SELECT 1; SELECT 2",
    "/* DELETE */ SELECT 1 -- UPDATE",
  ];
  const writes = [
    "INSERT INTO t VALUES (1)",
    "REPLACE INTO t VALUES (1)",
    "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
    "WITH x AS (SELECT 1) DELETE FROM t",
    "UPDATE t SET a = 1",
    "CREATE TABLE t(a)",
    "PRAGMA user_version = 3",
    "PRAGMA user_version(3)",
    "SELECT 1; DELETE FROM t",
    "DROP TABLE t",
    "",
  ];
  for (const sql of reads) assert.equal(isReadStatement({ sql }), true, sql);
  for (const sql of writes) assert.equal(isReadStatement({ sql }), false, sql);
});

test("request bodies to statements", () => {
  assert.deepEqual(
    parseStatements('["SELECT 1", ["SELECT ?, ?, ?, ?", 1, 2.5, "x", null], ["SELECT :a", {"a": true}]]'),
    [
      { sql: "SELECT 1" },
      { sql: "SELECT ?, ?, ?, ?", params: [1, 2.5, "x", null] },
      { sql: "SELECT :a", params: Object.assign(Object.create(null), { a: 1 }) },
    ],
  );
  const [blob] = parseStatements('[["SELECT ?, ?, ?", [0, 255], false, 12345678901234567890]]');
  assert.deepEqual(blob.params, [new Uint8Array([0, 255]), 0, 12345678901234567000]);
  const [proto] = parseStatements('[["SELECT :__proto__", {"__proto__": 5}]]');
  assert.equal(
    (proto.params as Record<string, unknown>)["__proto__"],
    5,
    "__proto__ is a plain parameter name",
  );
  assert.throws(() => parseStatements("[true]"), (e) => e instanceof HttpError && e.status === 400);
});
