import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Ballot,
  compareBallots,
  type LogEntry,
  MemoryStorage,
  type Message,
  NotLeaderError,
  type StorageOp,
} from "../../mod.ts";
import { NodeError } from "../../src/server/errors.ts";
import { Replica } from "../../src/server/replica.ts";
import { waitFor } from "../net/wait.ts";

/**
 * MemoryStorage whose writes become durable only when sync() resolves (a tick later), remembering the
 * durable promise and log length so a test can catch a message sent before its write was durable.
 */
class SlowDurableStorage extends MemoryStorage<string> {
  durablePromise: Ballot | undefined;
  durableAccepted = 0;
  durableDecided = 0;
  syncs = 0;
  /** While set, every sync that starts once entry `idx` is durable waits for `until`. */
  hold: { idx: number; until: Promise<void> } | undefined;
  override write(ops: readonly StorageOp<string>[]): void {
    super.write(ops);
  }
  async sync(): Promise<void> {
    const promise = this.getPromise();
    const accepted = this.getCompactedIdx() + this.getLogLen() + (this.getStopSign() ? 1 : 0);
    const decided = this.getDecidedIdx();
    const held = this.hold && this.durableAccepted > this.hold.idx ? this.hold.until : undefined;
    await new Promise((r) => setTimeout(r, 1));
    await held;
    this.durablePromise = promise;
    this.durableAccepted = accepted;
    this.durableDecided = decided;
    this.syncs++;
  }
}

/** An entry may be applied, or announced decided, only once a majority holds it durably. */
function undurableDecision(idx: number, storages: Iterable<SlowDurableStorage>): string | undefined {
  const all = [...storages];
  const durable = all.filter((s) => s.durableAccepted > idx).length;
  return durable * 2 > all.length ? undefined : `entry ${idx} used while durable on ${durable}/${all.length}`;
}

function violatesDurability(m: Message<string>, s: SlowDurableStorage): string | undefined {
  if (m.type === "Prepare" || m.type === "Promise") {
    if (!s.durablePromise || compareBallots(m.n, s.durablePromise) > 0) {
      return `${m.type} before its promise was durable`;
    }
  }
  if (m.type === "Accepted" && m.acceptedIdx > s.durableAccepted) {
    return "Accepted before its entries were durable";
  }
  return undefined;
}

test("replicas over an async network: write-before-send, ordered exactly-once apply, read barriers", async () => {
  const ids = ["r1", "r2", "r3"];
  const { storages, applied, violations, replicas } = cluster(ids);
  try {
    await waitFor(() => [...replicas.values()].some((r) => r.core.isLeader()), 10_000, "a leader");
    const leaderId = ids.find((id) => replicas.get(id)!.core.isLeader())!;
    const leader = replicas.get(leaderId)!;
    const follower = replicas.get(ids.find((id) => id !== leaderId)!)!;
    const want = Array.from({ length: 200 }, (_, i) => `e${i}`);
    for (const e of want) leader.propose(e);
    await waitFor(() => ids.every((id) => applied.get(id)!.length >= want.length), 10_000, "all applied");
    for (const id of ids) assert.deepEqual(applied.get(id), want, `${id} applied each entry once, in order`);
    const idx = await leader.readBarrier();
    assert.ok(idx >= want.length, `read barrier at ${idx} covers the ${want.length} writes`);
    await assert.rejects(follower.readBarrier(), NotLeaderError);
    assert.deepEqual(violations, []);
    assert.ok(storages.get(leaderId)!.syncs > 0);
  } finally {
    for (const r of replicas.values()) await r.stop();
  }
});

/** Waits for a leader, then for one entry ("warm-up") applied on every replica. */
async function leaderWithWarmUp(c: ReturnType<typeof cluster>, ids: string[]) {
  await waitFor(() => [...c.replicas.values()].some((r) => r.core.isLeader()), 10_000, "a leader");
  const leaderId = ids.find((id) => c.replicas.get(id)!.core.isLeader())!;
  const leader = c.replicas.get(leaderId)!;
  leader.propose("warm-up");
  await waitFor(() => ids.every((id) => c.applied.get(id)!.length === 1), 10_000, "warm-up applied");
  return { leaderId, leader };
}

/** Replicas r1..rN on SlowDurableStorage over an async in-process network, checking durability rules. */
function cluster(ids: string[], electionTicks = 5) {
  const storages = new Map(ids.map((id) => [id, new SlowDurableStorage()]));
  const applied = new Map(ids.map((id) => [id, [] as string[]]));
  const violations: string[] = [];
  const replicas = new Map<string, Replica<string>>();
  for (const id of ids) {
    const storage = storages.get(id)!;
    replicas.set(
      id,
      new Replica<string>({
        config: { pid: id, nodes: ids, electionTicks },
        storage,
        tickMs: 5,
        send: (m) => {
          const v = violatesDurability(m, storage) ??
            ((m.type === "Decide" || m.type === "AcceptDecide") && m.decidedIdx > 0
              ? undurableDecision(m.decidedIdx - 1, storages.values())
              : undefined);
          if (v) violations.push(`${id}: ${v}`);
          setTimeout(() => replicas.get(m.to)?.receive(structuredClone(m)), 0);
        },
        apply: (entries: LogEntry<string>[]) => {
          for (const e of entries) {
            if (e.kind !== "decided") continue;
            const v = undurableDecision(e.idx, storages.values());
            if (v) violations.push(`${id}: applied ${v}`);
            applied.get(id)!.push(e.entry);
          }
        },
      }),
    );
  }
  for (const r of replicas.values()) r.start();
  return { storages, applied, violations, replicas };
}

