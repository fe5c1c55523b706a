/**
 * Members rarely start at the same instant. A server that started alone reports "not quorum-connected"
 * in heartbeat replies sent before it was elected; those stale replies must not make its followers
 * depose it right after the election (a leadership ping-pong at every cluster start).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cluster, ELECTION_TICKS, leaderChanges, WriteLoad } from "./scenario_helpers.ts";

for (const gap of [1, 3, 7, 13]) {
  test(`staggered start (${gap} ticks apart): one election, then no leader changes`, () => {
    const ids = ["a", "b", "c", "d", "e"];
    const c = cluster(ids, 30 + gap);
    for (const id of ids.slice(1)) c.crash(id);
    for (const id of ids.slice(1)) {
      c.ticks(gap);
      c.start(id);
    }
    const load = new WriteLoad(c);
    load.untilNewWriteDecided(c.now, 20 * ELECTION_TICKS);
    const promises = () => ids.map((id) => c.node(id).getPromise().n);
    assert.ok(Math.max(...promises()) <= 2, `ballots stayed low: ${promises()}`);
    assert.equal(leaderChanges(c, load, 30 * ELECTION_TICKS), 0);
  });
}
