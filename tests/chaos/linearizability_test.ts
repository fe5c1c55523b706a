/**
 * The register linearizability checker on hand-written histories (each anomaly it must catch, each legal
 * interleaving it must accept) and on generated ones: histories of a simulated atomic register are always
 * accepted, and one corrupted read (a value never written, or a provably stale one) is always rejected.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHistory, describeResult, type Op, type Outcome, type Value } from "./linearizability.ts";

/** Fields every op shares: process, timing, outcome and key (default "x"). */
const base = (p: number, invoke: number, complete: number, outcome: Outcome = "ok", key = "x") => ({
  key,
  invoke,
  complete,
  outcome,
  process: p,
});
const r = (
  p: number,
  value: Value,
  invoke: number,
  complete: number,
  outcome?: Outcome,
  key?: string,
): Op => ({
  kind: "read",
  value,
  ...base(p, invoke, complete, outcome, key),
});
const w = (
  p: number,
  value: Value,
  invoke: number,
  complete: number,
  outcome?: Outcome,
  key?: string,
): Op => ({
  kind: "write",
  value,
  ...base(p, invoke, complete, outcome, key),
});
const cas = (
  p: number,
  expected: Value,
  value: Value,
  invoke: number,
  complete: number,
  outcome?: Outcome,
  key?: string,
): Op => ({ kind: "cas", expected, value, ...base(p, invoke, complete, outcome, key) });

function accepts(h: Op[], why: string): void {
  const res = checkHistory(h);
  assert.equal(res.result, "ok", `${why}: ${describeResult(res)}`);
}

function rejects(h: Op[], why: string): void {
  const res = checkHistory(h);
  assert.equal(res.result, "violation", `${why}: ${describeResult(res)}`);
}

test("sequential and overlapping legal histories are accepted", () => {
  accepts([], "empty");
  accepts([r(0, null, 0, 1), w(0, 1, 2, 3), r(1, 1, 4, 5)], "sequential");
  // A read overlapping a write may see either value.
  accepts([w(0, 1, 0, 10), r(1, null, 1, 2), r(2, 1, 3, 4)], "reads concurrent with the write");
  // Two concurrent writes, then sequential reads that agree on the winner.
  accepts([w(0, 1, 0, 10), w(1, 2, 0, 10), r(2, 1, 11, 12), r(2, 1, 13, 14)], "concurrent writes, 1 wins");
  accepts([w(0, 1, 0, 10), w(1, 2, 0, 10), r(2, 2, 11, 12), r(3, 2, 13, 14)], "concurrent writes, 2 wins");
  // A read concurrent with both writes may see the one that ends up overwritten.
  accepts([w(0, 1, 0, 10), w(1, 2, 0, 10), r(2, 2, 1, 9), r(2, 1, 11, 12)], "intermediate state");
});

test("a stale read after a completed write is rejected", () => {
  rejects([w(0, 1, 0, 1), w(0, 2, 2, 3), r(1, 1, 4, 5)], "read 1 after write 2 completed");
  rejects([w(0, 1, 0, 1), r(1, null, 2, 3)], "read the initial value after a completed write");
  const res = checkHistory([w(0, 1, 0, 1), w(0, 2, 2, 3), r(1, 1, 4, 5)]);
  assert.equal(res.result, "violation");
  if (res.result === "violation") {
    assert.equal(res.key, "x");
    assert.equal(res.explanation.stuck.kind, "read");
    assert.equal(res.explanation.state, 2, "the register held 2 when the read had to happen");
    assert.match(describeResult(res), /cannot place before the response of: \[1\] read\(\) = 1/);
  }
});

test("two concurrent writes observed in different orders by sequential reads are rejected", () => {
  rejects(
    [w(0, 1, 0, 10), w(1, 2, 0, 10), r(2, 1, 11, 12), r(3, 2, 13, 14)],
    "after both writes completed the value changed without a write",
  );
  rejects(
    [w(0, 1, 0, 10), w(1, 2, 0, 10), r(2, 1, 1, 2), r(2, 2, 3, 4), r(3, 2, 1, 2), r(3, 1, 3, 4)],
    "one reader sees 1 then 2, another 2 then 1, with no third write",
  );
});

