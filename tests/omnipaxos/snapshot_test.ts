/** Port of snapshot_test.rs (snapshot, double snapshot) and the snapshot errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CompactionError } from "../../mod.ts";
import { SimCluster } from "../sim/cluster.ts";
import {
  cluster,
  decodeSum,
  electLeader,
  encodeSum,
  pids,
  proposeRange,
  sum,
  sumSnapshotter,
  thrown,
  waitDecided,
} from "./helpers.ts";

function assertSnapshot(c: SimCluster<number>, ids: string[], at: number, values: number[]): void {
  for (const id of ids) {
    const n = c.node(id);
    assert.equal(n.getCompactedIdx(), at, `${id}: compacted index`);
    const e = n.read(0);
    assert.ok(e?.kind === "snapshotted" && e.trimmedIdx === at, `${id}: read(0) is ${JSON.stringify(e)}`);
    assert.equal(decodeSum(e.snapshot), sum(values.slice(0, at)), `${id}: snapshot content`);
    const next = at < values.length ? { kind: "decided", idx: at, entry: values[at] } : undefined;
    assert.deepEqual(n.read(at), next);
  }
}

function decided(total: number) {
  const ids = pids(3);
  const c = cluster(ids, { snapshotter: sumSnapshotter });
  const leader = electLeader(c);
  const values = proposeRange(c, leader, 1, total);
  waitDecided(c, total);
  return { c, ids, leader, values };
}

test("snapshot at 1000 then 1010, requested by the leader, on every server", () => {
  const { c, ids, leader, values } = decided(1100);
  c.node(leader).snapshot(1000);
  c.ticks(2);
  assertSnapshot(c, ids, 1000, values);
  c.node(leader).snapshot(1010);
  c.ticks(2);
  assertSnapshot(c, ids, 1010, values);
});

test("any server may snapshot; localOnly keeps it local; the default index is the decided index", () => {
  const { c, ids, leader, values } = decided(60);
  const f = ids.find((id) => id !== leader)!;
  c.node(f).snapshot(20, true);
  c.ticks(2);
  assertSnapshot(c, [f], 20, values);
  for (const id of ids) if (id !== f) assert.equal(c.node(id).getCompactedIdx(), 0);
  c.node(f).snapshot();
  c.ticks(2);
  assertSnapshot(c, ids, 60, values);
});

test("snapshot errors: undecided index, already compacted index, no snapshotter", () => {
  const { c, leader } = decided(30);
  const n = c.node(leader);
  assert.equal(thrown(() => n.snapshot(31), CompactionError).reason, "undecided");
  n.snapshot(20, true);
  assert.equal(thrown(() => n.snapshot(10), CompactionError).reason, "trimmed");
  const plain = cluster(pids(3));
  const l = electLeader(plain);
  proposeRange(plain, l, 0, 5);
  waitDecided(plain, 5);
  assert.equal(thrown(() => plain.node(l).snapshot(3), CompactionError).reason, "no-snapshotter");
});

test("a remote snapshot request the snapshotter refuses is ignored; a local one reports CompactionError", () => {
  const ids = ["a", "b", "c"];
  const refusing = new Set<string>();
  const c = new SimCluster<number>({
    ids,
    seed: 5,
    config: { electionTicks: 5 },
    configFor: (id) => ({
      snapshotter: {
        create: (idx: number) => {
          if (refusing.has(id)) throw new Error("state machine is not at this index");
          return new Uint8Array([idx]);
        },
      },
    }),
  });
  c.until(() => c.stableLeader() !== undefined, 200, "a leader");
  const leader = c.stableLeader()!;
  for (let i = 0; i < 5; i++) {
    c.checker.propose(i);
    c.node(leader).append(i);
  }
  c.until(() => ids.every((id) => c.node(id).getDecidedIdx() === 5), 100, "decided");
  refusing.add(leader);
  assert.throws(
    () => c.node(leader).snapshot(3),
    (e) => e instanceof CompactionError && e.reason === "refused",
  );
  assert.equal(c.node(leader).getCompactedIdx(), 0, "a refused snapshot changes nothing");
  refusing.clear();
  for (const id of ids) if (id !== leader) refusing.add(id);
  c.node(leader).snapshot(4); // the peers are asked too, and refuse: they keep their logs and keep running
  c.ticks(5);
  assert.equal(c.node(leader).getCompactedIdx(), 4);
  for (const id of ids) if (id !== leader) assert.equal(c.node(id).getCompactedIdx(), 0);
});

test("a snapshotter with usesBase: false is never handed the previous snapshot", () => {
  const ids = pids(3);
  const bases: (Uint8Array | undefined)[] = [];
  const own = (usesBase: boolean) => ({
    usesBase,
    create: (idx: number, _entries: number[], base: Uint8Array | undefined) => {
      bases.push(base);
      return encodeSum(idx);
    },
  });
  for (const usesBase of [false, true]) {
    bases.length = 0;
    const c = cluster(ids, { snapshotter: own(usesBase) });
    const leader = electLeader(c);
    proposeRange(c, leader, 1, 30);
    waitDecided(c, 30);
    c.node(leader).snapshot(10, true);
    c.node(leader).snapshot(20, true);
    assert.equal(c.node(leader).getCompactedIdx(), 20);
    assert.equal(bases.length, 2);
    assert.equal(bases[0], undefined, "no snapshot before the first");
    // The default (usesBase: true) gets the snapshot at 10 as the base of the one at 20.
    assert.equal(bases[1] === undefined ? undefined : decodeSum(bases[1]), usesBase ? 10 : undefined);
  }
});
