/**
 * Port of reconnect_test.rs: sequence numbers, and recovery from every kind of lost message. Messages are
 * dropped silently (no reconnected() call, as in the reference harness): recovery must come from sequence
 * numbers, PrepareReq and resend timers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Message, SequenceNumber } from "../../mod.ts";
import {
  assertDecidedLogs,
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

/** Three servers where n3 leads first and n2 takes over when it crashes. */
function threeByPriority(config = {}) {
  const c = prioritized(3, config);
  const tap = new Tap(c);
  assert.equal(electLeader(c), "n3");
  return { c, tap };
}

const seqOf = (m: Message<number>): SequenceNumber | undefined => ("seq" in m ? m.seq : undefined);

test("accept-phase messages to a follower carry session 1 and counters 1 (AcceptSync), 2, 3, 4, ...", () => {
  const { ids, c, tap, leader, f } = tappedTrio();
  trickle(c, leader, 0, 12);
  c.node(leader).reconfigure(ids);
  c.ticks(3);
  const ballot = c.node(leader).getPromise();
  const toF = tap.sent.filter((m) =>
    m.from === leader && m.to === f && seqOf(m) !== undefined && "n" in m && m.n.n === ballot.n
  );
  assert.equal(toF[0].type, "AcceptSync");
  assert.equal(toF.filter((m) => m.type === "AcceptSync").length, 1);
  // Resends (AcceptStopSign, or the stop sign's Decide) repeat the last sequence number; all else counts up.
  const all = toF.map((m) => seqOf(m)!);
  const repeated = toF.filter((_, i) => i > 0 && all[i].counter === all[i - 1].counter);
  for (const m of repeated) {
    assert.ok(m.type === "AcceptStopSign" || m.type === "Decide", `${m.type} repeated`);
  }
  const seqs = all.filter((s, i) => i === 0 || s.counter !== all[i - 1].counter);
  assert.ok(seqs.length >= 13, `only ${seqs.length} messages`);
  assert.deepEqual(seqs, seqs.map((_, i) => ({ session: 1, counter: i + 1 })));
  const types = new Set(toF.map((m) => m.type));
  for (const t of ["AcceptDecide", "Decide", "AcceptStopSign"]) assert.ok(types.has(t as never), `no ${t}`);
});

test("dropped AcceptDecides: the follower detects the gap and resyncs", () => {
  const { c, tap, leader, f } = tappedTrio();
  const values = trickle(c, leader, 0, 5);
  // Three AcceptDecides in a row are lost; the Decide after them reveals the gap.
  tap.drop = (m) => m.type === "AcceptDecide" && m.to === f && m.seq.session === 1;
  values.push(...proposeRange(c, leader, 5, 3));
  c.tick();
  tap.drop = undefined;
  values.push(...trickle(c, leader, 8, 7));
  waitDecided(c, 15);
  assert.equal(tap.dropped.length, 3);
  assert.ok(c.node(f).status().counters.sessionGaps >= 1, "gap detected");
  assert.ok(tap.of("PrepareReq", f, leader).length >= 1, "follower asked for a resync");
  assert.equal(tap.of("AcceptSync", leader, f).length, 2, "one new session after the gap");
  assertDecidedLogs(c, values);
});

test("dropped Prepare: the new leader resends it and the follower catches up", () => {
  const { c, tap } = threeByPriority();
  const values = trickle(c, "n3", 0, 3);
  tap.drop = (m) => m.type === "Prepare" && m.to === "n1";
  c.crash("n3");
  // n2 cannot gather a majority without n1: it keeps resending Prepare.
  c.ticks(20);
  assert.ok(tap.droppedOf("Prepare", "n2", "n1").length >= 2, "Prepare was resent");
  assert.equal(c.node("n2").isLeader(), false);
  tap.drop = undefined;
  electLeader(c, 50);
  assert.equal(c.stableLeader(), "n2");
  values.push(...trickle(c, "n2", 3, 5));
  waitDecided(c, 8);
  assertDecidedLogs(c, values);
});

test("dropped Promise: the follower resends it and the leader completes its prepare phase", () => {
  const { c, tap } = threeByPriority();
  const values = trickle(c, "n3", 0, 3);
  tap.dropFirst("Promise", "n1", "n2");
  c.crash("n3");
  electLeader(c, 50);
  assert.equal(c.stableLeader(), "n2");
  assert.equal(tap.droppedOf("Promise", "n1", "n2").length, 1);
  assert.ok(tap.of("Promise", "n1", "n2").length >= 2, "Promise was resent");
  values.push(...trickle(c, "n2", 3, 5));
  waitDecided(c, 8);
  assertDecidedLogs(c, values);
});

