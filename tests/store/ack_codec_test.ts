/** RequestId.ackBelow in the command format: flags bit 1, a varint after seq; old commands unchanged. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CommandDecodeError, decodeCommand, encodeCommand, type RequestId } from "../../src/store/mod.ts";
import { command, show } from "./helpers.ts";

const arbId: fc.Arbitrary<RequestId> = fc.integer({ min: 1 }).chain((seq) =>
  fc.record(
    {
      clientId: fc.string({ minLength: 1, maxLength: 40 }),
      seq: fc.constant(seq),
      ackBelow: fc.integer({ min: 1, max: seq }),
    },
    { requiredKeys: ["clientId", "seq"] },
  )
);

test("request ids round-trip with and without ackBelow", () => {
  fc.assert(
    fc.property(arbId, fc.boolean(), (requestId, transaction) => {
      const c = { ...command(1, ["SELECT 1"], { transaction }), requestId: { ...requestId } };
      const back = decodeCommand(encodeCommand(c));
      // fast-check builds null-prototype records: compare own keys; no ackBelow key appears when none was sent.
      assert.deepEqual(back.requestId, { ...requestId });
      assert.equal(back.transaction, transaction);
      assert.equal(show(back), show(c));
    }),
    { numRuns: 500, seed: 20261130 },
  );
});

test("an ackBelow is the old encoding with flags bit 1 and one varint after seq", () => {
  for (const transaction of [false, true]) {
    const old = encodeCommand(command(300, ["SELECT 1"], { transaction }));
    const acked = encodeCommand(command(300, ["SELECT 1"], { transaction, ack: 200 }));
    assert.equal(old[2], transaction ? 1 : 0, "a command without ackBelow keeps the old flags byte");
    assert.equal(acked[2], old[2] | 2);
    // magic, version, flags, "client-1" (length 8 + 8 bytes), seq 300 (2-byte varint), then ackBelow 200.
    const afterSeq = 3 + 1 + 8 + 2;
    assert.deepEqual([...acked.subarray(afterSeq, afterSeq + 2)], [0xc8, 0x01]);
    assert.deepEqual(
      [...acked.subarray(0, 2), ...acked.subarray(3, afterSeq), ...acked.subarray(afterSeq + 2)],
      [...old.subarray(0, 2), ...old.subarray(3)],
    );
  }
});

test("a bad ackBelow is refused by the encoder and the decoder", () => {
  for (const ack of [0, -1, 8, 1.5, Number.NaN]) {
    assert.throws(
      () => encodeCommand(command(7, ["SELECT 1"], { ack })),
      /ackBelow must be an integer in 1\.\.seq/,
    );
  }
  const good = encodeCommand(command(7, ["SELECT 1"], { ack: 3 }));
  const ackAt = 3 + 1 + 8 + 1;
  assert.equal(good[ackAt], 3);
  for (const bad of [0, 8, 100]) {
    const bytes = good.slice();
    bytes[ackAt] = bad;
    assert.throws(
      () => decodeCommand(bytes),
      (e) => e instanceof CommandDecodeError && /ackBelow/.test(e.message),
    );
  }
  const flags = good.slice();
  flags[2] = 4;
  assert.throws(() => decodeCommand(flags), /unknown flags 4/);
  // Truncated inside the ackBelow varint.
  assert.throws(() => decodeCommand(good.subarray(0, ackAt)), CommandDecodeError);
});
