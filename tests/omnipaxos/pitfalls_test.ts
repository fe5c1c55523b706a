/** The testable pitfalls of brief §8 (numbers refer to it) and the util.rs unit test preparable_peers_test. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareBallots } from "../../mod.ts";
import {
  assertDecidedLogs,
  ballot,
  cluster,
  electLeader,
  live,
  pids,
  prioritized,
  proposeRange,
  Tap,
  tappedTrio,
  trickle,
  waitDecided,
} from "./helpers.ts";

test("pitfall 2: non-contiguous and arbitrary string pids; messages only ever go to configured peers", () => {
  for (
    const ids of [["6", "7", "8"], ["7", "1", "100", "4", "6"], ["12D3KooWA", "QmZ", "peer-c", "d", "0"]]
  ) {
    const c = cluster(ids);
    const tap = new Tap(c);
    const leader = electLeader(c);
    const values = proposeRange(c, leader, 0, 10);
    waitDecided(c, 10);
    // Crash the leader and (if possible) one follower: the new leader resends Prepares to the missing ones.
    const down = [leader, ...(ids.length > 3 ? [ids.find((id) => id !== leader)!] : [])];
    for (const id of down) c.crash(id);
    const next = electLeader(c);
    values.push(...proposeRange(c, next, 10, 5));
    waitDecided(c, 15);
    c.ticks(20);
    assertDecidedLogs(c, values);
    const prepares = tap.of("Prepare", next);
    for (const id of down) {
      assert.ok(
        prepares.filter((m) => m.to === id).length >= 2,
        `Prepare resent to ${id}`,
      );
    }
    for (const m of tap.sent) {
      assert.ok(ids.includes(m.to) && m.to !== m.from, `${m.type} from ${m.from} to ${m.to}`);
    }
  }
});

test("pitfall 12: a follower that promises late never moves its decided index backwards", () => {
  // n5 leads; n4 takes over when it crashes (priorities break the tie).
  const c = prioritized(5);
  const tap = new Tap(c);
  assert.equal(electLeader(c), "n5");
  // n1 gets everything, n2 the entries but not the decision, n3 and n4 nothing.
  let phase: "old" | "new" | "open" = "old";
  tap.drop = (m) => {
    if (phase === "old") {
      if (m.from !== "n5") return false;
      if (m.to === "n2") return m.type === "Decide";
      return (m.to === "n3" || m.to === "n4") && (m.type === "AcceptDecide" || m.type === "Decide");
    }
    // n1's promise comes late, and n4 hears no Accepted: its decided index stays behind n1's.
    if (phase === "new") {
      return (m.type === "Prepare" && m.to === "n1") || (m.type === "Accepted" && m.to === "n4");
    }
    return false;
  };
  const values = proposeRange(c, "n5", 0, 10);
  c.tick();
  assert.equal(c.node("n1").getDecidedIdx(), 10);
  assert.equal(c.node("n2").getAcceptedIdx(), 10);
  assert.equal(c.node("n2").getDecidedIdx(), 0);
  phase = "new";
  c.crash("n5");
  c.until(() => c.node("n4").isLeader(), 50, "n4 leads");
  assert.equal(c.node("n4").getDecidedIdx(), 0);
  const mark = tap.sent.length;
  phase = "open";
  tap.drop = (m) => m.type === "Accepted" && m.to === "n4"; // n1's Prepare gets through, Accepteds still not
  c.until(() => tap.of("AcceptSync", "n4", "n1", tap.sent.slice(mark)).length > 0, 50, "AcceptSync to n1");
  const sync = tap.of("AcceptSync", "n4", "n1", tap.sent.slice(mark))[0];
  assert.ok(sync.decidedIdx < 10, `the late AcceptSync carries decided index ${sync.decidedIdx}`);
  // The SafetyChecker (run after every step) would already have thrown on a regression.
  assert.equal(c.node("n1").getDecidedIdx(), 10);
  // The lost Accepteds have no successor: as on a real link, the loss ends the session and the reconnect
  // makes every follower resync (and so send Accepted again).
  tap.drop = undefined;
  c.healAll();
  waitDecided(c, 10);
  assertDecidedLogs(c, values);
});

test("pitfall 13: a stable leader is not re-elected, re-prepared or re-synced as rounds go by", () => {
  const c = cluster(pids(5));
  const tap = new Tap(c);
  const leader = electLeader(c);
  proposeRange(c, leader, 0, 5);
  waitDecided(c, 5);
  const ballot0 = c.node(leader).getPromise();
  const mark = tap.sent.length;
  for (let i = 0; i < 100; i++) {
    c.propose(leader, 100 + i);
    c.tick();
  }
  const later = tap.sent.slice(mark);
  assert.equal(tap.of("Prepare", undefined, undefined, later).length, 0);
  assert.equal(tap.of("AcceptSync", undefined, undefined, later).length, 0);
  assert.equal(tap.of("PrepareReq", undefined, undefined, later).length, 0);
  for (const id of c.ids) assert.deepEqual(c.node(id).getPromise(), ballot0);
  waitDecided(c, 105);
});

test("pitfall 19: re-prepare in the same round syncs a follower from its accepted index, not its decided index", () => {
  const { c, tap, leader, f } = tappedTrio();
  trickle(c, leader, 0, 5);
  // Lose one Decide: f has accepted one entry more than it has decided, and the next message is a gap.
  tap.dropFirst("Decide", leader, f);
  c.propose(leader, 5);
  c.tick();
  const mark = tap.sent.length;
  c.propose(leader, 6);
  c.until(() => tap.of("AcceptSync", leader, f, tap.sent.slice(mark)).length > 0, 30, "resync");
  const promise = tap.of("Promise", f, leader, tap.sent.slice(mark))[0];
  assert.ok(
    promise.acceptedIdx > promise.decidedIdx,
    "the follower's accepted prefix exceeds its decided one",
  );
  assert.ok(compareBallots(promise.nAccepted, c.node(leader).getPromise()) === 0, "same round");
  const sync = tap.of("AcceptSync", leader, f, tap.sent.slice(mark))[0];
  assert.equal(sync.logSync.syncIdx, promise.acceptedIdx);
  assert.equal(sync.logSync.suffix.length, c.node(leader).getAcceptedIdx() - promise.acceptedIdx);
  waitDecided(c, 7);
  assertDecidedLogs(c, [0, 1, 2, 3, 4, 5, 6]);
});

test("pitfall 20: a restarted ex-leader whose stored promise is above the current leader's still catches up", () => {
  const ids = pids(3);
  const c = cluster(ids);
  const old = electLeader(c);
  const values = proposeRange(c, old, 0, 5);
  waitDecided(c, 5);
  c.crash(old);
  const current = electLeader(c);
  values.push(...proposeRange(c, current, 5, 5));
  waitDecided(c, 10);
  // It had persisted a promise for a new, higher ballot of its own and crashed before sending Prepare.
  const high = ballot(c.node(current).getPromise().n + 10, old);
  c.storages.get(old)!.write([{ op: "setPromise", ballot: high }]);
  c.start(old);
  c.until(() => c.node(old).getDecidedIdx() === 10 && c.stableLeader() !== undefined, 200, "caught up");
  const leader = c.stableLeader()!;
  assert.ok(
    compareBallots(c.node(leader).getPromise(), high) > 0,
    "the cluster now runs above the stale promise",
  );
  values.push(...proposeRange(c, leader, 10, 5));
  waitDecided(c, 15);
  assertDecidedLogs(c, values);
  assert.equal(live(c).length, 3);
});

test("pitfall 20, variant: a restarted server holding a higher promise for a crashed candidate does not block the cluster", () => {
  const ids = pids(3);
  const c = cluster(ids);
  const leader = electLeader(c);
  const [a, b] = ids.filter((id) => id !== leader);
  const values = proposeRange(c, leader, 0, 5);
  waitDecided(c, 5);
  // a promised a higher ballot of b (a candidate that then crashed for good), and a crashed too.
  c.crash(b);
  c.crash(a);
  c.storages.get(a)!.write([{ op: "setPromise", ballot: ballot(c.node(leader).getPromise().n + 10, b) }]);
  c.start(a);
  // Only leader and a are up: a quorum of 2 needs a.
  const l = electLeader(c, 200);
  values.push(...proposeRange(c, l, 5, 5));
  waitDecided(c, 10);
  assertDecidedLogs(c, values);
});
