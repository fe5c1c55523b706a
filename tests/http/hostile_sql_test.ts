/**
 * Hostile SQL: syntax errors are per-statement errors (HTTP 200, as in rqlite) that write nothing; statements
 * that reach outside the replicated database or would make replicas diverge (ATTACH, VACUUM [INTO],
 * load_extension, per-node PRAGMAs, ...) are refused with 400 `bad-request` wherever they hide — alone, after
 * a valid statement, in a transaction, in a multi-statement string, in a trigger — on every data endpoint and
 * level, and nothing of the request is applied. No file appears on disk.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { raw, withApi } from "./helpers.ts";
import { assertServing, assertUnchanged, content, state } from "./hostile.ts";

const VALID = "INSERT INTO t VALUES (1, 2)";

/** [statement, why it is refused]; `dir` is where a file-touching statement would write. */
function refused(dir: string, rel: string): [string, RegExp][] {
  return [
    [`ATTACH DATABASE '${dir}/a.db' AS a`, /ATTACH is not allowed/],
    [`attach '${rel}' as a`, /ATTACH is not allowed/],
    ["DETACH DATABASE main", /DETACH is not allowed/],
    ["VACUUM", /VACUUM is not allowed/],
    [`VACUUM INTO '${dir}/v.db'`, /VACUUM is not allowed/],
    [`/* hidden */ vacuum main into '${rel}'`, /VACUUM is not allowed/],
    [`SELECT load_extension('${dir}/x.so')`, /load_extension\(\) is not allowed/],
    [`SELECT "load_extension"('${dir}/x.so', 'init')`, /load_extension\(\) is not allowed/],
    ["PRAGMA writable_schema=1", /PRAGMA writable_schema = \.\.\. is not allowed/],
    ["PRAGMA main.writable_schema = ON", /PRAGMA writable_schema = \.\.\. is not allowed/],
    ["PRAGMA journal_mode=WAL", /PRAGMA journal_mode = \.\.\. is not allowed/],
    ["PRAGMA journal_mode = OFF", /PRAGMA journal_mode = \.\.\. is not allowed/],
    ["PRAGMA journal_mode", /PRAGMA journal_mode is not allowed: it reads per-node/],
    [`PRAGMA temp_store_directory = '${dir}'`, /PRAGMA temp_store_directory = \.\.\. is not allowed/],
    ["PRAGMA synchronous=OFF", /PRAGMA synchronous = \.\.\. is not allowed/],
    ["PRAGMA cache_size(1)", /PRAGMA cache_size = \.\.\. is not allowed/],
    ["PRAGMA locking_mode=EXCLUSIVE", /PRAGMA locking_mode = \.\.\. is not allowed/],
    ["PRAGMA schema_version = 99", /PRAGMA schema_version = \.\.\. is not allowed/],
    ["PRAGMA database_list", /PRAGMA database_list is not allowed/],
    ["PRAGMA data_version", /PRAGMA data_version is not allowed/],
    ["PRAGMA wal_checkpoint", /PRAGMA wal_checkpoint is not allowed/],
    ["PRAGMA optimize", /PRAGMA optimize is not allowed/],
    ["PRAGMA temp.table_info(t)", /PRAGMA may only address the main schema/],
    ["SELECT * FROM pragma_database_list", /pragma_database_list is not allowed/],
    ["SELECT * FROM 'pragma_database_list'", /pragma_database_list is not allowed/],
    ["SELECT file FROM main.[pragma_database_list]", /pragma_database_list is not allowed/],
    ["SELECT total_changes()", /total_changes\(\) counts per connection/],
    ["SELECT [total_changes]()", /total_changes\(\) counts per connection/],
    ["SELECT fts3_tokenizer('simple')", /fts3_tokenizer\(\) is not allowed/],
    ["CREATE TEMP TABLE x(a)", /TEMP objects are not allowed/],
    ["SELECT * FROM temp.sqlite_master", /the temp schema is not allowed/],
    ["BEGIN", /BEGIN is not allowed/],
    ["COMMIT", /COMMIT is not allowed/],
    ["SAVEPOINT s", /SAVEPOINT is not allowed/],
    ["CREATE TABLE __chisel_x(a)", /reserved by the store/],
    [
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT load_extension('x'); END",
      /load_extension\(\) is not allowed/,
    ],
    ["EXPLAIN ATTACH 'x.db' AS x", /ATTACH is not allowed/],
  ];
}

