/** Port of ble_test.rs: repeatedly crash the elected leader; BLE elects a different one each time. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareBallots } from "../../mod.ts";
import { cluster, electLeader, isolate, live, pids, proposeRange, waitDecided } from "./helpers.ts";

test("10 servers: crashing the leader repeatedly elects a new, different leader with a higher ballot", () => {
  const ids = pids(10);
  const c = cluster(ids);
  const quorum = Math.floor(ids.length / 2) + 1;
  const leaders: string[] = [];
  let prev = electLeader(c);
  let prevBallot = c.node(prev).getPromise();
  leaders.push(prev);
  let value = 0;
  // Crash leaders while a quorum stays alive after the crash.
  while (live(c).length - 1 >= quorum) {
    c.crash(prev);
    const ticks = c.until(() => c.stableLeader() !== undefined, 50, "a new leader");
    const next = c.stableLeader()!;
    assert.ok(!leaders.includes(next), `leader ${next} elected twice`);
    const b = c.node(next).getPromise();
    assert.ok(compareBallots(b, prevBallot) > 0, "each new leader has a higher ballot");
    // Paper: recovery within a few election timeouts (one tick each here).
    assert.ok(ticks <= 6, `election took ${ticks} election timeouts`);
    // The new leader is usable: it decides on every live server.
    proposeRange(c, next, value, 5);
    value += 5;
    waitDecided(c, value);
    leaders.push(next);
    prev = next;
    prevBallot = b;
  }
  assert.equal(leaders.length, ids.length - quorum + 1);
});

test("a server cut off from everyone is not elected and does not disturb the leader", () => {
  const ids = pids(5);
  const c = cluster(ids);
  const leader = electLeader(c);
  const lonely = ids.find((id) => id !== leader)!;
  isolate(c, lonely);
  const before = c.node(leader).getPromise();
  c.ticks(30);
  const rest = ids.filter((id) => id !== lonely);
  assert.equal(c.stableLeader(rest), leader);
  assert.deepEqual(c.node(leader).getPromise(), before);
  assert.equal(c.node(lonely).isLeader(), false);
});
