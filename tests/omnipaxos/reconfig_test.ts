/** Port of reconfig_test.rs, plus the documented hand-off to the next configuration's instance. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { continueLogOps, MemoryStorage, PendingReconfigError } from "../../mod.ts";
import { SimCluster } from "../sim/cluster.ts";
import {
  assertDecidedLogs,
  cluster,
  decodeSum,
  electLeader,
  FAST,
  isolate,
  live,
  pids,
  proposeRange,
  sum,
  sumSnapshotter,
  thrown,
  waitDecided,
} from "./helpers.ts";

const metadata = new Uint8Array([1, 2, 3, 42]);

test("reconfigure: the stop sign is the last decided slot, on a quorum, with the next config and metadata", () => {
  const ids = pids(5);
  const c = cluster(ids);
  const leader = electLeader(c);
  const values = proposeRange(c, leader, 0, 30);
  waitDecided(c, 30);
  const next = ["n1", "n2", "n6"];
  // Proposed through a follower: the stop sign is forwarded like an entry.
  const via = ids.find((id) => id !== leader)!;
  c.node(via).reconfigure(next, metadata);
  c.until(() => ids.filter((id) => c.node(id).isReconfigured()).length === ids.length, 50, "reconfigured");
  for (const id of ids) {
    const n = c.node(id);
    const ss = n.isReconfigured()!;
    assert.equal(ss.configId, 2);
    assert.deepEqual(ss.nodes, next);
    assert.deepEqual(ss.metadata, metadata);
    assert.equal(n.getDecidedIdx(), 31);
    assert.equal(n.getAcceptedIdx(), 31, "nothing after the stop sign");
    const r = n.read(30);
    assert.ok(r?.kind === "stopSign" && r.decided && r.idx === 30);
    assert.equal(n.read(31), undefined);
    const suffix = n.readDecidedSuffix(0);
    assert.equal(suffix.at(-1)?.kind, "stopSign", "the stop sign is the last decided entry");
    assert.equal(suffix.length, 31);
  }
  assertDecidedLogs(c, values);
  // The log is sealed: appends and a second reconfiguration fail everywhere.
  for (const id of ids) {
    thrown(() => c.node(id).append(1000), PendingReconfigError);
    thrown(() => c.node(id).reconfigure(next), PendingReconfigError);
  }
});

test("reconfigure: the stop sign is decided once a quorum accepts it, even with a minority down", () => {
  const ids = pids(5);
  const c = cluster(ids);
  const leader = electLeader(c);
  proposeRange(c, leader, 0, 3);
  waitDecided(c, 3);
  const down = ids.filter((id) => id !== leader).slice(0, 2);
  for (const id of down) c.crash(id);
  c.node(leader).reconfigure(["n1", "n2", "n3"]);
  c.until(() => live(c).every((id) => c.node(id).isReconfigured() !== undefined), 50, "reconfigured");
  assert.equal(live(c).length, 3);
  // Restarted servers learn the decided stop sign too.
  for (const id of down) c.start(id);
  c.until(() => ids.every((id) => c.node(id).isReconfigured() !== undefined), 200, "all reconfigured");
});

test("a stop sign proposed while entries are in flight still comes after all accepted entries", () => {
  const ids = pids(3);
  const c = cluster(ids, { batchSize: 10, flushTicks: 1000 });
  const leader = electLeader(c);
  const values = proposeRange(c, leader, 0, 7); // a partial batch, not yet flushed
  c.node(leader).reconfigure(ids);
  c.until(() => ids.every((id) => c.node(id).isReconfigured() !== undefined), 50, "reconfigured");
  assertDecidedLogs(c, values);
  assert.equal(c.node(leader).read(7)?.kind, "stopSign");
});

test("hand-off: the next configuration's instances continue the global index after the stop sign", () => {
  const ids = pids(3);
  const c = cluster(ids, { snapshotter: sumSnapshotter });
  const leader = electLeader(c);
  const old = proposeRange(c, leader, 1, 20);
  waitDecided(c, 20);
  c.node(leader).reconfigure(["n2", "n3", "n4"]);
  c.until(() => ids.every((id) => c.node(id).isReconfigured() !== undefined), 50, "reconfigured");
  const ssIdx = c.node("n2").getDecidedIdx() - 1;
  assert.equal(c.node("n2").read(ssIdx)?.kind, "stopSign");
  const ss = c.node("n2").isReconfigured()!;
  // The application hands every member of the new configuration the old state (here: its sum).
  const startIdx = ssIdx + 1;
  const state = sumSnapshotter.create(startIdx, old, undefined);
  const next = new SimCluster<number>({
    ids: ss.nodes,
    config: { ...FAST, configurationId: ss.configId, snapshotter: sumSnapshotter },
    storage: () => {
      const s = new MemoryStorage<number>();
      s.write(continueLogOps<number>(startIdx, state));
      return s;
    },
  });
  const l2 = electLeader(next);
  const fresh = proposeRange(next, l2, 100, 10);
  waitDecided(next, startIdx + 10);
  for (const id of ss.nodes) {
    const n = next.node(id);
    assert.equal(n.configurationId, 2);
    const first = n.read(startIdx);
    assert.ok(first?.kind === "decided" && first.entry === 100, `first new entry at ${startIdx} on ${id}`);
    const below = n.read(startIdx - 1);
    assert.ok(below?.kind === "snapshotted" && decodeSum(below.snapshot) === sum(old));
    const suffix = n.readDecidedSuffix(0);
    assert.equal(suffix[0].kind, "snapshotted");
    assert.deepEqual(
      suffix.slice(1).map((e) => (e.kind === "decided" ? e.idx : -1)),
      fresh.map((_, i) => startIdx + i),
    );
  }
  assertDecidedLogs(next, fresh);
  // A message of the old configuration is dropped by the new one.
  const n2 = next.node("n2");
  const before = n2.status().counters.droppedIncoming;
  n2.handleIncoming({ type: "ProposalForward", from: "n3", to: "n2", configId: 1, entries: [5] });
  assert.equal(n2.status().counters.droppedIncoming, before + 1);
  assert.equal(n2.status().buffered, 0);
});

test("a stop sign accepted only by a deposed leader is cleared by the next leader's sync", () => {
  const ids = pids(3);
  const c = cluster(ids);
  const old = electLeader(c);
  const values = proposeRange(c, old, 0, 5);
  waitDecided(c, 5);
  isolate(c, old);
  c.node(old).reconfigure(ids);
  assert.equal(c.node(old).status().stopSign?.configId, 2, "accepted locally, never decided");
  const rest = ids.filter((id) => id !== old);
  const next = electLeader(c, 50, rest);
  values.push(...proposeRange(c, next, 5, 5));
  waitDecided(c, 10, rest);
  c.healAll();
  waitDecided(c, 10);
  c.until(() => c.node(old).status().stopSign === undefined, 50, "stop sign cleared");
  assert.equal(c.node(old).isReconfigured(), undefined);
  assertDecidedLogs(c, values);
  // The old leader's log is open again: it can propose (by forwarding) and the entry is decided.
  c.propose(old, 10);
  values.push(10);
  waitDecided(c, 11);
  assertDecidedLogs(c, values);
});

test("a stop sign proposed before any leader is known is buffered and decided after the election", () => {
  const ids = pids(3);
  const c = cluster(ids);
  c.node("n1").reconfigure(["n1", "n2"], metadata);
  thrown(() => c.node("n1").append(1), PendingReconfigError);
  c.until(() => ids.every((id) => c.node(id).isReconfigured() !== undefined), 100, "reconfigured");
  assert.deepEqual(c.node("n2").isReconfigured()?.nodes, ["n1", "n2"]);
  assert.equal(c.node("n3").getDecidedIdx(), 1);
});
