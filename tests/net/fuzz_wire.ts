/**
 * Hostile paxos streams for the fuzz tests: fast-check generators of what a misbehaving member may write
 * on /chiselstore/paxos/1.0.0, each labelled with whether the receiver must treat it as a protocol
 * violation (`mustReject`), must not (`false`: e.g. a valid stream cut short) or may do either (`undefined`:
 * random bytes and flipped bits can happen to be valid).
 */
import fc from "fast-check";
import type { Message } from "../../src/omnipaxos/mod.ts";
import { encodeMessage } from "../../src/net/codec.ts";
import { splitFrame } from "../../src/net/fragment.ts";
import { encodeFrames } from "../../src/net/framing.ts";
import * as pb from "../../src/net/wire.ts";
import { anyMessage } from "./arbitraries.ts";

export interface Limits {
  maxFrameBytes: number;
  maxMessageBytes: number;
  chunkBytes: number;
}

/** Limits the in-process receivers run with: small, so floods reach them quickly. */
export const LIMITS: Limits = { maxFrameBytes: 4096, maxMessageBytes: 16_384, chunkBytes: 512 };
/** A real node's defaults (src/net/protocol.ts, transport.ts): floods past them are not sendable here. */
export const NODE_LIMITS: Limits = {
  maxFrameBytes: 16 << 20,
  maxMessageBytes: 512 << 20,
  chunkBytes: 1 << 20,
};

export interface Hostile {
  kind: string;
  /** What the peer writes: the bytes of the whole stream. */
  bytes: Uint8Array;
  /** Valid messages the stream starts with: the receiver delivers these whatever follows. */
  prefix: Message<Uint8Array>[];
  mustReject: boolean | undefined;
}

/** An unsigned varint, as length prefixes are written. */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** One raw fragment frame with whatever header the attacker likes. */
export function fragment(id: number, index: number, count: number, data: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([0xa2, 0x06]), varint(id), varint(index), varint(count), data]);
}

/** Messages the receiver accepts as they are: anything valid, shrunk to what fits the limits. */
const validMessage = (lim: Limits): fc.Arbitrary<Message<Uint8Array>> =>
  anyMessage().filter((m) => encodeMessage(m).byteLength <= Math.min(lim.maxMessageBytes, 16_384));

/** A valid stream: the messages, framed as the sender would (large ones in fragments). */
export function encodeStream(msgs: Message<Uint8Array>[], lim: Limits = LIMITS): Uint8Array {
  const frames = msgs.flatMap((m, i) => {
    const f = encodeMessage(m);
    return f.byteLength <= lim.chunkBytes ? [f] : splitFrame(f, 1 + i, lim.chunkBytes);
  });
  return encodeFrames(frames);
}

const prefix = (lim: Limits) => fc.array(validMessage(lim), { maxLength: 4 });

/** Frames no receiver may accept, each paired with its kind. */
const poison = (lim: Limits): fc.Arbitrary<[string, Uint8Array]> =>
  fc.oneof(
    // A length prefix past the frame limit: 2^31, or anything from just over the limit up.
    fc.oneof(fc.constant(2 ** 31), fc.integer({ min: lim.maxFrameBytes + 1, max: 2 ** 40 }))
      .map((n): [string, Uint8Array] => ["absurd length", concat([varint(n), new Uint8Array(8)])]),
    // Protobuf that decodes but is not a message: an unknown enum value, configId 0, an ownerless
    // ballot, no body at all.
    fc.integer({ min: 3, max: 2 ** 31 }).map((op): [string, Uint8Array] => [
      "invalid enum",
      encodeFrames([pb.Frame.encode({ configId: 1, compaction: { op, idx: 1 } })]),
    ]),
    fc.constant<[string, Uint8Array]>([
      "config 0",
      encodeFrames([pb.Frame.encode({ configId: 0, prepareReq: { n: { n: 1, priority: 0, pid: "x" } } })]),
    ]),
    fc.nat().map((n): [string, Uint8Array] => [
      "ownerless ballot",
      encodeFrames([pb.Frame.encode({ configId: 1, prepareReq: { n: { n: n + 1, priority: 0, pid: "" } } })]),
    ]),
    fc.constant<[string, Uint8Array]>(["no body", encodeFrames([pb.Frame.encode({ configId: 1 })])]),
    lyingFragments(lim).map((f): [string, Uint8Array] => ["lying fragments", encodeFrames(f)]),
  );

