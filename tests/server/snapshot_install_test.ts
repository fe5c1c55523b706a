/**
 * Snapshots over the network: a follower that fell behind the leader's trimmed log, and a brand-new empty
 * node, both receive the database as a snapshot — larger than one frame, so it travels in fragments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "../net/wait.ts";
import { TestCluster } from "./cluster.ts";

async function sameState(c: TestCluster): Promise<void> {
  await waitFor(
    async () => {
      const s = await Promise.all(c.live().map((n) => n.checksum()));
      return s.every((x) => x.sha256 === s[0].sha256 && x.index === s[0].index);
    },
    30_000,
    "equal checksums on every node",
  );
}

test("a lagging follower and an empty new node catch up through a fragmented snapshot", async () => {
  const c = await TestCluster.create(3, { snapshotEntries: 20 });
  try {
    const l = await c.leader();
    const f = (l + 1) % 3;
    await c.node(l).execute("CREATE TABLE b(id INTEGER PRIMARY KEY, data BLOB)");
    await c.stopNode(f);
    // ~2.5 MB of data while f is down: the leader snapshots and trims its log past f.
    for (let i = 0; i < 40; i++) await c.node(l).execute("INSERT INTO b(data) VALUES (randomblob(65536))");
    assert.ok(c.node(l).status().consensus.compactedIdx > 1, "the leader trimmed its log behind a snapshot");
    const before = c.node(l).status().net!.fragmentedMessages;
    await c.start(f);
    await sameState(c);
    assert.ok(c.node(l).status().net!.fragmentedMessages > before, "the snapshot travelled in fragments");
    const [r] = await c.node(f).query("SELECT count(*), sum(length(data)) FROM b", { consistency: "none" });
    assert.deepEqual(r.values, [[40, 40 * 65536]]);
    // A brand-new node: same identity, its data gone.
    await c.stopNode(f);
    await rm(join(c.nodes[f].dir, "raft-log"), { recursive: true, force: true });
    await c.start(f);
    await sameState(c);
    await c.node(f).execute("INSERT INTO b(data) VALUES (x'00')");
    await sameState(c);
  } finally {
    await c.stop();
  }
});
