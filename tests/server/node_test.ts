import { test } from "node:test";
import assert from "node:assert/strict";
import { ChiselStore } from "../../src/server/node.ts";
import { NodeError } from "../../src/server/errors.ts";
import { waitFor } from "../net/wait.ts";
import { TestCluster } from "./cluster.ts";

test("embedded single node: writes, reads at every level, SQL errors as results, refused statements", async () => {
  const node = await ChiselStore.start({ memory: true, tickMs: 5, electionTicks: 4 });
  try {
    await node.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    const ins = await node.execute({ sql: "INSERT INTO t(v) VALUES (?)", params: ["a"] });
    assert.equal(ins.results[0].rowsAffected, 1);
    assert.equal(ins.results[0].lastInsertId, 1);
    for (const consistency of ["none", "weak", "linearizable", "strong"] as const) {
      const [r] = await node.query("SELECT v FROM t", { consistency });
      assert.deepEqual(r.values, [["a"]], consistency);
    }
    const bad = await node.execute("INSERT INTO nope VALUES (1)");
    assert.match(bad.results[0].error ?? "", /no such table/);
    await assert.rejects(
      node.execute("ATTACH DATABASE 'x.db' AS x"),
      (e) => e instanceof NodeError && e.code === "bad-request",
    );
    const [w] = await node.query("DELETE FROM t", { consistency: "weak" });
    assert.ok(w.error, "a write on the read path is refused");
    const [still] = await node.query("SELECT count(*) FROM t", { consistency: "none" });
    assert.deepEqual(still.values, [[1]]);
  } finally {
    await node.stop();
  }
});

test("3 nodes over libp2p: a follower forwards writes, every level reads them, restart catches up", async () => {
  const c = await TestCluster.create(3);
  try {
    const l = await c.leader();
    const f1 = (l + 1) % 3;
    const f2 = (l + 2) % 3;
    await c.node(f1).execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)");
    for (let i = 0; i < 20; i++) {
      await c.node(i % 2 === 0 ? f1 : l).execute({
        sql: "INSERT INTO kv VALUES (?, ?)",
        params: [`k${i}`, i],
      });
    }
    // Written through f1: f1 has applied its own write when execute returns (read-your-writes), and with
    // it everything decided before.
    await c.node(f1).execute({ sql: "INSERT INTO kv VALUES (?, ?)", params: ["own", 20] });
    const [own] = await c.node(f1).query("SELECT count(*) FROM kv", { consistency: "none" });
    assert.deepEqual(own.values, [[21]]);
    for (const consistency of ["weak", "linearizable", "strong"] as const) {
      const [r] = await c.node(f2).query("SELECT count(*) FROM kv", { consistency });
      assert.deepEqual(r.values, [[21]], consistency);
    }
    // A follower restarts from its files and catches up with writes made while it was down.
    await c.stopNode(f2);
    await c.node(l).execute({ sql: "INSERT INTO kv VALUES (?, ?)", params: ["late", 99] });
    await c.start(f2);
    await waitFor(
      async () => {
        const [r] = await c.node(f2).query("SELECT count(*) FROM kv", { consistency: "none" });
        return r.values?.[0]?.[0] === 22;
      },
      15_000,
      "the restarted follower catches up",
    );
    const sums = await Promise.all(c.live().map((n) => n.checksum()));
    await waitFor(
      async () => {
        const s = await Promise.all(c.live().map((n) => n.checksum()));
        return s.every((x) => x.sha256 === s[0].sha256 && x.index === s[0].index);
      },
      10_000,
      "equal checksums",
    );
    assert.ok(sums.length === 3);
  } finally {
    await c.stop();
  }
});

test("cluster status: every member reports itself over libp2p; a stopped member shows unreachable", async () => {
  const c = await TestCluster.create(3);
  try {
    const l = await c.leader();
    c.node(l).advertiseHttp("http://127.0.0.1:4001");
    const views = await c.node((l + 1) % 3).clusterStatus();
    assert.equal(views.length, 3);
    assert.ok(views.every((v) => v.reachable));
    const leaderView = views.find((v) => v.leader)!;
    assert.equal(leaderView.peerId, c.nodes[l].peerId);
    assert.equal(leaderView.httpUrl, "http://127.0.0.1:4001");
    await waitFor(
      async () => (await c.node(l).clusterStatus()).every((v) => (v.connected?.length ?? 0) === 2),
      10_000,
      "full mesh",
    );
    for (const n of c.live()) {
      assert.deepEqual(n.status().configMismatches, [], "the same member set everywhere");
    }
    const down = (l + 2) % 3;
    const others = (i: number) => c.nodes.filter((_, j) => j !== i).map((n) => n.peerId).sort();
    assert.deepEqual([...c.node(l).connectedPeers()].sort(), others(l));
    await c.stopNode(down);
    const after = await c.node(l).clusterStatus(500);
    assert.equal(after.find((v) => v.peerId === c.nodes[down].peerId)?.reachable, false);
    await waitFor(() => c.node(l).connectedPeers().length === 1, 10_000, "the stopped member's session gone");
    assert.deepEqual(c.node(l).connectedPeers(), others(l).filter((p) => p !== c.nodes[down].peerId));
    assert.deepEqual(c.node(l).status().connected, c.node(l).connectedPeers());
  } finally {
    await c.stop();
  }
});

test("ChiselStore.start({ http }) serves the HTTP API and stop() closes it", async () => {
  const node = await ChiselStore.start({ memory: true, tickMs: 5, electionTicks: 4, http: "127.0.0.1:0" });
  let url: string | undefined;
  try {
    url = node.status().httpUrl;
    assert.ok(url?.startsWith("http://127.0.0.1:"));
    await waitFor(() => node.isLeader(), 5_000, "leader");
    const res = await fetch(`${url}/db/execute`, {
      method: "POST",
      body: JSON.stringify(["CREATE TABLE t(a)"]),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await node.stop();
  }
  await assert.rejects(fetch(`${url}/status`));
});

test("execute/query call shapes: (sql, params, options) and (statements, options)", async () => {
  const node = await ChiselStore.start({ memory: true, tickMs: 5, electionTicks: 4 });
  try {
    await node.execute("CREATE TABLE t(a INTEGER, b TEXT)");
    await node.execute("INSERT INTO t(a, b) VALUES (?, ?)", [1, "x"]);
    await node.execute("INSERT INTO t(a, b) VALUES (:a, :b)", { a: 2, b: "y" });
    const tx = await node.execute(["INSERT INTO t(a) VALUES (3)", "INSERT INTO nope VALUES (1)"], {
      transaction: true,
    });
    assert.ok(tx.rolledBack);
    const [r] = await node.query("SELECT a, b FROM t WHERE a >= ? ORDER BY a", [1], {
      consistency: "linearizable",
    });
    assert.deepEqual(r.values, [[1, "x"], [2, "y"]]);
    const [s] = await node.query("SELECT count(*) FROM t", { consistency: "strong" });
    assert.deepEqual(s.values, [[2]]);
  } finally {
    await node.stop();
  }
});
