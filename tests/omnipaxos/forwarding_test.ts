/** Port of forward_proposal_test.rs, plus proposals made before any leader is known (pitfall 14). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Prng } from "../sim/prng.ts";
import { assertDecidedLogs, cluster, electLeader, pids, Tap, waitDecided } from "./helpers.ts";

test("7 servers: an append at a random non-leader is forwarded and decided everywhere", () => {
  const ids = pids(7);
  const c = cluster(ids);
  const tap = new Tap(c);
  const leader = electLeader(c);
  const rng = new Prng(7);
  const followers = ids.filter((id) => id !== leader);
  const values: number[] = [];
  for (let i = 0; i < 20; i++) {
    const via = rng.pick(followers);
    c.propose(via, i);
    values.push(i);
    c.tick();
  }
  waitDecided(c, values.length);
  assertDecidedLogs(c, values);
  // The entries really travelled as forwards to the leader.
  const fwd = tap.of("ProposalForward").filter((m) => m.to === leader);
  assert.equal(fwd.reduce((n, m) => n + m.entries.length, 0), values.length);
});

test("appends made before any leader is known are buffered and decided after the election", () => {
  const ids = pids(3);
  const c = cluster(ids);
  c.propose("n1", 1);
  c.propose("n2", 2);
  assert.equal(c.node("n1").status().buffered, 1);
  electLeader(c);
  waitDecided(c, 2);
  assert.deepEqual([...c.decided("n1")].sort(), [1, 2]);
  assertDecidedLogs(c, c.decided("n1"));
});
