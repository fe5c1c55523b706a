import { test } from "node:test";
import assert from "node:assert/strict";
import { checkStatements, SqlStateMachine, type Statement, ValidationError } from "../../src/store/mod.ts";
import { entry, sameBytes } from "./helpers.ts";

const REFUSED: [string, RegExp][] = [
  ["ATTACH DATABASE 'other.db' AS other", /ATTACH is not allowed/],
  ["  /* hi */ detach other", /DETACH is not allowed/],
  ["VACUUM INTO '/tmp/x.db'", /VACUUM/],
  ["VACUUM", /VACUUM/],
  ["SELECT load_extension('x')", /load_extension/],
  ["SELECT total_changes()", /total_changes/],
  ["PRAGMA journal_mode = WAL", /journal_mode = \.\.\. is not allowed/],
  ["PRAGMA foreign_keys = OFF", /foreign_keys = \.\.\. is not allowed/],
  ["PRAGMA writable_schema = 1", /writable_schema/],
  ["PRAGMA query_only = 0", /query_only/],
  ["PRAGMA cache_size", /cache_size is not allowed/],
  ["pragma database_list", /database_list/],
  ["PRAGMA page_size(8192)", /page_size = \.\.\. is not allowed/],
  ["PRAGMA temp.table_info(t)", /main schema/],
  ["SELECT * FROM pragma_database_list", /pragma_database_list/],
  ["CREATE TEMP TABLE x(a)", /TEMP objects/],
  ["CREATE TEMPORARY VIEW v AS SELECT 1", /TEMP objects/],
  ["SELECT * FROM temp.sqlite_master", /temp schema/],
  ["SELECT * FROM sqlite_temp_master", /temp schema/],
  ["BEGIN", /transaction flag/],
  ["COMMIT", /transaction flag/],
  ["SAVEPOINT a", /transaction flag/],
  ["SELECT * FROM __chisel_meta", /reserved/],
  ['DELETE FROM "__CHISEL_results"', /reserved/],
  ["DROP TABLE [__chisel_clients]", /reserved/],
  ["CREATE TABLE __chisel_mine(x)", /reserved/],
  ["SELECT 1; ATTACH 'x' AS y", /ATTACH/],
  ["EXPLAIN QUERY PLAN VACUUM", /VACUUM/],
  ["   -- only a comment", /empty statement/],
];

const ALLOWED: Statement[] = [
  { sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, temp REAL, attach TEXT)" },
  { sql: "INSERT INTO t(temp, attach) VALUES (1.5, 'ATTACH x; VACUUM INTO y -- not code')" },
  { sql: "SELECT temp, attach FROM t /* ATTACH 'x' AS y */ -- PRAGMA journal_mode=wal" },
  { sql: "PRAGMA table_info(t)" },
  { sql: "PRAGMA main.index_list('t')" },
  { sql: "PRAGMA user_version = 7" },
  { sql: "PRAGMA user_version" },
  { sql: "PRAGMA integrity_check" },
  { sql: "SELECT * FROM pragma_table_info('t')" },
  {
    sql: `CREATE TRIGGER trg AFTER INSERT ON t BEGIN
      UPDATE t SET temp = CASE WHEN new.temp > 0 THEN 1 ELSE 0 END WHERE id = new.id;
    END; SELECT 1`,
  },
];

test("the validator refuses divergent or file-touching statements with clear errors", () => {
  for (const [sql, why] of REFUSED) {
    const err = checkStatements([{ sql: "SELECT 1" }, { sql }]);
    assert.ok(err instanceof ValidationError, sql);
    assert.equal(err.statementIndex, 1);
    assert.match(err.message, why, sql);
  }
  assert.match(checkStatements([])?.message ?? "", /no statements/);
  assert.match(checkStatements([{ sql: "SELECT ?; SELECT 2", params: [1] }])?.message ?? "", /exactly one/);
  for (const s of ALLOWED) assert.equal(checkStatements([s]), undefined, s.sql);
});

test("the applier refuses the same statements deterministically and leaves the database unchanged", async () => {
  const sm = await SqlStateMachine.open();
  const twin = await SqlStateMachine.open();
  const r = sm.apply(0, entry(1, ALLOWED, { transaction: true }))!;
  twin.apply(0, entry(1, ALLOWED, { transaction: true }));
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.equal(sm.query([{ sql: "PRAGMA user_version" }])[0].values?.[0][0], 7);
  let idx = 1;
  for (const [sql, why] of REFUSED) {
    const user = () =>
      sm.query([{ sql: "SELECT name, sql FROM sqlite_master ORDER BY name" }, { sql: "SELECT * FROM t" }]);
    const before = JSON.stringify(user());
    const res = sm.apply(idx, entry(idx + 1, ["INSERT INTO t(temp) VALUES (9)", sql]))!;
    twin.apply(idx, entry(idx + 1, ["SELECT 1"])); // the twin gets a harmless command at the same index
    idx++;
    assert.match(res.error ?? "", why, sql);
    assert.deepEqual(res.results, [], "nothing of a refused command runs");
    assert.equal(JSON.stringify(user()), before, sql);
  }
  // The refused commands changed nothing but the store's own bookkeeping, like the harmless ones on the twin
  // (both recorded a result per request id: compare the user-visible state only).
  const tables = (m: SqlStateMachine) =>
    m.query([{ sql: "SELECT * FROM t" }, { sql: "SELECT sql FROM sqlite_master" }]);
  assert.deepEqual(tables(sm), tables(twin));
  sm.close();
  twin.close();
});

test("the read-only query path rejects writes and changes nothing", async () => {
  const sm = await SqlStateMachine.open();
  sm.apply(0, entry(1, ["CREATE TABLE t(x)", "INSERT INTO t VALUES (1), (2)"]));
  const before = sm.createSnapshot();
  const writes = [
    "INSERT INTO t VALUES (3)",
    "UPDATE t SET x = 0",
    "DELETE FROM t",
    "CREATE TABLE u(y)",
    "DROP TABLE t",
    "CREATE INDEX i ON t(x)",
    "PRAGMA user_version = 3",
    "INSERT INTO t VALUES (4) RETURNING x",
    "ANALYZE",
  ];
  const res = sm.query(writes.map((sql) => ({ sql })));
  res.forEach((r, i) => assert.match(r.error ?? "", /read-only query path refuses it/, writes[i]));
  const reads = sm.query([{ sql: "SELECT sum(x), datetime('now') >= '2024', typeof(random()) FROM t" }], {
    timings: true,
  });
  assert.deepEqual(reads[0].values, [[3, 1, "integer"]]);
  assert.equal(typeof reads[0].timeMs, "number");
  assert.throws(() => sm.query([{ sql: "ATTACH 'x' AS y" }]), ValidationError);
  assert.ok(sameBytes(sm.createSnapshot(), before), "reads changed the database");
  // Writes still work afterwards through the log (query_only was switched off again).
  assert.equal(sm.apply(1, entry(2, ["INSERT INTO t VALUES (3)"]))?.results[0].rowsAffected, 1);
  sm.close();
});
