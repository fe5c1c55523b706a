/**
 * Five real processes in network namespaces (harness.ts), one cluster for every scenario in turn: the
 * quorum-loss and constrained-election scenarios of the Omni-Paxos paper built by cutting links (roles follow
 * whichever node leads: C is the leader, A the node that keeps its links), the original project's 5-node
 * topology (links 1-2, 1-3, 3-4, 4-5) with its leader then isolated, and the leader paused and killed. See
 * docs/reliability.md for the figures.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "../../net/wait.ts";
import { NetnsCluster, netnsSkip } from "./harness.ts";
import { downtime, ELECTION_MS, leaderSeenBy, others, scenario, waitLeader } from "./scenario.ts";
import { leaderKilled, leaderPaused } from "./leader_faults.ts";

test(
  "5 nodes in network namespaces: quorum-loss, constrained election, the 5-node demo topology, leader paused/killed",
  {
    skip: netnsSkip(),
    timeout: 240_000,
  },
  (t) =>
    NetnsCluster.with(5, { electionMs: ELECTION_MS }, async (c) => {
      const accepted = async (i: number) => (await c.procs.status(i)).store.raft.accepted_index;

      await t.test("quorum-loss: only A stays linked to everyone; A takes over from the leader C", () =>
        scenario(c, "quorum-loss", async (load) => {
          const cc = await c.procs.leader();
          const [a] = others(c, cc);
          // C still hears A, so a "leader alive" detector at A would never fire; C is just not QC any more.
          await c.onlyLinks(others(c, a).map((x) => [a, x]));
          try {
            const d = await downtime(load, performance.now(), "quorum loss");
            await waitLeader(c, a, others(c, a));
            return { ...d, oldLeader: c.name(cc), newLeader: c.name(a) };
          } finally {
            await c.heal();
          }
        }));

      await t.test("constrained election: the only QC node A has the stalest log and still leads", () =>
        scenario(c, "constrained election", async (load) => {
          const cc = await c.procs.leader();
          const [a, ...bde] = others(c, cc);
          // A is cut from the leader first, so entries decided from then on miss A's log; the second fault
          // must come before A, still quorum-connected, stands for election with a fresh log. The simulation
          // waits 0.3 election timeouts; processes on a loaded machine cannot be timed that finely, so A is
          // frozen (SIGSTOP) across the first phase and resumed once the second fault is in force. It is cut
          // from C before it resumes, so nothing C sent after the cut can reach it, not even from its socket.
          c.pause(a);
          let paused = true;
          await c.cut(a, cc);
          const cutAt = performance.now();
          try {
            const atCut = await accepted(cc);
            let byC = atCut;
            await waitFor(
              async () => (byC = await accepted(cc)) > atCut,
              10_000,
              "the leader to accept entries after A was cut off",
              5,
            );
            await c.onlyLinks(bde.map((x) => [a, x]));
            c.resume(a);
            paused = false;
            const faultAt = performance.now();
            const d = await downtime(load, faultAt, "the constrained election");
            await waitLeader(c, a, bde);
            assert.notEqual(await leaderSeenBy(c, cc), a, "C is isolated: it cannot have heard of A");
            return {
              ...d,
              oldLeader: c.name(cc),
              newLeader: c.name(a),
              msBetweenFaults: Math.round(faultAt - cutAt),
              acceptedByCAtCut: atCut,
              acceptedByC: byC,
            };
          } finally {
            if (paused) c.resume(a);
            await c.heal();
          }
        }));

      await t.test("the original 5-node topology (1-2, 1-3, 3-4, 4-5), then its leader isolated: node 4 leads", () =>
        scenario(c, "5-node topology, leader isolated", async (load) => {
          const p1 = await c.procs.leader();
          const [p2, p3, p4, p5] = others(c, p1);
          // The leader in position 1 keeps a quorum (1, 2, 3), but 4 (linked to 3 and 5) no longer hears it and
          // is quorum-connected too, so leadership may already move to 4 here: the topology's own downtime.
          await c.onlyLinks([[p1, p2], [p1, p3], [p3, p4], [p4, p5]]);
          try {
            const topo = await downtime(load, performance.now(), "the 5-node topology");
            // Then 1 is isolated: 4 (linked to 3 and 5) is the only quorum-connected node left.
            await c.cut(p1, p2);
            await c.cut(p1, p3);
            const d = await downtime(load, performance.now(), "isolating the leader in the 5-node topology");
            await waitLeader(c, p4, [p3, p5]);
            return {
              ...d,
              topologyDowntimeMs: topo.downtimeMs,
              oldLeader: c.name(p1),
              newLeader: c.name(p4),
            };
          } finally {
            await c.heal();
          }
        }));

      await t.test("leader paused (SIGSTOP)", () =>
        scenario(c, "leader paused", (load) => leaderPaused(c, load)));
      await t.test("leader killed (SIGKILL)", () =>
        scenario(c, "leader killed", (load) => leaderKilled(c, load)));
    }),
);
