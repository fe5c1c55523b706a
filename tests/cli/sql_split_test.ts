import { test } from "node:test";
import assert from "node:assert/strict";
import { splitStatements } from "../../src/cli/sql_split.ts";

const cases: [string, string[], string][] = [
  ["SELECT 1;", ["SELECT 1"], ""],
  ["SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"], ""],
  ["SELECT 1", [], "SELECT 1"],
  ["INSERT INTO t VALUES ('a;b');", ["INSERT INTO t VALUES ('a;b')"], ""],
  ["INSERT INTO t VALUES ('it''s; ok');", ["INSERT INTO t VALUES ('it''s; ok')"], ""],
  ['SELECT "a;b" FROM t;', ['SELECT "a;b" FROM t'], ""],
  ["SELECT `x;y`, [p;q] FROM t;", ["SELECT `x;y`, [p;q] FROM t"], ""],
  ["SELECT 1 -- no; end here\n;", ["SELECT 1 -- no; end here"], ""],
  ["SELECT /* ; */ 1;", ["SELECT /* ; */ 1"], ""],
  ["INSERT INTO t VALUES ('open;", [], "INSERT INTO t VALUES ('open;"],
  ["SELECT /* open ;", [], "SELECT /* open ;"],
  [";;  ;", [], ""],
  ["-- only a comment;\n", [], ""],
  ["SELECT 1;\n  -- trailing comment\n", ["SELECT 1"], ""],
  ["SELECT 1;\nSELECT", ["SELECT 1"], "\nSELECT"],
  [
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); DELETE FROM v; END; SELECT 2;",
    ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); DELETE FROM v; END", "SELECT 2"],
    "",
  ],
  [
    "create temp trigger tr after insert on t begin select 1;",
    [],
    "create temp trigger tr after insert on t begin select 1;",
  ],
  ["SELECT 'end'; SELECT backend;", ["SELECT 'end'", "SELECT backend"], ""],
];

for (const [input, statements, rest] of cases) {
  test(`splitStatements ${JSON.stringify(input)}`, () => {
    assert.deepEqual(splitStatements(input), { statements, rest });
  });
}

test("splitStatements: feeding lines one by one gives the same statements as the whole text", () => {
  const text = "CREATE TABLE t(a);\nINSERT INTO t VALUES ('x\ny;');\nSELECT a\n  FROM t;\n";
  const whole = splitStatements(text).statements;
  const got: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    const r = splitStatements(`${pending}${line}\n`);
    got.push(...r.statements);
    pending = r.rest;
  }
  assert.deepEqual(got, whole);
  assert.equal(whole.length, 3);
  assert.equal(whole[1], "INSERT INTO t VALUES ('x\ny;')");
});
