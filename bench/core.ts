/**
 * bench:core — throughput and memory of the consensus core alone: 3 and 5 in-process servers on
 * MemoryStorage, messages handed directly from one OmniPaxos to another (no network, no serialization,
 * no safety checker). Entries are numbers, so the figures are the core's own overhead.
 *
 * The leader's outbox is drained after every append, as a networked host would, with up to WINDOW
 * entries in flight before they are delivered. For every (servers, batch size) pair it runs BENCH_REPS fresh clusters (default 5) and reports the median
 * decided entries per second; then it measures heap/RSS growth per 1M decided entries. Writes the table to
 * stdout and everything (all samples) to bench/results/core.json.
 *
 * Usage: npm run bench:core   (env: BENCH_REPS, BENCH_ENTRIES to override the entries per run)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MemoryStorage, type Message, OmniPaxos } from "../mod.ts";

/** Entries each client round appends at the leader before messages are delivered. */
const WINDOW = 10_000;
const REPS = Number(process.env.BENCH_REPS ?? 5);

type Cluster = { leader: OmniPaxos<number>; nodes: Map<string, OmniPaxos<number>> };

/** Deliver every queued message (and those they cause) until the cluster is quiet. */
function pump(nodes: Map<string, OmniPaxos<number>>): void {
  const all = [...nodes.values()];
  for (;;) {
    let moved = 0;
    for (const n of all) {
      const out: Message<number>[] = n.outgoingMessages();
      for (let i = 0; i < out.length; i++) nodes.get(out[i].to)!.handleIncoming(out[i]);
      moved += out.length;
    }
    if (moved === 0) return;
  }
}

function buildCluster(size: number, batchSize: number): Cluster {
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const nodes = new Map<string, OmniPaxos<number>>();
  for (const id of ids) {
    // A flush timer that never fires in the measured phase: batches leave only when full.
    nodes.set(
      id,
      new OmniPaxos<number>(
        { pid: id, nodes: ids, electionTicks: 1, batchSize, flushTicks: 1e9, resendTicks: 1e9 },
        new MemoryStorage<number>(),
      ),
    );
  }
  for (let t = 0; t < 50; t++) {
    for (const n of nodes.values()) n.tick();
    pump(nodes);
    const l = [...nodes.values()].find((n) => n.isLeader());
    if (l && [...nodes.values()].every((n) => n.getCurrentLeader() === l.pid)) return { leader: l, nodes };
  }
  throw new Error("no leader elected");
}

/**
 * Append `total` entries at the leader, WINDOW at a time. Like a networked host, the driver drains the
 * leader's outbox after every append (so each flushed batch travels as its own AcceptDecide instead of
 * being coalesced into one per window); the drained messages are delivered at the end of each window.
 */
function drive(c: Cluster, total: number): void {
  const { leader, nodes } = c;
  let next = leader.getDecidedIdx();
  const end = next + total;
  const inFlight: Message<number>[] = [];
  while (next < end) {
    const stop = Math.min(end, next + WINDOW);
    for (; next < stop; next++) {
      leader.append(next);
      const out = leader.outgoingMessages();
      for (let i = 0; i < out.length; i++) inFlight.push(out[i]);
    }
    for (let i = 0; i < inFlight.length; i++) nodes.get(inFlight[i].to)!.handleIncoming(inFlight[i]);
    inFlight.length = 0;
    pump(nodes);
  }
}

function checkAllDecided(c: Cluster, expected: number): void {
  for (const [id, n] of c.nodes) {
    if (n.getDecidedIdx() !== expected) {
      throw new Error(`${id} decided ${n.getDecidedIdx()}, expected ${expected}`);
    }
  }
  // Spot-check content: the same entry at a few indexes on every server.
  for (const idx of [0, Math.floor(expected / 2), expected - 1]) {
    const want = c.leader.read(idx);
    for (const n of c.nodes.values()) {
      const got = n.read(idx);
      if (got?.kind !== "decided" || want?.kind !== "decided" || got.entry !== want.entry) {
        throw new Error(`entry ${idx} differs on ${n.pid}`);
      }
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Entries per run: enough for a stable figure, fewer at batch 1 (which is much slower). */
function entriesFor(batchSize: number): number {
  if (process.env.BENCH_ENTRIES) return Number(process.env.BENCH_ENTRIES);
  return batchSize === 1 ? 200_000 : 1_000_000;
}

interface ThroughputRow {
  servers: number;
  batchSize: number;
  entries: number;
  medianEntriesPerSec: number;
  samples: number[];
}

function throughput(servers: number, batchSize: number): ThroughputRow {
  const entries = entriesFor(batchSize);
  const samples: number[] = [];
  // One unmeasured warm-up run so the JIT has compiled the hot paths.
  drive(buildCluster(servers, batchSize), Math.min(entries, 100_000));
  for (let r = 0; r < REPS; r++) {
    const c = buildCluster(servers, batchSize);
    const start = c.leader.getDecidedIdx();
    const t0 = performance.now();
    drive(c, entries);
    const secs = (performance.now() - t0) / 1000;
    checkAllDecided(c, start + entries);
    samples.push(Math.round(entries / secs));
  }
  return { servers, batchSize, entries, medianEntriesPerSec: median(samples), samples };
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface MemoryRow {
  servers: number;
  batchSize: number;
  entries: number;
  heapBytesPerMillion: number;
  rssBytesPerMillion: number;
  heapBytesPerMillionPerServer: number;
}

/** Heap and RSS growth per 1M decided entries (all servers in this process hold a copy of the log). */
function memory(servers: number, batchSize: number): MemoryRow {
  const entries = 1_000_000;
  gc();
  gc();
  const before = process.memoryUsage();
  const c = buildCluster(servers, batchSize);
  drive(c, entries);
  checkAllDecided(c, c.leader.getDecidedIdx());
  gc();
  gc();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  const rss = after.rss - before.rss;
  const perM = 1_000_000 / entries;
  // Keep the cluster alive until after the measurement.
  if (c.nodes.size !== servers) throw new Error("unreachable");
  return {
    servers,
    batchSize,
    entries,
    heapBytesPerMillion: Math.round(heap * perM),
    rssBytesPerMillion: Math.round(rss * perM),
    heapBytesPerMillionPerServer: Math.round((heap * perM) / servers),
  };
}

const fmt = (n: number) => n.toLocaleString("en-US");
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

const rows: ThroughputRow[] = [];
for (const servers of [3, 5]) {
  for (const batchSize of [1, 100, 1000]) {
    const row = throughput(servers, batchSize);
    rows.push(row);
    console.log(
      `servers=${servers} batch=${String(batchSize).padStart(4)}  ` +
        `${fmt(row.medianEntriesPerSec).padStart(11)} decided entries/s (median of ${REPS}; ` +
        `samples ${row.samples.map(fmt).join(", ")})`,
    );
  }
}
const mem = [memory(3, 1000), memory(5, 1000)];
for (const m of mem) {
  console.log(
    `servers=${m.servers} memory per 1M decided entries: heap +${mb(m.heapBytesPerMillion)} MiB ` +
      `(${mb(m.heapBytesPerMillionPerServer)} MiB per server), RSS +${mb(m.rssBytesPerMillion)} MiB`,
  );
}

const result = {
  bench: "core",
  date: new Date().toISOString(),
  runtime: `node ${process.version}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  loadavg: os.loadavg(),
  windowEntries: WINDOW,
  reps: REPS,
  throughput: rows,
  memory: mem,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/core.json", import.meta.url), JSON.stringify(result, null, 2) + "\n");
console.log("wrote bench/results/core.json");
