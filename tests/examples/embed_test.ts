/** The embedding examples run to completion and print what they stored. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { IS_DENO, runExample } from "./helpers.ts";

test("examples/embed_node.ts creates, inserts with parameters, queries and stops", async () => {
  const r = await runExample("embed_node.ts", []);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^node 12D3KooW\S+ started, data in /m);
  assert.match(r.stdout, /inserted at log index \d+, last insert id 2/);
  // The transaction doubled both prices; the query's parameter kept both rows.
  assert.match(r.stdout, /name \| price\napple \| 1\npear \| 1\.5\nrows: 2\n/);
  assert.match(r.stdout, /stopped\n$/);
});

test("examples/embed_deno.ts runs under Deno", { skip: !IS_DENO && "Deno only" }, async () => {
  const r = await runExample("embed_deno.ts", []);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /started on Deno \d+\.\d+/);
  assert.match(r.stdout, /path \| n\n\/ \| 2\n\/docs \| 1\n/);
  assert.match(r.stdout, /database checksum at index \d+: [0-9a-f]{16}/);
  assert.match(r.stdout, /stopped\n$/);
});
