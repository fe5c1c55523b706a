import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CodecError } from "../../src/net/codec.ts";
import { isFragment, Reassembler, splitFrame } from "../../src/net/fragment.ts";

test("fragments reassemble to the original frame, for any size and chunk", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 }), (frame, chunk) => {
      const parts = splitFrame(frame, 7, chunk);
      assert.equal(parts.length, Math.max(1, Math.ceil(frame.length / chunk)));
      const r = new Reassembler(1 << 20);
      let whole: Uint8Array | undefined;
      parts.forEach((p, i) => {
        assert.ok(isFragment(p));
        whole = r.accept(p);
        if (i < parts.length - 1) assert.equal(whole, undefined);
      });
      assert.deepEqual(whole, frame);
    }),
  );
});

test("a real Frame is never taken for a fragment; bad fragment runs are protocol errors", () => {
  assert.equal(isFragment(new Uint8Array([0x08, 0x01, 0x52, 0x00])), false);
  const parts = splitFrame(new Uint8Array(100).fill(3), 1, 10);
  const skip = new Reassembler(1000);
  skip.accept(parts[0]);
  assert.throws(() => skip.accept(parts[2]), CodecError);
  const interleaved = new Reassembler(1000);
  interleaved.accept(parts[0]);
  assert.throws(() => interleaved.accept(splitFrame(new Uint8Array(30), 2, 10)[0]), CodecError);
  const small = new Reassembler(50);
  assert.throws(() => parts.forEach((p) => small.accept(p)), CodecError);
  assert.throws(() => new Reassembler(100).accept(new Uint8Array([0xa2, 0x06, 0x80])), CodecError);
  assert.throws(() => new Reassembler(100).accept(parts[1]), CodecError, "a run must start at index 0");
});
