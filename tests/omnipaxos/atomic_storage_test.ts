/**
 * Port of atomic_storage_test.rs: the disk of one server dies at its k-th write (k = 1..9) during an
 * AcceptSync, trims, snapshots, AcceptDecides or the new leader's majority-promises step. Whatever was
 * written before the failure must be a consistent state: decided ≤ accepted, compacted ≤ decided,
 * accepted round ≤ promise, the stored log a prefix of the chosen log, an accepted round that changed only
 * together with the log it synced. The server then restarts on the repaired disk and catches up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ballotEq, CompactionError, type NodeId, StorageError } from "../../mod.ts";
import type { SimCluster } from "../sim/cluster.ts";
import {
  assertStoredInvariants,
  electLeader,
  FailingStorage,
  live,
  prioritized,
  stored,
  type StoredState,
  sumSnapshotter,
  waitDecided,
} from "./helpers.ts";

interface Scenario {
  /** Nodes, and priorities so the same servers lead in every run. */
  size: number;
  /** Bring the cluster to the point of interest; returns the server whose disk will fail. */
  prelude(c: SimCluster<number>): NodeId;
  /** Called right after arming (e.g. restart the target). */
  armed?(c: SimCluster<number>, target: NodeId): void;
  /** One step of load while waiting for the failure. */
  step(c: SimCluster<number>): void;
  /** Scenario-specific check of the state before (at arming) and after the failure. */
  check?(before: StoredState, after: StoredState, c: SimCluster<number>): void;
}

/** Propose the next value at the leader; values equal their log index, so any stored log is checkable. */
function proposeNext(c: SimCluster<number>): void {
  const l = c.anyLeader();
  if (l) c.propose(l, c.node(l).getAcceptedIdx());
}

function fill(c: SimCluster<number>, count: number): void {
  for (let i = 0; i < count; i++) proposeNext(c);
  waitDecided(c, c.node(electLeader(c)).getAcceptedIdx());
}

function tolerate(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof CompactionError)) throw e;
  }
}

const scenarios: Record<string, Scenario> = {
  "AcceptSync": {
    size: 5,
    prelude(c) {
      const l = electLeader(c);
      fill(c, 10);
      const f = live(c).find((id) => id !== l)!;
      c.crash(f);
      c.crash(l); // a new leader: f's AcceptSync will carry a new round
      electLeader(c);
      fill(c, 10);
      return f;
    },
    armed: (c, f) => void c.start(f),
    step(c) {
      proposeNext(c);
      c.tick();
    },
    check(before, after, c) {
      if (after.acceptedRound && !ballotEq(after.acceptedRound, before.acceptedRound!)) {
        const leader = c.anyLeader()!;
        assert.ok(ballotEq(after.acceptedRound, c.node(leader).getPromise()));
        assert.ok(after.acceptedIdx >= 20, "a new accepted round comes with the synced log");
      } else {
        assert.deepEqual(after.log.slice(0, before.log.length), before.log, "no sync: the old log is intact");
      }
    },
  },
  "trim": {
    size: 3,
    prelude(c) {
      fill(c, 30);
      return electLeader(c);
    },
    step(c) {
      const l = c.anyLeader();
      if (l) tolerate(() => c.node(l).trim(Math.max(0, c.node(l).getDecidedIdx() - 3)));
      proposeNext(c);
      c.tick();
    },
    check(before, after) {
      if (after.compactedIdx === before.compactedIdx) assert.ok(after.logLen >= before.logLen);
    },
  },
  "snapshot": {
    size: 3,
    prelude(c) {
      const l = electLeader(c);
      fill(c, 30);
      return live(c).find((id) => id !== l)!; // a follower: it snapshots on the leader's request
    },
    step(c) {
      const l = c.anyLeader();
      if (l) tolerate(() => c.node(l).snapshot(Math.max(0, c.node(l).getDecidedIdx() - 3)));
      proposeNext(c);
      c.tick();
    },
  },
  "AcceptDecide": {
    size: 3,
    prelude(c) {
      const l = electLeader(c);
      fill(c, 5);
      return live(c).find((id) => id !== l)!;
    },
    step(c) {
      proposeNext(c);
      proposeNext(c);
      c.tick();
    },
  },
  "majority promises": {
    size: 3,
    prelude(c) {
      assert.equal(electLeader(c), "n3");
      fill(c, 10);
      c.crash("n3"); // n2 (next priority) will run the prepare phase on a failing disk
      return "n2";
    },
    step(c) {
      proposeNext(c);
      c.tick();
    },
    check(before, after) {
      if (after.acceptedRound && !ballotEq(after.acceptedRound, before.acceptedRound!)) {
        assert.ok(after.acceptedIdx >= before.acceptedIdx, "the adopted log is at least as long");
        assert.ok(after.decidedIdx >= before.decidedIdx);
      }
    },
  },
};

function run(s: Scenario, k: number): void {
  const disks = new Map<NodeId, FailingStorage>();
  const c = prioritized(s.size, { snapshotter: sumSnapshotter }, {
    storage: (id) => {
      const d = new FailingStorage();
      disks.set(id, d);
      return d;
    },
  });
  const target = s.prelude(c);
  const disk = disks.get(target)!;
  const before = stored(disk);
  disk.failAt(k);
  s.armed?.(c, target);
  for (let i = 0; i < 100 && !disk.failed; i++) {
    try {
      s.step(c);
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
    }
  }
  assert.ok(disk.failed, `the ${k}th write never happened`);
  if (c.isUp(target)) c.crash(target);
  const after = stored(disk);
  assertStoredInvariants(after, target);
  after.log.forEach((v, j) => assert.equal(v, after.compactedIdx + j, `entry ${after.compactedIdx + j}`));
  s.check?.(before, after, c);
  // Restart everyone on working disks: the cluster and the failed server carry on from what was written.
  // (The aborted step also cut a heartbeat round short, so leadership may move once: let it settle.)
  disk.repair();
  for (const id of c.ids) if (!c.isUp(id)) c.start(id);
  c.ticks(20);
  const leader = electLeader(c, 200);
  const decidedBefore = c.node(leader).getDecidedIdx();
  for (let i = 0; i < 3; i++) proposeNext(c);
  c.until(
    () => {
      const l = c.stableLeader();
      return l !== undefined &&
        c.ids.every((id) => c.node(id).getDecidedIdx() === c.node(l).getAcceptedIdx());
    },
    300,
    "all servers decided everything",
  );
  const final = c.node(leader).getDecidedIdx();
  assert.equal(final, decidedBefore + 3, "the new proposals were decided");
  for (const id of c.ids) {
    for (const e of c.node(id).readDecidedSuffix(0)) {
      if (e.kind === "decided") assert.equal(e.entry, e.idx, `${id}: decided entry ${e.idx}`);
    }
  }
  c.checkAllLogs();
}

for (const [name, s] of Object.entries(scenarios)) {
  test(`atomic storage: disk failure at write k = 1..9 during ${name}`, () => {
    for (let k = 1; k <= 9; k++) {
      try {
        run(s, k);
      } catch (e) {
        (e as Error).message = `k=${k}: ${(e as Error).message}`;
        throw e;
      }
    }
  });
}
