/**
 * `npm run bench:compare`: ChiselStore-TS next to etcd and dqlite on this machine, in one run, shapes
 * alternating between the systems so that a change of machine load hits all of them alike.
 *
 * - ChiselStore-TS: 3 `chiselstore node` processes, fsync always, through HTTP (HttpClient) and through
 *   libp2p (P2pClient), requests round-robin over the nodes (`--route leader`: to the leader only, and
 *   etcd's client likewise to its leader only); put = one single-row INSERT of 32 bytes,
 *   linearizable get = point SELECT at level linearizable (and strong, for the reads goal).
 * - etcd 3.4 (Debian etcd-server): 3 members, WAL fsynced on every commit (etcd's only safe mode); put of one
 *   key with a 32-byte value, linearizable get = range with serializable=false, through the gRPC client etcd3.
 * - dqlite (Debian go-dqlite's dqlite-benchmark): 3 nodes, workload kvwrite (INSERT OR REPLACE of a 32-byte
 *   value) with 1/16/64 workers; libraft writes its open log segments O_DSYNC (durable before an entry counts).
 *   It has no read-only workload.
 *
 * Every cluster has its own temporary data directories, removed at the end; every process is stopped.
 * Output: a table with ratios, the goals, and JSON in bench/results/compare.json (--out).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Etcd3 } from "etcd3";
import { HttpClient } from "../../src/client/http_client.ts";
import { P2pClient } from "../../src/client/p2p_client.ts";
import { LocalCluster } from "../../src/cli/bench/cluster.ts";
import {
  createTableSql,
  insertOp,
  runPhase,
  selectOp,
  uniqueTableName,
} from "../../src/cli/bench/workload.ts";
import { formatTable } from "../../src/cli/table.ts";
import { runDqlite } from "./dqlite.ts";
import { EtcdCluster, etcdGet, etcdPut } from "./etcd.ts";
import { ensureInstalled } from "./install.ts";
import { goals, type Sample, type Shape, summarize, type System, SYSTEMS, withRatios } from "./report.ts";

const USAGE =
  `Usage: npm run bench:compare -- [--duration-s 10] [--inflight 1,16,64] [--rounds 1] [--warmup-s 2]
                             [--systems chiselstore-http,chiselstore-p2p,etcd,dqlite] [--route any|leader]
                             [--out <file>]

--route any (default): ChiselStore's clients send round robin to the three nodes (a follower forwards to the
leader), etcd's client over its three endpoints. --route leader: ChiselStore's and etcd's clients talk to
their leader only, as dqlite-benchmark always does.`;

/** Where the ChiselStore and etcd clients send: every node (round robin) or the leader only. */
type Route = "any" | "leader";

