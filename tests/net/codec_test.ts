import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MESSAGE_TYPES } from "../../src/omnipaxos/mod.ts";
import type { Message } from "../../src/omnipaxos/mod.ts";
import { CodecError, decodeMessage, encodeMessage } from "../../src/net/codec.ts";
import { Frame } from "../../src/net/wire.ts";
import { anyMessage, isValidMessage, messageOf } from "./arbitraries.ts";

const MAX = Number.MAX_SAFE_INTEGER;
const FROM = "12D3KooWSender";
const TO = "12D3KooWReceiver";

/** Decodes, and requires the outcome to be a valid message or a CodecError: nothing else. */
function decodeOrCodecError(bytes: Uint8Array): Message<Uint8Array> | CodecError {
  try {
    const m = decodeMessage(bytes, FROM, TO);
    assert.ok(isValidMessage(m), `decoder yielded an invalid message: ${JSON.stringify(m)}`);
    return m;
  } catch (err) {
    assert.ok(err instanceof CodecError, `decoder threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    return err;
  }
}

for (const type of MESSAGE_TYPES) {
  test(`codec round-trips ${type}`, () => {
    fc.assert(
      fc.property(messageOf(type), (m) => {
        assert.ok(isValidMessage(m));
        const back = decodeMessage(encodeMessage(m), m.from, m.to);
        assert.deepStrictEqual(back, m);
      }),
      { numRuns: 150 },
    );
  });
}

test("codec: the receiver's identities replace anything the sender claims", () => {
  const m: Message<Uint8Array> = {
    type: "HeartbeatRequest",
    from: "forged",
    to: "someone",
    configId: 1,
    round: 3,
  };
  assert.deepStrictEqual(decodeMessage(encodeMessage(m), FROM, TO), { ...m, from: FROM, to: TO });
});

test("codec: extreme values and a 10,000-entry batch", () => {
  const big = { n: MAX, priority: MAX, pid: "p" };
  const entries = Array.from({ length: 10_000 }, (_, i) => new Uint8Array([i & 255, i >> 8]));
  const msgs: Message<Uint8Array>[] = [
    {
      type: "AcceptDecide",
      from: FROM,
      to: TO,
      configId: MAX,
      n: big,
      seq: { session: MAX, counter: MAX },
      decidedIdx: MAX,
      entries,
    },
    {
      type: "AcceptDecide",
      from: FROM,
      to: TO,
      configId: 1,
      n: big,
      seq: { session: 0, counter: 0 },
      decidedIdx: 0,
      entries: [],
    },
    {
      type: "ProposalForward",
      from: FROM,
      to: TO,
      configId: 1,
      entries: [new Uint8Array(0), new Uint8Array(1 << 20)],
    },
    {
      type: "AcceptSync",
      from: FROM,
      to: TO,
      configId: 1,
      n: big,
      seq: { session: 1, counter: 1 },
      decidedIdx: MAX,
      logSync: { syncIdx: MAX, suffix: [], snapshot: { idx: MAX, data: new Uint8Array(0) } },
    },
  ];
  for (const m of msgs) assert.deepStrictEqual(decodeMessage(encodeMessage(m), FROM, TO), m);
});

test("codec: encoding refuses values the wire cannot carry", () => {
  const bad: Message<Uint8Array>[] = [
    { type: "HeartbeatRequest", from: FROM, to: TO, configId: 1, round: -1 },
    { type: "HeartbeatRequest", from: FROM, to: TO, configId: 1, round: MAX + 1 },
    { type: "HeartbeatRequest", from: FROM, to: TO, configId: 1.5, round: 0 },
    { type: "NotAccepted", from: FROM, to: TO, configId: 1, n: { n: 1, priority: Number.NaN, pid: "x" } },
    { type: "Bogus", from: FROM, to: TO, configId: 1 } as unknown as Message<Uint8Array>,
  ];
  for (const m of bad) assert.throws(() => encodeMessage(m), CodecError);
});

/** Frames that protobuf accepts but that are not valid core messages. */
test("codec: rejects structurally valid protobuf that is not a valid message", () => {
  const ballot = { n: 1, priority: 0, pid: "p" };
  const cases: [string, Uint8Array][] = [
    ["empty frame", new Uint8Array(0)],
    ["no body", Frame.encode({ configId: 1 })],
    ["configId 0", Frame.encode({ configId: 0, heartbeatRequest: { round: 1 } })],
    ["missing ballot", Frame.encode({ configId: 1, notAccepted: {} })],
    ["missing seq", Frame.encode({ configId: 1, decide: { n: ballot, decidedIdx: 1 } })],
    [
      "missing logSync",
      Frame.encode({
        configId: 1,
        acceptSync: { n: ballot, seq: { session: 1, counter: 1 }, decidedIdx: 0 },
      }),
    ],
    ["ownerless ballot", Frame.encode({ configId: 1, prepareReq: { n: { n: 5, priority: 0, pid: "" } } })],
    ["unknown compaction op", Frame.encode({ configId: 1, compaction: { op: 7, idx: 1 } })],
    ["missing compaction op", Frame.encode({ configId: 1, compaction: { op: 0, idx: 1 } })],
    [
      "stop sign without nodes",
      Frame.encode({ configId: 1, forwardStopSign: { ss: { configId: 2, nodes: [] } } }),
    ],
    [
      "stop sign with duplicate nodes",
      Frame.encode({ configId: 1, forwardStopSign: { ss: { configId: 2, nodes: ["a", "a"] } } }),
    ],
    [
      "stop sign with empty node id",
      Frame.encode({ configId: 1, forwardStopSign: { ss: { configId: 2, nodes: [""] } } }),
    ],
    [
      "stop sign config 0",
      Frame.encode({ configId: 1, forwardStopSign: { ss: { configId: 0, nodes: ["a"] } } }),
    ],
    [
      "huge pid",
      Frame.encode({ configId: 1, prepareReq: { n: { n: 1, priority: 0, pid: "x".repeat(10_000) } } }),
    ],
    // configId = 2^53 (first unsafe integer) and 2^64 - 1 as raw varints
    [
      "unsafe 2^53",
      Uint8Array.from([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0xb2, 0x01, 0x00]),
    ],
    ["unsafe 2^64-1", Uint8Array.from([0x08, ...Array(9).fill(0xff), 0x01, 0xb2, 0x01, 0x00])],
    ["unknown body field only", Uint8Array.from([0x08, 0x01, 0xfa, 0x06, 0x00])],
    ["deeply nested groups", new Uint8Array(200_000).fill(0x0b)],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => decodeMessage(bytes, FROM, TO), CodecError, name);
  }
});

test("codec: truncated frames never decode to an invalid message", () => {
  fc.assert(
    fc.property(anyMessage(), fc.nat(), (m, cut) => {
      const bytes = encodeMessage(m);
      decodeOrCodecError(bytes.subarray(0, cut % Math.max(1, bytes.length)));
    }),
    { numRuns: 300 },
  );
});

test("codec: mutated frames yield a valid message or a CodecError", () => {
  fc.assert(
    fc.property(
      anyMessage(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (m, flips) => {
        const bytes = encodeMessage(m).slice();
        for (const [pos, val] of flips) bytes[pos % bytes.length] = val;
        decodeOrCodecError(bytes);
      },
    ),
    { numRuns: 500 },
  );
});

test("codec: random garbage yields a valid message or a CodecError", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => void decodeOrCodecError(b)), {
    numRuns: 2000,
  });
});
