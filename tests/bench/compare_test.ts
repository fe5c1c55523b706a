/** bench/compare: dqlite-benchmark result parsing, the summary/ratio/goal logic, and a real etcd cluster. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { dqlitePhase, parseDqliteResults } from "../../bench/compare/dqlite.ts";
import { ETCD_BIN, EtcdCluster, etcdGet, etcdKey, etcdPut } from "../../bench/compare/etcd.ts";
import { missingPackages } from "../../bench/compare/install.ts";
import { goals, median, type Sample, summarize, withRatios } from "../../bench/compare/report.ts";

const FILE = `n 3
n_err 2
avg [ms] 2.000000
max [ms] 3.000000
min [ms] 1.000000
measurements [timestamp in ns] [ms]
1796020999000000000 3.000000
1796020999100000000 1.000000
1796020999200000000 2.000000

errors
1796020999050000000 database is locked
1796020999150000000 database is locked
`;

test("compare: dqlite-benchmark results files are parsed and checked against their header", () => {
  const r = parseDqliteResults(FILE);
  assert.equal(r.n, 3);
  assert.equal(r.nErr, 2);
  assert.deepEqual(r.latenciesMs, [3, 1, 2]);
  assert.equal(r.firstNs, 1796020999000000000n);
  assert.equal(r.lastNs, 1796020999200000000n);
  assert.throws(() => parseDqliteResults(FILE.replace("n 3", "n 4")), /header says n 4 but 3 measurements/);
  assert.throws(() => parseDqliteResults(FILE.replace("n_err 2", "n_err 1")), /n_err 1 but 2 errors/);
  assert.throws(() => parseDqliteResults(FILE.replace("2.000000\n\n", "2.0 x\n\n")), /bad measurement line/);
  assert.throws(() => parseDqliteResults("n 0\nn_err 0\n"), /no measurements section/);
  assert.throws(() => parseDqliteResults("garbage\nmeasurements\n"), /bad header line/);
  // Two workers over 2 s: 6 requests, 3/s, nearest-rank quantiles over all of them.
  const p = dqlitePhase([r, r], 2);
  assert.deepEqual([p.inflight, p.count, p.errors, p.perSecond, p.p50Ms, p.p99Ms, p.maxMs], [
    2,
    6,
    4,
    3,
    2,
    3,
    3,
  ]);
});

function sample(
  system: Sample["system"],
  shape: Sample["shape"],
  inflight: number,
  perSecond: number,
  p50Ms: number,
) {
  return {
    system,
    shape,
    inflight,
    perSecond,
    p50Ms,
    round: 1,
    load1m: 1,
    count: 1,
    errors: 0,
    seconds: 1,
    p99Ms: p50Ms * 2,
    meanMs: p50Ms,
    maxMs: p50Ms * 3,
  };
}

test("compare: medians over rounds, ratios against etcd and dqlite, goals with the better client", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), 0);
  const samples: Sample[] = [
    sample("chiselstore-http", "put", 1, 300, 3),
    { ...sample("chiselstore-http", "put", 1, 100, 9), round: 2, load1m: 5 },
    { ...sample("chiselstore-http", "put", 1, 200, 6), round: 3 },
    sample("chiselstore-p2p", "put", 1, 150, 2),
    sample("etcd", "put", 1, 400, 2),
    sample("dqlite", "put", 1, 100, 1),
    sample("chiselstore-http", "put", 64, 5000, 10),
    sample("chiselstore-p2p", "put", 64, 3000, 10),
    sample("etcd", "put", 64, 2000, 20),
    sample("chiselstore-http", "get-linearizable", 64, 4000, 5),
    sample("chiselstore-http", "get-strong", 64, 1000, 5),
  ];
  const rows = withRatios(summarize(samples));
  const http1 = rows.find((r) => r.system === "chiselstore-http" && r.shape === "put" && r.inflight === 1)!;
  assert.deepEqual([http1.rounds, http1.perSecond, http1.p50Ms, http1.loadMin, http1.loadMax], [
    3,
    200,
    6,
    1,
    5,
  ]);
  assert.equal(http1.vsEtcdPerSecond, 0.5);
  assert.equal(http1.vsEtcdP50, 3);
  assert.equal(http1.vsDqlitePerSecond, 2);
  const etcd1 = rows.find((r) => r.system === "etcd" && r.inflight === 1)!;
  assert.equal(etcd1.vsEtcdPerSecond, null);
  assert.equal(rows.find((r) => r.shape === "get-strong")!.vsEtcdPerSecond, null); // etcd has no such row
  const g = goals(rows);
  assert.deepEqual(g.map((x) => [x.value, x.client, x.met]), [
    [2.5, "chiselstore-http", true], // 5000 / 2000
    [1, "chiselstore-p2p", true], // p2p's p50 2 ms against etcd's 2 ms: the better client counts
    [4, "chiselstore-http", false], // 4000 / 1000 < 5
    [2, "chiselstore-http", true], // 200 / 100
  ]);
  // Without etcd figures the etcd goals are not decided.
  const noEtcd = goals(withRatios(summarize(samples.filter((s) => s.system !== "etcd"))));
  assert.deepEqual(noEtcd.map((x) => x.met), [null, null, false, true]);
});

test("compare: missing binaries map to their Debian packages", () => {
  assert.deepEqual(missingPackages(() => true), []);
  assert.deepEqual(missingPackages(() => false), ["etcd-server", "go-dqlite"]);
  assert.deepEqual(missingPackages((p) => p.endsWith("etcd")), ["go-dqlite"]);
});

test("compare: a 3-member etcd cluster starts, serves puts and linearizable gets, and stops", {
  timeout: 120_000,
  skip: existsSync(ETCD_BIN) ? false : `${ETCD_BIN} missing (apt-get install etcd-server)`,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), "compare-test-"));
  try {
    const cluster = await EtcdCluster.start(root);
    const pids = cluster.members.map((m) => m.child.pid!);
    try {
      assert.equal(cluster.endpoints.length, 3);
      const client = cluster.client();
      try {
        const put = etcdPut();
        for (let i = 0; i < 5; i++) await put(client, i);
        assert.match((await client.get(etcdKey(3)).string())!, /^v00000003-x{22}$/);
        const get = etcdGet(5);
        for (let i = 0; i < 20; i++) await get(client, i);
        // Over 6 keys some reads hit key 5, which was never written: a missing key is an error.
        const six = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => etcdGet(6)(client, i)));
        const missing = six.filter((r) => r.status === "rejected");
        assert.ok(missing.length > 0 && missing.length < 30, `${missing.length} of 30 failed`);
        for (const r of missing) {
          assert.match(String((r as PromiseRejectedResult).reason), /bench\/00000005 not found/);
        }
      } finally {
        client.close();
      }
      // --route leader: a client of the leader's endpoint only, which that member confirms.
      const { client: leader, endpoint } = await cluster.leaderClient();
      try {
        assert.ok(cluster.endpoints.includes(endpoint));
        const s = await leader.maintenance.status();
        assert.equal(s.leader, s.header.member_id);
        await etcdPut()(leader, 9);
        assert.match((await leader.get(etcdKey(9)).string())!, /^v00000009-/);
      } finally {
        leader.close();
      }
    } finally {
      await cluster.stop();
    }
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), "member still running");
    assert.deepEqual((await readdir(root)).sort(), ["etcd1", "etcd2", "etcd3"]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
