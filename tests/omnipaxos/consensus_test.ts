/** Port of consensus_test.rs::consensus_test: many proposals through one server of five. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertDecidedLogs, cluster, electLeader, pids, proposeRange, waitDecided } from "./helpers.ts";

test("5 servers, 2000 appends via one server: all decided everywhere, valid, identical prefixes", () => {
  const ids = pids(5);
  // Heartbeats share FIFO links with the 2000-entry burst: give a round enough ticks to get through it
  // (forwarded proposals are fire-and-forget, so a leader change would legitimately lose some).
  const c = cluster(ids, { electionTicks: 10, resendTicks: 20 });
  const leader = electLeader(c);
  // Propose through a server that is not the leader when there is one such, else the leader.
  const via = ids.find((id) => id !== leader) ?? leader;
  const proposed = proposeRange(c, via, 0, 2000);
  waitDecided(c, 2000);
  // Quorum (here: everyone) decided exactly the proposals, each once, in one order.
  const log = c.decided(leader);
  assert.equal(log.length, 2000);
  assert.deepEqual([...log].sort((a, b) => a - b), proposed, "validity: decided = proposed, no duplicates");
  assertDecidedLogs(c, log);
  c.checkAllLogs();
});

test("decided logs are prefixes of each other while proposals are in flight", () => {
  const ids = pids(5);
  const c = cluster(ids, { electionTicks: 20, resendTicks: 40 });
  electLeader(c);
  let next = 0;
  for (let round = 0; round < 40; round++) {
    const at = c.anyLeader() ?? ids[round % ids.length];
    proposeRange(c, at, next, 25);
    next += 25;
    c.tick(100); // only part of the traffic is delivered: servers lag behind each other
    const logs = ids.map((id) => c.decided(id));
    const longest = logs.reduce((a, b) => (b.length > a.length ? b : a));
    for (const l of logs) assert.deepEqual(l, longest.slice(0, l.length), "consistent prefixes");
  }
  // Starved heartbeats may have moved leadership and lost undecided proposals; the rest must converge.
  const leader = electLeader(c, 200);
  c.until(() => ids.every((id) => c.node(id).getDecidedIdx() === c.node(leader).getAcceptedIdx()), 500);
  const log = c.decided(leader);
  assert.ok(log.length >= 25, `only ${log.length} decided`);
  assertDecidedLogs(c, log);
});
