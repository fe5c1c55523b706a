/**
 * The request/response server (src/net/rpc.ts) against hostile callers: random request bytes reach the
 * handler whole or not at all, oversized length prefixes and silent or half-sent requests are cut off
 * (within the request deadline), and none of it stops well-formed calls from being answered.
 */
import { varint } from "./fuzz_wire.ts";
import { rawNode } from "./raw_node.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { callRpc, serveRpc } from "../../src/net/rpc.ts";
import { encodeFrames } from "../../src/net/framing.ts";
import { waitFor } from "./wait.ts";

const PROTOCOL = "/fuzz/echo/1.0.0";

const node = () => rawNode();

test("hostile callers of an RPC server: whole requests or none, deadlines, and honest calls still answered", {
  timeout: 60_000,
}, async () => {
  const [server, client] = [await node(), await node()];
  const seen: Uint8Array[] = [];
  const errors: unknown[] = [];
  await serveRpc(server, {
    protocol: PROTOCOL,
    maxRequestBytes: 1024,
    requestTimeoutMs: 500,
    handler: (req) => {
      seen.push(req);
      return Promise.resolve(Uint8Array.from(req).reverse());
    },
    onError: (_r, e) => void errors.push(e),
  });
  const addr = server.getMultiaddrs()[0];
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 1500 }).map((b) => ({ kind: "raw", bytes: b })),
          fc.uint8Array({ maxLength: 1024 }).map((b) => ({ kind: "framed", bytes: encodeFrames([b]) })),
          fc.integer({ min: 1025, max: 2 ** 40 }).map((n) => ({
            kind: "oversized",
            bytes: varint(n), /* a length prefix and nothing after it */
          })),
          fc.uint8Array({ minLength: 2, maxLength: 1024 }).map((b) => ({
            kind: "half",
            bytes: encodeFrames([b]).subarray(0, 1 + (b.length >> 1)),
          })),
        ),
        async ({ kind, bytes }) => {
          const handled = seen.length;
          const failed = errors.length;
          const stream = await client.dialProtocol(addr, PROTOCOL);
          if (bytes.length > 0) stream.send(bytes);
          if (kind === "framed") {
            // A whole request: answered with the reversed bytes, seen by the handler exactly as sent.
            await waitFor(() => seen.length === handled + 1, 10_000, "the handler to run");
            const frame = bytes.subarray(bytes.length - seen.at(-1)!.length);
            assert.deepEqual(Uint8Array.from(seen.at(-1)!), frame);
          } else {
            // Anything else ends in an error for that stream only (a bad length, or the deadline), unless
            // random bytes happened to be one whole request.
            await waitFor(
              () => errors.length > failed || seen.length > handled,
              10_000,
              `${kind} dealt with`,
            );
            if (kind !== "raw") assert.equal(seen.length, handled, `${kind}: the handler never ran`);
          }
          stream.abort(new Error("done"));
        },
      ),
      { seed: 31337, numRuns: 40, endOnFailure: true },
    );
    const res = await callRpc(client, addr, PROTOCOL, Uint8Array.from([1, 2, 3]), {
      timeoutMs: 5_000,
      maxResponseBytes: 1024,
    });
    assert.deepEqual(Uint8Array.from(res), Uint8Array.from([3, 2, 1]));
  } finally {
    await client.stop();
    await server.stop();
  }
});
