/**
 * P2pClient's transport (issue 7): execute and query travel as frames on one long-lived
 * /chiselstore/forward/1.0.0 stream, not one stream per call; after the connection drops, the next call
 * redials by peer ID; a node that only speaks /chiselstore/client/1.0.0 (an older version) is still served,
 * one stream per call. The "node" here is a bare libp2p node that answers the client protocol's frames, so
 * the test sees exactly which protocol and how many streams each call used.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { P2pClient } from "../../mod.ts";
import { createLibp2pNode } from "../../src/net/libp2p_node.ts";
import { serveMuxRpc } from "../../src/net/mux_rpc.ts";
import { serveRpc } from "../../src/net/rpc.ts";
import {
  CLIENT_PROTOCOL,
  decodeRequest,
  encodeResponse,
  FORWARD_PROTOCOL,
} from "../../src/server/client_protocol.ts";
import { waitFor } from "../net/wait.ts";

const STATUS_PROTOCOL = "/chiselstore/status/1.0.0";

interface FakeNode {
  node: Libp2p;
  addr: string;
  /** Requests answered, per protocol. */
  served: Record<string, number>;
}

/** Answers every execute with index = the request's sequence number; `forward: false` is an older node. */
async function fakeNode(o: { forward: boolean }): Promise<FakeNode> {
  const node = await createLibp2pNode({
    privateKey: await generateKeyPair("Ed25519"),
    listen: ["/ip4/127.0.0.1/tcp/0"],
    connectionGater: {},
    natServices: false,
  });
  const served: Record<string, number> = { [CLIENT_PROTOCOL]: 0, [FORWARD_PROTOCOL]: 0 };
  const answer = (protocol: string) => (req: Uint8Array) => {
    served[protocol]++;
    const { command } = decodeRequest(req);
    return Promise.resolve(
      encodeResponse({ ok: true, result: { index: command.requestId.seq, results: [] } }),
    );
  };
  await serveRpc(node, {
    protocol: STATUS_PROTOCOL,
    maxRequestBytes: 16,
    handler: () => Promise.resolve(new TextEncoder().encode(JSON.stringify({ peerId: "x", leader: true }))),
  });
  await serveRpc(node, {
    protocol: CLIENT_PROTOCOL,
    maxRequestBytes: 1 << 20,
    handler: answer(CLIENT_PROTOCOL),
  });
  if (o.forward) {
    await serveMuxRpc(node, {
      protocol: FORWARD_PROTOCOL,
      maxRequestBytes: 1 << 20,
      handler: answer(FORWARD_PROTOCOL),
    });
  }
  await node.start();
  return { node, addr: node.getMultiaddrs()[0].toString(), served };
}

/** Streams of `protocol` opened on the fake node's side so far (inbound streams of every connection). */
function streamCounter(node: Libp2p, protocol: string): () => number {
  let opened = 0;
  const seen = new WeakSet<object>();
  const sample = () => {
    for (const c of node.getConnections()) {
      for (const s of c.streams) {
        if (s.protocol === protocol && !seen.has(s)) {
          seen.add(s);
          opened++;
        }
      }
    }
  };
  const timer = setInterval(sample, 1);
  return () => {
    sample();
    clearInterval(timer);
    return opened;
  };
}

test("execute and query share one forwarding stream, pipelined; a dropped connection is redialled", {
  timeout: 60_000,
}, async () => {
  const fake = await fakeNode({ forward: true });
  const client = await P2pClient.connect(fake.addr, { timeoutMs: 20_000 });
  try {
    const count = streamCounter(fake.node, FORWARD_PROTOCOL);
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => client.execute("INSERT INTO t VALUES (?)", [i])),
    );
    await client.query("SELECT 1", { consistency: "linearizable" });
    assert.deepEqual(results.map((r) => r.index), Array.from({ length: 64 }, (_, i) => i + 1));
    assert.equal(fake.served[FORWARD_PROTOCOL], 65);
    assert.equal(fake.served[CLIENT_PROTOCOL], 0, "no per-call streams");
    assert.equal(count(), 1, "one stream carried every call");

    // The node drops the connection: the next call opens a new connection and stream by itself.
    await fake.node.hangUp(peerIdFromString(client.peerId));
    await waitFor(() => fake.node.getConnections().length === 0, 10_000, "the connection to close");
    const again = await client.execute("INSERT INTO t VALUES (1)");
    assert.equal(again.index, 66, "the same request id sequence continues");
    assert.equal(fake.served[FORWARD_PROTOCOL], 66);
  } finally {
    await client.close();
    await fake.node.stop();
  }
});

test(
  "a node without the forwarding protocol is served one stream per call",
  { timeout: 60_000 },
  async () => {
    const fake = await fakeNode({ forward: false });
    const client = await P2pClient.connect(fake.addr, { timeoutMs: 20_000 });
    try {
      const a = await client.execute("INSERT INTO t VALUES (1)");
      const b = await client.execute("INSERT INTO t VALUES (2)");
      assert.deepEqual([a.index, b.index], [1, 2]);
      assert.equal(fake.served[CLIENT_PROTOCOL], 2);
    } finally {
      await client.close();
      await fake.node.stop();
    }
  },
);
