import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Command,
  CommandDecodeError,
  decodeCommand,
  encodeCommand,
  type SqlValue,
} from "../../src/store/mod.ts";
import { decodeResult, encodeResult } from "../../src/store/results.ts";
import { command, show } from "./helpers.ts";

const value: fc.Arbitrary<SqlValue> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.string({ unit: "grapheme" }),
  fc.uint8Array({ maxLength: 40 }),
);

const arbCommand: fc.Arbitrary<Command> = fc.record({
  requestId: fc.record({ clientId: fc.string({ minLength: 1, maxLength: 40 }), seq: fc.integer({ min: 1 }) }),
  statements: fc.array(
    fc.record({
      sql: fc.string({ unit: "binary", maxLength: 300 }),
      params: fc.option(
        fc.oneof(
          fc.array(value, { maxLength: 5 }),
          fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 5 }),
        ),
        { nil: undefined },
      ),
    }, { requiredKeys: ["sql"] }),
    { maxLength: 6 },
  ),
  transaction: fc.boolean(),
  timestampMs: fc.maxSafeNat(),
  seed: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
});

test("commands round-trip through the binary codec", () => {
  fc.assert(
    fc.property(arbCommand, (c) => {
      // Named params come back in a null-prototype object and fast-check may build those too: compare shapes.
      const flat = (x: Command) =>
        show({ ...x, statements: x.statements.map((s) => [s.sql, s.params && Object.entries(s.params)]) });
      assert.equal(flat(decodeCommand(encodeCommand(c))), flat(c));
    }),
    { numRuns: 300 },
  );
});

test("integers keep exactness: safe numbers stay numbers, int64 bigints stay bigints", () => {
  const c = command(1, [{
    sql: "x",
    params: [2 ** 53 - 1, -(2 ** 53) + 1, 9223372036854775807n, -9223372036854775808n, 0.5],
  }]);
  assert.deepEqual(decodeCommand(encodeCommand(c)).statements[0].params, c.statements[0].params);
});

test("decoding rejects garbage with CommandDecodeError and nothing else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeCommand(bytes);
      } catch (e) {
        assert.ok(e instanceof CommandDecodeError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
  const good = encodeCommand(
    command(7, ["SELECT 1", { sql: "SELECT ?", params: ["héllo", new Uint8Array([1, 2])] }]),
  );
  for (let cut = 0; cut < good.length; cut++) {
    assert.throws(() => decodeCommand(good.subarray(0, cut)), CommandDecodeError, `truncated at ${cut}`);
  }
  assert.throws(() => decodeCommand(new Uint8Array([...good, 0])), /trailing/);
  assert.throws(() => decodeCommand(new Uint8Array([0x7b, ...good.subarray(1)])), /magic/);
  const badUtf8 = good.slice();
  badUtf8[4] = 0xff; // first byte of the client id
  assert.throws(() => decodeCommand(badUtf8), /UTF-8/);
  // A huge length prefix must fail fast instead of allocating.
  assert.throws(() => decodeCommand(new Uint8Array([0xc5, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f])), /exceeds/);
});

test("encoding refuses what cannot be decoded", () => {
  assert.throws(() => encodeCommand(command(0, ["SELECT 1"])), /seq/);
  assert.throws(() => encodeCommand({ ...command(1, ["SELECT 1"]), seed: -1n }), /seed/);
  assert.throws(() => encodeCommand(command(1, [{ sql: "?", params: [1n << 63n] }])), /int64/);
  assert.throws(
    () => encodeCommand(command(1, [{ sql: "?", params: [{} as unknown as SqlValue] }])),
    /unsupported/,
  );
});

test("stored results round-trip", () => {
  const r = {
    index: 42,
    rolledBack: true,
    results: [
      { columns: ["a", "b"], types: ["integer", ""], values: [[1, null], [9007199254740993n, null]] },
      { rowsAffected: 3, lastInsertId: 7 },
      { error: "no such table: x" },
    ],
  };
  assert.deepEqual(decodeResult(encodeResult(r)), r);
  assert.throws(() => decodeResult(encodeResult(r).subarray(1)), CommandDecodeError);
});
