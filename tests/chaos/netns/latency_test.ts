/**
 * Added latency on real links (delay_proxy.ts, since this kernel has no netem): three nodes in network
 * namespaces whose node-to-node connections run through a delaying relay. A write at the leader needs one
 * round trip to a follower, so a delay on every link shows up in its latency; a slow link to one follower
 * does not, because the leader decides with the other follower (any quorum will do); and neither makes the
 * cluster change leader while the round trip stays under the election timeout.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetnsCluster, netnsSkip } from "./harness.ts";
import { ELECTION_MS, others } from "./scenario.ts";

const WRITES = 15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test("3 nodes with delayed links: latency follows the quorum round trip, no leader change", {
  skip: netnsSkip(),
  timeout: 180_000,
}, () =>
  NetnsCluster.with(3, { electionMs: ELECTION_MS, latency: { seed: 7 } }, async (c) => {
    const leader = await c.procs.leader();
    const client = c.procs.nodes[leader].client;
    await client.execute("CREATE TABLE lat(id INTEGER PRIMARY KEY, phase TEXT)");
    let id = 0;
    /** Median latency of sequential INSERTs at the leader, in ms. */
    const phase = async (name: string): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < WRITES; i++) {
        const t0 = performance.now();
        const r = await client.execute("INSERT INTO lat VALUES (?, ?)", [++id, name]);
        assert.equal(r.error, undefined, `${name}: ${r.error}`);
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };

    assert.throws(() => c.delay(leader, leader, 10), /bad link/);
    assert.throws(() => c.delay(0, 1, -5), />= 0/);
    const base = await phase("none");
    // 40 ms each way on every link: a write waits for AcceptDecide out and Accepted back.
    c.delayAll(40);
    const all = await phase("all links 40 ms");
    assert.ok(
      all >= 80,
      `every link delayed 40 ms each way: write p50 ${all.toFixed(1)} ms (base ${base.toFixed(1)})`,
    );

    // Jitter (seeded): chunks must still arrive in order, or Noise would fail and writes with it.
    c.delayAll(10, 30);
    const jitter = await phase("all links 10-40 ms");
    assert.ok(jitter >= 20, `jittered links: write p50 ${jitter.toFixed(1)} ms`);

    // One slow follower (150 ms each way): the other one completes the quorum.
    c.delayAll(0);
    const [slow] = others(c, leader);
    c.delay(leader, slow, 150);
    c.delay(slow, leader, 150);
    const oneSlow = await phase("one follower 150 ms");
    // Were the slow follower needed, every write would take its 300 ms round trip.
    assert.ok(oneSlow < 150, `one slow follower must not slow writes: p50 ${oneSlow.toFixed(1)} ms`);

    assert.equal(await c.procs.leader(), leader, "no leader change under delays below the election timeout");
    await c.heal();
    const sum = await c.procs.converged();
    for (let i = 0; i < c.size; i++) {
      const [r] = await c.procs.nodes[i].client.query("SELECT count(*) FROM lat", { consistency: "none" });
      assert.equal(r.values?.[0]?.[0], id, `node ${i} holds every write`);
    }
    console.log(
      "latency figures:",
      JSON.stringify({
        p50ms: {
          none: +base.toFixed(1),
          all40: +all.toFixed(1),
          jitter10to40: +jitter.toFixed(1),
          oneFollower150: +oneSlow.toFixed(1),
        },
        checksum: sum.sha256.slice(0, 12),
      }),
    );
  }));
