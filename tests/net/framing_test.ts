/**
 * decodeLengthPrefix (the readers' length decoder, issue 7) against uint8-varint, the decoder it replaces:
 * the same length for every prefix however the bytes are split into buffers, RangeError ("need more
 * bytes") for a missing or cut prefix, and the same frames out of LengthPrefixedDecoder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import * as varint from "uint8-varint";
import { Uint8ArrayList } from "uint8arraylist";
import { decodeLengthPrefix, encodeFrames } from "../../src/net/framing.ts";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` cut at random points into a list of buffers (some empty). */
function split(bytes: Uint8Array, rand: () => number): Uint8ArrayList {
  const list = new Uint8ArrayList();
  let at = 0;
  while (at < bytes.byteLength) {
    const n = Math.floor(rand() * 4);
    list.append(bytes.slice(at, at + n));
    at += n;
  }
  return list;
}

test("the same length as uint8-varint for any prefix, split anyhow", () => {
  const rand = rng(7);
  const values = [
    0,
    1,
    127,
    128,
    255,
    16_383,
    16_384,
    2 ** 21 - 1,
    2 ** 21,
    2 ** 28,
    2 ** 31 - 1,
    2 ** 35,
    2 ** 53 - 1,
  ];
  for (let i = 0; i < 500; i++) values.push(Math.floor(rand() * 2 ** (1 + Math.floor(rand() * 52))));
  for (const v of values) {
    const prefix = varint.encode(v);
    const bytes = new Uint8Array([...prefix, 1, 2, 3]);
    const expected = varint.decode(new Uint8ArrayList(bytes));
    assert.equal(decodeLengthPrefix(split(bytes, rand)), expected, `value ${v}`);
    assert.equal(decodeLengthPrefix(bytes), expected, `value ${v}, one Uint8Array`);
    // Every cut inside the prefix means "need more bytes", as uint8-varint says.
    for (let cut = 0; cut < prefix.byteLength; cut++) {
      assert.throws(() => decodeLengthPrefix(split(prefix.subarray(0, cut), rand)), RangeError);
      assert.throws(() => varint.decode(new Uint8ArrayList(prefix.subarray(0, cut))), RangeError);
    }
  }
});

test("a prefix longer than 8 bytes is refused like uint8-varint refuses it", () => {
  const bytes = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  assert.throws(() => varint.decode(new Uint8ArrayList(bytes)), RangeError);
  assert.throws(() => decodeLengthPrefix(new Uint8ArrayList(bytes)), RangeError);
});

test("LengthPrefixedDecoder yields the same frames with it, chunked at random", () => {
  const rand = rng(11);
  const frames = Array.from(
    { length: 300 },
    (_, i) => Uint8Array.from({ length: Math.floor(rand() * (i % 10 === 0 ? 20_000 : 200)) + 1 }, () => i),
  );
  const wire = encodeFrames(frames);
  const decoder = new LengthPrefixedDecoder({ maxDataLength: 1 << 20, lengthDecoder: decodeLengthPrefix });
  const out: number[][] = [];
  for (let at = 0; at < wire.byteLength;) {
    const n = 1 + Math.floor(rand() * 700);
    for (const f of decoder.decode(split(wire.subarray(at, at + n), rand))) out.push([...f.subarray()]);
    at += n;
  }
  assert.deepEqual(out, frames.map((f) => [...f]));
});
