/// <reference path="./rqlite_js.d.ts" />
/** rqlite-js, the npm rqlite client, talks to our API unmodified. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DataApiClient, StatusApiClient } from "rqlite-js";
import { withApi } from "./helpers.ts";

test("rqlite-js executes and queries against ChiselStore's HTTP API", async () => {
  await withApi(async ({ url, node }) => {
    const data = new DataApiClient(url);
    const created = await data.execute(
      "CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT, age INTEGER)",
    );
    assert.equal(created.hasError(), false);
    const ins = await data.execute([
      ["INSERT INTO foo(name, age) VALUES(?, ?)", "fiona", 20],
      ["INSERT INTO foo(name, age) VALUES(:name, :age)", { name: "declan", age: 25 }],
    ], { transaction: true, timings: true });
    assert.equal(ins.hasError(), false);
    const [first, second] = ins.getResults() as {
      getLastInsertId(): number | undefined;
      getRowsAffected(): number;
    }[];
    assert.deepEqual([first.getLastInsertId(), second.getLastInsertId()], [1, 2]);
    assert.equal(second.getRowsAffected(), 1);
    assert.ok(ins.getTime() > 0, "timings reach the client");

    for (const level of ["none", "weak", "linearizable", "strong"] as const) {
      const rows = await data.query("SELECT id, name, age FROM foo ORDER BY id", { level });
      assert.equal(rows.hasError(), false, level);
      assert.deepEqual(rows.toArray(), [{ id: 1, name: "fiona", age: 20 }, {
        id: 2,
        name: "declan",
        age: 25,
      }], level);
    }
    const param = await data.query([["SELECT name FROM foo WHERE age > ?", 21]]);
    assert.deepEqual(param.toArray(), [{ name: "declan" }]);

    const bad = await data.execute("INSERT INTO nope VALUES (1)");
    assert.equal(bad.hasError(), true);
    assert.match(bad.getFirstError()?.message ?? "", /no such table: nope/);

    const status = await new StatusApiClient(url).status();
    assert.equal(status.status, 200);
    assert.equal((status.body.store as { node_id: string }).node_id, node.peerId);
  });
});