test("dropped PrepareReq: the recovering follower resends it until the leader resyncs it", () => {
  const { c, tap, leader, f } = tappedTrio();
  const values = trickle(c, leader, 0, 3);
  let gap = 1;
  let req = 1;
  tap.drop = (m) => {
    if (gap > 0 && m.type === "AcceptDecide" && m.to === f) return gap-- > 0;
    if (req > 0 && m.type === "PrepareReq" && m.from === f) return req-- > 0;
    return false;
  };
  values.push(...trickle(c, leader, 3, 5));
  waitDecided(c, 8);
  assert.equal(tap.droppedOf("PrepareReq", f).length, 1);
  assert.ok(tap.of("PrepareReq", f, leader).length >= 2, "PrepareReq was resent");
  assertDecidedLogs(c, values);
});

test("dropped AcceptStopSign, resync: the follower that missed it leads next and decides the stop sign via log sync", () => {
  // A long resend period: the leader crashes before it would resend anything.
  const { c, tap } = threeByPriority({ resendTicks: 1000 });
  trickle(c, "n3", 0, 3);
  // n2 hears nothing more from n3 on the accept-phase session (so no later message reveals the gap).
  tap.drop = (m) => m.from === "n3" && m.to === "n2" && "seq" in m;
  const meta = new Uint8Array([7]);
  c.node("n3").reconfigure(["n1", "n2", "n3"], meta);
  c.until(() => c.node("n1").isReconfigured() !== undefined, 20, "n1 reconfigured");
  assert.equal(c.node("n2").status().stopSign, undefined, "n2 missed the stop sign");
  c.crash("n3");
  tap.drop = undefined;
  electLeader(c, 50);
  assert.equal(c.stableLeader(), "n2");
  c.until(() => live(c).every((id) => c.node(id).isReconfigured() !== undefined), 50, "reconfigured");
  assert.deepEqual(c.node("n2").isReconfigured()?.metadata, meta);
  assert.equal(c.node("n2").getDecidedIdx(), 4);
});

test("dropped AcceptStopSign, resend: an undecidable stop sign is resent until the follower accepts it", () => {
  const ids = pids(5);
  const c = cluster(ids);
  const tap = new Tap(c);
  const leader = electLeader(c);
  const [f, , x, y] = ids.filter((id) => id !== leader);
  trickle(c, leader, 0, 3);
  c.crash(x);
  c.crash(y);
  tap.dropFirst("AcceptStopSign", leader, f);
  c.node(leader).reconfigure(ids);
  c.ticks(2);
  assert.equal(c.node(leader).isReconfigured(), undefined, "2 of 5 cannot decide");
  c.until(() => live(c).every((id) => c.node(id).isReconfigured() !== undefined), 50, "reconfigured");
  assert.equal(tap.droppedOf("AcceptStopSign").length, 1);
  assert.ok(tap.of("AcceptStopSign", leader, f).length >= 2, "AcceptStopSign was resent");
});

test("dropped stop-sign Decide: the leader resends it and the follower becomes reconfigured", () => {
  const { ids, c, tap, leader, f } = tappedTrio();
  trickle(c, leader, 0, 3);
  tap.dropFirst("Decide", leader, f);
  c.node(leader).reconfigure(ids);
  c.ticks(2);
  assert.equal(tap.droppedOf("Decide").length, 1);
  assert.ok(c.node(f).status().stopSign, "the follower accepted the stop sign");
  assert.equal(c.node(f).isReconfigured(), undefined);
  c.until(() => c.node(f).isReconfigured() !== undefined, 30, "follower reconfigured");
  assert.equal(c.node(f).getDecidedIdx(), 4);
});

test("a follower that missed both the AcceptStopSign and its Decide is repaired by the resends alone", () => {
  // Not in the reference suite: the leader stays and sends nothing else, so only resends can help.
  const { ids, c, tap, leader, f } = tappedTrio();
  trickle(c, leader, 0, 3);
  let lost = 2;
  tap.drop = (m) => m.to === f && (m.type === "AcceptStopSign" || m.type === "Decide") && lost-- > 0;
  c.node(leader).reconfigure(ids);
  c.until(() => c.node(leader).isReconfigured() !== undefined, 10, "decided at the leader");
  c.until(
    () => c.node(f).isReconfigured() !== undefined,
    100,
    "the follower reconfigured",
    () => `follower: ${JSON.stringify(c.node(f).status())}`,
  );
  assert.equal(tap.dropped.length, 2);
  assert.equal(c.node(f).getDecidedIdx(), 4);
});

test("a lost tail with no later traffic: the leader's resend-period probe exposes the gap", () => {
  const { c, tap, leader, f } = tappedTrio();
  const values = trickle(c, leader, 0, 5);
  // The last AcceptDecides and Decides to f are lost, and then the clients go quiet: no later message
  // would ever reveal the gap to f, and no reconnect is signalled.
  tap.drop = (m) => (m.type === "AcceptDecide" || m.type === "Decide") && m.to === f;
  values.push(...proposeRange(c, leader, 5, 3));
  c.tick();
  tap.drop = undefined;
  waitDecided(c, 8, live(c), 4 * 5); // within four resend periods
  assert.ok(c.node(f).status().counters.sessionGaps >= 1, "the probe revealed the gap");
  assertDecidedLogs(c, values);
});
