/** Port of consensus_test.rs::read_test: read and readDecidedSuffix over every kind of log range. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { LogEntry } from "../../mod.ts";
import {
  cluster,
  decodeSum,
  electLeader,
  isolate,
  pids,
  proposeRange,
  sum,
  sumSnapshotter,
  waitDecided,
} from "./helpers.ts";

test("read: snapshotted, decided and undecided ranges and the end of the log", () => {
  const ids = pids(3);
  const c = cluster(ids, { snapshotter: sumSnapshotter });
  const leader = electLeader(c);
  const values = proposeRange(c, leader, 1, 100);
  waitDecided(c, 100);
  c.node(leader).snapshot(40, true);
  // Isolate the leader before more appends: they stay undecided there.
  isolate(c, leader);
  proposeRange(c, leader, 1000, 10);
  const n = c.node(leader);
  assert.equal(n.getDecidedIdx(), 100);
  assert.equal(n.getAcceptedIdx(), 110);
  for (const i of [0, 17, 39]) {
    const e = n.read(i);
    assert.ok(e?.kind === "snapshotted", `read(${i}) is ${e?.kind}`);
    assert.equal(e.trimmedIdx, 40);
    assert.equal(decodeSum(e.snapshot), sum(values.slice(0, 40)));
  }
  for (const i of [40, 77, 99]) assert.deepEqual(n.read(i), { kind: "decided", idx: i, entry: values[i] });
  for (const i of [100, 109]) {
    assert.deepEqual(n.read(i), { kind: "undecided", idx: i, entry: 1000 + i - 100 });
  }
  assert.equal(n.read(110), undefined);
  assert.equal(n.read(-1), undefined);

  const all = n.readDecidedSuffix(0);
  assert.equal(all[0].kind, "snapshotted");
  assert.deepEqual(
    all.slice(1),
    values.slice(40).map((entry, i): LogEntry<number> => ({ kind: "decided", idx: 40 + i, entry })),
  );
  assert.deepEqual(n.readDecidedSuffix(90).map((e) => (e.kind === "decided" ? e.idx : -1)), [
    90,
    91,
    92,
    93,
    94,
    95,
    96,
    97,
    98,
    99,
  ]);
  assert.deepEqual(n.readDecidedSuffix(100), [], "nothing decided from the decided index on");
  assert.deepEqual(n.readDecidedSuffix(105), []);
  // A follower has the whole decided log and no snapshot.
  const f = ids.find((id) => id !== leader)!;
  assert.deepEqual(c.node(f).read(0), { kind: "decided", idx: 0, entry: values[0] });
});

test("read: a trimmed range reads as trimmed", () => {
  const c = cluster(pids(3));
  const leader = electLeader(c);
  proposeRange(c, leader, 0, 30);
  waitDecided(c, 30);
  c.node(leader).trim(12);
  c.ticks(2);
  for (const id of c.ids) {
    assert.deepEqual(c.node(id).read(3), { kind: "trimmed", trimmedIdx: 12 });
    assert.deepEqual(c.node(id).readDecidedSuffix(5)[0], { kind: "trimmed", trimmedIdx: 12 });
    assert.deepEqual(c.node(id).readDecidedSuffix(5)[1], { kind: "decided", idx: 12, entry: 12 });
  }
});

test("read: an undecided and then decided stop sign", () => {
  const ids = pids(3);
  const c = cluster(ids);
  const leader = electLeader(c);
  const values = proposeRange(c, leader, 0, 20);
  waitDecided(c, 20);
  isolate(c, leader);
  c.node(leader).reconfigure(ids, new Uint8Array([9]));
  const n = c.node(leader);
  const undecided = n.read(20);
  assert.ok(undecided?.kind === "stopSign" && !undecided.decided && undecided.idx === 20);
  assert.equal(n.isReconfigured(), undefined);
  assert.equal(n.readDecidedSuffix(18).length, 2, "an undecided stop sign is not in the decided suffix");
  c.healAll();
  c.until(() => n.isReconfigured() !== undefined, 100, "stop sign decided");
  const decided = n.read(20);
  assert.ok(decided?.kind === "stopSign" && decided.decided);
  const tail = n.readDecidedSuffix(18);
  assert.deepEqual(tail.map((e) => e.kind), ["decided", "decided", "stopSign"]);
  assert.deepEqual(n.readDecidedSuffix(20).map((e) => e.kind), ["stopSign"]);
  assert.deepEqual(n.readDecidedSuffix(21), []);
  assert.deepEqual(c.decided(leader), values);
});
