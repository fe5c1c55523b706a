/**
 * A linearizability checker for histories of single-register operations (read, write, compare-and-set),
 * one register per key. Wing & Gong's search with Lowe's just-in-time linearization and memoization of
 * (set of linearized ops, register state), the algorithm of Porcupine and Knossos' linear checker.
 *
 * Outcomes: `ok` (completed, its result is known), `fail` (completed, definitely took no effect) and
 * `indeterminate` (the client does not know: it may take effect at any time after its invocation, or never).
 * What each op means to the model:
 * - read ok: the register held `value` at some instant inside [invoke, complete]. A read that failed or is
 *   indeterminate has no effect and tells nothing: it is dropped.
 * - write ok: the register became `value` at some instant inside the interval. A failed write is dropped;
 *   an indeterminate one has response time +infinity and may be left out of the linearization.
 * - cas ok: the register held `expected` and became `value` atomically. cas `fail`: the comparison failed,
 *   i.e. at some instant inside the interval the register held something other than `expected` (a failed
 *   CAS is an observation, like a read). An indeterminate cas, if it took effect, succeeded (a compare that
 *   failed changes nothing, the same as leaving it out).
 * Histories of different keys are checked independently (linearizability is compositional).
 */

/** A register value; `null` is "no value" (the key is absent), the default initial state. */
export type Value = number | null;

export type Outcome = "ok" | "fail" | "indeterminate";

interface OpBase {
  key: string;
  /** Invocation time (any monotonic clock, e.g. performance.now()). */
  invoke: number;
  /** Response time; ignored for indeterminate ops (taken as +infinity). */
  complete: number;
  outcome: Outcome;
  /** Who issued it (for reports only). */
  process?: string | number;
}

export interface ReadOp extends OpBase {
  kind: "read";
  /** The value read (for ok reads). */
  value: Value;
}

export interface WriteOp extends OpBase {
  kind: "write";
  value: Value;
}

export interface CasOp extends OpBase {
  kind: "cas";
  expected: Value;
  value: Value;
}

export type Op = ReadOp | WriteOp | CasOp;

export interface CheckOptions {
  /** The register's state before the history, for every key (default null). */
  initial?: Value;
  /** Search steps allowed per key before giving up with "unknown" (default 2,000,000). */
  maxStepsPerKey?: number;
  /** Wall-clock budget for the whole check before giving up with "unknown" (default 10,000 ms). */
  timeoutMs?: number;
}

/** Why a key's history could not be linearized. */
export interface Explanation {
  /** The register's state after `linearized` (the deepest linearization the search found). */
  state: Value;
  /** The last few ops of that linearization, in order (what produced `state`). */
  linearized: Op[];
  /** The op whose response was reached without any way to place it (nor the ops below) before it. */
  stuck: Op;
  /** The ops that were pending at that point (including `stuck`): none of them could be linearized next. */
  pending: Op[];
  /** How many ops of this key the search managed to linearize, out of `total`. */
  depth: number;
  total: number;
}

export type CheckResult =
  | { result: "ok"; keys: number; ops: number }
  | { result: "violation"; key: string; explanation: Explanation }
  | { result: "unknown"; key: string; reason: string };

/** Check a whole history, partitioned by key. A violation on any key wins over "unknown" on another. */
export function checkHistory(history: readonly Op[], opts: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, Op[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, list = []);
    list.push(op);
  }
  const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
  let unknown: CheckResult | undefined;
  let count = 0;
  for (const [key, ops] of byKey) {
    const r = checkKey(ops, {
      initial: opts.initial ?? null,
      maxSteps: opts.maxStepsPerKey ?? 2_000_000,
      deadline,
    });
    if (r.result === "violation") return { result: "violation", key, explanation: r.explanation };
    if (r.result === "unknown") unknown ??= { result: "unknown", key, reason: r.reason };
    count += ops.length;
  }
  return unknown ?? { result: "ok", keys: byKey.size, ops: count };
}

