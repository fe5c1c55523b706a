/**
 * Linearizable reads without a log write: a deposed leader that has not noticed yet must not confirm a
 * read (it would be stale), while the new leader confirms reads that cover the newest writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NotLeaderError } from "../../mod.ts";
import { cluster, ELECTION_TICKS, settle, WriteLoad } from "./scenario_helpers.ts";

test("a partitioned old leader never confirms a read; the new leader's read covers the new writes", () => {
  const c = cluster(["a", "b", "c"], 21, { a: 1 });
  const load = new WriteLoad(c);
  settle(c, load, "a");
  // Isolate a: b and c elect a new leader and decide more writes, while a still believes it leads.
  c.setTopology([["b", "c"]]);
  const t0 = c.now;
  load.untilNewWriteDecided(t0, 10 * ELECTION_TICKS);
  const newLeader = c.anyLeaderWithQuorum();
  assert.ok(newLeader && newLeader !== "a");
  assert.ok(c.node("a").isLeader(), "the old leader has not noticed");
  const staleTicket = c.node("a").confirmLeadership();
  const decidedElsewhere = c.node(newLeader).getDecidedIdx();
  const freshTicket = c.node(newLeader).confirmLeadership();
  const answers = new Map<string, number | "notLeader">();
  for (let i = 0; i < 10 * ELECTION_TICKS; i++) {
    c.tick();
    for (const [id, t] of [["a", staleTicket], [newLeader, freshTicket]] as const) {
      for (const r of c.node(id).takeReadConfirmations()) {
        if (r.ticket === t) answers.set(id, "readIdx" in r ? r.readIdx : "notLeader");
      }
    }
  }
  assert.equal(answers.get("a"), undefined, "the isolated old leader cannot confirm a read");
  const idx = answers.get(newLeader);
  assert.ok(
    typeof idx === "number" && idx >= decidedElsewhere,
    `new leader's read index ${idx} >= ${decidedElsewhere}`,
  );
  // When a rejoins, it learns the higher ballot: its pending read fails instead of hanging.
  c.healAll();
  c.until(() => !c.node("a").isLeader(), 10 * ELECTION_TICKS, "a steps down");
  const failed = c.node("a").takeReadConfirmations().find((r) => r.ticket === staleTicket);
  assert.ok(failed && "notLeader" in failed);
  assert.throws(() => c.node("a").confirmLeadership(), NotLeaderError);
});

test("a read on a single-server configuration is confirmed at once", () => {
  const c = cluster(["solo"], 22);
  const load = new WriteLoad(c);
  load.untilNewWriteDecided(0, 5 * ELECTION_TICKS);
  const t = c.node("solo").confirmLeadership();
  const [r] = c.node("solo").takeReadConfirmations();
  assert.deepEqual(r, { ticket: t, readIdx: c.node("solo").getAcceptedIdx() });
});