test("a lost write is rejected", () => {
  rejects([w(0, 1, 0, 1), w(1, 2, 2, 3), r(0, 1, 4, 5), r(1, 1, 6, 7)], "write 2 acknowledged then lost");
  rejects([w(0, 5, 0, 1), r(1, null, 2, 3)], "acknowledged write never visible");
});

test("compare-and-set: successes, failures and anomalies", () => {
  accepts([w(0, 1, 0, 1), cas(1, 1, 2, 2, 3), r(0, 2, 4, 5)], "successful cas");
  accepts([w(0, 1, 0, 1), cas(1, 7, 2, 2, 3, "fail"), r(0, 1, 4, 5)], "cas that found another value");
  rejects([w(0, 1, 0, 1), cas(1, 5, 2, 2, 3), r(0, 2, 4, 5)], "cas succeeded though the value was not 5");
  rejects([w(0, 1, 0, 1), cas(1, 1, 2, 2, 3, "fail"), r(0, 1, 4, 5)], "cas failed though the value was 1");
  rejects([w(0, 1, 0, 1), cas(1, 1, 2, 2, 3), cas(2, 1, 3, 4, 5)], "two sequential cas from 1 both succeed");
  rejects(
    [w(0, 1, 0, 1), cas(1, 1, 2, 2, 10), cas(2, 1, 3, 2, 10)],
    "two concurrent cas from 1 both succeed",
  );
  accepts([w(0, 1, 0, 1), cas(1, 1, 2, 2, 10), cas(2, 1, 3, 2, 10, "fail"), r(0, 2, 11, 12)], "one wins");
  rejects([w(0, 1, 0, 1), cas(1, 1, 2, 2, 3), r(0, 1, 4, 5)], "successful cas not visible");
});

test("indeterminate writes may take effect any time after their invocation, or never", () => {
  // Took effect long after the client gave up.
  accepts([w(0, 1, 0, 1, "indeterminate"), r(1, null, 2, 3), r(1, 1, 10, 11)], "late effect");
  // Never took effect.
  accepts([w(0, 1, 0, 1, "indeterminate"), r(1, null, 2, 3), r(1, null, 10, 11)], "no effect");
  // But not before its invocation.
  rejects([r(1, 1, 0, 1), w(0, 1, 2, 3, "indeterminate")], "read the value before the write was sent");
  // And only once: it cannot be seen, overwritten, and then seen again.
  rejects(
    [w(0, 1, 0, 1, "indeterminate"), r(1, 1, 2, 3), w(1, 2, 4, 5), r(1, 1, 6, 7)],
    "an indeterminate write applied twice",
  );
  // A failed write took no effect.
  rejects([w(0, 1, 0, 1, "fail"), r(1, 1, 2, 3)], "read a failed write's value");
  // An indeterminate cas either succeeded or did nothing.
  accepts([w(0, 1, 0, 1), cas(1, 1, 2, 2, 3, "indeterminate"), r(0, 2, 10, 11)], "indeterminate cas applied");
  rejects([w(0, 3, 0, 1), cas(1, 1, 2, 2, 3, "indeterminate"), r(0, 2, 10, 11)], "cas could not succeed");
  // Failed or indeterminate reads tell nothing.
  accepts([w(0, 1, 0, 1), r(1, 9, 2, 3, "fail"), r(1, 9, 4, 5, "indeterminate")], "failed reads are ignored");
});

