/** Response shapes of every endpoint on one in-memory node, compared with rqlite's documented JSON. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { post, raw, withApi } from "./helpers.ts";

const SETUP = ["CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT, age INTEGER)"];

test("execute and query: rqlite shapes, positional and named parameters, GET and POST", async () => {
  await withApi(async ({ url }) => {
    const created = await post(url, "/db/execute", SETUP);
    assert.equal(created.status, 200);
    assert.match(created.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(created.json, { results: [{}] });
    const ins = await post(url, "/db/execute", [
      'INSERT INTO foo(name, age) VALUES("fiona", 20)',
      ["INSERT INTO foo(name, age) VALUES(?, ?)", "declan", 25],
      ["INSERT INTO foo(name, age) VALUES(:name, :age)", { name: "sinead", age: 30 }],
      ["UPDATE foo SET age = age + 1 WHERE age > ?", 21],
    ]);
    assert.deepEqual(ins.json, {
      results: [
        { last_insert_id: 1, rows_affected: 1 },
        { last_insert_id: 2, rows_affected: 1 },
        { last_insert_id: 3, rows_affected: 1 },
        { last_insert_id: 3, rows_affected: 2 },
      ],
    });
    const expected = {
      results: [{
        columns: ["id", "name", "age"],
        types: ["integer", "text", "integer"],
        values: [[1, "fiona", 20], [2, "declan", 26], [3, "sinead", 31]],
      }],
    };
    const get = await raw(url, "GET", `/db/query?q=${encodeURIComponent("SELECT * FROM foo ORDER BY id")}`);
    assert.deepEqual(get.json, expected);
    assert.deepEqual((await post(url, "/db/query", ["SELECT * FROM foo ORDER BY id"])).json, expected);
    const named = await post(url, "/db/query", [["SELECT name FROM foo WHERE age > :a AND id < :b", {
      a: 20,
      b: 3,
    }]]);
    assert.deepEqual(named.json.results[0].values, [["declan"]]);
    const empty = await post(url, "/db/query", [["SELECT id FROM foo WHERE name = ?", "nobody"]]);
    // No values when no rows; types are storage classes of the first non-null value, so "" here.
    assert.deepEqual(empty.json, { results: [{ columns: ["id"], types: [""] }] });
    const sqlErr = await post(url, "/db/execute", ["INSERT INTO nonsense VALUES (1)"]);
    assert.equal(sqlErr.status, 200, "SQL errors are per-statement results");
    assert.match(sqlErr.json.results[0].error, /no such table: nonsense/);
  });
});

test("associative, pretty, timings, raft_index and every consistency level", async () => {
  await withApi(async ({ url }) => {
    await post(url, "/db/execute", SETUP);
    const w = await post(url, "/db/execute?timings&raft_index", [[
      "INSERT INTO foo(name, age) VALUES(?, ?)",
      "fiona",
      20,
    ]]);
    assert.equal(typeof w.json.time, "number");
    assert.ok(w.json.time > 0);
    assert.ok(
      Number.isInteger(w.json.raft_index) && w.json.raft_index >= 1,
      `raft_index ${w.json.raft_index}`,
    );
    const assoc = await post(url, "/db/query?associative", ["SELECT * FROM foo"]);
    assert.deepEqual(assoc.json, {
      results: [{
        types: { id: "integer", name: "text", age: "integer" },
        rows: [{ id: 1, name: "fiona", age: 20 }],
      }],
    });
    const pretty = await raw(url, "GET", "/db/query?pretty&q=SELECT%201");
    assert.ok(pretty.text.includes('\n    "results": ['), pretty.text);
    assert.ok(!(await raw(url, "GET", "/db/query?q=SELECT%201")).text.includes("\n"));
    for (const level of ["none", "weak", "linearizable", "strong", "auto", "bogus"]) {
      const r = await post(url, `/db/query?level=${level}&timings`, ["SELECT name FROM foo"]);
      assert.equal(r.status, 200, level);
      assert.deepEqual(r.json.results[0].values, [["fiona"]], level);
      assert.equal(typeof r.json.time, "number", level);
    }
  });
});

test("/db/query never writes, at any level; /db/request runs mixed batches through the log", async () => {
  await withApi(async ({ url, node }) => {
    await post(url, "/db/execute", SETUP);
    for (const level of ["none", "weak", "linearizable", "strong"]) {
      const r = await post(url, `/db/query?level=${level}`, [
        ["INSERT INTO foo(name) VALUES(?)", "x"],
        "SELECT count(*) FROM foo",
      ]);
      assert.equal(r.status, 200, level);
      assert.ok(r.json.results[0].error, `${level}: the write is refused`);
      assert.deepEqual(r.json.results[1].values, [[0]], level);
    }
    const mixed = await post(url, "/db/request", [
      ["INSERT INTO foo(name, age) VALUES(?, ?)", "fiona", 20],
      ["SELECT * FROM foo"],
      ["SELECT * FROM bar"],
    ]);
    assert.deepEqual(mixed.json, {
      results: [
        { last_insert_id: 1, rows_affected: 1 },
        { columns: ["id", "name", "age"], types: ["integer", "text", "integer"], values: [[1, "fiona", 20]] },
        { error: "no such table: bar" },
      ],
    });
    const before = node.status().consensus.decidedIdx;
    const reads = await post(url, "/db/request?level=none&associative", [
      "WITH x AS (SELECT replace(name, 'f', 'F') AS n FROM foo) SELECT n FROM x",
    ]);
    assert.deepEqual(reads.json.results, [{ types: { n: "text" }, rows: [{ n: "Fiona" }] }]);
    assert.equal(node.status().consensus.decidedIdx, before, "a read-only batch does not use the log");
    const strong = await post(url, "/db/request?level=strong", ["SELECT count(*) FROM foo"]);
    assert.deepEqual(strong.json.results[0].values, [[1]]);
    assert.ok(node.status().consensus.decidedIdx > before, "level=strong goes through the log");
  });
});

test("transaction: an error rolls back the whole request; without it earlier statements stay", async () => {
  await withApi(async ({ url, client }) => {
    await post(url, "/db/execute", ["CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"]);
    const tx = await post(url, "/db/execute?transaction", [
      ["INSERT INTO t(v) VALUES(?)", "a"],
      ["INSERT INTO t(v) VALUES(?)", null],
      ["INSERT INTO t(v) VALUES(?)", "c"],
    ]);
    assert.equal(tx.status, 200);
    assert.match(JSON.stringify(tx.json.results), /NOT NULL constraint failed/);
    const [after] = await client.query("SELECT count(*) FROM t", { consistency: "strong" });
    assert.deepEqual(after.values, [[0]], "nothing of the failed transaction remains");
    const plain = await post(url, "/db/execute", [["INSERT INTO t(v) VALUES(?)", "a"], [
      "INSERT INTO t(v) VALUES(?)",
      null,
    ]]);
    assert.equal(plain.json.results[0].rows_affected, 1);
    assert.ok(plain.json.results[1].error);
    const [kept] = await client.query("SELECT v FROM t");
    assert.deepEqual(kept.values, [["a"]]);
    // rqlite-js sends transaction=true: any value of the flag counts.
    const viaValue = await post(url, "/db/execute?transaction=true", [
      ["INSERT INTO t(v) VALUES(?)", "b"],
      "INSERT INTO t(v) VALUES(NULL)",
    ]);
    assert.ok(viaValue.json.results.some((r: { error?: string }) => r.error));
    assert.deepEqual((await client.query("SELECT count(*) FROM t"))[0].values, [[1]]);
  });
});

test("values: BLOBs as base64 with type blob, bigints exact both ways, booleans as 1/0, reals", async () => {
  await withApi(async ({ url, client }) => {
    await post(url, "/db/execute", [
      "CREATE TABLE v(id INTEGER PRIMARY KEY, b BLOB, i INTEGER, r REAL, f INTEGER)",
    ]);
    // Written as text: a JS number literal would already have lost the last digit.
    const body =
      '[["INSERT INTO v(b, i, r, f) VALUES(?, ?, ?, ?)", [0, 1, 254, 255], 9007199254740993, 1.5, true],' +
      "[\"INSERT INTO v(b, i, r, f) VALUES(x'cafe', ?, ?, ?)\", -9223372036854775808, 0.1, false]]";
    const w = await raw(url, "POST", "/db/execute", body);
    assert.equal(w.status, 200, w.text);
    const q = await raw(
      url,
      "GET",
      `/db/query?q=${encodeURIComponent("SELECT b, i, r, f FROM v ORDER BY id")}`,
    );
    assert.ok(q.text.includes("9007199254740993"), q.text);
    assert.ok(q.text.includes("-9223372036854775808"), q.text);
    assert.deepEqual(q.json.results[0].types, ["blob", "integer", "real", "integer"]);
    assert.deepEqual(q.json.results[0].values, [
      ["AAH+/w==", 9007199254740993n, 1.5, 1],
      ["yv4=", -9223372036854775808n, 0.1, 0],
    ]);
    // The client turns them back into the node's values.
    await client.execute({
      sql: "INSERT INTO v(b, i) VALUES(?, ?)",
      params: [new Uint8Array([7, 8, 9]), 2n ** 60n],
    });
    const [r] = await client.query("SELECT b, i FROM v WHERE id = 3");
    assert.deepEqual(r.values, [[new Uint8Array([7, 8, 9]), 2n ** 60n]]);
    const [assoc] = await client.query("SELECT b, i FROM v WHERE id = 3", { associative: true });
    assert.deepEqual(assoc, r);
  });
});

test("/status, /nodes, /readyz and /metrics on a single node", async () => {
  await withApi(async ({ url, node, client }) => {
    const st = await client.status();
    const store = st.store as { node_id: string; raft: { state: string; commit_index: number } };
    assert.equal(store.node_id, node.peerId);
    assert.equal(store.raft.state, "Leader");
    assert.equal((st.http as { url: string }).url, url);
    const rt = st.runtime as { name: string; memory: Record<string, number> };
    assert.ok(["node", "deno"].includes(rt.name));
    assert.ok(rt.memory.rss > rt.memory.heap_used && rt.memory.heap_used > 0, JSON.stringify(rt.memory));
    assert.ok(rt.memory.heap_total >= rt.memory.heap_used && rt.memory.external >= rt.memory.array_buffers);
    assert.equal(node.status().httpUrl, url, "the API advertised its URL to the node");

    const legacy = await raw(url, "GET", "/nodes");
    assert.deepEqual(Object.keys(legacy.json), [node.peerId]);
    assert.equal(legacy.json[node.peerId].leader, true);
    assert.equal(legacy.json[node.peerId].api_addr, url);
    const nodes = await client.nodes();
    assert.equal(nodes.length, 1);
    assert.deepEqual([nodes[0].id, nodes[0].reachable, nodes[0].leader, nodes[0].voter], [
      node.peerId,
      true,
      true,
      true,
    ]);

    const ready = await client.ready();
    assert.deepEqual([ready.ok, ready.text], [true, "[+]node ok\n[+]leader ok\n[+]store ok"]);
    assert.equal((await raw(url, "GET", "/readyz?noleader")).text, "[+]node ok");

    await client.execute("CREATE TABLE m(x)");
    await raw(url, "GET", "/nope");
    const m = await raw(url, "GET", "/metrics");
    assert.match(m.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(
      m.text,
      /^chiselstore_http_requests_total\{endpoint="\/db\/execute",method="POST",code="200"\} 1$/m,
    );
    assert.match(m.text, /^chiselstore_http_requests_total\{endpoint="other",method="GET",code="404"\} 1$/m);
    assert.match(m.text, /^chiselstore_is_leader 1$/m);
    assert.match(m.text, /^chiselstore_members 1$/m);
    const decided = Number(/^chiselstore_decided_index (\d+)$/m.exec(m.text)?.[1]);
    assert.ok(decided >= 1);
    assert.match(
      m.text,
      /^chiselstore_http_request_duration_seconds_bucket\{endpoint="\/db\/execute",le="\+Inf"\} 1$/m,
    );
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of m.text.trim().split("\n")) {
      if (!line.startsWith("#")) assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/, line);
    }
  });
});
