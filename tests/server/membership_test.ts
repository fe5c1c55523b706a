/**
 * Membership changes through stop signs, on real nodes over libp2p, under a write load: a node joins
 * (it fetches the database and takes part), a member is removed, and every acknowledged write survives
 * on every member with identical checksums. Log indexes stay global across configurations.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadOrCreateIdentity } from "../../src/net/identity.ts";
import { NodeError } from "../../src/server/errors.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { waitFor } from "../net/wait.ts";
import { freePort, TestCluster } from "./cluster.ts";

/** Writes rows through `via()` until stopped; remembers the keys whose writes were acknowledged. */
function writeLoad(via: () => ChiselStore) {
  const acked: number[] = [];
  let stop = false;
  let n = 0;
  const done = (async () => {
    while (!stop) {
      const k = ++n;
      try {
        await via().execute("INSERT INTO load(k) VALUES (?)", [k], { timeoutMs: 5000 });
        acked.push(k);
      } catch (e) {
        if (!(e instanceof NodeError)) throw e; // indeterminate: may or may not be applied
      }
    }
  })();
  return {
    acked,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

async function converged(nodes: ChiselStore[]): Promise<void> {
  await waitFor(
    async () => {
      const s = await Promise.all(nodes.map((n) => n.checksum()));
      return s.every((x) => x.sha256 === s[0].sha256 && x.index === s[0].index);
    },
    30_000,
    "equal checksums on every member",
  );
}

test("join a node and remove a member under load: nothing acknowledged is lost", async () => {
  const c = await TestCluster.create(3, { snapshotEntries: 50 });
  const dir = join(c.nodes[0].dir, "..", "joiner");
  const { peerId } = await loadOrCreateIdentity(dir);
  const addr = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerId}`;
  let joiner: ChiselStore | undefined;
  let load: ReturnType<typeof writeLoad> | undefined;
  try {
    const l = await c.leader();
    await c.node(l).execute("CREATE TABLE load(k INTEGER PRIMARY KEY)");
    const w = load = writeLoad(() => c.node(l));
    await waitFor(() => w.acked.length >= 20, 10_000, "some writes before the join");
    // The new node starts, waits to be added, then fetches the database from the member it was given.
    const joining = ChiselStore.start({
      dataDir: dir,
      listen: [addr.slice(0, addr.indexOf("/p2p/"))],
      join: c.nodes[(l + 1) % 3].addr,
      fsync: "never",
      tickMs: 10,
      electionTicks: 20,
      snapshotEntries: 50,
    });
    const config = await c.node((l + 2) % 3).addMember(addr); // any member may ask; the leader proposes
    assert.equal(config.configId, 2);
    assert.equal(config.members.length, 4);
    assert.ok(config.startIdx > 1, "the new configuration continues the global log index");
    joiner = await joining;
    assert.deepEqual(joiner.members, config.members);
    await waitFor(() => w.acked.length >= 60, 15_000, "writes continue in configuration 2");
    // Remove a follower (not the one serving the load).
    const victim = c.nodes[(l + 1) % 3].peerId;
    const after = await c.node(l).removeMember(victim);
    assert.equal(after.configId, 3);
    assert.ok(!after.members.includes(victim));
    await waitFor(() => w.acked.length >= 100, 15_000, "writes continue in configuration 3");
    await w.stop();
    const members = [c.node(l), c.node((l + 2) % 3), joiner];
    await converged(members);
    for (const n of members) {
      const [r] = await n.query("SELECT k FROM load", { consistency: "none" });
      const have = new Set(r.values!.map((row) => Number(row[0])));
      const missing = w.acked.filter((k) => !have.has(k));
      assert.deepEqual(missing, [], `${n.peerId} has every acknowledged write`);
    }
    // A restart resumes the latest configuration from <data>/cluster.json and its own log.
    await joiner.stop();
    joiner = await ChiselStore.start({
      dataDir: dir,
      listen: [addr.slice(0, addr.indexOf("/p2p/"))],
      fsync: "never",
      tickMs: 10,
      electionTicks: 20,
    });
    assert.equal(joiner.configuration.configId, 3);
    await c.node(l).execute("INSERT INTO load(k) VALUES (0)");
    await converged([c.node(l), c.node((l + 2) % 3), joiner]);
    await waitFor(() => c.node((l + 1) % 3).members.length === 3, 10_000, "the removed node learns it");
    await assert.rejects(
      c.node((l + 1) % 3).execute("INSERT INTO load(k) VALUES (-1)"),
      (e) => e instanceof NodeError && e.code === "not-member",
    );
  } finally {
    await load?.stop().catch(() => {}); // before the nodes go: a failure above must not hide behind it
    await joiner?.stop();
    await c.stop();
  }
});

test("HTTP /cluster/join and /cluster/remove refuse bad input with 400 and change nothing", async () => {
  const node = await ChiselStore.start({ memory: true, tickMs: 5, electionTicks: 4, http: "127.0.0.1:0" });
  try {
    const url = node.status().httpUrl!;
    await waitFor(() => node.isLeader(), 5_000, "leader");
    const post = async (path: string, body: string) => {
      const res = await fetch(url + path, { method: "POST", body });
      return { status: res.status, body: await res.json() as { error?: string } };
    };
    for (
      const [path, body, why] of [
        ["/cluster/join", "{", /malformed JSON/],
        ["/cluster/join", JSON.stringify({ addr: "/ip4/127.0.0.1/tcp/1" }), /p2p/],
        ["/cluster/join", JSON.stringify({}), /"addr"/],
        ["/cluster/remove", JSON.stringify({ id: "12D3KooWnotamember" }), /not a member/],
        ["/cluster/remove", JSON.stringify({ id: node.peerId }), /last member/],
      ] as const
    ) {
      const r = await post(path, body);
      assert.equal(r.status, 400, `${path} ${body}`);
      assert.match(r.body.error ?? "", why);
    }
    assert.equal(node.configuration.configId, 1);
  } finally {
    await node.stop();
  }
});
