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
import { runCli, startCli, withTempDir } from "./helpers.ts";

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
  ];
  await Promise.all(cases.map(async ([args, re]) => {
    const r = await runCli(["bench", ...args]);
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

test("bench: a short real run on 3 node processes prints the table and writes positive figures", {
  timeout: 120_000,
}, () =>
  withTempDir(async (dir) => {
    const tmp = join(dir, "tmp");
    await mkdir(tmp);
    const jsonFile = join(dir, "bench.json");
    const run = startCli(
      ["bench", "--nodes", "3", "--duration-s", "1", "--inflight", "1,4", "--json", jsonFile],
      { env: { TMPDIR: tmp } },
    );
    run.child.stdin!.end();
    let nodePids: number[] = [];
    const watch = setInterval(() => {
      const kids = childrenOf(run.child.pid!);
      if (kids.length > 0) nodePids = kids;
    }, 200);
    // Past ~60 s: Ctrl-C (the bench stops its nodes), then SIGKILL to the bench and every node it started.
    const interrupt = setTimeout(() => process.kill(run.child.pid!, "SIGINT"), 60_000);
    const kill = setTimeout(() => {
      for (const pid of [run.child.pid!, ...nodePids]) if (alive(pid)) process.kill(pid, "SIGKILL");
    }, 75_000);
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
    assert.match(out, /\| measurement +\| in flight \| ok +\| errors \| per s +\| p50 ms \| p99 ms \|/);
    for (const name of ["write latency", "write throughput", "read none", "read weak", "read linearizable"]) {
      assert.match(out, new RegExp(`\\| ${name} `), name);
    }
    assert.match(out, /\| read strong +\| +64 \|/);

    const r = JSON.parse(await readFile(jsonFile, "utf8")) as BenchReport;
    assert.equal(r.machine.cpus, os.cpus().length);
    assert.equal(r.machine.runtime, typeof Deno !== "undefined" ? "deno" : "node");
    assert.ok(r.machine.runtimeVersion.length > 0);
    assert.ok(!Number.isNaN(Date.parse(r.date)));
    assert.deepEqual(
      [r.config.target, r.config.nodes, r.config.fsync, r.config.durationS, r.config.inflight],
      ["local", 3, "always", 1, [1, 4]],
    );
    assert.ok(r.writeLatency.count > 0 && r.writeLatency.p50Ms > 0, JSON.stringify(r.writeLatency));
    assert.ok(r.writeLatency.p99Ms >= r.writeLatency.p50Ms);
    assert.deepEqual(r.writeThroughput.map((p) => p.inflight), [1, 4]);
    for (const p of r.writeThroughput) assert.ok(p.count > 0 && p.perSecond > 0, JSON.stringify(p));
    assert.deepEqual(r.reads.map((p) => p.level), ["none", "weak", "linearizable", "strong"]);
    for (const p of r.reads) {
      assert.ok(p.count > 0 && p.perSecond > 0 && p.inflight === 64, JSON.stringify(p));
    }
    if (process.platform === "linux") {
      assert.equal(r.processes?.length, 3);
      for (const p of r.processes!) {
        assert.ok(p.rssKb > 0 && p.peakRssKb >= p.rssKb && p.totalCpuS > 0, JSON.stringify(p));
        // The bench stopped every node it started and removed its directory.
        assert.equal(alive(p.pid), false, `node process ${p.pid} still running`);
      }
    }
    assert.deepEqual(await readdir(tmp), []);
  }));
