/** `chiselstore bench`: usage errors (exit 2), and a short real run against 3 node processes it starts. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { BenchReport } from "../../src/cli/bench/command.ts";
import { parseStatCpu, parseStatusKb } from "../../src/cli/bench/procstat.ts";
import { quantile } from "../../src/cli/bench/workload.ts";
import { runCli, runMain, startCli, withTempDir } from "./helpers.ts";

declare const Deno: unknown;

test("bench: bad flags print one line and the usage, exit 2; --help exits 0", async () => {
  const cases: [string[], RegExp][] = [
    [["--no-such-flag"], /no-such-flag/],
    [["extra"], /unexpected argument 'extra'/],
    [["--nodes", "0"], /--nodes: expected an integer from 1 to 15, got '0'/],
    [["--nodes", "two"], /--nodes: expected an integer/],
    [["--duration-s", "abc"], /--duration-s: expected a number of seconds/],
    [["--duration-s", "0"], /--duration-s: expected a number of seconds/],
    [["--inflight", "1,,4"], /--inflight: expected an integer from 1 to 4096, got ''/],
    [["--inflight=-3"], /--inflight: expected an integer from 1 to 4096, got .-3./],
    [["--fsync", "sometimes"], /--fsync: expected always \| batch \| never, got 'sometimes'/],
    [["--url", "ftp://example.com"], /--url: expected an http:\/\/ or https:\/\/ URL/],
    [["--url", "not a url"], /--url: expected an http:\/\/ or https:\/\/ URL/],
    [["--url", "http://127.0.0.1:4001", "--nodes", "3"], /--nodes: only for a local cluster/],
    [["--url", "http://127.0.0.1:4001", "--fsync", "never"], /--fsync: only for a local cluster/],
    [["--url", "http://127.0.0.1:4001", "--election-ms", "100"], /--election-ms: only for a local cluster/],
    [["--url", "http://127.0.0.1:4001", "--client", "p2p"], /--client p2p: only for a local cluster/],
    [["--client", "grpc"], /--client: expected http, p2p or http,p2p, got 'grpc'/],
    [["--tx-rows", "0"], /--tx-rows: expected an integer from 1 to 1000, got '0'/],
    [["--election-ms", "5"], /--election-ms: expected an integer from 20 to 60000, got '5'/],
    [["--nodes", "2"], /--nodes: failover needs at least 3 nodes/],
  ];
  // The first case through the real program, the others through its main() in this process.
  await Promise.all(cases.map(async ([args, re], i) => {
    const r = await (i === 0 ? runCli : runMain)(["bench", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const [first, blank, usage] = r.stderr.split("\n");
    assert.match(first, /^chiselstore bench: /, args.join(" "));
    assert.match(first, re, args.join(" "));
    assert.equal(blank, "");
    assert.match(usage, /^Usage: chiselstore bench/);
    assert.equal(r.stdout, "", args.join(" "));
  }));
  const help = await runCli(["bench", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: chiselstore bench/);
  assert.match(help.stdout, /--inflight/);
});

test("bench: quantiles (nearest rank) and /proc parsing", () => {
  assert.equal(quantile([], 0.5), 0);
  assert.equal(quantile([5], 0.99), 5);
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(xs, 0.5), 50);
  assert.equal(quantile(xs, 0.99), 99);
  assert.equal(quantile(xs, 1), 100);
  // Field 2 may contain spaces and parentheses; utime and stime are fields 14 and 15.
  const stat = "123 (node (x) y) S 1 123 123 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0";
  assert.equal(parseStatCpu(stat, 100), 3);
  assert.equal(parseStatusKb("Name:\tnode\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n", "VmRSS"), 1024);
  assert.throws(() => parseStatusKb("Name:\tnode\n", "VmRSS"), /no VmRSS/);
});

/** The bench process's children (the nodes), from /proc on Linux; empty elsewhere or once it has exited. */
function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  try {
    return readFileSync(file, "utf8").trim().split(/\s+/).filter((s) => s !== "").map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test(
  "bench: a short real run on 3 node processes, both clients and a failover, prints the table and writes positive figures",
  {
    timeout: 180_000,
  },
  () =>
    withTempDir(async (dir) => {
      const tmp = join(dir, "tmp");
      await mkdir(tmp);
      const jsonFile = join(dir, "bench.json");
      const run = startCli(
        [
          "bench",
          "--nodes",
          "3",
          "--duration-s",
          "0.5",
          "--inflight",
          "1,4",
          "--tx-rows",
          "3",
          "--json",
          jsonFile,
        ],
        { env: { TMPDIR: tmp } },
      );
      run.child.stdin!.end();
      let nodePids: number[] = [];
      const watch = setInterval(() => {
        const kids = childrenOf(run.child.pid!);
        if (kids.length > 0) nodePids = kids;
      }, 200);
      // Past ~120 s: Ctrl-C (the bench stops its nodes), then SIGKILL to the bench and every node it started.
      const interrupt = setTimeout(() => process.kill(run.child.pid!, "SIGINT"), 120_000);
      const kill = setTimeout(() => {
        for (const pid of [run.child.pid!, ...nodePids]) if (alive(pid)) process.kill(pid, "SIGKILL");
      }, 135_000);
      let code: number;
      try {
        code = await run.exited;
      } finally {
        clearInterval(watch);
        clearTimeout(interrupt);
        clearTimeout(kill);
        for (const pid of nodePids) if (alive(pid)) process.kill(pid, "SIGKILL");
      }
      assert.equal(code, 0, `${run.stdout()}\n${run.stderr()}`);
      const out = run.stdout();
      assert.match(
        out,
        /\| client \| measurement +\| in flight \| ok +\| errors \| per s +\| rows\/s +\| p50 ms \| p99 ms \|/,
      );
      for (const client of ["http", "p2p"]) {
        for (
          const name of [
            "write latency",
            "write throughput",
            "tx of 3 rows",
            "read none",
            "read linearizable",
          ]
        ) {
          assert.match(out, new RegExp(`\\| ${client} +\\| ${name} `), `${client} ${name}`);
        }
        assert.match(out, new RegExp(`\\| ${client} +\\| read strong +\\| +64 \\|`));
      }
      assert.match(out, /failover: kill -9 of leader n\d → first acknowledged write after [\d.]+ ms/);

      const r = JSON.parse(await readFile(jsonFile, "utf8")) as BenchReport;
      assert.equal(r.machine.cpus, os.cpus().length);
      assert.equal(r.machine.runtime, typeof Deno !== "undefined" ? "deno" : "node");
      assert.ok(r.machine.runtimeVersion.length > 0);
      assert.ok(!Number.isNaN(Date.parse(r.date)));
      assert.deepEqual(
        [
          r.config.target,
          r.config.nodes,
          r.config.fsync,
          r.config.durationS,
          r.config.inflight,
          r.config.txRows,
        ],
        ["local", 3, "always", 0.5, [1, 4], 3],
      );
      assert.deepEqual(r.runs.map((x) => x.client), ["http", "p2p"]);
      for (const run of r.runs) {
        const w = run.writeLatency;
        assert.ok(w.count > 0 && w.p50Ms > 0 && w.p99Ms >= w.p50Ms, JSON.stringify(w));
        assert.deepEqual(run.writeThroughput.map((p) => p.inflight), [1, 4]);
        assert.deepEqual(run.txThroughput.map((p) => [p.inflight, p.rows]), [[1, 3], [4, 3]]);
        for (const p of [...run.writeThroughput, ...run.txThroughput]) {
          assert.ok(p.count > 0 && p.perSecond > 0, JSON.stringify(p));
        }
        assert.deepEqual(run.reads.map((p) => p.level), ["none", "weak", "linearizable", "strong"]);
        for (const p of run.reads) {
          assert.ok(p.count > 0 && p.perSecond > 0 && p.inflight === 64, JSON.stringify(p));
        }
        if (process.platform === "linux") {
          assert.equal(run.processes?.length, 3);
          for (const p of run.processes!) {
            assert.ok(p.rssKb > 0 && p.peakRssKb >= p.rssKb && p.totalCpuS > 0, JSON.stringify(p));
            // The bench stopped every node it started and removed its directory.
            assert.equal(alive(p.pid), false, `node process ${p.pid} still running`);
          }
        }
      }
      // The failover killed the leader all nodes named and a new one took over, with writes failing meanwhile.
      const f = r.failover!;
      assert.equal(f.electionMs, 300);
      assert.equal(f.electionTimeouts, f.msToFirstWrite / 300);
      // No leader can take over before the survivors miss at least one heartbeat round of the dead one.
      assert.ok(f.msToFirstWrite >= 150, JSON.stringify(f));
      assert.ok(f.newLeader !== null && f.newLeader !== f.killedLeader, JSON.stringify(f));
      assert.ok(f.attempts >= 1 && f.failed < f.attempts, JSON.stringify(f));
      assert.deepEqual(await readdir(tmp), []);
    }),
);
