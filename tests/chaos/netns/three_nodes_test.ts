/**
 * Three real processes in network namespaces (harness.ts), one cluster for every scenario in turn (each with
 * its own table and write load, healed and verified before the next): the chained scenario of the Omni-Paxos
 * paper, which is also the original project's 3-node topology (only one node linked to both others); the
 * leader isolated, paused (SIGSTOP) and killed (SIGKILL); a one-way link; lossy links (30 % of packets
 * dropped); a throttled leader. See docs/reliability.md for the figures.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NetnsCluster, netnsSkip } from "./harness.ts";
import { ELECTION_MS, leadersSeen, others, scenario } from "./scenario.ts";
import { downtime } from "./scenario.ts";
import { leaderIsolated, leaderKilled, leaderPaused } from "./leader_faults.ts";

/** Writes that must be acknowledged while a degraded link is in force: the cluster keeps deciding. */
const DEGRADED_WRITES = 30;

test("3 nodes in network namespaces: chained, leader isolated/paused/killed, one-way, lossy, throttled", {
  skip: netnsSkip(),
  timeout: 240_000,
}, (t) =>
  NetnsCluster.with(3, { electionMs: ELECTION_MS }, async (c) => {
    await t.test("chained: the leader loses its link to one follower; no leader ping-pong", () =>
      scenario(c, "chained", async (load) => {
        const b = await c.procs.leader();
        const [a, cc] = others(c, b);
        await c.cut(b, cc);
        try {
          const d = await downtime(load, performance.now(), "cutting the leader from one follower");
          // Raft livelocks here (b and c unseat each other through a): watch whom a follows, once settled.
          const seen = await leadersSeen(c, a, 15 * ELECTION_MS);
          assert.ok(seen.length <= 2, `a followed ${seen.join(" → ")} in 15 election timeouts`);
          await load.progress(10, 20_000, "after the chained cut");
          return { ...d, leadersSeen: seen, leader: c.name(b), cut: `${c.name(b)}-${c.name(cc)}` };
        } finally {
          await c.heal();
        }
      }));

    await t.test("leader isolated", () => scenario(c, "leader isolated", (load) => leaderIsolated(c, load)));
    await t.test("leader paused (SIGSTOP)", () =>
      scenario(c, "leader paused", (load) => leaderPaused(c, load)));
    await t.test("leader killed (SIGKILL)", () =>
      scenario(c, "leader killed", (load) => leaderKilled(c, load)));

    await t.test("one-way: the leader's packets to a follower dropped", () =>
      scenario(c, "one-way", async (load) => {
        const leader = await c.procs.leader();
        const [f] = others(c, leader);
        await c.oneWay(leader, f);
        try {
          const d = await downtime(load, performance.now(), "dropping leader→follower packets");
          const t0 = performance.now();
          await load.progress(DEGRADED_WRITES, 30_000, "with a one-way link");
          return { ...d, ...rate(t0), dropped: `${c.name(leader)}→${c.name(f)}` };
        } finally {
          await c.heal();
        }
      }));

    await t.test("lossy links: 30 % of packets dropped on every link, the cluster keeps deciding", () =>
      scenario(c, "lossy p=0.3", async (load) => {
        for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) await c.loss(a, b, 0.3);
        try {
          const d = await downtime(load, performance.now(), "30 % loss");
          const t0 = performance.now();
          await load.progress(DEGRADED_WRITES, 60_000, "with 30 % loss on every link");
          return { ...d, ...rate(t0) };
        } finally {
          await c.heal();
        }
      }));

    await t.test("throttled leader (256 kbit/s each way), the cluster keeps deciding", () =>
      scenario(c, "throttled leader", async (load) => {
        const leader = await c.procs.leader();
        await c.throttle(leader, "256kbit");
        try {
          const d = await downtime(load, performance.now(), "throttling the leader");
          const t0 = performance.now();
          await load.progress(DEGRADED_WRITES, 60_000, "with the leader throttled");
          return { ...d, ...rate(t0), throttled: c.name(leader) };
        } finally {
          await c.heal();
        }
      }));
  }));

/** How long the last DEGRADED_WRITES acknowledgements took, as writes per second. */
function rate(since: number): { writesPerSecond: number } {
  return { writesPerSecond: Math.round(DEGRADED_WRITES / ((performance.now() - since) / 1000)) };
}
