/**
 * Replayed consensus traffic: every message the nodes send in a first period is captured (through
 * `sendFilter`, which sees the outgoing Message objects), the leader is restarted so the cluster moves to
 * a new ballot, and then a member's identity (the rogue) re-sends all of it — stale Prepares, Promises,
 * AcceptDecides, Decides, heartbeats, and the replicated commands as forwarded proposals — to every node,
 * twice, while writes go on.
 * The transport takes them (they are well-formed frames from a member); the core must not be fooled:
 * the cluster keeps deciding, no acknowledged write is lost or applied twice, the replicas stay identical.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import type { Message } from "../../src/omnipaxos/mod.ts";
import { encodeMessage } from "../../src/net/codec.ts";
import { encodeFrames } from "../../src/net/framing.ts";
import { PAXOS_PROTOCOL } from "../../src/net/protocol.ts";
import { assertConverged, startRogueCluster, Writer } from "./rogue_cluster.ts";
import { waitFor } from "./wait.ts";

test("consensus messages from an earlier ballot, replayed by a member: no effect on what is decided", {
  timeout: 240_000,
}, async () => {
  const captured: Message<Uint8Array>[] = [];
  let capturing = true;
  const c = await startRogueCluster({
    sendFilter: (_i, m) => {
      if (capturing && captured.length < 5000) captured.push(m);
      return true;
    },
  });
  const writer = new Writer(c.nodes);
  try {
    await c.nodes[0].execute("CREATE TABLE t(id INTEGER PRIMARY KEY)");
    writer.start();
    await writer.progress(40, 30_000, "while capturing");
    capturing = false;
    const leader = c.nodes.findIndex((n) => n.isLeader());
    const oldBallot = c.nodes[leader].status().consensus.promise;
    await c.restart(leader);
    await waitFor(
      () => {
        const p = c.nodes.map((n) => n.status().consensus.promise);
        return p.every((b) => b.n > oldBallot.n && b.pid === p[0].pid);
      },
      30_000,
      "a new ballot on every node",
    );
    await writer.progress(10, 30_000, "after the leader restart");

    const types = new Set(captured.map((m) => m.type));
    for (const t of ["Prepare", "Promise", "AcceptSync", "AcceptDecide", "Accepted", "Decide"]) {
      assert.ok(types.has(t as Message<Uint8Array>["type"]), `captured a ${t} (${[...types]})`);
    }
    // Followers forward client writes over their own RPC, so re-propose the commands the old leader
    // replicated, as a member may (ProposalForward): each must still be applied once.
    const commands = captured.flatMap((m) => m.type === "AcceptDecide" ? m.entries : []);
    assert.ok(commands.length >= 40, `${commands.length} commands captured`);
    const forwards: Message<Uint8Array>[] = [{
      type: "ProposalForward",
      from: "",
      to: "",
      configId: 1,
      entries: commands,
    }];
    const replay = [...captured, ...forwards];
    const frames = encodeFrames(replay.map((m) => encodeMessage(m)));
    const before = c.nodes.map((n) => n.status().net!.rejectedFrames);
    const decidedBefore = c.nodes[0].status().consensus.decidedIdx;
    const ackedBefore = writer.acked.length;
    const received = c.nodes.map((n) => n.status().net!.framesReceived);
    for (let round = 0; round < 2; round++) {
      for (const addr of c.addrs) {
        const s = await c.rogue.dialProtocol(multiaddr(addr), PAXOS_PROTOCOL);
        s.send(frames);
        await s.close();
      }
      await writer.progress(10, 30_000, `after replay round ${round + 1}`);
    }
    // The frames were taken (well-formed, from a member) and handed to the core, not refused.
    await waitFor(
      () => c.nodes.every((n, i) => n.status().net!.framesReceived >= received[i] + replay.length),
      30_000,
      "every replayed frame received",
    );
    assert.deepEqual(c.nodes.map((n) => n.status().net!.rejectedFrames), before);
    await writer.stop();
    await assertConverged(c.nodes, writer.acked);
    // The re-proposed commands were decided again (by the leader, from the 3 copies sent each round) ...
    const newWrites = writer.acked.length - ackedBefore;
    assert.ok(
      c.nodes[0].status().consensus.decidedIdx >= decidedBefore + newWrites + 2 * commands.length,
      "the replayed proposals went through the log",
    );
    // Replayed forwarded proposals were not applied a second time.
    const [r] = await c.nodes[0].query("SELECT count(*) FROM t", { consistency: "strong" });
    assert.equal(r.values?.[0]?.[0], writer.acked.length);
  } finally {
    await writer.stop();
    await c.stop();
  }
});
