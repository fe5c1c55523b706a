import { test } from "node:test";
import assert from "node:assert/strict";
import { SqlStateMachine, StoreError } from "../../src/store/mod.ts";
import { entry, sameBytes, show } from "./helpers.ts";

const rows = (sm: SqlStateMachine, sql = "SELECT * FROM t ORDER BY 1") => show(sm.query([{ sql }])[0].values);

async function withTable(fn: (sm: SqlStateMachine) => void | Promise<void>, opts = {}) {
  const sm = await SqlStateMachine.open(opts);
  try {
    sm.apply(
      0,
      entry(1, ["CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)", "INSERT INTO t VALUES (1, 'a')"]),
    );
    await fn(sm);
  } finally {
    sm.close();
  }
}

test("results: read shape, write shape, parameters, exact integers", () =>
  withTable((sm) => {
    const r = sm.apply(
      1,
      entry(2, [
        { sql: "INSERT INTO t(v) VALUES (:v)", params: { v: "b" } },
        { sql: "INSERT INTO t(id, v) VALUES (?, ?)", params: [2 ** 40, "c"] },
        {
          sql: "SELECT id, typeof(id), v, ? AS big, 1.5 AS f, NULL AS n FROM t WHERE id > 1",
          params: [9223372036854775807n],
        },
        "CREATE TABLE u(x)",
        "UPDATE t SET v = v || '!' WHERE id < 0",
      ]),
    )!;
    assert.deepEqual(r.results, [
      { rowsAffected: 1, lastInsertId: 2 },
      { rowsAffected: 1, lastInsertId: 2 ** 40 },
      {
        columns: ["id", "typeof(id)", "v", "big", "f", "n"],
        types: ["integer", "text", "text", "integer", "real", ""],
        values: [[2, "integer", "b", 9223372036854775807n, 1.5, null], [
          2 ** 40,
          "integer",
          "c",
          9223372036854775807n,
          1.5,
          null,
        ]],
      },
      { rowsAffected: 0 },
      { rowsAffected: 0 },
    ]);
    assert.equal(sm.appliedIndex, 2);
  }));

test("a failing statement in a batch is a result; the others take effect", () =>
  withTable((sm) => {
    const r = sm.apply(
      1,
      entry(2, [
        "INSERT INTO t VALUES (2, 'b')",
        "INSERT INTO t VALUES (3, 'a')",
        "INSERT INTO t VALUES (4, 'd')",
      ]),
    )!;
    assert.deepEqual(r.results.map((x) => x.error ?? "ok"), ["ok", "UNIQUE constraint failed: t.v", "ok"]);
    assert.equal(r.rolledBack, undefined);
    assert.equal(rows(sm), show([[1, "a"], [2, "b"], [4, "d"]]));
  }));

test("a transaction with a failing statement rolls back entirely, including multi-row partial effects", () =>
  withTable((sm) => {
    const before = rows(sm);
    const r = sm.apply(
      1,
      entry(2, [
        "INSERT INTO t VALUES (2, 'b')",
        "CREATE TABLE side(x)",
        "INSERT INTO t(v) VALUES ('c'), ('d'), ('a')", // third row conflicts after two went in
        "INSERT INTO t VALUES (9, 'never')",
      ], { transaction: true }),
    )!;
    assert.equal(r.rolledBack, true);
    assert.equal(r.results.length, 3, "execution stops at the error");
    assert.equal(r.results[2].error, "UNIQUE constraint failed: t.v");
    assert.equal(rows(sm), before);
    assert.equal(rows(sm, "SELECT name FROM sqlite_master WHERE name = 'side'"), "[]");
    assert.equal(sm.appliedIndex, 2);
    // The next command applies normally.
    assert.equal(sm.apply(2, entry(3, ["INSERT INTO t VALUES (2, 'b')"]))?.results[0].rowsAffected, 1);
  }));

test("ON CONFLICT ROLLBACK inside a batch undoes the whole command, deterministically", () =>
  withTable((sm) => {
    sm.apply(1, entry(2, ["CREATE TABLE w(x UNIQUE ON CONFLICT ROLLBACK)"]));
    const r = sm.apply(
      2,
      entry(3, [
        "INSERT INTO t VALUES (5, 'e')",
        "INSERT INTO w VALUES (1), (1)",
        "INSERT INTO t VALUES (6, 'f')",
      ]),
    )!;
    assert.equal(r.rolledBack, true);
    assert.equal(r.results.length, 2);
    assert.equal(rows(sm), show([[1, "a"]]));
    assert.equal(rows(sm, "SELECT count(*) FROM w"), "[[0]]");
    assert.equal(sm.appliedIndex, 3);
  }));

test("a deferred foreign key violation fails at COMMIT and rolls the command back", () =>
  withTable((sm) => {
    sm.apply(1, entry(2, ["CREATE TABLE child(p REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)"]));
    const r = sm.apply(2, entry(3, ["INSERT INTO t VALUES (7, 'g')", "INSERT INTO child VALUES (99)"]))!;
    assert.equal(r.rolledBack, true);
    assert.match(r.error ?? "", /COMMIT failed.*FOREIGN KEY/);
    assert.equal(rows(sm), show([[1, "a"]]));
    assert.equal(sm.appliedIndex, 3);
    // The retry sees the same answer.
    assert.equal(sm.apply(3, entry(3, ["SELECT 1"]))?.error, r.error);
  }, { foreignKeys: true }));

