/** bench/svg_bars.ts and bench/chart.ts: the hand-written SVG bar charts and what they are built from. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareCharts, memoryCharts } from "../../bench/chart.ts";
import { escapeXml, formatValue, niceStep, renderBars } from "../../bench/svg_bars.ts";

test("chart: nice tick steps, value labels and XML escaping", () => {
  assert.equal(niceStep(100), 20);
  assert.equal(niceStep(7), 2);
  assert.equal(niceStep(3042), 1000);
  assert.equal(niceStep(0), 1);
  assert.equal(formatValue(3042.8), "3,043");
  assert.equal(formatValue(12.345), "12.3");
  assert.equal(formatValue(0.531), "0.53");
  assert.equal(escapeXml(`a<b & "c">`), "a&lt;b &amp; &quot;c&quot;&gt;");
});

/** The bars of an SVG: [title text, height]. */
function bars(svg: string): [string, number][] {
  return [
    ...svg.matchAll(
      /<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#[0-9a-f]+"><title>([^<]*)<\/title>/g,
    ),
  ]
    .map((m) => [m[2], Number(m[1])]);
}

test("chart: bar heights are proportional to the values, empty slots are skipped, output is deterministic", () => {
  const chart = {
    title: "t <1>",
    unit: "requests/s",
    groups: ["1 in flight", "64 in flight"],
    series: [{ name: "a", values: [100, 400] }, { name: "b", values: [null, 200] }],
  };
  const svg = renderBars(chart);
  assert.equal(renderBars(chart), svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /t &lt;1&gt;/);
  const b = bars(svg);
  assert.deepEqual(b.map(([t]) => t), [
    "a, 1 in flight: 100",
    "a, 64 in flight: 400",
    "b, 64 in flight: 200",
  ]);
  const [h100, h400, h200] = b.map(([, h]) => h);
  assert.ok(Math.abs(h400 / h100 - 4) < 0.01 && Math.abs(h200 / h100 - 2) < 0.01, `${h100} ${h400} ${h200}`);
  assert.throws(
    () => renderBars({ ...chart, series: [{ name: "a", values: [1] }] }),
    /1 values for 2 groups/,
  );
  assert.throws(() => renderBars({ ...chart, series: [{ name: "a", values: [1, -1] }] }), /bad value -1/);
  assert.throws(() => renderBars({ ...chart, series: [{ name: "a", values: [1, NaN] }] }), /bad value NaN/);
});

test("chart: the comparison and memory charts take their values from the JSON", () => {
  const row = (system: string, shape: string, inflight: number, perSecond: number, p50Ms: number) => ({
    system,
    shape,
    inflight,
    perSecond,
    p50Ms,
    p99Ms: p50Ms * 2,
  });
  const charts = compareCharts({
    date: "2026-11-30T06:00:00.000Z",
    machine: { cpus: 2, loadAvg1mStart: 3, loadAvg1mEnd: 4 },
    config: { durationS: 5, rounds: 2 },
    rows: [
      row("chiselstore-http", "put", 1, 200, 5),
      row("etcd", "put", 1, 500, 2),
      row("etcd", "put", 64, 3000, 20),
      row("etcd", "get-linearizable", 64, 4000, 10),
    ],
  } as never);
  const byName = new Map(charts.map(([name, c]) => [name, c]));
  assert.deepEqual([...byName.keys()], ["compare-puts.svg", "compare-gets.svg", "compare-latency.svg"]);
  const puts = byName.get("compare-puts.svg")!;
  assert.deepEqual(puts.groups, ["1 in flight", "64 in flight"]);
  assert.deepEqual(puts.series, [{ name: "chiselstore-http", values: [200, null] }, {
    name: "etcd",
    values: [500, 3000],
  }]);
  assert.deepEqual(byName.get("compare-gets.svg")!.series, [{ name: "etcd", values: [4000] }]);
  assert.deepEqual(byName.get("compare-latency.svg")!.series, [{ name: "p50", values: [5, 2] }, {
    name: "p99",
    values: [10, 4],
  }]);
  assert.match(puts.subtitle!, /median of 2 round\(s\), load 3–4, 2026-11-30/);
  const leader = compareCharts({
    date: "2026-11-30T06:00:00.000Z",
    machine: { cpus: 2, loadAvg1mStart: 3, loadAvg1mEnd: 4 },
    config: { durationS: 5, rounds: 2, route: "leader" },
    rows: [row("etcd", "put", 1, 500, 2)],
  } as never, "compare-leader");
  assert.equal(leader[0][0], "compare-leader-puts.svg");
  assert.match(leader[0][1].subtitle!, /round\(s\), clients to the leader only, load 3–4/);
  const [[name, mem]] = memoryCharts({
    date: "2026-11-30T06:00:00.000Z",
    loadAvg1m: 2,
    checkpoints: [{ entries: 500_000, dbMb: 128, rssMb: 300, peakRssMb: 400, heapMb: 50 }],
  });
  assert.equal(name, "memory.svg");
  assert.deepEqual(mem.series.map((s) => [s.name, s.values]), [
    ["database", [128]],
    ["RSS now", [300]],
    ["RSS (peak)", [400]],
    ["3 × database", [384]],
  ]);
  assert.throws(() => compareCharts({} as never), /compare.json: no rows/);
});