function fail(msg: string): never {
  console.error(`bench:compare: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function options() {
  let v;
  try {
    v = parseArgs({
      options: {
        "duration-s": { type: "string", default: "10" },
        inflight: { type: "string", default: "1,16,64" },
        rounds: { type: "string", default: "1" },
        "warmup-s": { type: "string", default: "2" },
        systems: { type: "string", default: SYSTEMS.join(",") },
        route: { type: "string", default: "any" },
        out: { type: "string", default: "bench/results/compare.json" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const durationS = Number(v["duration-s"]);
  if (!Number.isInteger(durationS) || durationS < 1 || durationS > 600) {
    fail(`--duration-s: expected whole seconds from 1 to 600 (dqlite-benchmark counts whole seconds)`);
  }
  const inflight = v.inflight!.split(",").map(Number);
  if (inflight.some((k) => !Number.isInteger(k) || k < 1 || k > 1024)) fail("--inflight: integers 1..1024");
  const rounds = Number(v.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) fail("--rounds: an integer from 1 to 20");
  const warmupS = Number(v["warmup-s"]);
  if (!Number.isInteger(warmupS) || warmupS < 0 || warmupS > 60) {
    fail("--warmup-s: whole seconds from 0 to 60");
  }
  const systems = v.systems!.split(",") as System[];
  const unknown = systems.find((s) => !(SYSTEMS as readonly string[]).includes(s));
  if (unknown !== undefined) fail(`--systems: unknown system '${unknown}' (${SYSTEMS.join(", ")})`);
  const route = v.route as Route;
  if (route !== "any" && route !== "leader") fail(`--route: expected any or leader, got '${v.route}'`);
  return { durationS, inflight, rounds, warmupS, systems, route, out: v.out! };
}

const round2 = (x: number | null) => (x === null ? "" : Math.round(x * 100) / 100);
const load1m = () => Math.round(os.loadavg()[0] * 100) / 100;

async function main(): Promise<void> {
  const opts = options();
  const log = (line: string) => console.error(line);
  ensureInstalled(log);
  const root = await mkdtemp(join(os.tmpdir(), "chiselstore-compare-"));
  const samples: Sample[] = [];
  const controller = new AbortController();
  process.on("SIGINT", () => controller.abort());
  const loadStart = load1m();
  let chisel: LocalCluster | undefined;
  let etcd: EtcdCluster | undefined;
  let etcdClient: Etcd3 | undefined;
  const p2p: P2pClient[] = [];
  try {
    const wantChisel = opts.systems.some((s) => s.startsWith("chiselstore"));
    let http: HttpClient[] = [];
    const table = uniqueTableName();
    if (wantChisel) {
      log("starting 3 ChiselStore-TS nodes (fsync always)");
      chisel = await LocalCluster.start({
        nodes: 3,
        fsync: "always",
        p2pClients: true,
        signal: controller.signal,
      });
      http = chisel.nodes.map((n) => n.client);
      for (const n of chisel.nodes) p2p.push(await P2pClient.connect(LocalCluster.p2pAddr(n)));
      if (opts.route === "leader") {
        const leads = (await Promise.all(p2p.map((c) => c.status()))).map((s) => s.leader);
        const i = leads.indexOf(true);
        if (i < 0) throw new Error("no ChiselStore node says it leads");
        log(`--route leader: ChiselStore clients talk to node ${i + 1} only`);
        http = [http[i]];
        for (const [j, c] of p2p.entries()) if (j !== i) await c.close();
        p2p.splice(0, p2p.length, p2p[i]);
      }
      await http[0].execute(createTableSql(table));
    }
    if (opts.systems.includes("etcd")) {
      log("starting 3 etcd members");
      etcd = await EtcdCluster.start(join(root, "etcd"));
      if (opts.route === "leader") {
        const { client, endpoint } = await etcd.leaderClient();
        etcdClient = client;
        log(`--route leader: etcd's client talks to ${endpoint} only`);
      } else etcdClient = etcd.client();
    }
    const phaseMs = opts.durationS * 1000;
    const GET_KEYS = 1000;
    /** One phase of `system`; null when the system has no such shape. */
    const phase = async (system: System, shape: Shape, k: number, round: number, durationMs = phaseMs) => {
      const signal = controller.signal;
      if (system === "dqlite") {
        if (shape !== "put") return null;
        const dir = join(root, `dqlite-r${round}-w${k}`);
        await mkdir(dir);
        const p = await runDqlite({
          root: dir,
          workers: k,
          durationS: opts.durationS,
          keySize: 32,
          valueSize: 32,
        });
        await rm(dir, { recursive: true, force: true });
        return p;
      }
      if (system === "etcd") {
        if (shape === "get-strong") return null;
        const op = shape === "put" ? etcdPut() : etcdGet(GET_KEYS);
        return await runPhase({ clients: [etcdClient!], inflight: k, durationMs, op, signal });
      }
      const clients = system === "chiselstore-http" ? http : p2p;
      if (shape === "put") {
        return await runPhase({ clients, inflight: k, durationMs, op: insertOp(table), signal });
      }
      const level = shape === "get-linearizable" ? "linearizable" : "strong";
      return await runPhase({
        clients,
        inflight: k,
        durationMs,
        op: selectOp(table, level, GET_KEYS),
        signal,
      });
    };
    const shapes: [Shape, number][] = [
      ...opts.inflight.map((k): [Shape, number] => ["put", k]),
      ...opts.inflight.map((k): [Shape, number] => ["get-linearizable", k]),
      ["get-strong", 64],
    ];
    // JavaScript needs its JIT warm: without this, whichever ChiselStore client ran first measured its
    // start-up (a first single-client phase at 4.2 ms p50 against 2.6 ms one round later). Every system
    // gets the same warm-up; dqlite-benchmark starts a fresh cluster per phase, so there is nothing to warm.
    for (const system of opts.systems) {
      if (system === "dqlite" || opts.warmupS === 0) continue;
      log(`warm-up: ${system}, puts at 16 in flight for ${opts.warmupS} s (not counted)`);
      await phase(system, "put", 16, 0, opts.warmupS * 1000);
    }
    for (let r = 1; r <= opts.rounds; r++) {
      // Rotate the order each round so no system always runs first or right after another.
      const order = opts.systems.map((_, i) => opts.systems[(i + r - 1) % opts.systems.length]);
      for (const [shape, k] of shapes) {
        if (shape === "get-linearizable" && k === opts.inflight[0]) {
          // Reads need keys 1..GET_KEYS (ChiselStore ids) and 0..GET_KEYS-1 (etcd), whatever the puts did.
          await preload(http, table, etcdClient, GET_KEYS);
        }
        for (const system of order) {
          if (controller.signal.aborted) throw new Error("interrupted");
          const load = load1m();
          const p = await phase(system, shape, k, r);
          if (p === null) continue;
          samples.push({ system, shape, round: r, load1m: load, ...p });
          log(
            `round ${r} ${shape} ${k} in flight ${system}: ${p.perSecond.toFixed(1)}/s p50 ${
              p.p50Ms.toFixed(2)
            } ms ` +
              `p99 ${p.p99Ms.toFixed(2)} ms errors ${p.errors} (load ${load})`,
          );
        }
      }
    }
  } finally {
    etcdClient?.close();
    await Promise.all(p2p.map((c) => c.close().catch(() => {})));
    await Promise.all([chisel?.stop(), etcd?.stop()]);
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  }
  const rows = withRatios(summarize(samples));
  const goalRows = goals(rows);
  for (
    const line of formatTable(
      [
        "shape",
        "in flight",
        "system",
        "per s",
        "p50 ms",
        "p99 ms",
        "errors",
        "× etcd /s",
        "× etcd p50",
        "× dqlite /s",
      ],
      rows.map((r) => [
        r.shape,
        r.inflight,
        r.system,
        round2(r.perSecond),
        round2(r.p50Ms),
        round2(r.p99Ms),
        r.errors,
        round2(r.vsEtcdPerSecond),
        round2(r.vsEtcdP50),
        round2(r.vsDqlitePerSecond),
      ]),
    )
  ) console.log(line);
  for (
    const line of formatTable(
      ["goal", "value", "client", "met"],
      goalRows.map((
        g,
      ) => [g.goal, round2(g.value), g.client ?? "", g.met === null ? "n/a" : g.met ? "met" : "not met"]),
    )
  ) console.log(line);
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      totalMemMb: Math.round(os.totalmem() / 2 ** 20),
      node: process.versions.node,
      loadAvg1mStart: loadStart,
      loadAvg1mEnd: load1m(),
    },
    config: {
      durationS: opts.durationS,
      inflight: opts.inflight,
      rounds: opts.rounds,
      warmupS: opts.warmupS,
      systems: opts.systems,
      route: opts.route,
      valueBytes: 32,
      fsync: {
        "chiselstore": "--fsync always (log synced before an entry is acknowledged)",
        "etcd": "WAL fsync on every commit (etcd 3.4 default; no unsafe flags)",
        "dqlite":
          "libraft default: open log segments are O_DSYNC and written with io_submit, so an entry is on disk before it counts (checked with strace)",
      },
    },
    rows,
    goals: goalRows,
    samples,
  };
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`results written to ${opts.out}`);
}

/** Runs fn(0..n-1) with `k` calls in flight; the first failure is thrown. */
async function forEach(n: number, k: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(k, n) }, worker));
}

/** Rows 1..n in the ChiselStore table and keys 0..n-1 in etcd, 64 writes in flight. */
async function preload(http: HttpClient[], table: string, etcd: Etcd3 | undefined, n: number): Promise<void> {
  if (http.length > 0) {
    const sql = `INSERT OR REPLACE INTO ${table}(id, v) VALUES (?, ?)`;
    await forEach(n, 64, async (i) => {
      const r = await http[i % http.length].execute(sql, [i + 1, `v${i}`]);
      const failed = r.error ?? r.results.find((s) => s.error !== undefined)?.error;
      if (failed !== undefined) throw new Error(`preload: ${failed}`);
    });
  }
  if (etcd) {
    const put = etcdPut();
    await forEach(n, 64, (i) => put(etcd, i));
  }
}

main().catch((e) => {
  console.error(`bench:compare: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
