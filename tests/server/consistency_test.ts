/**
 * Each consistency level's promise, on real nodes over libp2p. A follower cut off from the leader's
 * consensus traffic (its client traffic still flows) shows the difference: `none` reads its own stale
 * state, while `weak`, `linearizable` and `strong` are answered by the leader and see the latest write.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message } from "../../mod.ts";
import { waitFor } from "../net/wait.ts";
import { TestCluster } from "./cluster.ts";

test("a stale read is possible under none and impossible under linearizable", async () => {
  // Every node drops consensus messages addressed to whichever peer is in `cut`.
  const cut = new Set<string>();
  const c = await TestCluster.create(3, { sendFilter: (m: Message<Uint8Array>) => !cut.has(m.to) });
  try {
    const l = await c.leader();
    const f = (l + 1) % 3;
    const leader = c.node(l);
    const follower = c.node(f);
    await leader.execute("CREATE TABLE reg(id INTEGER PRIMARY KEY, v INTEGER)");
    await leader.execute("INSERT INTO reg VALUES (1, 1)");
    await waitFor(
      async () => {
        const [r] = await follower.query("SELECT v FROM reg", { consistency: "none" });
        return r.values?.[0]?.[0] === 1;
      },
      10_000,
      "the follower applied v=1",
    );
    cut.add(c.nodes[f].peerId);
    await leader.execute("UPDATE reg SET v = 2 WHERE id = 1"); // decided by the leader and the other follower
    const [stale] = await follower.query("SELECT v FROM reg", { consistency: "none" });
    assert.deepEqual(stale.values, [[1]], "none: the cut-off follower serves its own, stale state");
    for (const consistency of ["weak", "linearizable", "strong"] as const) {
      const [r] = await follower.query("SELECT v FROM reg", { consistency });
      assert.deepEqual(r.values, [[2]], `${consistency}: answered by the leader, sees the latest write`);
    }
    const [atLeader] = await leader.query("SELECT v FROM reg", { consistency: "linearizable" });
    assert.deepEqual(atLeader.values, [[2]]);
    cut.clear();
    await waitFor(
      async () => {
        const [r] = await follower.query("SELECT v FROM reg", { consistency: "none" });
        return r.values?.[0]?.[0] === 2;
      },
      15_000,
      "the follower catches up once the cut heals",
    );
  } finally {
    await c.stop();
  }
});

test("an isolated old leader cannot serve a linearizable read; the majority elects and serves", async () => {
  const cut = new Set<string>();
  const c = await TestCluster.create(3, {
    sendFilter: (m: Message<Uint8Array>) => !cut.has(m.to) && !cut.has(m.from),
    requestTimeoutMs: 1500,
  });
  try {
    const l = await c.leader();
    await c.node(l).execute("CREATE TABLE reg(id INTEGER PRIMARY KEY, v INTEGER)");
    await c.node(l).execute("INSERT INTO reg VALUES (1, 1)");
    cut.add(c.nodes[l].peerId); // the old leader neither sends nor receives consensus traffic
    const others = [0, 1, 2].filter((i) => i !== l);
    await waitFor(() => others.some((i) => c.node(i).isLeader()), 15_000, "a new leader among the majority");
    const nl = others.find((i) => c.node(i).isLeader())!;
    await c.node(nl).execute("UPDATE reg SET v = 2 WHERE id = 1");
    // The old leader may still believe it leads; it must not answer from its stale state.
    await assert.rejects(c.node(l).query("SELECT v FROM reg", { consistency: "linearizable" }));
    const [fresh] = await c.node(nl).query("SELECT v FROM reg", { consistency: "linearizable" });
    assert.deepEqual(fresh.values, [[2]]);
  } finally {
    await c.stop();
  }
});
