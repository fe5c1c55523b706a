/**
 * connection_tuning: everything sent on a libp2p TCP connection in one turn leaves in one socket write (issue
 * 7), with the same bytes in the same order, and the next turn's sends leave in a write of their own; Noise's
 * length prefixes are read without building a new error per received chunk, with the same results; a yamux
 * stream sends a window update once half its receive window is consumed, not after every frame.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Libp2p, Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";
import { StreamState, YamuxStream } from "@chainsafe/libp2p-yamux/stream";
import { noiseLength, tuneYamuxWindowUpdates } from "../../src/net/connection_tuning.ts";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import { rawNode } from "./raw_node.ts";
import { waitFor } from "./wait.ts";

const PROTOCOL = "/chiselstore-test/sink/1.0.0";

interface CountedSocket {
  _write(...a: unknown[]): void;
  _writev?(...a: unknown[]): void;
}

/** Counts the write syscalls libuv is asked for on `socket` (one per _write or _writev). */
function countWrites(socket: CountedSocket): { writes: number } {
  const n = { writes: 0 };
  const write = socket._write.bind(socket);
  socket._write = (...a: unknown[]) => {
    n.writes++;
    write(...a);
  };
  if (socket._writev) {
    const writev = socket._writev.bind(socket);
    socket._writev = (...a: unknown[]) => {
      n.writes++;
      writev(...a);
    };
  }
  return n;
}

/** A connected pair: `b` collects every byte sent to it on PROTOCOL. */
async function pair(): Promise<{ a: Libp2p; b: Libp2p; stream: Stream; received: number[] }> {
  const [a, b] = await Promise.all([rawNode(), rawNode()]);
  const received: number[] = [];
  await b.handle(PROTOCOL, async (s: Stream) => {
    for await (const chunk of s) for (const byte of chunk.subarray()) received.push(byte);
  });
  const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL);
  return { a, b, stream, received };
}