type KeyResult =
  | { result: "ok" }
  | { result: "violation"; explanation: Explanation }
  | { result: "unknown"; reason: string };

/** The ops the model needs: failed/indeterminate reads and failed writes carry no information. */
function relevant(op: Op): boolean {
  if (op.kind === "read") return op.outcome === "ok";
  if (op.kind === "write") return op.outcome !== "fail";
  return true;
}

/**
 * Drop the indeterminate writes and CASes whose value nobody could have observed: no ok read returned it, no
 * CAS expected it, and no failed CAS could have been linearized after it. In any linearization such an op is
 * directly followed by a write (or nothing): leaving it out changes no other op's legality. Without this,
 * every unobserved indeterminate op doubles the search space (it stays pending to the end).
 */
function prune(ops: Op[]): Op[] {
  const observed = new Set<Value>();
  let lastFailedCas = -Infinity;
  for (const op of ops) {
    if (op.kind === "read") observed.add(op.value);
    if (op.kind === "cas") observed.add(op.expected);
    if (op.kind === "cas" && op.outcome === "fail") lastFailedCas = Math.max(lastFailedCas, op.complete);
  }
  return ops.filter((op) =>
    op.outcome !== "indeterminate" || op.kind === "read" || observed.has(op.value) ||
    lastFailedCas >= op.invoke
  );
}

/** Apply `op` to `state`: the new state, or undefined when the op cannot happen in that state. */
function step(op: Op, state: Value): Value | undefined {
  switch (op.kind) {
    case "read":
      return state === op.value ? state : undefined;
    case "write":
      return op.value;
    case "cas":
      if (op.outcome === "fail") return state !== op.expected ? state : undefined;
      return state === op.expected ? op.value : undefined;
  }
}

function hashValue(v: Value): number {
  if (v === null) return 0x9e3779b9;
  return Math.imul((v | 0) ^ Math.floor(v / 4294967296), 0x85ebca6b) ^ 0x5bd1e995;
}