test("keys are checked independently, and the failing key is named", () => {
  accepts([
    w(0, 1, 0, 10, "ok", "a"),
    w(1, 1, 0, 10, "ok", "b"),
    r(2, 1, 11, 12, "ok", "a"),
    r(2, 1, 11, 12, "ok", "b"),
  ], "two keys");
  // Reading b's value on a is an anomaly on a only.
  const res = checkHistory([
    w(0, 1, 0, 1, "ok", "a"),
    w(0, 2, 0, 1, "ok", "b"),
    r(1, 2, 2, 3, "ok", "b"),
    r(1, 2, 2, 3, "ok", "a"),
  ]);
  assert.equal(res.result, "violation");
  if (res.result === "violation") assert.equal(res.key, "a");
  // Writes of the same value to different keys: on one register this history would be fine.
  rejects([w(0, 1, 0, 1, "ok", "a"), r(1, 1, 2, 3, "ok", "b")], "a read of b sees a's write");
});

test("the search is bounded: it reports unknown rather than hang", () => {
  // Many concurrent indeterminate writes and a final read no one wrote: the search must try every subset.
  const h: Op[] = [];
  for (let i = 0; i < 24; i++) h.push(w(i, i, 0, 1, "indeterminate"));
  for (let i = 0; i < 24; i++) h.push(r(100 + i, i, 2, 3));
  const res = checkHistory(h, { maxStepsPerKey: 10_000 });
  assert.equal(res.result, "unknown", describeResult(res));
  if (res.result === "unknown") assert.equal(res.key, "x");
});

test("a few thousand ops with moderate concurrency check quickly", () => {
  const h = simulate(mulberry32(7), { processes: 6, opsPerProcess: 500, keys: 1, indeterminate: 0.05 });
  const t0 = performance.now();
  const res = checkHistory(h.ops);
  assert.equal(res.result, "ok", describeResult(res));
  assert.ok(performance.now() - t0 < 5_000, `took ${performance.now() - t0} ms`);
});

// ---- generated histories ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Simulated {
  ops: Op[];
  /** For each op, the instant at which it took effect on the real register (Infinity: never). */
  at: number[];
}

/**
 * Processes issue ops one after another with random durations; each takes effect atomically at a random
 * instant inside its interval on one real register per key. Written values are unique, so a value names its
 * write. Indeterminate ops took effect or not (at random) and their responses are lost.
 */
function simulate(
  rand: () => number,
  cfg: { processes: number; opsPerProcess: number; keys: number; indeterminate: number },
): Simulated {
  interface Pending {
    p: number;
    kind: "read" | "write" | "cas";
    key: string;
    invoke: number;
    complete: number;
    effect: number;
    applies: boolean;
    indeterminate: boolean;
    value: Value;
    expected: Value;
  }
  const pending: Pending[] = [];
  let nextValue = 1;
  for (let p = 0; p < cfg.processes; p++) {
    let t = rand() * 5;
    for (let k = 0; k < cfg.opsPerProcess; k++) {
      const invoke = t;
      const complete = invoke + 0.5 + rand() * 10;
      const x = rand();
      const kind = x < 0.45 ? "read" : x < 0.8 ? "write" : "cas";
      const indeterminate = kind !== "read" && rand() < cfg.indeterminate;
      pending.push({
        p,
        kind,
        key: `k${Math.floor(rand() * cfg.keys)}`,
        invoke,
        complete,
        effect: invoke + rand() * (complete - invoke),
        applies: !indeterminate || rand() < 0.5,
        indeterminate,
        value: kind === "read" ? null : nextValue++,
        expected: null,
      });
      // A process that saw an indeterminate outcome moves on (as a client whose request timed out).
      t = complete + rand() * 3;
    }
  }
  // Apply in effect order on the real registers.
  const order = pending.map((_, i) => i).sort((a, b) => pending[a].effect - pending[b].effect);
  const reg = new Map<string, Value>();
  const ops: Op[] = new Array(pending.length);
  const at: number[] = new Array(pending.length).fill(Infinity);
  for (const i of order) {
    const q = pending[i];
    const cur = reg.get(q.key) ?? null;
    const base = { key: q.key, invoke: q.invoke, complete: q.complete, process: q.p };
    if (q.kind === "read") {
      ops[i] = { ...base, kind: "read", value: cur, outcome: "ok" };
      at[i] = q.effect;
    } else if (q.kind === "write") {
      if (q.applies) {
        reg.set(q.key, q.value);
        at[i] = q.effect;
      }
      ops[i] = { ...base, kind: "write", value: q.value, outcome: q.indeterminate ? "indeterminate" : "ok" };
    } else {
      // Expect the current value half of the time, else a value that may or may not be current.
      const expected = rand() < 0.5 ? cur : rand() < 0.5 ? null : Math.floor(rand() * nextValue);
      const success = cur === expected;
      if (success && q.applies) {
        reg.set(q.key, q.value);
        at[i] = q.effect;
      }
      const outcome: Outcome = q.indeterminate ? "indeterminate" : success ? "ok" : "fail";
      ops[i] = { ...base, kind: "cas", expected, value: q.value, outcome };
    }
  }
  return { ops, at };
}

