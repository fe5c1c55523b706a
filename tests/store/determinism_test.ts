import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { randomSeed, SqlStateMachine, type Statement } from "../../src/store/mod.ts";
import { entry, sameBytes, show, T0 } from "./helpers.ts";

const NONDET = [
  "random()",
  "randomblob(9)",
  "hex(randomblob(3))",
  "datetime('now')",
  "CURRENT_TIMESTAMP",
  "CURRENT_DATE",
  "CURRENT_TIME",
  "date('now', 'localtime')",
  "time('now', 'utc')",
  "julianday('now')",
  "unixepoch('now', 'subsec')",
  "strftime('%Y-%m-%d %H:%M:%f', 'now')",
  "datetime('now', 'localtime', '+1 day')",
  "timediff('now', '2000-01-01')",
  "abs(random()) % 1000",
];

const SCHEMA = [
  `CREATE TABLE t(id INTEGER PRIMARY KEY, v, at TEXT DEFAULT CURRENT_TIMESTAMP, r INTEGER DEFAULT (random()))`,
  `CREATE TABLE audit(id INTEGER PRIMARY KEY, tid, at, noise)`,
  `CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
     INSERT INTO audit(tid, at, noise) VALUES (new.id, strftime('%f', 'now'), randomblob(4));
   END`,
];

const arbStatement: fc.Arbitrary<Statement> = fc.oneof(
  fc.constantFrom(...NONDET).map((e) => ({ sql: `INSERT INTO t(v) VALUES (${e})` })),
  fc.tuple(fc.constantFrom(...NONDET), fc.constantFrom(...NONDET)).map(([a, b]) => ({
    sql: `INSERT INTO t(v, at) VALUES (${a}, ${b})`,
  })),
  fc.constantFrom(...NONDET).map((e) => ({ sql: `SELECT ${e}, count(*) FROM t` })),
  fc.integer({ min: 1, max: 5 }).map((n) => ({
    sql: `UPDATE t SET v = random() WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT ?)`,
    params: [n],
  })),
  fc.constant({ sql: "DELETE FROM t WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1)" }),
  fc.constant({ sql: "INSERT INTO t(id, v) VALUES (1, 'dup')" }), // fails once row 1 exists
  fc.constant({ sql: "INSERT INTO nope VALUES (1)" }),
  fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.uint8Array({ maxLength: 8 }),
    fc.constant(null),
  )
    .map((x) => ({ sql: "INSERT INTO t(v) VALUES (?) RETURNING id, typeof(v), at", params: [x] })),
);

const arbWorkload = fc.array(
  fc.record({
    statements: fc.array(arbStatement, { minLength: 1, maxLength: 4 }),
    transaction: fc.boolean(),
    gapMs: fc.integer({ min: -5000, max: 90_000_000 }), // clocks of different proposers may go backwards
  }),
  { minLength: 1, maxLength: 25 },
);

/** Runs `fn` while the host clock reads `offsetMs` ahead of the real one (another machine, another day). */
function hostClockShift<T>(offsetMs: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => real() + offsetMs;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

function withTz<T>(tz: string, fn: () => T): T {
  const g = globalThis as { process?: { env: Record<string, string | undefined> } };
  const env = g.process?.env;
  const prev = env?.TZ;
  if (env) env.TZ = tz;
  try {
    return fn();
  } finally {
    if (env) {
      if (prev === undefined) delete env.TZ;
      else env.TZ = prev;
    }
  }
}

test("replicas applying the same random workload at different times and zones end byte-identical", async () => {
  await fc.assert(
    fc.asyncProperty(arbWorkload, async (workload) => {
      const entries = [entry(1, SCHEMA, { transaction: true })];
      let ts = T0;
      workload.forEach((w, i) => {
        ts += w.gapMs;
        entries.push(entry(i + 2, w.statements, { transaction: w.transaction, ts }));
      });
      const a = await SqlStateMachine.open();
      const b = await SqlStateMachine.open();
      try {
        const ra = withTz("Asia/Tokyo", () => entries.map((e, i) => a.apply(i, e)));
        await new Promise((r) => setTimeout(r, 3)); // real time passes between the replicas
        const rb = withTz(
          "America/New_York",
          () => hostClockShift(86_400_000 + 12_345, () => entries.map((e, i) => b.apply(i, e))),
        );
        assert.equal(show(rb), show(ra));
        assert.ok(sameBytes(a.createSnapshot(), b.createSnapshot()), "exports differ");
        assert.deepEqual(await a.checksum(), await b.checksum());
      } finally {
        a.close();
        b.close();
      }
    }),
    { numRuns: 15 },
  );
});

test("'now' is the command timestamp, localtime is UTC, random() is an INTEGER from the seed", async () => {
  const sm = await SqlStateMachine.open();
  const ts = Date.UTC(2031, 6, 4, 5, 6, 7, 891);
  const res = withTz("Australia/Adelaide", () =>
    sm.apply(
      0,
      entry(1, [
        `SELECT datetime('now'), CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, strftime('%f', 'now'),
              datetime('now', 'localtime'), datetime('now', 'utc'), unixepoch('now', 'subsec'),
              julianday('now'), typeof(random()), length(randomblob(0)), length(randomblob(5))`,
      ], { ts }),
    ));
  assert.deepEqual(res?.results[0].values?.[0], [
    "2031-07-04 05:06:07",
    "2031-07-04 05:06:07",
    "2031-07-04",
    "05:06:07",
    "07.891",
    "2031-07-04 05:06:07",
    "2031-07-04 05:06:07",
    ts / 1000,
    ts / 86_400_000 + 2_440_587.5,
    "integer",
    1,
    5,
  ]);
  // Same seed, same draws; another seed, other draws.
  const draw = (seq: number, seed: bigint) =>
    show(sm.apply(seq - 1, entry(seq, ["SELECT random(), hex(randomblob(8))"], { seed }))?.results);
  assert.equal(draw(2, 77n), draw(3, 77n));
  assert.notEqual(draw(4, 77n), draw(5, 78n));
  // The host clock is back to normal after apply.
  assert.ok(Math.abs(Date.now() - new Date().getTime()) < 1000 && new Date().getFullYear() >= 2024);
  sm.close();
});

test("commands never see time go backwards: the effective clock is the max of timestamps so far", async () => {
  const sm = await SqlStateMachine.open();
  sm.apply(0, entry(1, ["SELECT 1"], { ts: T0 + 60_000 }));
  const r = sm.apply(1, entry(2, ["SELECT strftime('%s', 'now') * 1000"], { ts: T0 }));
  assert.equal(r?.results[0].values?.[0][0], Math.floor((T0 + 60_000) / 1000) * 1000);
  sm.close();
});

test("randomSeed gives fresh 64-bit values across many pool refills", () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 5_000; i++) seen.add(randomSeed());
  assert.equal(seen.size, 5_000, "no repeats");
  assert.ok([...seen].some((s) => s >= 1n << 63n), "the top bit is used");
});
