import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTable } from "../../src/cli/table.ts";

test("formatTable: header, rules, numbers right-aligned, text left-aligned, NULL", () => {
  assert.deepEqual(formatTable(["id", "name"], [[1, "fiona"], [22, null]]), [
    "+----+-------+",
    "| id | name  |",
    "+----+-------+",
    "|  1 | fiona |",
    "| 22 | NULL  |",
    "+----+-------+",
  ]);
});

test("formatTable: no rows prints the header only; no columns prints nothing", () => {
  assert.deepEqual(formatTable(["a"], []), ["+---+", "| a |", "+---+"]);
  assert.deepEqual(formatTable([], []), []);
});

test("formatTable: control characters are escaped so a row stays one line; widths count code points", () => {
  const lines = formatTable(["v"], [["a\nb\tc"], ["é€"], [[1, 2]]]);
  assert.deepEqual(lines, [
    "+---------+",
    "| v       |",
    "+---------+",
    "| a\\nb\\tc |",
    "| é€      |",
    "| [1,2]   |",
    "+---------+",
  ]);
  for (const l of lines) assert.equal([...l].length, [...lines[0]].length);
});

test("formatTable: short rows are padded with empty cells", () => {
  assert.deepEqual(formatTable(["a", "b"], [[1]]), [
    "+---+---+",
    "| a | b |",
    "+---+---+",
    "| 1 |   |",
    "+---+---+",
  ]);
});

test("formatTable: BLOBs as X'hex', bigints exact and right-aligned", () => {
  assert.deepEqual(formatTable(["b", "n"], [[new Uint8Array([0, 171, 255]), 9007199254740993n]]), [
    "+-----------+------------------+",
    "| b         | n                |",
    "+-----------+------------------+",
    "| X'00ABFF' | 9007199254740993 |",
    "+-----------+------------------+",
  ]);
});
