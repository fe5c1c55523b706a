/**
 * Applying commands whose request ids carry ackBelow (docs/store.md, "Acknowledgements"): no window
 * refusal while a seq is still unacknowledged, late copies below the watermark refused, acknowledged
 * results forgotten, a hard bound for clients that never acknowledge, old commands unchanged, and all of it
 * identical on every replica.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SqlStateMachine } from "../../src/store/mod.ts";
import { ACKED_WINDOW } from "../../src/store/state_machine.ts";
import { loadSqlJs } from "../../src/store/sqljs.ts";
import * as S from "../../src/store/schema.ts";
import { entry, sameBytes, show, T0 } from "./helpers.ts";

/** Runs `sql` on a copy of the database, where the store's own tables can be read. */
async function internal(sm: SqlStateMachine, sql: string): Promise<unknown[][]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(sm.createSnapshot());
  try {
    const st = db.prepare(sql);
    const out: unknown[][] = [];
    while (st.step()) {
      out.push(st.get(null, { useBigInt: true }).map((v) => (typeof v === "bigint" ? Number(v) : v)));
    }
    st.free();
    return out;
  } finally {
    db.close();
  }
}

const count = (sm: SqlStateMachine) => sm.query([{ sql: "SELECT count(*) FROM t" }])[0].values?.[0]?.[0];

async function withTable(fn: (sm: SqlStateMachine) => void | Promise<void>, opts = {}) {
  const sm = await SqlStateMachine.open(opts);
  try {
    sm.apply(0, entry(1, ["CREATE TABLE t(v TEXT NOT NULL)"], { client: "setup" }));
    await fn(sm);
  } finally {
    sm.close();
  }
}

const insert = (seq: number, ack?: number, client = "c") =>
  entry(seq, [`INSERT INTO t VALUES ('${client}${seq}')`], { client, ack });

test("a seq far below max_seq but not acknowledged is applied once; a late copy below acked is refused", () =>
  withTable(async (sm) => {
    // seq 1 is still in flight at the client while 2..200 are decided: each says ackBelow 1.
    for (let seq = 2; seq <= 200; seq++) {
      assert.equal(sm.apply(sm.appliedIndex, insert(seq, 1))?.error, undefined);
    }
    const first = sm.apply(sm.appliedIndex, insert(1, 1))!;
    assert.equal(first.error, undefined, "not refused by the window (64)");
    assert.equal(first.results[0].rowsAffected, 1);
    const retry = sm.apply(sm.appliedIndex, insert(1, 1))!;
    assert.equal(retry.duplicate, true, "a retry of it is a duplicate");
    assert.equal(count(sm), 200);
    // Everything answered: the next request acknowledges all below 201.
    sm.apply(sm.appliedIndex, insert(201, 201));
    assert.deepEqual(await internal(sm, "SELECT max_seq, acked FROM __chisel_clients WHERE client = 'c'"), [[
      201,
      201,
    ]]);
    assert.deepEqual(
      await internal(sm, "SELECT seq FROM __chisel_results WHERE client = 'c'"),
      [[201]],
      "acknowledged results are forgotten",
    );
    const before = sm.createSnapshot().length;
    const late = sm.apply(sm.appliedIndex, insert(150, 1))!;
    assert.equal(late.error, "request c#150 was already answered; a late copy is ignored");
    assert.deepEqual(late.results, []);
    assert.equal(count(sm), 201, "not applied");
    assert.deepEqual(await internal(sm, "SELECT max_seq, acked FROM __chisel_clients WHERE client = 'c'"), [[
      201,
      201,
    ]]);
    assert.ok(sm.createSnapshot().length >= before);
    // The watermark never moves down: an older ackBelow on a newer request changes nothing.
    sm.apply(sm.appliedIndex, insert(202, 180));
    assert.deepEqual(await internal(sm, "SELECT acked FROM __chisel_clients WHERE client = 'c'"), [[201]]);
    assert.deepEqual(await internal(sm, "SELECT seq FROM __chisel_results WHERE client = 'c' ORDER BY seq"), [
      [201],
      [202],
    ]);
  }));

