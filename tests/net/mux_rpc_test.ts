/**
 * mux_rpc: many calls pipelined over one long-lived stream per peer, answers matched by request id (in any
 * order), deadlines honoured per call, handler errors answered per call, a failed stream reopened by the
 * next call, in-flight calls bounded on both sides, oversized frames refused.
 */
import { rawNode } from "./raw_node.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { MuxRpcClient, MuxRpcError, serveMuxRpc } from "../../src/net/mux_rpc.ts";
import { RpcTimeoutError } from "../../src/net/rpc.ts";
import { waitFor } from "./wait.ts";

const PROTOCOL = "/chiselstore-test/mux/1.0.0";
const enc = new TextEncoder();
const dec = new TextDecoder();

const node = () => rawNode();

/** A server whose handler the test steers: each request waits on a gate the test opens. */
async function pair(
  opts: { serverInFlight?: number; clientInFlight?: number; maxRequestBytes?: number } = {},
) {
  const [server, caller] = await Promise.all([node(), node()]);
  const gates = new Map<string, () => void>();
  let active = 0;
  let maxActive = 0;
  let served = 0;
  await serveMuxRpc(server, {
    protocol: PROTOCOL,
    maxRequestBytes: opts.maxRequestBytes ?? 1 << 20,
    ...(opts.serverInFlight ? { maxInFlight: opts.serverInFlight } : {}),
    handler: async (req, remote) => {
      assert.equal(remote, caller.peerId.toString());
      const text = dec.decode(req);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        if (text.startsWith("hold:")) await new Promise<void>((r) => gates.set(text, r));
        if (text.startsWith("fail:")) throw new Error(`refused ${text}`);
        served++;
        return enc.encode(`re:${text}`);
      } finally {
        active--;
      }
    },
  });
  await caller.peerStore.merge(server.peerId, { multiaddrs: server.getMultiaddrs() });
  const client = new MuxRpcClient(caller, {
    protocol: PROTOCOL,
    maxResponseBytes: 1 << 20,
    ...(opts.clientInFlight ? { maxInFlight: opts.clientInFlight } : {}),
  });
  const call = (text: string, timeoutMs = 10_000) =>
    client.call(server.peerId, enc.encode(text), { timeoutMs }).then((b) => dec.decode(b));
  const streams = () =>
    server.getConnections(caller.peerId).flatMap((c) => c.streams).filter((s) => s.protocol === PROTOCOL)
      .length;
  const stop = async () => {
    client.close();
    await Promise.all([server.stop(), caller.stop()]);
  };
  return {
    server,
    caller,
    client,
    call,
    streams,
    gates,
    stop,
    stats: () => ({ maxActive, served }),
  };
}

test("calls are pipelined over one stream and matched by id, whatever the answer order", async () => {
  const p = await pair();
  try {
    const held = Array.from({ length: 50 }, (_, i) => p.call(`hold:${i}`));
    const quick = await Promise.all(Array.from({ length: 100 }, (_, i) => p.call(`q${i}`)));
    assert.deepEqual(quick, Array.from({ length: 100 }, (_, i) => `re:q${i}`));
    await waitFor(() => p.gates.size === 50, 10_000, "all held requests at the server");
    // Release in reverse order: answers leave out of order and still reach their callers.
    for (let i = 49; i >= 0; i--) p.gates.get(`hold:${i}`)!();
    assert.deepEqual(await Promise.all(held), Array.from({ length: 50 }, (_, i) => `re:hold:${i}`));
    assert.ok(p.stats().maxActive >= 50, `requests ran concurrently (max ${p.stats().maxActive})`);
    assert.equal(p.client.openStreams, 1);
    assert.equal(p.streams(), 1, "one stream at the server for 150 calls");
  } finally {
    await p.stop();
  }
});

test("a call past its deadline fails alone; a handler error fails only its call", async () => {
  const p = await pair();
  try {
    const t0 = Date.now();
    await assert.rejects(p.call("hold:never", 300), RpcTimeoutError);
    const took = Date.now() - t0;
    assert.ok(took >= 290 && took < 5_000, `timed out after ${took} ms`);
    await assert.rejects(
      p.call("fail:x"),
      (e) => e instanceof MuxRpcError && /refused fail:x/.test(e.message),
    );
    assert.equal(await p.call("after"), "re:after");
    // The late answer to the timed-out call is dropped without harm.
    p.gates.get("hold:never")!();
    assert.equal(await p.call("later"), "re:later");
    assert.equal(p.streams(), 1);
  } finally {
    await p.stop();
  }
});

test("a broken stream fails its calls and the next call opens a new one", async () => {
  const p = await pair();
  try {
    assert.equal(await p.call("a"), "re:a");
    const inFlight = p.call("hold:cut").then(() => undefined, (e: Error) => e);
    await waitFor(() => p.gates.has("hold:cut"), 10_000, "the held request at the server");
    await p.server.hangUp(p.caller.peerId);
    const err = await inFlight;
    assert.ok(err instanceof Error && !(err instanceof RpcTimeoutError), `failed at once: ${err}`);
    await waitFor(() => p.client.openStreams === 0, 10_000, "the client to drop the dead stream");
    await waitFor(() => p.caller.getConnections(p.server.peerId).length === 0, 10_000, "the connection gone");
    await p.caller.peerStore.merge(p.server.peerId, { multiaddrs: p.server.getMultiaddrs() });
    assert.equal(await p.call("b"), "re:b");
    assert.equal(p.client.openStreams, 1);
  } finally {
    await p.stop();
  }
});

test("in-flight calls are bounded per peer; a queued call still honours its deadline", async () => {
  const p = await pair({ clientInFlight: 4 });
  try {
    const held = Array.from({ length: 10 }, (_, i) => p.call(`hold:${i}`));
    await waitFor(() => p.gates.size === 4, 10_000, "4 requests at the server");
    await assert.rejects(p.call("queued", 200), RpcTimeoutError);
    assert.equal(p.gates.size, 4, "no more than 4 reached the server");
    for (let i = 0; i < 10; i++) {
      await waitFor(() => p.gates.has(`hold:${i}`), 10_000, `request ${i} at the server`);
      p.gates.get(`hold:${i}`)!();
    }
    assert.equal((await Promise.all(held)).length, 10);
    assert.equal(p.stats().maxActive, 4);
  } finally {
    await p.stop();
  }
});

test("the server serves at most maxInFlight at once per stream and catches up", async () => {
  const p = await pair({ serverInFlight: 3 });
  try {
    const held = Array.from({ length: 8 }, (_, i) => p.call(`hold:${i}`));
    await waitFor(() => p.gates.size === 3, 10_000, "3 requests at the server");
    for (let i = 0; i < 8; i++) {
      await waitFor(() => p.gates.has(`hold:${i}`), 10_000, `request ${i} at the server`);
      assert.ok(p.stats().maxActive <= 3);
      p.gates.get(`hold:${i}`)!();
    }
    assert.equal((await Promise.all(held)).length, 8);
    assert.equal(p.stats().maxActive, 3);
  } finally {
    await p.stop();
  }
});

test("an oversized request closes the stream; the next call works on a new one", async () => {
  const p = await pair({ maxRequestBytes: 1024 });
  try {
    assert.equal(await p.call("small"), "re:small");
    await assert.rejects(p.call("x".repeat(4096)), (e) => e instanceof Error);
    assert.equal(p.stats().served, 1, "the oversized request was not served");
    await waitFor(() => p.client.openStreams === 0, 10_000, "the client to drop the closed stream");
    assert.equal(await p.call("again"), "re:again");
  } finally {
    await p.stop();
  }
});