/** The search for one key's history. */
function checkKey(
  all: readonly Op[],
  cfg: { initial: Value; maxSteps: number; deadline: number },
): KeyResult {
  const ops = prune(all.filter(relevant));
  const n = ops.length;
  if (n === 0) return { result: "ok" };
  const infinite = ops.map((op) => op.outcome === "indeterminate");
  // Events: call of op i is entry 2i, its return 2i+1. Calls before returns at equal times (concurrent).
  const events: number[] = [];
  for (let i = 0; i < n; i++) events.push(2 * i, 2 * i + 1);
  const time = (e: number): number => {
    const op = ops[e >> 1];
    if ((e & 1) === 0) return op.invoke;
    return infinite[e >> 1] ? Infinity : Math.max(op.complete, op.invoke);
  };
  events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
  // A doubly linked list over the entries; HEAD is a sentinel, -1 the end.
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = HEAD;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const lift = (c: number): void => {
    const r = c + 1;
    next[prev[c]] = next[c];
    if (next[c] !== -1) prev[next[c]] = prev[c];
    next[prev[r]] = next[r];
    if (next[r] !== -1) prev[next[r]] = prev[r];
  };
  const unlift = (c: number): void => {
    const r = c + 1;
    next[prev[r]] = r;
    if (next[r] !== -1) prev[next[r]] = r;
    next[prev[c]] = c;
    if (next[c] !== -1) prev[next[c]] = c;
  };

  // The linearized set as a bitset with an incremental Zobrist hash; the cache maps hash -> [bits, state].
  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const zobrist = new Int32Array(n);
  let seed = 0x2545f491;
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    zobrist[i] = seed;
  }
  let hash = 0;
  const cache = new Map<number, { bits: Uint32Array; state: Value }[]>();
  const seenOrAdd = (state: Value): boolean => {
    const h = (hash ^ hashValue(state)) | 0;
    let bucket = cache.get(h);
    if (bucket) {
      outer: for (const e of bucket) {
        if (e.state !== state) continue;
        for (let w = 0; w < words; w++) if (e.bits[w] !== bits[w]) continue outer;
        return true;
      }
    } else cache.set(h, bucket = []);
    bucket.push({ bits: bits.slice(), state });
    return false;
  };
  const toggle = (i: number): void => {
    bits[i >>> 5] ^= 1 << (i & 31);
    hash ^= zobrist[i];
  };

  let finiteLeft = infinite.reduce((k, inf) => k + (inf ? 0 : 1), 0);
  const stack: { call: number; state: Value }[] = [];
  let state = cfg.initial;
  let entry = next[HEAD];
  let steps = 0;
  let best: Explanation | undefined;
  const explain = (stuckEntry: number): Explanation => {
    const pending: Op[] = [];
    for (let e = next[HEAD]; e !== -1 && e !== stuckEntry; e = next[e]) {
      if ((e & 1) === 0) pending.push(ops[e >> 1]);
    }
    return {
      state,
      linearized: stack.slice(-5).map((s) => ops[s.call >> 1]),
      stuck: ops[stuckEntry >> 1],
      pending,
      depth: stack.length,
      total: n,
    };
  };

  while (finiteLeft > 0 && entry !== -1) {
    if (++steps > cfg.maxSteps) return { result: "unknown", reason: `gave up after ${cfg.maxSteps} steps` };
    if ((steps & 1023) === 0 && performance.now() > cfg.deadline) {
      return { result: "unknown", reason: `gave up at the time limit after ${steps} steps` };
    }
    const i = entry >> 1;
    if ((entry & 1) === 0) {
      const ns = step(ops[i], state);
      if (ns !== undefined) {
        toggle(i);
        if (!seenOrAdd(ns)) {
          stack.push({ call: entry, state });
          state = ns;
          lift(entry);
          if (!infinite[i]) finiteLeft--;
          entry = next[HEAD];
          continue;
        }
        toggle(i);
      }
      entry = next[entry];
    } else {
      // A response reached with its op not linearized: undo the last choice and try the next candidate.
      if (infinite[i]) break; // only +infinity responses remain: every completed op is linearized
      if (!best || stack.length > best.depth) best = explain(entry);
      const top = stack.pop();
      if (!top) return { result: "violation", explanation: best };
      const j = top.call >> 1;
      state = top.state;
      toggle(j);
      unlift(top.call);
      if (!infinite[j]) finiteLeft++;
      entry = next[top.call];
    }
  }
  return { result: "ok" };
}

/** A one-line description of an op, for failure messages. */
export function describeOp(op: Op): string {
  const what = op.kind === "cas"
    ? `cas(${op.expected} -> ${op.value})`
    : op.kind === "write"
    ? `write(${op.value})`
    : `read() = ${op.value}`;
  const end = op.outcome === "indeterminate" ? "?" : op.complete.toFixed(1);
  return `[${op.process ?? "?"}] ${what} ${op.outcome} @ ${op.invoke.toFixed(1)}..${end}`;
}

/** A readable report of a check result. */
export function describeResult(r: CheckResult): string {
  if (r.result === "ok") return `linearizable (${r.ops} ops over ${r.keys} keys)`;
  if (r.result === "unknown") return `unknown for key ${r.key}: ${r.reason}`;
  const e = r.explanation;
  return [
    `not linearizable: key ${r.key}, ${e.depth} of ${e.total} ops linearized, then stuck`,
    `  ...linearized: ${e.linearized.map(describeOp).join("; ") || "(none)"} -> state ${e.state}`,
    `  cannot place before the response of: ${describeOp(e.stuck)}`,
    `  pending: ${e.pending.map(describeOp).join("; ") || "(none)"}`,
  ].join("\n");
}
