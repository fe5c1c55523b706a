/**
 * The paxos protocol's reading side (InboundStreams, the handler the transport registers) fed hostile
 * streams in-process, thousands of runs: random bytes, truncated and bit-flipped valid streams, absurd
 * length prefixes, invalid values, lying fragment headers and fragment floods, each delivered in random
 * chunks. The handler never throws; a violation closes the stream and the connection and counts one
 * rejected frame; what it delivers is exactly the valid messages before the violation, stamped with the
 * authenticated sender. The libp2p-level runs (a real member peer against a deciding cluster) are in
 * fuzz_cluster_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Connection, Stream } from "@libp2p/interface";
import type { Message } from "../../src/omnipaxos/mod.ts";
import { encodeMessage } from "../../src/net/codec.ts";
import { MAX_ENTRIES_PER_MESSAGE } from "../../src/net/codec.ts";
import { encodeFrames } from "../../src/net/framing.ts";
import { MemberGate } from "../../src/net/gater.ts";
import { silentLogger } from "../../src/net/log.ts";
import { newMetrics } from "../../src/net/metrics.ts";
import { InboundStreams } from "../../src/net/paxos_protocol.ts";
import { isValidMessage } from "./arbitraries.ts";
import { chunked, type Hostile, hostileStream, hugeRepeatedField, LIMITS } from "./fuzz_wire.ts";

const LOCAL = "local-node";
const REMOTE = "member-peer";

interface Outcome {
  delivered: Message<Uint8Array>[];
  streamAborted: boolean;
  /** Our side closed after the peer ended its own: the stream does not linger half-open. */
  streamClosed: boolean;
  connectionAborted: boolean;
  rejected: number;
}

/** Runs the real handler on a stream that yields `chunks` and then ends. */
async function feed(chunks: Uint8Array[], opts: { from?: string; maxFrameBytes?: number } = {}) {
  const metrics = newMetrics();
  const delivered: Message<Uint8Array>[] = [];
  const inbound = new InboundStreams({
    localId: LOCAL,
    gate: new MemberGate([LOCAL, REMOTE], silentLogger),
    metrics,
    log: silentLogger,
    maxFrameBytes: opts.maxFrameBytes ?? LIMITS.maxFrameBytes,
    maxMessageBytes: LIMITS.maxMessageBytes,
    onMessage: (m) => void delivered.push(m),
  });
  let read = 0;
  const out: Outcome = {
    delivered,
    streamAborted: false,
    streamClosed: false,
    connectionAborted: false,
    rejected: 0,
  };
  const stream = {
    async *[Symbol.asyncIterator]() {
      for (const c of chunks) {
        if (out.streamAborted) return;
        read++;
        yield c;
      }
    },
    abort: () => void (out.streamAborted = true),
    close: () => {
      out.streamClosed = true;
      return Promise.resolve();
    },
  };
  const connection = {
    remotePeer: { toString: () => opts.from ?? REMOTE },
    abort: () => void (out.connectionAborted = true),
  };
  await inbound.handle(stream as unknown as Stream, connection as unknown as Connection);
  out.rejected = metrics.rejectedFrames;
  return { ...out, read };
}

const stamped = (m: Message<Uint8Array>) => encodeMessage({ ...m, from: REMOTE, to: LOCAL });

function check(h: Hostile, o: Outcome): void {
  const what = `${h.kind}: ${o.delivered.length} delivered, aborted ${o.streamAborted}`;
  // A violation closes both the stream and the connection and is counted once; nothing else does.
  assert.equal(o.streamAborted, o.connectionAborted, what);
  assert.equal(o.rejected, o.streamAborted ? 1 : 0, what);
  assert.equal(o.streamClosed, !o.streamAborted, what);
  if (h.mustReject !== undefined) assert.equal(o.streamAborted, h.mustReject, what);
  for (const m of o.delivered) {
    assert.ok(isValidMessage(m), `${what}: an invalid message was delivered`);
    assert.equal(m.from, REMOTE);
    assert.equal(m.to, LOCAL);
  }
  // The valid messages before a violation arrive, in order, and (for a poisoned stream) nothing after.
  const got = o.delivered.map((m) => encodeMessage(m));
  const want = h.prefix.map(stamped);
  if (h.mustReject) assert.deepEqual(got, want, what);
  else assert.deepEqual(got.slice(0, want.length), want, what);
}

test("hostile paxos streams: no throw, violations close stream and connection, valid prefixes delivered", async () => {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(hostileStream(), fc.array(fc.nat(), { maxLength: 8 }), async (h, cuts) => {
      seen.set(h.kind, (seen.get(h.kind) ?? 0) + 1);
      check(h, await feed(chunked(h.bytes, cuts)));
    }),
    { seed: 20261130, numRuns: Number(process.env.FUZZ_RUNS ?? 3000), endOnFailure: true },
  );
  // Every kind of input was actually exercised.
  for (
    const kind of [
      "random bytes",
      "truncated",
      "flipped",
      "absurd length",
      "invalid enum",
      "config 0",
      "ownerless ballot",
      "no body",
      "lying fragments",
      "valid",
    ]
  ) assert.ok((seen.get(kind) ?? 0) >= 20, `${kind} ran ${seen.get(kind) ?? 0} times`);
});

test("a frame with more entries than any message may carry is refused before it costs memory", async () => {
  const frame = hugeRepeatedField(MAX_ENTRIES_PER_MESSAGE + 1);
  const bigFrames = { maxFrameBytes: 4 << 20 };
  const o = await feed([encodeFrames([frame])], bigFrames);
  assert.equal(o.streamAborted && o.connectionAborted, true);
  assert.equal(o.delivered.length, 0);
  // At the limit it is a valid (if odd) message.
  const ok = await feed([encodeFrames([hugeRepeatedField(MAX_ENTRIES_PER_MESSAGE)])], bigFrames);
  assert.equal(ok.streamAborted, false);
  assert.equal(ok.delivered.length, 1);
});

test("a non-member's stream is refused before a byte of it is read", async () => {
  const valid = encodeFrames([
    encodeMessage({ type: "HeartbeatRequest", from: "x", to: "y", configId: 1, round: 1 }),
  ]);
  const o = await feed([valid, valid], { from: "outsider" });
  assert.equal(o.streamAborted, true);
  assert.equal(o.read, 0);
  assert.equal(o.delivered.length, 0);
  const member = await feed([valid, valid]);
  assert.equal(member.delivered.length, 2);
});
