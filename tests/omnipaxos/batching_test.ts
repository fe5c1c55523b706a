/** Port of batching_test.rs: with batchSize B, the decided index moves in whole batches. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cluster, electLeader, pids, waitDecided } from "./helpers.ts";

const B = 31;

test("batchSize 31 and no flush timer: every server's decided index advances in steps of the batch size", () => {
  const ids = pids(3);
  // A flush timer that never fires makes the property exact: only full batches leave the leader.
  const c = cluster(ids, { batchSize: B, flushTicks: 1_000_000 });
  const leader = electLeader(c);
  const last = new Map(ids.map((id) => [id, c.node(id).getDecidedIdx()]));
  const steps = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (let v = 0; v < B * 6; v++) {
    c.propose(ids[v % ids.length], v); // through every server: forwarded entries batch the same way
    c.tick();
    for (const id of ids) {
      const d = c.node(id).getDecidedIdx();
      if (d !== last.get(id)) steps.get(id)!.push(d - last.get(id)!);
      last.set(id, d);
    }
  }
  for (const id of ids) {
    const s = steps.get(id)!;
    assert.ok(s.length > 0, `${id} decided nothing`);
    for (const step of s) assert.ok(step >= B && step % B === 0, `${id} advanced by ${step}`);
  }
  assert.equal(c.node(leader).getDecidedIdx(), B * 6);
  // A partial batch stays undecided while the flush timer does not fire.
  for (let v = 0; v < B - 1; v++) c.propose(leader, 1000 + v);
  c.ticks(20);
  for (const id of ids) assert.equal(c.node(id).getDecidedIdx(), B * 6, `${id} decided a partial batch`);
});

test("the flush timer ships a partial batch within flushTicks", () => {
  const flushTicks = 7;
  const c = cluster(pids(3), { batchSize: B, flushTicks });
  const leader = electLeader(c);
  const d0 = c.node(leader).getDecidedIdx();
  for (let v = 0; v < 5; v++) c.propose(leader, v);
  const ticks = c.until(
    () => c.node(leader).getDecidedIdx() === d0 + 5,
    3 * flushTicks,
    "partial batch decided",
  );
  assert.ok(ticks <= flushTicks + 1, `took ${ticks} ticks`);
  waitDecided(c, d0 + 5);
});
