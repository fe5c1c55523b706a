/**
 * Write-path cost per request (issue 7): a local 3-node cluster of real `chiselstore node` processes, single-row
 * INSERTs through P2pClient sent to the leader only or round-robin, at each in-flight count. Per phase it
 * reports writes/s, p50/p99, and per request the CPU time of every node (from /proc/<pid>/stat) and of the
 * client (this process), and the write system calls of every node (/proc/<pid>/io `syscw`, sockets and files
 * alike). Each phase runs on a fresh cluster, after a 1 s warm-up. Linux only.
 *
 *   npm run bench:write-path -- [--inflight 1,64] [--mode leader,rr] [--duration-s 4] [--rounds 1]
 *                               [--fsync always] [--out bench/results/write_path.json]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { LocalCluster } from "../src/cli/bench/cluster.ts";
import { agreedLeader } from "../src/cli/bench/failover.ts";
import { sampleProcess } from "../src/cli/bench/procstat.ts";
import { createTableSql, insertOp, runPhase } from "../src/cli/bench/workload.ts";
import { P2pClient } from "../src/client/p2p_client.ts";

const USAGE = "usage: npm run bench:write-path -- [--inflight 1,64] [--mode leader,rr] [--duration-s 4] " +
  "[--rounds 1] [--fsync always|batch|never] [--out file.json]";

function options() {
  try {
    return parseArgs({
      options: {
        inflight: { type: "string", default: "1,64" },
        mode: { type: "string", default: "leader,rr" },
        "duration-s": { type: "string", default: "4" },
        rounds: { type: "string", default: "1" },
        fsync: { type: "string", default: "always" },
        out: { type: "string", default: "bench/results/write_path.json" },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const values = options();
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const inflights = list(values.inflight!).map(Number);
const modes = list(values.mode!);
const durationMs = Number(values["duration-s"]) * 1000;
const rounds = Number(values.rounds);
const fsync = values.fsync as "always" | "batch" | "never";
if (
  inflights.some((n) => !Number.isInteger(n) || n < 1) || modes.some((m) => m !== "leader" && m !== "rr") ||
  !(durationMs > 0) || !Number.isInteger(rounds) || rounds < 1 ||
  !["always", "batch", "never"].includes(fsync)
) {
  console.error(
    "bad arguments: --inflight n,n --mode leader,rr --duration-s s --rounds n --fsync always|batch|never",
  );
  process.exit(2);
}

/** CPU time of each process so far, in µs. */
const cpuUs = async (pids: number[]) => (await Promise.all(pids.map(sampleProcess))).map((p) => p.cpuS * 1e6);
const writes = (pid: number) => Number(/syscw:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1]);

interface Sample {
  mode: string;
  inflight: number;
  round: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** µs of CPU per request: the leader, each follower, the client. */
  cpuUs: { leader: number; followers: number[]; client: number; total: number };
  /** Write system calls per request. */
  writes: { leader: number; followers: number[] };
  load: number;
}

async function phase(mode: string, inflight: number, round: number): Promise<Sample> {
  const c = await LocalCluster.start({ nodes: 3, fsync, p2pClients: true });
  const clients: P2pClient[] = [];
  try {
    const leader = await agreedLeader(c, 20_000);
    for (const n of mode === "leader" ? [leader] : c.nodes) {
      clients.push(await P2pClient.connect(LocalCluster.p2pAddr(n)));
    }
    await leader.client.execute(createTableSql("t"));
    await runPhase({ clients, inflight, durationMs: 1000, op: insertOp("t") });
    const pids = c.nodes.map((n) => n.pid!);
    const cpu0 = await cpuUs(pids);
    const w0 = pids.map(writes);
    const me0 = process.cpuUsage();
    const r = await runPhase({ clients, inflight, durationMs, op: insertOp("t") });
    const me = process.cpuUsage(me0);
    const per = (v: number) => Math.round(v / Math.max(1, r.count));
    const cpu = (await cpuUs(pids)).map((v, i) => per(v - cpu0[i]));
    const wr = pids.map((p, i) => Number(((writes(p) - w0[i]) / Math.max(1, r.count)).toFixed(2)));
    const li = c.nodes.indexOf(leader);
    const client = per(me.user + me.system);
    return {
      mode,
      inflight,
      round,
      perSecond: Math.round(r.perSecond),
      p50Ms: Number(r.p50Ms.toFixed(2)),
      p99Ms: Number(r.p99Ms.toFixed(2)),
      errors: r.errors,
      cpuUs: {
        leader: cpu[li],
        followers: cpu.filter((_, i) => i !== li),
        client,
        total: cpu.reduce((a, b) => a + b, 0) + client,
      },
      writes: { leader: wr[li], followers: wr.filter((_, i) => i !== li) },
      load: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
    };
  } finally {
    for (const cl of clients) await cl.close();
    await c.stop();
  }
}

const samples: Sample[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const mode of modes) {
    for (const inflight of inflights) {
      const s = await phase(mode, inflight, round);
      samples.push(s);
      console.log(
        `${mode.padEnd(6)} ${
          String(inflight).padStart(3)
        } in flight: ${s.perSecond} writes/s, p50 ${s.p50Ms} ms, ` +
          `CPU/request µs leader ${s.cpuUs.leader} followers ${
            s.cpuUs.followers.join("/")
          } client ${s.cpuUs.client} ` +
          `(total ${s.cpuUs.total}), write syscalls/request leader ${s.writes.leader} followers ${
            s.writes.followers.join("/")
          }, load ${s.load}`,
      );
    }
  }
}
writeFileSync(
  values.out!,
  JSON.stringify(
    { date: new Date().toISOString(), cpus: cpus().length, fsync, durationMs, samples },
    null,
    2,
  ) +
    "\n",
);
console.log(`wrote ${values.out}`);
