/** Port of forward_proposal_test.rs, plus proposals made before any leader is known (pitfall 14). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BufferFullError } from "../../mod.ts";
import { Prng } from "../sim/prng.ts";
import {
  assertDecidedLogs,
  cluster,
  electLeader,
  isolate,
  pids,
  Tap,
  thrown,
  waitDecided,
} from "./helpers.ts";

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

test("a server without a leader buffers at most bufferSize proposals, then throws BufferFullError", () => {
  const c = cluster(pids(3), { bufferSize: 4 });
  for (let v = 0; v < 4; v++) c.propose("n1", v);
  thrown(() => c.node("n1").append(99), BufferFullError);
  electLeader(c);
  waitDecided(c, 4);
  assert.deepEqual([...c.decided("n2")].sort(), [0, 1, 2, 3]);
});

test("entries still in a deposed leader's unflushed batch are forwarded to the next leader and decided", () => {
  const ids = pids(3);
  const c = cluster(ids, { batchSize: 5, flushTicks: 1_000_000 });
  const old = electLeader(c);
  for (let v = 0; v < 3; v++) c.propose(old, v); // a partial batch: written nowhere yet
  isolate(c, old);
  const rest = ids.filter((id) => id !== old);
  const next = electLeader(c, 50, rest);
  c.net.healAll(); // links come back silently: only resends bring the old leader in
  c.until(
    () => c.node(old).getCurrentLeader() === next && !c.node(old).isLeader(),
    100,
    "old leader deposed",
  );
  for (let v = 10; v < 12; v++) c.propose(next, v); // 2 + the 3 forwarded fill one batch
  waitDecided(c, 5);
  assert.deepEqual([...c.decided(next)].sort((a, b) => a - b), [0, 1, 2, 10, 11]);
  assertDecidedLogs(c, c.decided(next));
});
