/** Port of flexible_quorum_test.rs: 8 servers, read (prepare) quorum 6, write (accept) quorum 3. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assertDecidedLogs,
  cluster,
  electLeader,
  live,
  pids,
  proposeRange,
  Tap,
  waitDecided,
} from "./helpers.ts";

const flexibleQuorum = { readQuorumSize: 6, writeQuorumSize: 3 };

test("prepare phase: after the leader and write-2 followers crash, a read quorum elects a leader with the full log", () => {
  const ids = pids(8);
  const c = cluster(ids, { flexibleQuorum });
  const tap = new Tap(c);
  const leader = electLeader(c);
  const [a, b] = ids.filter((id) => id !== leader);
  // Only a write quorum (leader, a, b) ever gets the entries: the others hear heartbeats only.
  const replication = new Set(["AcceptSync", "AcceptDecide", "Decide"]);
  tap.drop = (m) => m.from === leader && replication.has(m.type) && m.to !== a && m.to !== b;
  const values = proposeRange(c, leader, 0, 20);
  waitDecided(c, 20, [leader, a, b]);
  for (const id of ids) {
    if (id !== leader && id !== a && id !== b) assert.equal(c.node(id).getAcceptedIdx(), 0);
  }
  // Crash the leader and write-2 = 1 follower: b is the only live holder of the decided entries.
  c.crash(leader);
  c.crash(a);
  tap.drop = undefined;
  const next = electLeader(c, 100);
  assert.notEqual(next, leader);
  waitDecided(c, 20);
  assertDecidedLogs(c, values);
  values.push(...proposeRange(c, next, 100, 5));
  waitDecided(c, 25);
  assertDecidedLogs(c, values);
  assert.equal(live(c).length, 6);
});

test("accept phase: with N-write followers crashed, the stable leader keeps deciding on a write quorum", () => {
  const ids = pids(8);
  const c = cluster(ids, { flexibleQuorum });
  const leader = electLeader(c);
  const values = proposeRange(c, leader, 0, 5);
  waitDecided(c, 5);
  const followers = ids.filter((id) => id !== leader);
  for (const f of followers.slice(0, ids.length - flexibleQuorum.writeQuorumSize)) c.crash(f);
  assert.equal(live(c).length, 3);
  const ballot = c.node(leader).getPromise();
  values.push(...proposeRange(c, leader, 10, 20));
  waitDecided(c, 25);
  assertDecidedLogs(c, values);
  assert.ok(c.node(leader).isLeader());
  assert.deepEqual(c.node(leader).getPromise(), ballot, "no re-election was needed");
  // One more crash leaves fewer than a write quorum: nothing new is decided.
  c.crash(followers[followers.length - 1]);
  c.propose(leader, 99);
  c.ticks(30);
  assert.equal(c.node(leader).getDecidedIdx(), 25);
});
