/**
 * Hostile input over real libp2p against a deciding 3-node cluster. The attacker is a member (it holds a
 * member's identity, so the gater lets it in and it may open the paxos protocol): it writes fast-check
 * generated hostile streams on /chiselstore/paxos/1.0.0 and random or mutated requests on the client,
 * status and admin protocols, while a writer keeps inserting rows. Every run that must be refused is
 * refused (counted, connection cut); no node crashes; writes keep being acknowledged during and after;
 * at the end every acknowledged row is on every node and the replicas' checksums are equal. A non-member
 * sending valid consensus frames never gets a connection.
 */
import { rawNode } from "./raw_node.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Connection } from "@libp2p/interface";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";
import { encodeMessage } from "../../src/net/codec.ts";
import { encodeFrames } from "../../src/net/framing.ts";
import { PAXOS_PROTOCOL } from "../../src/net/protocol.ts";
import { callRpc } from "../../src/net/rpc.ts";
import { ADMIN_PROTOCOL, encodeAdmin } from "../../src/server/admin_protocol.ts";
import { CLIENT_PROTOCOL, encodeRequest } from "../../src/server/client_protocol.ts";
import { STATUS_PROTOCOL } from "../../src/server/node.ts";
import { chunked, hostileStream, NODE_LIMITS } from "./fuzz_wire.ts";
import { assertConverged, startRogueCluster, Writer } from "./rogue_cluster.ts";
import { waitFor } from "./wait.ts";

/** A connection the remote ended: aborted (reset) or closed, never just closing. */
const CUT = new Set(["closed", "aborted"]);

/** Unhandled rejections anywhere in the process fail the test that saw them. */
function trackUnhandled(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const on = (e: unknown) => void errors.push(e);
  process.on("unhandledRejection", on);
  return { errors, stop: () => void process.off("unhandledRejection", on) };
}

test("a member writing hostile paxos streams: refused, cut off, and the cluster keeps deciding", {
  timeout: 240_000,
}, async () => {
  const unhandled = trackUnhandled();
  const lines: string[] = [];
  const c = await startRogueCluster({ log: (level, msg) => void lines.push(`${level}: ${msg}`) });
  const writer = new Writer(c.nodes);
  try {
    await c.nodes[0].execute("CREATE TABLE t(id INTEGER PRIMARY KEY)");
    writer.start();
    await writer.progress(20, 30_000, "before fuzzing");
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        hostileStream(NODE_LIMITS),
        fc.nat(2),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (h, i, cuts) => {
          const target = c.nodes[i];
          const before = target.status().net!.rejectedFrames;
          // The target may still be cutting the previous run's connection: dial until a stream takes the bytes.
          // The target's own link to this member dials it too, so a second connection may exist and stay
          // open legitimately: what must be cut is the connection that carried the hostile stream.
          let carrier: Connection | undefined;
          for (let attempt = 0; !carrier && attempt < 20; attempt++) {
            try {
              const conn = await c.rogue.dial(multiaddr(c.addrs[i]));
              const stream = await conn.newStream(PAXOS_PROTOCOL);
              for (const chunk of chunked(h.bytes, cuts)) stream.send(chunk);
              carrier = conn;
              if (!h.mustReject) await stream.close().catch(() => {}); // it may have been refused: fine
            } catch {
              await new Promise((r) => setTimeout(r, 50));
            }
          }
          assert.ok(carrier, "the member could open a paxos stream");
          if (h.mustReject) {
            await waitFor(
              () => target.status().net!.rejectedFrames === before + 1,
              10_000,
              `${h.kind} refused`,
            );
            await waitFor(() => CUT.has(carrier!.status), 10_000, "the connection cut");
            refused++;
          }
          // Whatever it was, the node is alive and still counts at most one violation for it.
          assert.ok(target.status().net!.rejectedFrames <= before + 1);
        },
      ),
      { seed: 424242, numRuns: 60, endOnFailure: true },
    );
    assert.ok(refused >= 15, `only ${refused} refused runs`);
    assert.ok(lines.some((l) => l.includes(`closing paxos stream from ${c.rogueId}`)));
    await writer.progress(20, 30_000, "after fuzzing");
    await writer.stop();
    await assertConverged(c.nodes, writer.acked);
    assert.deepEqual(unhandled.errors, []);
  } finally {
    await writer.stop();
    unhandled.stop();
    await c.stop();
  }
});