/** Ways to smuggle statement `s` past a check, as [path suffix, body]. */
function disguises(s: string): [string, unknown[]][] {
  return [
    ["", [s]],
    ["", [VALID, s]],
    ["?transaction", [VALID, s]],
    ["?transaction", [[`INSERT INTO t VALUES (?, ?)`, 3, 4], s, VALID]],
    ["", [`${VALID}; ${s}`]],
    ["", [`${VALID}; -- comment\n${s};`]],
  ];
}

test("refused statements: 400 bad-request on every endpoint and level, nothing of the request applied", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chisel-hostile-"));
  const rel = `chisel-hostile-${process.pid}.db`;
  try {
    await withApi(async ({ url, client }) => {
      await client.execute("CREATE TABLE t(a, b)");
      await client.execute(VALID);
      const before = await state(url);
      for (const [s, why] of refused(dir, rel)) {
        for (const [suffix, body] of disguises(s)) {
          for (const path of ["/db/execute", "/db/request", "/db/request?level=strong"]) {
            const full = path + (path.includes("?") ? suffix.replace("?", "&") : suffix);
            const r = await raw(url, "POST", full, JSON.stringify(body));
            assert.equal(r.status, 400, `${full} ${JSON.stringify(body)}: ${r.text}`);
            assert.equal(r.json.code, "bad-request", full);
            assert.match(r.json.error, why, `${full} ${JSON.stringify(body)}`);
          }
        }
        // Reads too, at every level: refused, not answered.
        for (const level of ["none", "weak", "linearizable", "strong"]) {
          const r = await raw(url, "POST", `/db/query?level=${level}`, JSON.stringify(["SELECT 1", s]));
          assert.equal(r.status, 400, `query level=${level} ${s}: ${r.text}`);
          assert.match(r.json.error, why, `query level=${level} ${s}`);
        }
        const g = await raw(url, "GET", `/db/query?q=${encodeURIComponent(s)}`);
        assert.equal(g.status, 400, `GET ${s}`);
      }
      await assertUnchanged(url, before, "after the refused statements");
      await assertServing(url, "after the refused statements");
    });
    assert.deepEqual(readdirSync(dir), [], "no file was created");
    assert.equal(existsSync(rel), false, "no file was created in the working directory");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SQL errors are per-statement results (200) that write nothing; with transaction nothing at all", async () => {
  await withApi(async ({ url, client }) => {
    await client.execute("CREATE TABLE t(a, b)");
    await client.execute(VALID);
    const before = await content(url);
    const errors: [string, RegExp][] = [
      ["SELEC 1", /near "SELEC": syntax error/],
      ["INSERT INTO t VALUES (1, 2", /incomplete input/],
      ["INSERT INTO nope VALUES (1)", /no such table: nope/],
      ["INSERT INTO t VALUES (1)", /table t has 2 columns but 1 values were supplied/],
      ["SELECT readfile('/etc/passwd')", /no such function: readfile/],
      ["SELECT writefile('/tmp/chisel-hostile-w', 'x')", /no such function: writefile/],
      ["SELECT edit('x')", /no such function: edit/],
      ["SELEC; INSERT INTO t VALUES (char(0), x'00')", /near "SELEC": syntax error/],
    ];
    for (const [sql, message] of errors) {
      for (const path of ["/db/execute", "/db/request"]) {
        const r = await raw(url, "POST", path, JSON.stringify([sql]));
        assert.equal(r.status, 200, `${path} ${sql}: ${r.text}`);
        assert.match(r.json.results.at(-1).error, message, `${path} ${sql}`);
      }
      // In a transaction the valid statements before it are rolled back.
      const tx = await raw(
        url,
        "POST",
        "/db/execute?transaction",
        JSON.stringify([VALID, `${VALID}; ${VALID}`, sql]),
      );
      assert.equal(tx.status, 200);
      assert.match(tx.json.results.at(-1).error, message, `transaction ${sql}`);
    }
    const q = await raw(url, "GET", "/db/query?q=" + encodeURIComponent("SELEC 1"));
    assert.match(q.json.results[0].error, /syntax error/);
    assert.deepEqual(await content(url), before, "nothing written");
    assert.equal(existsSync("/tmp/chisel-hostile-w"), false);
    // Without transaction the statements around an error run, as in rqlite (documented).
    const mixed = await raw(url, "POST", "/db/execute", JSON.stringify([VALID, "SELEC 1", VALID]));
    assert.deepEqual(mixed.json.results.map((r: { error?: string }) => r.error !== undefined), [
      false,
      true,
      false,
    ]);
    assert.equal((await state(url)).rows, 3);
  });
});
