/**
 * The three partial-connectivity scenarios of the Omni-Paxos paper, where Raft livelocks or deadlocks,
 * plus the original ChiselStore/Omni-Paxos project's demo topologies. Each asserts that writes resume
 * within a bounded number of election timeouts and that a quorum-connected server leads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cluster,
  connectivity,
  ELECTION_TICKS,
  leaderChanges,
  settle,
  WriteLoad,
} from "./scenario_helpers.ts";

/** The paper's claim is recovery within about four election timeouts. */
const MAX_RECOVERY_TIMEOUTS = 4;

function assertRecovery(name: string, ticks: number): void {
  const timeouts = ticks / ELECTION_TICKS;
  assert.ok(timeouts <= MAX_RECOVERY_TIMEOUTS, `${name}: recovered in ${timeouts} election timeouts`);
}

test("quorum-loss: the only server still linked to everyone takes over from a leader that lost its quorum", () => {
  const c = cluster(["a", "b", "c", "d", "e"], 11, { c: 1 });
  const load = new WriteLoad(c);
  settle(c, load, "c");
  // Only a still talks to everyone; every other pair among b, c, d, e is cut. c still hears a, so a
  // "leader alive" failure detector at a would never fire.
  const fault = c.now;
  c.setTopology([["a", "b"], ["a", "c"], ["a", "d"], ["a", "e"]]);
  const ticks = load.untilNewWriteDecided(fault, 20 * ELECTION_TICKS);
  assertRecovery("quorum-loss", ticks);
  load.ticks(5 * ELECTION_TICKS);
  assert.equal(c.anyLeaderWithQuorum(), "a");
  assert.ok(connectivity(c, "a") >= 3);
  assert.ok(leaderChanges(c, load, 20 * ELECTION_TICKS) === 0, "the new leader stays");
});

test("constrained election: the only quorum-connected server has the stalest log and still leads", () => {
  const c = cluster(["a", "b", "c", "d", "e"], 12, { c: 1 });
  const load = new WriteLoad(c);
  settle(c, load, "c");
  // First a is cut from the leader, so a's log lags behind while c keeps deciding with b, d, e ...
  c.net.setLink("a", "c", false);
  load.ticks(3);
  const aAccepted = c.node("a").getAcceptedIdx();
  const newest = Math.max(...["b", "c", "d", "e"].map((id) => c.node(id).getAcceptedIdx()));
  assert.ok(aAccepted < newest, `a lags (${aAccepted} < ${newest})`);
  const decidedBefore = c.node("c").getDecidedIdx();
  // ... then b, d and e can reach only a, and c is isolated: a is the only quorum-connected server.
  const fault = c.now;
  c.setTopology([["a", "b"], ["a", "d"], ["a", "e"]]);
  const ticks = load.untilNewWriteDecided(fault, 20 * ELECTION_TICKS);
  assertRecovery("constrained election", ticks);
  load.ticks(3 * ELECTION_TICKS);
  assert.equal(c.anyLeaderWithQuorum(), "a");
  // a pulled the newest log from the promises: nothing decided under c was lost (the checker also proves it).
  assert.ok(c.node("a").getDecidedIdx() > decidedBefore);
});

test("chained: with b-c cut and a linked to both, writes continue and leadership does not ping-pong", () => {
  const c = cluster(["a", "b", "c"], 13, { b: 1 });
  const load = new WriteLoad(c);
  settle(c, load, "b");
  const fault = c.now;
  c.setTopology([["a", "b"], ["a", "c"]]);
  const ticks = load.untilNewWriteDecided(fault, 20 * ELECTION_TICKS);
  assertRecovery("chained", ticks);
  load.ticks(5 * ELECTION_TICKS);
  const leader = c.anyLeaderWithQuorum();
  assert.ok(leader, "someone leads with a quorum");
  // Raft's failure here is a livelock: b and c keep unseating each other through a. Not with Omni-Paxos.
  assert.equal(leaderChanges(c, load, 50 * ELECTION_TICKS), 0, "no leader changes once settled");
  const before = c.node(leader).getDecidedIdx();
  load.ticks(5 * ELECTION_TICKS);
  assert.ok(c.node(leader).getDecidedIdx() > before, "and it keeps deciding");
});

test("original demo, 3 nodes: only node 1 links to both others; the cluster elects and decides", () => {
  const c = cluster(["1", "2", "3"], 14);
  c.setTopology([["1", "2"], ["1", "3"]]);
  const load = new WriteLoad(c);
  const ticks = load.untilNewWriteDecided(0, 20 * ELECTION_TICKS);
  assert.ok(ticks / ELECTION_TICKS <= MAX_RECOVERY_TIMEOUTS + 1, `first write decided after ${ticks} ticks`);
  load.ticks(5 * ELECTION_TICKS);
  const leader = c.anyLeaderWithQuorum();
  assert.ok(leader && connectivity(c, leader) >= 2);
  assert.equal(leaderChanges(c, load, 30 * ELECTION_TICKS), 0);
});

test("original demo, 5 nodes linked 1-2, 1-3, 3-4, 4-5: a quorum-connected node leads and decides", () => {
  const c = cluster(["1", "2", "3", "4", "5"], 15);
  c.setTopology([["1", "2"], ["1", "3"], ["3", "4"], ["4", "5"]]);
  const load = new WriteLoad(c);
  load.untilNewWriteDecided(0, 30 * ELECTION_TICKS);
  load.ticks(5 * ELECTION_TICKS);
  const leader = c.anyLeaderWithQuorum();
  assert.ok(leader, "a leader with a quorum");
  assert.ok(connectivity(c, leader) >= 3, `leader ${leader} is quorum-connected`);
  assert.equal(leaderChanges(c, load, 30 * ELECTION_TICKS), 0);
  const before = c.node(leader).getDecidedIdx();
  load.ticks(2 * ELECTION_TICKS);
  assert.ok(c.node(leader).getDecidedIdx() > before);
});
