/**
 * Port of recovery_test.rs (ignored upstream): crash and restart a server on its own storage, with
 * proposals before, during and after; plus "a recovered ex-leader never reuses its ballot" (pitfall 3).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareBallots, MemoryStorage } from "../../mod.ts";
import type { SimCluster } from "../sim/cluster.ts";
import {
  assertDecidedLogs,
  cluster,
  electLeader,
  live,
  pids,
  prioritized,
  proposeRange,
  Tap,
  waitDecided,
} from "./helpers.ts";

type Role = "leader" | "follower";

/** The current leader, or a live follower of it. */
function pick(c: SimCluster<number>, role: Role): string {
  const leader = electLeader(c);
  return role === "leader" ? leader : live(c).find((id) => id !== leader)!;
}

for (const failing of ["leader", "follower"] as Role[]) {
  for (const proposer of ["leader", "follower"] as Role[]) {
    test(`recovery: ${failing} fails, ${proposer} proposes; the restarted server decides later proposals and has the full log`, () => {
      const c = cluster(pids(3));
      const values = proposeRange(c, pick(c, proposer), 0, 10);
      waitDecided(c, 10);
      const victim = pick(c, failing);
      c.crash(victim);
      values.push(...proposeRange(c, pick(c, proposer), 10, 10));
      waitDecided(c, 20);
      c.start(victim);
      assert.equal(c.node(victim).getDecidedIdx(), 10, "the decided index survives the crash");
      waitDecided(c, 20);
      values.push(...proposeRange(c, pick(c, proposer), 20, 10));
      waitDecided(c, 30);
      assertDecidedLogs(c, values);
      c.checkAllLogs();
    });
  }
}

test("recovery: a server crashed before it ever decided anything catches up from an empty log", () => {
  const c = cluster(pids(3));
  const leader = electLeader(c);
  const victim = live(c).find((id) => id !== leader)!;
  c.crash(victim);
  const values = proposeRange(c, leader, 0, 15);
  waitDecided(c, 15);
  c.start(victim);
  waitDecided(c, 15);
  assertDecidedLogs(c, values);
});

test("recovery: a restarted ex-leader never reuses its old ballot, even when it leads again", () => {
  const c = prioritized(3);
  const tap = new Tap(c);
  assert.equal(electLeader(c), "n3");
  const values = proposeRange(c, "n3", 0, 5);
  waitDecided(c, 5);
  const old = c.node("n3").getPromise();
  c.crash("n3");
  assert.equal(electLeader(c), "n2");
  values.push(...proposeRange(c, "n2", 5, 5));
  const mark = tap.sent.length;
  c.start("n3");
  waitDecided(c, 10);
  assert.equal(c.stableLeader(), "n2", "the restarted server follows the current leader");
  c.crash("n2");
  assert.equal(electLeader(c), "n3");
  const now = c.node("n3").getPromise();
  assert.ok(
    compareBallots(now, old) > 0,
    `new ballot ${JSON.stringify(now)} must exceed ${JSON.stringify(old)}`,
  );
  for (const m of tap.of("Prepare", "n3", undefined, tap.sent.slice(mark))) {
    assert.ok(compareBallots(m.n, old) > 0, "every Prepare after the restart has a fresh ballot");
  }
  values.push(...proposeRange(c, "n3", 10, 5));
  waitDecided(c, 15);
  assertDecidedLogs(c, values);
});

test("recovery: a member back with an empty disk is re-prepared when its session opens, with no new writes", () => {
  const c = prioritized(3); // n3 leads; n1 cannot outbid it, so only the leader can bring it back
  const leader = electLeader(c);
  assert.equal(leader, "n3");
  const f = "n1";
  const values = proposeRange(c, leader, 0, 20);
  waitDecided(c, 20);
  c.ticks(3 * 5); // idle for a few resend periods: no probe is due any more
  // The leader still holds f's old promise and accepted index; f comes back with nothing.
  c.crash(f);
  c.storages.set(f, new MemoryStorage<number>());
  c.checker.forget(f);
  c.start(f);
  c.link(leader, f); // the transport reports the new session at both ends
  waitDecided(c, 20, live(c), 50);
  assertDecidedLogs(c, values);
});