test("a single replica applies an entry only after its sync made it durable", async () => {
  const c = cluster(["solo"]);
  const r = c.replicas.get("solo")!;
  try {
    await waitFor(() => r.core.isLeader(), 10_000, "the replica to lead");
    for (let i = 0; i < 50; i++) r.propose(`s${i}`);
    await waitFor(() => c.applied.get("solo")!.length === 50, 10_000, "all applied");
    assert.deepEqual(c.violations, []);
  } finally {
    await r.stop();
  }
});

test("holdApply: decided entries wait until the hold settles (fulfilled or rejected), consensus goes on", async () => {
  const c = cluster(["solo"]);
  const r = c.replicas.get("solo")!;
  try {
    await waitFor(() => r.core.isLeader(), 10_000, "the replica to lead");
    for (const outcome of ["fulfilled", "rejected"] as const) {
      const before = c.applied.get("solo")!.length;
      let settle!: () => void;
      r.holdApply(
        new Promise<void>((resolve, reject) =>
          settle = outcome === "fulfilled" ? resolve : () => reject(new Error("x"))
        ),
      );
      for (let i = 0; i < 20; i++) r.propose(`${outcome}${i}`);
      const decided = r.core.getDecidedIdx();
      await waitFor(() => r.core.getDecidedIdx() >= decided + 20, 10_000, "the entries decided while held");
      assert.equal(c.applied.get("solo")!.length, before, "nothing applied while held");
      settle();
      await waitFor(() => c.applied.get("solo")!.length === before + 20, 10_000, "applied after the hold");
    }
    assert.deepEqual(c.violations, []);
  } finally {
    await r.stop();
  }
});

test("the leader applies and announces a decided entry without waiting for its decided index's sync", async () => {
  const ids = ["r1", "r2", "r3"];
  // Held syncs stall the leader's pump, heartbeats included: a 2 s election timeout keeps it leading
  // through that window even on a loaded machine.
  const c = cluster(ids, 400);
  let release!: () => void;
  try {
    const { leaderId, leader } = await leaderWithWarmUp(c, ids);
    // Once x is durable at the leader, no later sync there completes (the one of x's decided index included).
    const ls = c.storages.get(leaderId)!;
    ls.hold = { idx: leader.core.getAcceptedIdx(), until: new Promise((r) => release = r) };
    leader.propose("x");
    await waitFor(
      () => ids.every((id) => c.applied.get(id)!.at(-1) === "x"),
      10_000,
      "x applied everywhere while the leader's later syncs are held",
    );
    assert.ok(ls.durableDecided < leader.core.getDecidedIdx(), "x's decided index is not durable yet");
    assert.deepEqual(c.violations, []);
  } finally {
    release?.();
    for (const r of c.replicas.values()) await r.stop();
  }
});

test("the leader ships entries before its own sync completes, and counts its copy only once durable", async () => {
  const ids = ["p1", "p2", "p3"];
  const c = cluster(ids, 400); // see above: held syncs stall the leader's heartbeats too
  let release!: () => void;
  try {
    const { leaderId, leader } = await leaderWithWarmUp(c, ids);
    const [fId, downId] = ids.filter((id) => id !== leaderId);
    await c.replicas.get(downId)!.stop(); // the quorum is now the leader and fId
    const ls = c.storages.get(leaderId)!;
    const x = leader.core.getAcceptedIdx();
    ls.hold = { idx: x - 1, until: new Promise((r) => release = r) }; // no sync of the leader completes
    leader.propose("x");
    await waitFor(() => c.storages.get(fId)!.durableAccepted > x, 10_000, "x durable at the follower");
    assert.ok(ls.durableAccepted <= x, "the follower had x before the leader's own sync completed");
    await waitFor(
      () => (leader.core.status().acceptedIndexes?.[fId] ?? 0) > x,
      10_000,
      "the leader to hear the follower accepted x",
    );
    // Leader + follower make the quorum, but the leader's copy is not durable: x is not decided yet.
    assert.ok(leader.core.getDecidedIdx() <= x, "x decided on a quorum that counted an unsynced copy");
    assert.ok(!c.applied.get(leaderId)!.includes("x"));
    release();
    await waitFor(
      () => c.applied.get(leaderId)!.at(-1) === "x" && c.applied.get(fId)!.at(-1) === "x",
      10_000,
      "x applied once the leader's sync completed",
    );
    assert.deepEqual(c.violations, []);
  } finally {
    release?.();
    for (const r of c.replicas.values()) await r.stop();
  }
});

test("stopping a replica fails its pending read barriers and later calls with the NodeError 'stopped'", async () => {
  const ids = ["s1", "s2", "s3"];
  const c = cluster(ids);
  try {
    await waitFor(() => [...c.replicas.values()].some((r) => r.core.isLeader()), 10_000, "a leader");
    const leader = [...c.replicas.values()].find((r) => r.core.isLeader())!;
    // With every follower stopped, the leadership confirmation can never complete: the read stays pending.
    for (const r of c.replicas.values()) if (r !== leader) await r.stop();
    const pending = leader.readBarrier();
    await leader.stop();
    await assert.rejects(pending, (e: unknown) => e instanceof NodeError && e.code === "stopped");
    assert.throws(
      () => leader.propose("late"),
      (e: unknown) => e instanceof NodeError && e.code === "stopped",
    );
    await assert.rejects(
      leader.readBarrier(),
      (e: unknown) => e instanceof NodeError && e.code === "stopped",
    );
  } finally {
    for (const r of c.replicas.values()) await r.stop();
  }
});