test("frames sent in one turn leave in one socket write, in order and intact", async () => {
  const { a, b, stream, received } = await pair();
  try {
    const conn = a.getConnections(b.peerId)[0] as unknown as { maConn: { socket: CountedSocket } };
    const counter = countWrites(conn.maConn.socket);
    const frames = Array.from({ length: 100 }, (_, i) => new Uint8Array(1 + (i % 37)).fill(i));
    const want = frames.flatMap((f) => [...f]);
    for (const f of frames) stream.send(f); // one turn: 100 yamux frames, 100 Noise messages
    await waitFor(() => received.length >= want.length, 10_000, "every byte at the receiver");
    assert.deepEqual(received, want);
    // Without coalescing: two writes per Noise message (length, then ciphertext), 200 here.
    assert.ok(counter.writes <= 3, `${counter.writes} socket writes for one turn's 100 frames`);

    // A later turn writes again (nothing is held back waiting for more).
    const before = counter.writes;
    stream.send(new Uint8Array([7, 7, 7]));
    await waitFor(() => received.length === want.length + 3, 10_000, "the next turn's frame");
    assert.deepEqual(received.slice(-3), [7, 7, 7]);
    assert.ok(counter.writes > before);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("every connection reads Noise lengths with the non-throwing decoder, and the traffic is intact", async () => {
  const { a, b, stream, received } = await pair();
  try {
    for (const conn of [...a.getConnections(b.peerId), ...b.getConnections(a.peerId)]) {
      const decoder =
        (conn as unknown as { muxer: { maConn: { decoder: { lengthDecoder: unknown } } } }).muxer
          .maConn.decoder;
      assert.equal(decoder.lengthDecoder, noiseLength, `${conn.direction} connection's Noise decoder`);
    }
    // Messages larger than one Noise message (65,535 bytes) and than one TCP chunk, split at odd places.
    const big = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251);
    stream.send(big);
    await waitFor(() => received.length >= big.length, 10_000, "the large message");
    assert.deepEqual(Uint8Array.from(received), big);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test("noiseLength decodes like Noise's uint16BEDecode and answers short input without throwing", () => {
  assert.equal(noiseLength(Uint8Array.of(0x12, 0x34, 0xff)), 0x1234);
  assert.equal(noiseLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xfe))), 0xfffe);
  for (const d of [new Uint8Array(0), Uint8Array.of(1), new Uint8ArrayList(Uint8Array.of(1))]) {
    assert.equal(noiseLength(d), 0xffff, "more than can be buffered with under 2 bytes");
  }
  // In Noise's decoder (its settings), prefixes and messages cut anywhere, byte by byte too.
  const decoder = new LengthPrefixedDecoder({
    lengthDecoder: noiseLength,
    maxBufferSize: 16 * 1024 * 1024,
    encodingLength: () => 2,
  });
  const frames = [
    Uint8Array.of(1, 2, 3),
    Uint8Array.of(9),
    Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
  ];
  const wire = Uint8Array.from(frames.flatMap((f) => [f.length >> 8, f.length & 0xff, ...f]));
  for (const cuts of [[1], [0, 1, 2, 5, 6, 7], [...wire.keys()], [3, 4, 300]]) {
    const out: number[][] = [];
    let at = 0;
    for (const end of [...cuts, wire.length]) {
      for (const m of decoder.decode(wire.subarray(at, Math.max(at, end)))) out.push([...m.subarray()]);
      at = Math.max(at, end);
    }
    assert.deepEqual(out, frames.map((f) => [...f]), `cut at ${cuts.slice(0, 8)}`);
  }
});

interface Frame {
  type: number;
  flag: number;
  length: number;
}

/** A bare YamuxStream in `state` whose outgoing frames are collected, fed `n` data frames of `size` bytes. */
function yamuxStream(state: StreamState): { feed(n: number, size: number): void; updates: Frame[] } {
  const frames: Frame[] = [];
  const log = Object.assign(() => {}, { trace() {}, error() {}, enabled: false });
  const stream = new (YamuxStream as unknown as new (init: unknown) => {
    handleData(f: { header: Frame & { streamID: number }; data: Uint8ArrayList }): void;
  })({
    id: "1",
    direction: "inbound",
    log,
    streamId: 1,
    state,
    sendFrame: (h: Frame) => (frames.push(h), true),
    getRTT: () => -1,
  });
  return {
    feed(n, size) {
      for (let i = 0; i < n; i++) {
        stream.handleData({
          header: { type: 0, flag: 0, streamID: 1, length: size },
          data: new Uint8ArrayList(new Uint8Array(size)),
        });
      }
    },
    get updates() {
      return frames.filter((f) => f.type === 1); // FrameType.WindowUpdate
    },
  };
}

test("a yamux stream sends a window update once half its receive window is consumed, not per frame", () => {
  assert.equal(tuneYamuxWindowUpdates(), true);
  const s = yamuxStream(StreamState.Established);
  s.feed(100, 100);
  assert.equal(
    s.updates.length,
    0,
    "10 kB of a 256 KiB window: no update yet (one per frame without the patch)",
  );
  s.feed(1211, 100); // 131,100 bytes consumed: just over half of 262,144
  assert.equal(s.updates.length, 1);
  assert.equal(s.updates[0].length, 131_100, "the update returns everything consumed so far");
  s.feed(1, 100);
  assert.equal(s.updates.length, 1, "the window is whole again");
  // A stream that still owes its ACK sends it with the first frame, as before.
  const opening = yamuxStream(StreamState.SYNReceived);
  opening.feed(1, 10);
  assert.equal(opening.updates.length, 1);
  assert.equal(opening.updates[0].flag & 2, 2, "the ACK flag");
});

test("flow control still moves 4 MiB of small messages over a real connection", async () => {
  const [a, b] = await Promise.all([rawNode(), rawNode()]);
  try {
    let bytes = 0;
    let sum = 0;
    await b.handle(PROTOCOL, async (s: Stream) => {
      for await (const chunk of s) {
        for (const byte of chunk.subarray()) sum = (sum + byte) % 1_000_003;
        bytes += chunk.byteLength;
      }
    });
    const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL);
    let want = 0;
    for (let i = 0; i < 4096; i++) {
      const m = new Uint8Array(1024).fill(i % 256);
      want = (want + (i % 256) * 1024) % 1_000_003;
      // More than a window (256 KiB) is sent: the sender waits for updates when the window is used up.
      if (!stream.send(m)) await new Promise((r) => stream.addEventListener("drain", r, { once: true }));
    }
    await waitFor(() => bytes >= 4 << 20, 20_000, "4 MiB at the receiver");
    assert.equal(bytes, 4 << 20);
    assert.equal(sum, want);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