const genCfg = fc.record({
  seed: fc.integer(),
  processes: fc.integer({ min: 1, max: 5 }),
  opsPerProcess: fc.integer({ min: 1, max: 40 }),
  keys: fc.integer({ min: 1, max: 3 }),
  indeterminate: fc.constantFrom(0, 0.1, 0.3),
  pick: fc.nat(),
});
/**
 * Rejecting means exhausting the search, which grows with the indeterminate ops kept pending to the end
 * (each can be in or out): fewer of them here, so that no run ends "unknown".
 */
const badCfg = fc.record({
  seed: fc.integer(),
  processes: fc.integer({ min: 1, max: 5 }),
  opsPerProcess: fc.integer({ min: 1, max: 30 }),
  keys: fc.integer({ min: 1, max: 3 }),
  indeterminate: fc.constantFrom(0, 0.05, 0.1),
  pick: fc.nat(),
});

test("property: histories of a real atomic register are always accepted", () => {
  fc.assert(
    fc.property(genCfg, (cfg) => {
      const h = simulate(mulberry32(cfg.seed), cfg);
      const res = checkHistory(h.ops);
      assert.equal(res.result, "ok", describeResult(res));
    }),
    { numRuns: 300 },
  );
});

test("property: one read corrupted to a never-written value is rejected", () => {
  fc.assert(
    fc.property(badCfg, (cfg) => {
      const h = simulate(mulberry32(cfg.seed), cfg);
      const reads = h.ops.flatMap((op, i) => (op.kind === "read" ? [i] : []));
      fc.pre(reads.length > 0);
      const i = reads[cfg.pick % reads.length];
      const ops = h.ops.slice();
      ops[i] = { ...ops[i], value: -1 } as Op; // no op writes a negative value
      const res = checkHistory(ops);
      assert.equal(res.result, "violation", describeResult(res));
      if (res.result === "violation") assert.equal(res.key, ops[i].key);
    }),
    { numRuns: 200 },
  );
});

test("property: one read corrupted to a provably stale value is rejected", () => {
  fc.assert(
    fc.property(badCfg, (cfg) => {
      const h = simulate(mulberry32(cfg.seed), cfg);
      // Provably stale: read R returns the value of write W (ok, unique value) while another ok write W2 on
      // the same key started after W completed and completed before R started: W < W2 < R in real time, and
      // nothing else ever writes W's value.
      const candidates: { read: number; value: Value }[] = [];
      const writes = h.ops.filter((op) => op.kind === "write" && op.outcome === "ok");
      h.ops.forEach((op, i) => {
        if (op.kind !== "read") return;
        for (const w1 of writes) {
          if (w1.key !== op.key || w1.kind !== "write") continue;
          const overwritten = writes.some((w2) =>
            w2.key === op.key && w2.invoke > w1.complete && w2.complete < op.invoke
          );
          if (overwritten) candidates.push({ read: i, value: w1.value });
        }
      });
      fc.pre(candidates.length > 0);
      const c = candidates[cfg.pick % candidates.length];
      const ops = h.ops.slice();
      ops[c.read] = { ...ops[c.read], value: c.value } as Op;
      const res = checkHistory(ops);
      assert.equal(res.result, "violation", describeResult(res));
    }),
    { numRuns: 200 },
  );
});
