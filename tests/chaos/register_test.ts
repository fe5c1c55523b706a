/**
 * A register workload as SQL on a real 3-node cluster (table kv(k TEXT PRIMARY KEY, v INTEGER)), checked for
 * linearizability: concurrent clients on different nodes read (linearizable and strong), write (upsert) and
 * compare-and-set a few keys while the leader, then a follower, is cut off from consensus traffic and healed.
 * A second test shows the checker catching a real anomaly: a stale read at consistency "none".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Consistency } from "../../src/server/consistency.ts";
import { waitFor } from "../net/wait.ts";
import { checkHistory, describeResult, type Op } from "./linearizability.ts";
import { InProcessTarget } from "./workloads/inprocess.ts";
import { CREATE, readKey as read, RegisterWorkload, UPSERT } from "./workloads/register.ts";
import { runWorkload } from "./workloads/run.ts";

/** A 3-node in-process cluster with the kv table, whose `cut` set drops consensus messages of cut peers. */
async function cluster(): Promise<InProcessTarget> {
  const t = await InProcessTarget.start(3);
  const l = await t.cluster.leader();
  await t.cluster.node(l).execute(CREATE);
  return t;
}

test("register workload under leader and follower partitions is linearizable", async () => {
  const t = await InProcessTarget.start(3);
  try {
    // Clients 0..4 on nodes 0,1,2,0,1; reads linearizable for three of them, strong for two.
    const w = new RegisterWorkload(["linearizable", "linearizable", "strong", "strong", "linearizable"]);
    const r = await runWorkload(t, w, {
      seed: 1,
      durationMs: 4700,
      clients: 5,
      schedule: [
        { atMs: 500, forMs: 1500, fault: { kind: "partition-leader", node: 0 } },
        { atMs: 2500, forMs: 1200, fault: { kind: "partition-follower", node: 1 } },
      ],
    });
    const history = w.history;
    const count = (pred: (op: Op) => boolean): number => history.filter(pred).length;
    const figures = {
      faults: r.faults,
      ops: history.length,
      okReads: count((op) => op.kind === "read" && op.outcome === "ok"),
      failedReads: count((op) => op.kind === "read" && op.outcome === "fail"),
      okWrites: count((op) => op.kind === "write" && op.outcome === "ok"),
      okCas: count((op) => op.kind === "cas" && op.outcome === "ok"),
      failedCas: count((op) => op.kind === "cas" && op.outcome === "fail"),
      indeterminate: count((op) => op.outcome === "indeterminate"),
    };
    console.log("register figures:", JSON.stringify({ ...figures, checkMs: Math.round(r.verdict.checkMs) }));
    // Not vacuous: the history holds real reads, writes and successful CASes on every key.
    for (const key of ["a", "b", "c"]) {
      assert.ok(history.some((op) => op.key === key && op.kind === "write" && op.outcome === "ok"), key);
    }
    assert.ok(figures.okReads >= 20 && figures.okWrites >= 10 && figures.okCas >= 1, JSON.stringify(figures));
    assert.equal(r.verdict.result, "ok", r.verdict.problems.join("\n"));
  } finally {
    await t.stop();
  }
});

test("the checker catches a stale read at consistency none from a cut-off follower", async () => {
  const t = await cluster();
  const { cluster: c, cut } = t;
  try {
    const l = await c.leader();
    const f = (l + 1) % 3;
    const history: Op[] = [];
    const write = async (value: number): Promise<void> => {
      const invoke = performance.now();
      await c.node(l).execute(UPSERT, ["x", value]);
      history.push({
        kind: "write",
        key: "x",
        value,
        invoke,
        complete: performance.now(),
        outcome: "ok",
        process: "w",
      });
    };
    const readAt = async (consistency: Consistency): Promise<Op> => {
      const invoke = performance.now();
      const value = await read(c.node(f), "x", consistency);
      return {
        kind: "read",
        key: "x",
        value,
        invoke,
        complete: performance.now(),
        outcome: "ok",
        process: `f/${consistency}`,
      };
    };
    await write(1);
    await waitFor(async () => (await read(c.node(f), "x", "none")) === 1, 10_000, "the follower applied x=1");
    cut.add(c.nodes[f].peerId);
    await write(2); // decided by the leader and the other follower
    const fresh = await readAt("linearizable");
    const stale = await readAt("none");
    assert.equal(fresh.value, 2, "a linearizable read on the cut follower is answered by the leader");
    assert.equal(stale.value, 1, "none: the cut-off follower serves its own, stale state");

    const good = checkHistory([...history, fresh]);
    assert.equal(good.result, "ok", describeResult(good));
    const bad = checkHistory([...history, fresh, stale]);
    assert.equal(bad.result, "violation", describeResult(bad));
    if (bad.result === "violation") {
      assert.equal(bad.key, "x");
      assert.equal(bad.explanation.stuck, stale, "the stale read is the op that cannot be placed");
      assert.equal(bad.explanation.state, 2);
    }
  } finally {
    await t.stop();
  }
});
