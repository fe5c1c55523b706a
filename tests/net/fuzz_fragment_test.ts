/**
 * Fragment reassembly under hostile headers: whatever a peer claims (counts up to 2^40, indexes past the
 * count, ids that change, empty or 1-byte fragments), the reassembler throws only CodecError and never
 * holds more than its limit; a flood of tiny fragments costs its bytes, not an object per fragment.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CodecError } from "../../src/net/codec.ts";
import { Reassembler, splitFrame } from "../../src/net/fragment.ts";
import { collectGarbage } from "../../src/server/release_memory.ts";
import { fragment } from "./fuzz_wire.ts";

const MAX = 2048;

/** A fragment with a header drawn near the previous one's (so runs sometimes continue), or anything. */
const step = () =>
  fc.record({
    id: fc.oneof(fc.constant(1), fc.nat(3), fc.nat()),
    index: fc.oneof(fc.nat(4), fc.nat()),
    count: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(2 ** 40), fc.nat()),
    data: fc.uint8Array({ maxLength: 700 }),
  });

test("any fragment sequence: only CodecErrors, and never more than the limit held", () => {
  let reassembled = 0;
  fc.assert(
    fc.property(
      fc.array(fc.oneof(step(), fc.uint8Array({ maxLength: 2000 })), { maxLength: 40 }),
      (steps) => {
        const r = new Reassembler(MAX);
        for (const s of steps) {
          // Either a header the run chose or a valid message's fragments (a run that may be cut off by junk).
          const frames = s instanceof Uint8Array
            ? splitFrame(s, 1, 500)
            : [fragment(s.id, s.index, s.count, s.data)];
          for (const f of frames) {
            try {
              const whole = r.accept(f);
              if (whole) {
                assert.ok(whole.byteLength <= MAX);
                reassembled++;
              }
            } catch (e) {
              assert.ok(e instanceof CodecError, `unexpected ${(e as Error)?.name}`);
              return; // the stream is closed after a violation
            }
            assert.ok(r.bufferedBytes <= MAX, `holds ${r.bufferedBytes} > ${MAX}`);
          }
        }
      },
    ),
    { seed: 611, numRuns: 5000 },
  );
  assert.ok(reassembled > 1000, `only ${reassembled} messages were completed`);
});

test("a flood of 1-byte fragments holds its bytes only, then is refused at the limit", () => {
  const limit = 256 * 1024;
  const r = new Reassembler(limit);
  const one = new Uint8Array([7]);
  // Full collections around the flood: what is measured is what the reassembler keeps, not the flood's
  // garbage (whose share of the heap depends on how large V8 has grown its young generation by then).
  assert.ok(collectGarbage(), "a full collection is reachable");
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < limit; i++) assert.equal(r.accept(fragment(9, i, 2 ** 40, one)), undefined);
  collectGarbage();
  const grown = process.memoryUsage().heapUsed - before;
  // A part per fragment would hold ~70 MB here (measured before the fix); the buffer holds 256 KiB.
  assert.ok(grown < 8e6, `heap grew ${(grown / 1e6).toFixed(1)} MB`);
  assert.throws(() => r.accept(fragment(9, limit, 2 ** 40, one)), /exceeds 262144 bytes/);
  assert.equal(r.bufferedBytes, 0, "a refused message releases its buffer");
});

test("an empty fragment before the last is refused; an empty message is one empty fragment", () => {
  assert.throws(() => new Reassembler(MAX).accept(fragment(1, 0, 2, new Uint8Array(0))), /empty fragment/);
  const [only] = splitFrame(new Uint8Array(0), 5, 100);
  assert.deepEqual(new Reassembler(MAX).accept(only), new Uint8Array(0));
});
