/** Three real nodes over libp2p, each with its HTTP API: the cluster seen and used through HTTP only. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpClient } from "../../src/client/http_client.ts";
import { type HttpApi, startHttpApi } from "../../src/server/http/mod.ts";
import { TestCluster } from "../server/cluster.ts";
import { waitFor } from "../net/wait.ts";
import { raw } from "./helpers.ts";

test("3 nodes: write via a follower's HTTP, read at every level from another, /nodes and /readyz", async () => {
  const c = await TestCluster.create(3);
  const apis: HttpApi[] = [];
  try {
    for (let i = 0; i < 3; i++) apis.push(await startHttpApi(c.node(i), { port: 0 }));
    const l = await c.leader();
    const f1 = (l + 1) % 3;
    const f2 = (l + 2) % 3;
    const writer = new HttpClient(apis[f1].url);
    const reader = new HttpClient(apis[f2].url);

    await writer.execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)");
    const w = await writer.execute(
      [{ sql: "INSERT INTO kv VALUES (?, ?)", params: ["a", 1] }, {
        sql: "INSERT INTO kv VALUES (:k, :v)",
        params: { k: "b", v: 2 },
      }],
      { transaction: true },
    );
    assert.deepEqual(w.results.map((r) => r.rowsAffected), [1, 1]);
    assert.ok(w.index >= 1);
    // Read-your-writes on the follower that took the write.
    const [own] = await writer.query("SELECT count(*) FROM kv", { consistency: "none" });
    assert.deepEqual(own.values, [[2]]);
    for (const consistency of ["weak", "linearizable", "strong"] as const) {
      const [r] = await reader.query("SELECT k, v FROM kv ORDER BY k", { consistency });
      assert.deepEqual(r.values, [["a", 1], ["b", 2]], consistency);
    }
    await waitFor(
      async () =>
        (await reader.query("SELECT count(*) FROM kv", { consistency: "none" }))[0].values?.[0]?.[0] === 2,
      10_000,
      "the other follower to apply the writes",
    );
    const mixed = await reader.request([
      { sql: "INSERT INTO kv VALUES (?, ?)", params: ["c", 3] },
      "SELECT sum(v) FROM kv",
    ]);
    assert.deepEqual(mixed[1].values, [[6]]);

    // /nodes from a follower: all three, the leader marked, each with its advertised API address.
    const nodes = await reader.nodes();
    assert.deepEqual(nodes.map((n) => n.id), c.nodes.map((n) => n.peerId).sort());
    assert.ok(nodes.every((n) => n.reachable && n.voter), JSON.stringify(nodes));
    assert.deepEqual(nodes.filter((n) => n.leader).map((n) => n.id), [c.nodes[l].peerId]);
    for (let i = 0; i < 3; i++) {
      assert.equal(nodes.find((n) => n.id === c.nodes[i].peerId)?.api_addr, apis[i].url);
    }
    const legacy = await raw(apis[f1].url, "GET", "/nodes");
    assert.equal(Object.keys(legacy.json).length, 3);
    assert.equal(legacy.json[c.nodes[l].peerId].leader, true);

    for (const api of apis) {
      await waitFor(async () => (await new HttpClient(api.url).ready()).ok, 10_000, `${api.url} ready`);
    }
    const st = await reader.status();
    const raft = (st.store as { raft: { state: string; leader_id: string } }).raft;
    assert.deepEqual([raft.state, raft.leader_id], ["Follower", c.nodes[l].peerId]);

    // A member down: /nodes still answers, marking it unreachable.
    await apis[f2].close();
    apis.splice(f2, 1, { url: "", close: () => Promise.resolve() });
    await c.stopNode(f2);
    const after = await writer.nodes();
    const down = after.find((n) => n.id === c.nodes[f2].peerId);
    assert.equal(down?.reachable, false);
    assert.ok(down?.error);
  } finally {
    for (const a of apis) await a.close();
    await c.stop();
  }
});
