/**
 * The comparison's figures: samples (one per system, shape, in-flight number and round) reduced to the
 * median over rounds, ratios against etcd and dqlite, and the issue-7 goals that these figures decide.
 */
import type { PhaseResult } from "../../src/cli/bench/workload.ts";

export const SYSTEMS = ["chiselstore-http", "chiselstore-p2p", "etcd", "dqlite"] as const;
export type System = (typeof SYSTEMS)[number];
export type Shape = "put" | "get-linearizable" | "get-strong";
export const CHISEL: readonly System[] = ["chiselstore-http", "chiselstore-p2p"];

export interface Sample extends PhaseResult {
  system: System;
  shape: Shape;
  round: number;
  /** 1-minute load average when the phase started. */
  load1m: number;
}

export interface Row {
  system: System;
  shape: Shape;
  inflight: number;
  rounds: number;
  /** Medians over the rounds. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  loadMin: number;
  loadMax: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** One row per (shape, in flight, system), in first-seen order. */
export function summarize(samples: readonly Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.shape}|${s.inflight}|${s.system}`;
    const g = groups.get(k);
    if (g) g.push(s);
    else groups.set(k, [s]);
  }
  return [...groups.values()].map((g) => ({
    system: g[0].system,
    shape: g[0].shape,
    inflight: g[0].inflight,
    rounds: g.length,
    perSecond: median(g.map((s) => s.perSecond)),
    p50Ms: median(g.map((s) => s.p50Ms)),
    p99Ms: median(g.map((s) => s.p99Ms)),
    errors: g.reduce((a, s) => a + s.errors, 0),
    loadMin: Math.min(...g.map((s) => s.load1m)),
    loadMax: Math.max(...g.map((s) => s.load1m)),
  }));
}

function find(rows: readonly Row[], system: System, shape: Shape, inflight: number): Row | undefined {
  return rows.find((r) => r.system === system && r.shape === shape && r.inflight === inflight);
}

/** `a / b`, or null when either is missing or b is 0. */
function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : a / b;
}

export interface RatioRow extends Row {
  /** perSecond / etcd's, same shape and in flight. */
  vsEtcdPerSecond: number | null;
  /** p50 / etcd's p50 (below 1 is faster). */
  vsEtcdP50: number | null;
  /** perSecond / dqlite's (puts only). */
  vsDqlitePerSecond: number | null;
}

export function withRatios(rows: readonly Row[]): RatioRow[] {
  return rows.map((r) => {
    const etcd = find(rows, "etcd", r.shape, r.inflight);
    const dq = find(rows, "dqlite", r.shape, r.inflight);
    return {
      ...r,
      vsEtcdPerSecond: r.system === "etcd" ? null : ratio(r.perSecond, etcd?.perSecond),
      vsEtcdP50: r.system === "etcd" ? null : ratio(r.p50Ms, etcd?.p50Ms),
      vsDqlitePerSecond: r.system === "dqlite" ? null : ratio(r.perSecond, dq?.perSecond),
    };
  });
}

export interface Goal {
  goal: string;
  /** The measured ratio the goal is about (null: not measured in this run). */
  value: number | null;
  /** Which ChiselStore client gave the value (the better one). */
  client: System | null;
  met: boolean | null;
}

/** The best ChiselStore client for `score` (higher is better) and its score. */
function best(
  score: (system: System) => number | null,
): { value: number | null; client: System | null } {
  let out: { value: number | null; client: System | null } = { value: null, client: null };
  for (const c of CHISEL) {
    const v = score(c);
    if (v !== null && (out.value === null || v > out.value)) out = { value: v, client: c };
  }
  return out;
}

/** The goals these figures decide, each with the better of the two ChiselStore clients. */
export function goals(rows: readonly Row[]): Goal[] {
  const put = (s: System, k: number) => find(rows, s, "put", k);
  const g = (
    goal: string,
    r: { value: number | null; client: System | null },
    met: (v: number) => boolean,
  ) => ({
    goal,
    ...r,
    met: r.value === null ? null : met(r.value),
  });
  const p50 = best((c) => {
    const x = ratio(put(c, 1)?.p50Ms, put("etcd", 1)?.p50Ms);
    return x === null ? null : -x; // lower p50 is better: maximize the negated ratio
  });
  return [
    g(
      "puts/s at 64 in flight ≥ 2× etcd",
      best((c) => ratio(put(c, 64)?.perSecond, put("etcd", 64)?.perSecond)),
      (v) => v >= 2,
    ),
    g("single-client put p50 ≤ 1.5× etcd", {
      value: p50.value === null ? null : -p50.value,
      client: p50.client,
    }, (v) => v <= 1.5),
    g(
      "linearizable reads ≥ 5× strong (64 in flight)",
      best(
        (c) =>
          ratio(find(rows, c, "get-linearizable", 64)?.perSecond, find(rows, c, "get-strong", 64)?.perSecond),
      ),
      (v) => v >= 5,
    ),
    g(
      "single-client INSERTs/s > dqlite",
      best((c) => ratio(put(c, 1)?.perSecond, put("dqlite", 1)?.perSecond)),
      (v) => v > 1,
    ),
  ];
}
