/**
 * libp2p clients of a cluster: the `clients` option admits listed peer IDs (or "any") through the
 * member-only gater; an admitted client executes and queries at every level through a follower (which
 * forwards to the leader) and reads status, an unlisted one is refused with a clear error at once, and an
 * admitted client still cannot open the paxos protocol.
 */
import { rawNode } from "../net/raw_node.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { CONSISTENCY_LEVELS, NodeError, P2pClient } from "../../mod.ts";
import { MemberGate, PAXOS_PROTOCOL, silentLogger } from "../../src/net/mod.ts";
import { callRpc } from "../../src/net/rpc.ts";
import { ADMIN_PROTOCOL, decodeAdminResponse, encodeAdmin } from "../../src/server/admin_protocol.ts";
import { waitFor } from "../net/wait.ts";
import { TestCluster } from "../server/cluster.ts";

test("the client policy: members only by default, a list of peer IDs, or any peer", () => {
  const gate = new MemberGate(["m1", "m2"], silentLogger);
  assert.ok(gate.mayConnect("m1"));
  assert.ok(!gate.mayConnect("c1"));
  gate.setClients(["c1"]);
  assert.ok(gate.mayConnect("c1") && !gate.mayConnect("c2"));
  assert.ok(!gate.isMember("c1"), "a client is never a member");
  gate.setClients("any");
  assert.ok(gate.mayConnect("c2"));
  gate.setClients("members");
  assert.ok(!gate.mayConnect("c1") && !gate.mayConnect("c2") && gate.mayConnect("m2"));
  assert.throws(() => gate.setClients("everyone" as "any"), TypeError);
});

test("an allowed client reaches a follower: execute, query at every level, status; paxos stays closed", {
  timeout: 90_000,
}, async () => {
  const key = await generateKeyPair("Ed25519");
  const clientId = peerIdFromPrivateKey(key).toString();
  const cluster = await TestCluster.create(3, { clients: [clientId] });
  try {
    const leader = await cluster.leader();
    const f = (leader + 1) % 3;
    const follower = cluster.node(f);
    const client = await P2pClient.connect(cluster.nodes[f].addr, { privateKey: key });
    try {
      assert.equal(client.peerId, clientId);
      assert.equal(client.remotePeer, follower.peerId);
      await client.execute("CREATE TABLE t(a INTEGER, b BLOB)");
      const blob = new Uint8Array([0, 1, 255]);
      const big = 2n ** 60n;
      await client.execute("INSERT INTO t(a, b) VALUES (?, ?)", [big, blob]);
      await client.execute([{ sql: "INSERT INTO t(a) VALUES (:a)", params: { a: 7 } }], {
        transaction: true,
      });
      for (const consistency of CONSISTENCY_LEVELS) {
        // "none" reads the follower itself: execute returned once the follower had applied the writes.
        const [r] = await client.query("SELECT a, b FROM t ORDER BY a", [], { consistency });
        const values = r.values?.map((row) => row.map((v) => (v instanceof Uint8Array ? [...v] : v)));
        assert.deepEqual(values, [[7, null], [big, [...blob]]], consistency);
      }
      // Exactly-once across retries: the same request id is applied once.
      const requestId = { clientId: `${clientId}-retry`, seq: 1 };
      const first = await client.execute("INSERT INTO t(a) VALUES (1)", { requestId });
      const retry = await client.execute("INSERT INTO t(a) VALUES (1)", { requestId });
      // (`duplicate: true` does not survive forwarding: the store's result codec does not carry it.)
      assert.equal(retry.index, first.index);
      const [count] = await client.query("SELECT count(*) FROM t WHERE a = 1", {
        consistency: "linearizable",
      });
      assert.deepEqual(count.values, [[1]]);
      // Queries are read-only: a write gets an error result and changes nothing.
      const [refused] = await client.query("DELETE FROM t", [], { consistency: "weak" });
      assert.ok(refused.error, "a write in a weak query is refused");
      const [all] = await client.query("SELECT count(*) FROM t", { consistency: "linearizable" });
      assert.deepEqual(all.values, [[3]]);

      const st = await client.status();
      assert.equal(st.peerId, follower.peerId);
      assert.equal(st.leader, false);
      assert.deepEqual(
        [...(st.connected ?? [])].sort(),
        cluster.nodes.filter((_, i) => i !== f).map((n) => n.peerId).sort(),
      );

      // The same peer ID, allowed as a client, tries the paxos protocol on every member: refused each time.
      const raw = await rawNode({ privateKey: key, listen: [] });
      try {
        for (const n of cluster.nodes) {
          const refused = n.node!.status().net!.refusedPeers;
          const stream = await raw.dialProtocol(multiaddr(n.addr), PAXOS_PROTOCOL);
          await waitFor(() => stream.status !== "open", 5_000, "the paxos stream to be refused");
          await waitFor(
            () => n.node!.status().net!.refusedPeers > refused,
            5_000,
            "the refusal to be counted",
          );
        }
        // Nor can it change the membership through the admin protocol the members use among themselves.
        const victim = cluster.nodes[f].peerId;
        for (const req of [{ op: "remove", id: victim }, { op: "fetch" }] as const) {
          const bytes = await callRpc(
            raw,
            multiaddr(cluster.nodes[leader].addr),
            ADMIN_PROTOCOL,
            encodeAdmin(req),
            {
              timeoutMs: 10_000,
              maxResponseBytes: 1 << 20,
            },
          );
          const res = decodeAdminResponse(bytes);
          assert.ok(!res.ok && res.code === "not-member", `${req.op}: ${JSON.stringify(res)}`);
        }
        assert.ok(cluster.node(leader).status().members.includes(victim));
      } finally {
        await raw.stop();
      }
      // The cluster is unaffected and the client still works.
      const after = await client.execute("INSERT INTO t(a) VALUES (2)");
      assert.ok(after.index > retry.index);
    } finally {
      await client.close();
    }
  } finally {
    await cluster.stop();
  }
});

test("an unlisted client is refused with a clear error, not a hang", { timeout: 60_000 }, async () => {
  const allowed = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
  const cluster = await TestCluster.create(2, { clients: [allowed] });
  try {
    await cluster.leader();
    const started = Date.now();
    await assert.rejects(
      P2pClient.connect(cluster.nodes[0].addr, { timeoutMs: 20_000 }),
      (e) =>
        e instanceof NodeError && e.code === "not-member" && /refused this client/.test(e.message) &&
        /clients/.test(e.message),
    );
    assert.ok(
      Date.now() - started < 10_000,
      `refused in ${Date.now() - started} ms, well before the deadline`,
    );
    assert.ok(cluster.node(0).status().net!.refusedPeers >= 1);
  } finally {
    await cluster.stop();
  }
});