/** Fragment runs whose headers lie, or (small limits only) carry more than the receiver reassembles. */
export const lyingFragments = (lim: Limits): fc.Arbitrary<Uint8Array[]> => {
  const data = (min: number) => fc.uint8Array({ minLength: min, maxLength: 64 });
  const lies = [
    // index >= count, or count 0
    fc.tuple(fc.nat(), fc.nat(), data(1)).map(([id, c, d]) => [fragment(id, c, c, d)]),
    // a run that does not start at 0
    fc.tuple(fc.nat(), fc.integer({ min: 2, max: 1000 }), data(1)).map((
      [id, c, d],
    ) => [fragment(id, 1, c, d)]),
    // skips an index, changes its count or id half-way, or starts anew before it ended
    fc.tuple(fc.nat(), fc.integer({ min: 3, max: 1000 }), data(1), fc.constantFrom(0, 1, 2, 3)).map(
      ([id, c, d, how]) => [
        fragment(id, 0, c, d),
        how === 0
          ? fragment(id, 2, c, d)
          : how === 1
          ? fragment(id, 1, c + 1, d)
          : how === 2
          ? fragment(id + 1, 1, c, d)
          : fragment(id, 0, c, d),
      ],
    ),
    // an empty fragment that is not the last: it would keep a message open forever for free
    fc.tuple(fc.nat(), fc.integer({ min: 2, max: 2 ** 40 })).map(([id, c]) => [
      fragment(id, 0, c, new Uint8Array(0)),
    ]),
    // well-formed headers around bytes that are no Frame
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([id, c]) =>
      Array.from({ length: c }, (_, i) => fragment(id, i, c, new Uint8Array(40).fill(0xff)))
    ),
  ];
  if (lim.maxMessageBytes > 1 << 20) return fc.oneof(...lies);
  // a flood: claims a huge count and sends until past maxMessageBytes
  const flood = fc.tuple(fc.nat(), fc.integer({ min: 1000, max: lim.maxFrameBytes - 16 })).map(
    ([id, size]) => {
      const n = Math.ceil((lim.maxMessageBytes + 1) / size);
      return Array.from({ length: n }, (_, i) => fragment(id, i, 2 ** 40, new Uint8Array(size).fill(i)));
    },
  );
  return fc.oneof(...lies, flood);
};

function flip(bytes: Uint8Array, flips: [number, number][]): Uint8Array {
  const out = bytes.slice();
  for (const [at, mask] of flips) if (out.length > 0) out[at % out.length] ^= mask;
  return out;
}

/** Every kind of hostile stream, with the ground truth the receiver is held to. */
export const hostileStream = (lim: Limits = LIMITS): fc.Arbitrary<Hostile> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((bytes): Hostile => ({
      kind: "random bytes",
      bytes,
      prefix: [],
      mustReject: undefined,
    })),
    fc.tuple(prefix(lim), fc.nat()).map(([msgs, cut]): Hostile => {
      const bytes = encodeStream(msgs, lim);
      return {
        kind: "truncated",
        bytes: bytes.subarray(0, cut % (bytes.length + 1)),
        prefix: [],
        mustReject: false,
      };
    }),
    fc.tuple(
      prefix(lim),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }),
    ).map(([msgs, flips]): Hostile => ({
      kind: "flipped",
      bytes: flip(encodeStream(msgs, lim), flips),
      prefix: [],
      mustReject: undefined,
    })),
    fc.tuple(prefix(lim), poison(lim)).map(([msgs, [kind, bad]]): Hostile => ({
      kind,
      bytes: concat([encodeStream(msgs, lim), bad]),
      prefix: msgs,
      mustReject: true,
    })),
    prefix(lim).map((msgs): Hostile => ({
      kind: "valid",
      bytes: encodeStream(msgs, lim),
      prefix: msgs,
      mustReject: false,
    })),
  );

/** `bytes` cut into the chunks a network might deliver (cut points chosen by the run). */
export function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  return out;
}

/** A frame no codec would write: a ProposalForward with one empty entry too many. */
export function hugeRepeatedField(count: number): Uint8Array {
  return pb.Frame.encode({ configId: 1, proposalForward: { entries: Array(count).fill(new Uint8Array(0)) } });
}
