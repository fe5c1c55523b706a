/**
 * Many more writes in flight through one node than the store's dedupe window (64): with request-id
 * acknowledgements (docs/store.md, "Acknowledgements") none is refused as too old and each applies once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../mod.ts";
import { waitFor } from "../net/wait.ts";
import { TestCluster } from "./cluster.ts";

const PER_NODE = 300;

test("300 concurrent executes through a follower and 300 through the leader all apply exactly once", async () => {
  const c = await TestCluster.create(3, { requestTimeoutMs: 60_000 });
  try {
    const l = await c.leader();
    const leader = c.node(l);
    const follower = c.node((l + 1) % 3);
    await leader.execute("CREATE TABLE t(node TEXT NOT NULL, i INTEGER NOT NULL)");
    const writes = [
      ...Array.from({ length: PER_NODE }, (_, i) => follower.execute("INSERT INTO t VALUES ('f', ?)", [i])),
      ...Array.from({ length: PER_NODE }, (_, i) => leader.execute("INSERT INTO t VALUES ('l', ?)", [i])),
    ];
    const results = await Promise.allSettled(writes);
    const failed = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    assert.deepEqual(failed, [], "every execute resolves");
    const errors = results.flatMap((r) => (r.status === "fulfilled" && r.value.error ? [r.value.error] : []));
    assert.deepEqual(errors.slice(0, 3), [], `no result carries an error (${errors.length} did)`);
    const [rows] = await leader.query(
      "SELECT node, i, count(*) FROM t GROUP BY node, i ORDER BY node, i",
      { consistency: "linearizable" },
    );
    const expected = [
      ...Array.from({ length: PER_NODE }, (_, i) => ["f", i, 1]),
      ...Array.from({ length: PER_NODE }, (_, i) => ["l", i, 1]),
    ];
    assert.deepEqual(rows.values, expected, "each row exists exactly once");
  } finally {
    await c.stop();
  }
});

test("writes held up at an isolated leader and overtaken by 100 newer ones still apply once", async () => {
  const cut = new Set<string>();
  const c = await TestCluster.create(3, {
    sendFilter: (m: Message<Uint8Array>) => !cut.has(m.to) && !cut.has(m.from),
    requestTimeoutMs: 60_000,
  });
  try {
    const l = await c.leader();
    const f = (l + 1) % 3;
    const follower = c.node(f);
    await c.node(l).execute("CREATE TABLE t(i INTEGER NOT NULL)");
    await waitFor(() => follower.status().appliedIdx >= c.node(l).status().appliedIdx, 10_000, "f caught up");
    cut.add(c.nodes[l].peerId); // the leader keeps client traffic but can no longer decide anything
    // The follower still forwards these to the old leader, where they wait.
    const early = Array.from({ length: 10 }, (_, i) => follower.execute("INSERT INTO t VALUES (?)", [i]));
    const others = [0, 1, 2].filter((i) => i !== l);
    await waitFor(
      () => others.some((i) => c.node(i).isLeader() && follower.leader === c.nodes[i].peerId),
      20_000,
      "a new leader that the follower knows",
    );
    // 100 newer request ids of the same node are decided first.
    const late = await Promise.all(
      Array.from({ length: 100 }, (_, i) => follower.execute("INSERT INTO t VALUES (?)", [100 + i])),
    );
    assert.deepEqual(late.flatMap((r) => (r.error ? [r.error] : [])), []);
    cut.clear(); // the old leader learns it lost; the follower retries the early ones at the new leader
    const results = await Promise.all(early);
    assert.deepEqual(results.flatMap((r) => (r.error ? [r.error] : [])), [], "the overtaken writes apply");
    const [rows] = await follower.query("SELECT i, count(*) FROM t GROUP BY i ORDER BY i", {
      consistency: "linearizable",
    });
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => i),
      ...Array.from({ length: 100 }, (_, i) => 100 + i),
    ]
      .map((i) => [i, 1]);
    assert.deepEqual(rows.values, expected, "each row exists exactly once");
  } finally {
    await c.stop();
  }
});
