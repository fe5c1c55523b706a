/** Port of trim_test.rs (trim, double trim) and the trim errors (brief §3.10, pitfall 2). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CompactionError, NotLeaderError } from "../../mod.ts";
import type { SimCluster } from "../sim/cluster.ts";
import { cluster, electLeader, pids, proposeRange, thrown, waitDecided } from "./helpers.ts";

function assertTrimmed(c: SimCluster<number>, at: number, total: number): void {
  for (const id of c.ids) {
    const n = c.node(id);
    assert.equal(n.getCompactedIdx(), at, `${id}: compacted index`);
    for (const i of [0, at - 1]) {
      assert.deepEqual(n.read(i), { kind: "trimmed", trimmedIdx: at }, `${id}: read(${i})`);
    }
    for (const i of at < total ? [at, total - 1] : []) {
      assert.deepEqual(n.read(i), { kind: "decided", idx: i, entry: i });
    }
    const suffix = n.readDecidedSuffix(0);
    assert.deepEqual(suffix[0], { kind: "trimmed", trimmedIdx: at });
    assert.equal(suffix.length, 1 + total - at);
  }
}

function decidedCluster(ids: string[], total: number) {
  const c = cluster(ids);
  const leader = electLeader(c);
  proposeRange(c, leader, 0, total);
  waitDecided(c, total);
  return { c, leader };
}

test("trim at 1000, then 1010: every server shows trimmed below and the entries above", () => {
  const { c, leader } = decidedCluster(pids(3), 1100);
  c.node(leader).trim(1000);
  c.ticks(2);
  assertTrimmed(c, 1000, 1100);
  c.node(leader).trim(1010);
  c.ticks(2);
  assertTrimmed(c, 1010, 1100);
  // Trimming at or below the compacted index is a no-op; the log keeps growing after a trim.
  c.node(leader).trim(500);
  proposeRange(c, leader, 1100, 5);
  waitDecided(c, 1105);
  assertTrimmed(c, 1010, 1105);
});

test("trim without an index trims what every server accepted", () => {
  const { c, leader } = decidedCluster(pids(3), 50);
  c.node(leader).trim();
  c.ticks(2);
  assertTrimmed(c, 50, 50);
});

test("trim works with non-contiguous and arbitrary string pids", () => {
  for (const ids of [["6", "7", "8"], ["7", "1", "100", "4", "6"], ["QmA", "12D3KooWx", "z"]]) {
    const { c, leader } = decidedCluster(ids, 40);
    c.node(leader).trim(30);
    c.ticks(2);
    assertTrimmed(c, 30, 40);
  }
});

test("trim errors: NotLeaderError on a follower, CompactionError beyond what all accepted or decided", () => {
  const ids = pids(3);
  const { c, leader } = decidedCluster(ids, 20);
  const f = ids.find((id) => id !== leader)!;
  const e = thrown(() => c.node(f).trim(10), NotLeaderError);
  assert.equal(e.leader, leader);
  // A crashed follower bounds the trim at what it accepted, though a majority decides more.
  const down = ids.find((id) => id !== leader && id !== f)!;
  c.crash(down);
  proposeRange(c, leader, 20, 10);
  waitDecided(c, 30, [leader, f]);
  const tooFar = thrown(() => c.node(leader).trim(25), CompactionError);
  assert.equal(tooFar.reason, "not-accepted-by-all");
  assert.equal(tooFar.bound, 20);
  const undecided = thrown(() => c.node(leader).trim(31), CompactionError);
  assert.equal(undecided.reason, "undecided");
  assert.equal(c.node(leader).getCompactedIdx(), 0, "failed trims change nothing");
  c.node(leader).trim(20);
  c.ticks(2);
  assert.equal(c.node(f).getCompactedIdx(), 20);
  // The crashed server restarts and still catches up: it holds everything below the trim point (it
  // missed the trim request, which is not resent, so it keeps its copy).
  c.start(down);
  waitDecided(c, 30);
  assert.deepEqual(c.decided(down), Array.from({ length: 30 }, (_, i) => i));
});