test("a client that never acknowledges keeps at most ACKED_WINDOW results; beyond that the window rule applies", () =>
  withTable(async (sm) => {
    const last = ACKED_WINDOW + 101;
    for (let seq = 2; seq <= last; seq++) {
      sm.apply(sm.appliedIndex, entry(seq, ["SELECT 1"], { client: "c", ack: 1 }));
    }
    assert.deepEqual(
      await internal(sm, "SELECT count(*), min(seq) FROM __chisel_results WHERE client = 'c'"),
      [[
        ACKED_WINDOW,
        last - ACKED_WINDOW + 1,
      ]],
    );
    const tooOld = sm.apply(sm.appliedIndex, insert(last - ACKED_WINDOW, 1))!;
    assert.equal(
      tooOld.error,
      `request c#${
        last - ACKED_WINDOW
      } is older than the dedupe window (${ACKED_WINDOW}); its result is gone`,
    );
    assert.equal(count(sm), 0);
    const inside = sm.apply(sm.appliedIndex, insert(1 + last, 1))!;
    assert.equal(inside.error, undefined);
    assert.equal(sm.apply(sm.appliedIndex, insert(last - ACKED_WINDOW + 2, 1))?.duplicate, true);
  }));

test("commands without ackBelow keep the window rule exactly", () =>
  withTable(async (sm) => {
    for (let seq = 2; seq <= 70; seq++) sm.apply(sm.appliedIndex, insert(seq));
    assert.equal(
      sm.apply(sm.appliedIndex, insert(6))?.error,
      "request c#6 is older than the dedupe window (64); its result is gone",
    );
    assert.equal(sm.apply(sm.appliedIndex, insert(7))?.duplicate, true);
    assert.equal(count(sm), 69);
    assert.deepEqual(
      await internal(sm, "SELECT count(*), min(seq) FROM __chisel_results WHERE client = 'c'"),
      [[
        64,
        7,
      ]],
    );
    assert.deepEqual(await internal(sm, "SELECT acked FROM __chisel_clients WHERE client = 'c'"), [[0]]);
  }));

/** A client's life: seqs handed out in order, decided in any order, some retried, some copies late. */
function workload(rnd: () => number, clients: string[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const st = clients.map(() => ({ next: 1, inFlight: [] as number[], low: 1 }));
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rnd() * clients.length);
    const c = st[k];
    const client = clients[k];
    const r = rnd();
    const ack = () => {
      while (c.low < c.next && !c.inFlight.includes(c.low)) c.low++;
      return c.low;
    };
    if (r < 0.5 || c.inFlight.length === 0) {
      const seq = c.next++;
      c.inFlight.push(seq);
      out.push(
        entry(seq, [`INSERT INTO t VALUES ('${client}${seq}')`], { client, ack: ack(), ts: 1000 + i }),
      );
    } else if (r < 0.8) {
      // One in-flight request is decided (again) and answered.
      const j = Math.floor(rnd() * c.inFlight.length);
      const seq = c.inFlight[j];
      c.inFlight.splice(j, 1);
      out.push(entry(seq, [`INSERT INTO t VALUES ('${client}${seq}')`], { client, ack: 1, ts: 1000 + i }));
    } else {
      // A late copy of anything handed out so far.
      const seq = 1 + Math.floor(rnd() * (c.next - 1 || 1));
      out.push(entry(seq, [`INSERT INTO t VALUES ('${client}${seq}')`], { client, ack: 1, ts: 1000 + i }));
    }
  }
  return out;
}

