/**
 * Port of sync_test.rs: servers restart on prepared logs (written straight into their storage) and the
 * prepare phase must leave every server with the most up-to-date log, whoever wins the election.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NodeId, StopSign, StorageOp } from "../../mod.ts";
import { SimCluster } from "../sim/cluster.ts";
import {
  ballot,
  cluster,
  decodeSum,
  encodeSum,
  live,
  pids,
  proposeRange,
  seeded,
  sum,
  sumSnapshotter,
  waitDecided,
} from "./helpers.ts";

const ids = pids(3);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const ss: StopSign = { configId: 2, nodes: ids, metadata: new Uint8Array([5]) };

interface PreparedLog {
  /** Round (ballot n) and owner of the leader that last synced this log. */
  round: [number, NodeId];
  /** Entries are the values [from, to) unless `values` is given. */
  snapshotTo?: number;
  values: number[];
  decided: number;
  stopSign?: boolean;
}

function ops(l: PreparedLog): StorageOp<number>[] {
  const b = ballot(l.round[0], l.round[1]);
  const out: StorageOp<number>[] = [{ op: "setPromise", ballot: b }, { op: "setAcceptedRound", ballot: b }];
  const from = l.snapshotTo ?? 0;
  if (from > 0) {
    out.push({ op: "trim", idx: from }, {
      op: "setSnapshot",
      snapshot: { idx: from, data: encodeSum(sum(l.values.slice(0, from))) },
    });
  }
  out.push({ op: "append", entries: l.values.slice(from) }, { op: "setDecidedIdx", idx: l.decided });
  if (l.stopSign) out.push({ op: "setStopSign", ss });
  return out;
}

/** n1 and n2 (a quorum) hold `up`; n3 holds `stale` (undefined: a fresh server). */
function start(up: PreparedLog, stale: PreparedLog | undefined): SimCluster<number> {
  const c = cluster(ids, { snapshotter: sumSnapshotter }, {
    storage: (id) => (id === "n3" ? (stale ? seeded(ops(stale)) : seeded([])) : seeded(ops(up))),
  });
  for (const v of [...up.values, ...(stale?.values ?? [])]) c.checker.propose(v);
  return c;
}

function waitReconfigured(c: SimCluster<number>): void {
  c.until(() => live(c).every((id) => c.node(id).isReconfigured() !== undefined), 100, "reconfigured");
}

function assertSnapshotted(c: SimCluster<number>, id: NodeId, upTo: number, values: number[]): void {
  const e = c.node(id).read(0);
  assert.ok(e?.kind === "snapshotted", `${id}: read(0) is ${e?.kind}`);
  assert.equal(e.trimmedIdx, upTo);
  assert.equal(decodeSum(e.snapshot), sum(values.slice(0, upTo)), `${id}: snapshot content`);
}

test("sync full: snapshot + decided + undecided + stop sign replace a follower's stale undecided entries", () => {
  const values = range(0, 30);
  const c = start(
    { round: [2, "n1"], snapshotTo: 10, values, decided: 20, stopSign: true },
    { round: [1, "n3"], values: [...range(0, 20), ...range(500, 505)], decided: 5 },
  );
  waitReconfigured(c);
  for (const id of ids) {
    const n = c.node(id);
    assert.equal(n.getDecidedIdx(), 31);
    assertSnapshotted(c, id, 10, values);
    assert.deepEqual(c.decided(id), values.slice(10), `${id}: decided entries`);
    assert.deepEqual(n.isReconfigured(), ss);
    assert.equal(n.read(30)?.kind, "stopSign");
  }
});

test("sync with a decided stop sign: the lagging follower gets the entries and the stop sign", () => {
  const values = range(0, 10);
  const c = start(
    { round: [2, "n1"], values, decided: 11, stopSign: true },
    { round: [1, "n3"], values: range(0, 5), decided: 3 },
  );
  waitReconfigured(c);
  for (const id of ids) {
    assert.equal(c.node(id).getDecidedIdx(), 11);
    assert.deepEqual(c.decided(id), values);
  }
});

test("sync of a log that is only a stop sign, to an empty follower", () => {
  const c = start({ round: [1, "n1"], values: [], decided: 0, stopSign: true }, undefined);
  waitReconfigured(c);
  for (const id of ids) {
    const r = c.node(id).read(0);
    assert.ok(r?.kind === "stopSign" && r.decided, `${id}: read(0)`);
    assert.equal(c.node(id).getAcceptedIdx(), 1);
  }
});

test("sync of a log that is only a snapshot, to an empty follower; the log then continues after it", () => {
  const values = range(1, 21);
  const c = start({ round: [1, "n1"], snapshotTo: 20, values, decided: 20 }, undefined);
  c.until(() => c.stableLeader() !== undefined && c.node("n3").getCompactedIdx() === 20, 100, "n3 synced");
  for (const id of ids) assertSnapshotted(c, id, 20, values);
  const fresh = proposeRange(c, c.stableLeader()!, 100, 5);
  waitDecided(c, 25);
  for (const id of ids) {
    assert.deepEqual(c.decided(id), fresh);
    assert.deepEqual(c.node(id).read(20), { kind: "decided", idx: 20, entry: 100 });
  }
});

test("sync of a follower with its own, shorter snapshot: it ends up with the leader's snapshot", () => {
  const values = range(1, 31);
  const c = start(
    { round: [2, "n1"], snapshotTo: 10, values, decided: 30 },
    { round: [1, "n3"], snapshotTo: 5, values: values.slice(0, 12), decided: 7 },
  );
  waitDecided(c, 30);
  for (const id of ids) {
    assertSnapshotted(c, id, 10, values);
    assert.deepEqual(c.decided(id), values.slice(10));
  }
  // Snapshots taken from here on agree everywhere: n3's state merged correctly.
  c.node("n3").snapshot(30);
  c.ticks(2);
  for (const id of ids) assertSnapshotted(c, id, 30, values);
});