test("SQL errors and refusals are identical results on two replicas", async () => {
  const a = await SqlStateMachine.open();
  const b = await SqlStateMachine.open();
  const log = [
    entry(1, [
      "CREATE TABLE t(x CHECK (x > 0))",
      "INSERT INTO t VALUES (0)",
      "SELEC 1",
      "SELECT * FROM missing",
    ]),
    entry(2, ["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES ('x') RETURNING x / 0"], {
      transaction: true,
    }),
    new Uint8Array([1, 2, 3]), // garbage in the log must not stop or diverge the replicas
    entry(3, ["ATTACH 'f' AS f"]),
    entry(4, [{ sql: "SELECT randomblob(2e9)" }]),
  ];
  const ra = show(log.map((e, i) => a.apply(i, e)));
  const rb = show(log.map((e, i) => b.apply(i, e)));
  assert.equal(ra, rb);
  assert.match(ra, /CHECK constraint failed/);
  assert.match(ra, /syntax error/);
  assert.match(ra, /undecodable command/);
  assert.match(ra, /string or blob too big/);
  assert.ok(sameBytes(a.createSnapshot(), b.createSnapshot()));
  a.close();
  b.close();
});

test("duplicates are applied once and a retry returns the first result", () =>
  withTable((sm) => {
    const first = sm.apply(
      1,
      entry(2, ["INSERT INTO t(v) VALUES (hex(randomblob(4)))", "SELECT v FROM t WHERE id = 2"]),
    )!;
    const retry = sm.apply(
      2,
      entry(2, ["INSERT INTO t(v) VALUES (hex(randomblob(4)))", "SELECT v FROM t WHERE id = 2"], {
        seed: 5n,
      }),
    )!;
    assert.equal(retry.duplicate, true);
    assert.equal(show({ ...retry, duplicate: undefined }), show(first));
    assert.equal(retry.index, 1);
    assert.equal(rows(sm, "SELECT count(*) FROM t"), "[[2]]");
    // The same seq from another client is a different request.
    assert.equal(
      sm.apply(3, entry(2, ["INSERT INTO t(v) VALUES ('other')"], { client: "client-2" }))?.duplicate,
      undefined,
    );
    assert.equal(rows(sm, "SELECT count(*) FROM t"), "[[3]]");
  }));

test("retention: the latest N results per client are kept; older retries are refused, not re-applied", () =>
  withTable((sm) => {
    let idx = 1;
    for (let seq = 2; seq <= 12; seq++) sm.apply(idx++, entry(seq, [`INSERT INTO t(v) VALUES ('s${seq}')`]));
    const count = rows(sm, "SELECT count(*) FROM t");
    assert.equal(sm.apply(idx++, entry(12, ["INSERT INTO t(v) VALUES ('s12')"]))?.duplicate, true); // newest
    assert.equal(sm.apply(idx++, entry(9, ["INSERT INTO t(v) VALUES ('s9')"]))?.duplicate, true); // 12 - 4 < 9
    const old = sm.apply(idx++, entry(8, ["INSERT INTO t(v) VALUES ('s8')"]))!;
    assert.match(old.error ?? "", /older than the dedupe window/);
    assert.equal(rows(sm, "SELECT count(*) FROM t"), count);
  }, { dedupeWindow: 4 }));

test("idle clients expire by command timestamps on a deterministic schedule", () =>
  withTable((sm) => {
    // Expiry runs at indexes that are multiples of 1024; client-1 (seq 1 at index 0) is idle from then on.
    const ts = Date.UTC(2030, 0, 1);
    const filler = (until: number, at: number) => {
      while (sm.appliedIndex < until) {
        sm.apply(sm.appliedIndex, entry(sm.appliedIndex, ["SELECT 1"], { client: "busy", ts: at }));
      }
    };
    filler(1000, ts);
    // Not yet expired: still a duplicate.
    assert.equal(
      sm.apply(sm.appliedIndex, entry(1, ["SELECT 1"], { client: "client-1", ts }))?.duplicate,
      true,
    );
    filler(1025, ts + 20_000); // index 1024 expires everyone idle for more than the ttl (5 s)
    const again = sm.apply(
      sm.appliedIndex,
      entry(1, ["INSERT INTO t(v) VALUES ('re-applied')"], { client: "client-1", ts: ts + 20_000 }),
    )!;
    assert.equal(again.duplicate, undefined, "the expired client's request id is forgotten");
    assert.equal(again.results[0].rowsAffected, 1);
  }, { clientTtlMs: 5_000 }));

test("apply is exactly-once by index: replays below appliedIndex are ignored, gaps throw", () =>
  withTable((sm) => {
    assert.equal(sm.apply(0, entry(1, ["INSERT INTO t VALUES (2, 'b')"])), null);
    assert.throws(() => sm.apply(5, entry(9, ["SELECT 1"])), StoreError);
    assert.equal(rows(sm), show([[1, "a"]]));
  }));

test("integral doubles beyond 2^53 bind as REAL instead of failing the apply", () =>
  withTable((sm) => {
    const r = sm.apply(
      1,
      entry(2, [{
        sql: "SELECT typeof(?), typeof(?), ?",
        params: [-9223372036854778000, 2 ** 53 - 1, 1e300],
      }]),
    )!;
    assert.deepEqual(r.results[0].values, [["real", "integer", 1e300]]);
  }));