test(
  "random and mutated requests on the client, status and admin protocols: answered or aborted, nothing else",
  {
    timeout: 240_000,
  },
  async () => {
    const unhandled = trackUnhandled();
    const c = await startRogueCluster();
    const writer = new Writer(c.nodes);
    try {
      await c.nodes[0].execute("CREATE TABLE t(id INTEGER PRIMARY KEY)");
      writer.start();
      await writer.progress(10, 30_000, "before fuzzing");
      const valid = [
        encodeRequest({
          op: "query",
          consistency: "none",
          command: {
            requestId: { clientId: "fuzz", seq: 1 },
            statements: [{ sql: "SELECT count(*) FROM t" }],
            transaction: false,
            timestampMs: 0,
            seed: 0n,
          },
        }),
        encodeRequest({
          op: "execute",
          command: {
            requestId: { clientId: "fuzz", seq: 2 },
            statements: [{ sql: "INSERT OR IGNORE INTO t(id) VALUES (?)", params: [-1] }],
            transaction: false,
            timestampMs: 0,
            seed: 0n,
          },
        }),
        encodeAdmin({ op: "fetch" }),
        encodeAdmin({ op: "remove", id: "nobody" }),
        new Uint8Array(1),
      ];
      const request = fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc.tuple(
          fc.constantFrom(...valid),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
          fc.nat(),
        )
          .map(([v, flips, cut]) => {
            const b = v.slice(0, Math.max(0, v.length - (cut % 4)));
            for (const [at, m] of flips) if (b.length > 0) b[at % b.length] ^= m;
            return b;
          }),
      );
      let answered = 0;
      let aborted = 0;
      await fc.assert(
        fc.asyncProperty(
          request,
          fc.constantFrom(CLIENT_PROTOCOL, STATUS_PROTOCOL, ADMIN_PROTOCOL),
          fc.nat(2),
          async (req, protocol, i) => {
            try {
              await callRpc(c.rogue, multiaddr(c.addrs[i]), protocol, req, {
                timeoutMs: 10_000,
                maxResponseBytes: 1 << 24,
              });
              answered++;
            } catch (e) {
              assert.notEqual(
                (e as Error).name,
                "RpcTimeoutError",
                `${protocol} hung on ${req.length} bytes`,
              );
              aborted++;
            }
          },
        ),
        { seed: 9090, numRuns: 150, endOnFailure: true },
      );
      assert.ok(answered > 0 && aborted > 0, `answered ${answered}, aborted ${aborted}`);
      await writer.progress(10, 30_000, "after fuzzing");
      await writer.stop();
      await assertConverged(c.nodes, writer.acked);
      assert.deepEqual(unhandled.errors, []);
    } finally {
      await writer.stop();
      unhandled.stop();
      await c.stop();
    }
  },
);

test("a non-member with valid-looking consensus frames never gets a connection; no effect on the cluster", {
  timeout: 120_000,
}, async () => {
  const c = await startRogueCluster();
  const outsiderKey = await generateKeyPair("Ed25519");
  const outsider = await rawNode({ privateKey: outsiderKey, listen: [] });
  const writer = new Writer(c.nodes);
  try {
    await c.nodes[0].execute("CREATE TABLE t(id INTEGER PRIMARY KEY)");
    writer.start();
    await writer.progress(5, 30_000, "before");
    const leader = c.nodes.find((n) => n.isLeader());
    const frames = encodeFrames([
      encodeMessage({
        type: "Prepare",
        from: "",
        to: "",
        configId: 1,
        n: { n: 1e9, priority: 9, pid: outsider.peerId.toString() },
        decidedIdx: 0,
        nAccepted: { n: 0, priority: 0, pid: "" },
        acceptedIdx: 0,
      }),
      encodeMessage({
        type: "ProposalForward",
        from: "",
        to: "",
        configId: 1,
        entries: [new Uint8Array([1, 2, 3])],
      }),
    ]);
    const before = c.nodes.map((n) => n.status().consensus);
    for (const addr of c.addrs) {
      await assert.rejects(async () => {
        const s = await outsider.dialProtocol(multiaddr(addr), PAXOS_PROTOCOL);
        s.send(frames);
        await s.close();
      });
    }
    assert.equal(outsider.getConnections().length, 0);
    await writer.progress(5, 30_000, "after");
    assert.equal(c.nodes.find((n) => n.isLeader()), leader, "the same leader");
    for (const [i, n] of c.nodes.entries()) {
      assert.deepEqual(
        n.status().consensus.promise,
        before[i].promise,
        "no promise to the outsider's ballot",
      );
    }
    await writer.stop();
    await assertConverged(c.nodes, writer.acked);
  } finally {
    await writer.stop();
    await outsider.stop();
    await c.stop();
  }
});