test("replicas applying the same acknowledged workload end byte-identical, a restored one included", async () => {
  const seen = { applied: 0, duplicate: 0, answered: 0 };
  await fc.assert(
    fc.asyncProperty(fc.integer(), async (seed) => {
      let x = seed >>> 0;
      const rnd = () => { // mulberry32: the workload is a function of the seed
        x = (x + 0x6d2b79f5) >>> 0;
        let t = x;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const entries = [entry(1, ["CREATE TABLE t(v TEXT NOT NULL)"], { client: "setup" })];
      entries.push(...workload(rnd, ["a", "b", "c"], 300));
      const a = await SqlStateMachine.open();
      const b = await SqlStateMachine.open();
      try {
        const half = 150;
        const ra = entries.map((e, i) => a.apply(i, e));
        const rb = entries.slice(0, half).map((e, i) => b.apply(i, e));
        b.restore(b.createSnapshot());
        rb.push(...entries.slice(half).map((e, i) => b.apply(half + i, e)));
        assert.equal(show(rb), show(ra));
        assert.ok(sameBytes(a.createSnapshot(), b.createSnapshot()), "exports differ");
        assert.deepEqual(await a.checksum(), await b.checksum());
        // Exactly once: no value twice, and every refused request left no row.
        const [rows] = a.query([{ sql: "SELECT count(*), count(DISTINCT v) FROM t" }]);
        const [n, distinct] = rows.values![0];
        assert.equal(n, distinct);
        assert.equal(n, ra.filter((r) => r && !r.duplicate && !r.error && r.index > 0).length);
        for (const r of ra) {
          if (r?.duplicate) seen.duplicate++;
          else if (r?.error?.includes("already answered")) seen.answered++;
          else if (r && !r.error) seen.applied++;
          else assert.fail(`unexpected result ${show(r)}`);
        }
      } finally {
        a.close();
        b.close();
      }
    }),
    { numRuns: 10, seed: 7 },
  );
  // The workload reaches every case.
  assert.ok(seen.applied > 0 && seen.duplicate > 0 && seen.answered > 0, show(seen));
});

test("a database from before acknowledgements gains the column on open, the same on every replica", async () => {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  const oldSchema = S.CREATE_SCHEMA.replace(", acked INTEGER NOT NULL DEFAULT 0", "");
  assert.notEqual(oldSchema, S.CREATE_SCHEMA);
  db.run(`BEGIN; ${oldSchema} INSERT INTO __chisel_config VALUES
    ('format', ${S.FORMAT_VERSION}), ('dedupe_window', 64), ('client_ttl_ms', 86400000); COMMIT;`);
  // A client known before the upgrade (timestamped so that the expiry at index 0 keeps it).
  db.run(`INSERT INTO __chisel_clients VALUES ('c', 10, ${T0})`);
  const old = db.export();
  db.close();
  const a = await SqlStateMachine.open({ snapshot: old });
  const b = await SqlStateMachine.open();
  const fresh = await SqlStateMachine.open();
  try {
    b.restore(old);
    const schemaSql = "SELECT sql FROM sqlite_master WHERE name = '__chisel_clients'";
    assert.deepEqual(
      await internal(a, schemaSql),
      await internal(fresh, schemaSql),
      "reads like a fresh schema",
    );
    assert.deepEqual(await internal(a, "SELECT max_seq, acked FROM __chisel_clients"), [[10, 0]]);
    const entries = [
      entry(1, ["CREATE TABLE t(v TEXT NOT NULL)"], { client: "setup" }),
      insert(20), // old format
      insert(5), // old format, 5 <= 20 - 64 is false: applied
      insert(30, 1),
      insert(101, 101),
      insert(30, 1), // below acked now: refused
    ];
    const ra = entries.map((e, i) => a.apply(i, e));
    const rb = entries.map((e, i) => b.apply(i, e));
    assert.equal(show(rb), show(ra));
    assert.deepEqual(ra.map((r) => r?.error), [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      "request c#30 was already answered; a late copy is ignored",
    ]);
    assert.ok(sameBytes(a.createSnapshot(), b.createSnapshot()));
    assert.deepEqual(await internal(a, "SELECT max_seq, acked FROM __chisel_clients WHERE client = 'c'"), [[
      101,
      101,
    ]]);
  } finally {
    a.close();
    b.close();
    fresh.close();
  }
});
