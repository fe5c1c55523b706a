/**
 * A register workload as SQL on a real 3-node cluster (table kv(k TEXT PRIMARY KEY, v INTEGER)), checked for
 * linearizability: concurrent clients on different nodes read (linearizable and strong), write (upsert) and
 * compare-and-set a few keys while the leader, then a follower, is cut off from consensus traffic and healed.
 * A second test shows the checker catching a real anomaly: a stale read at consistency "none".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Message } from "../../mod.ts";
import type { ChiselStore } from "../../src/server/node.ts";
import { NodeError } from "../../src/server/errors.ts";
import type { Consistency } from "../../src/server/consistency.ts";
import { waitFor } from "../net/wait.ts";
import { TestCluster } from "../server/cluster.ts";
import { checkHistory, describeResult, type Op, type Value } from "./linearizability.ts";

const KEYS = ["a", "b", "c"];
const UPSERT = "INSERT INTO kv(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v";
const CAS = "UPDATE kv SET v = ? WHERE k = ? AND v = ?";

/** A cluster whose nodes drop consensus messages to and from every peer in `cut`. */
async function cluster(): Promise<{ c: TestCluster; cut: Set<string> }> {
  const cut = new Set<string>();
  const c = await TestCluster.create(3, {
    sendFilter: (m: Message<Uint8Array>) => !cut.has(m.to) && !cut.has(m.from),
    requestTimeoutMs: 1500,
  });
  const l = await c.leader();
  await c.node(l).execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)");
  return { c, cut };
}

async function read(node: ChiselStore, key: string, consistency: Consistency): Promise<Value> {
  const [r] = await node.query("SELECT v FROM kv WHERE k = ?", [key], { consistency });
  if (r.error) throw new Error(r.error);
  const row = r.values?.[0];
  return row === undefined || row[0] === null ? null : Number(row[0]);
}

/** Runs ops against one node and records them: a NodeError makes a write/CAS indeterminate, a read failed. */
class Client {
  readonly history: Op[] = [];
  readonly #id: number;
  readonly #node: () => ChiselStore;
  readonly #consistency: Consistency;
  #seq = 0;
  #rand: number;
  /** The last value this client saw per key: what its CASes expect. */
  readonly #seen = new Map<string, number>();

  constructor(id: number, node: () => ChiselStore, consistency: Consistency) {
    this.#id = id;
    this.#node = node;
    this.#consistency = consistency;
    this.#rand = id * 7919 + 1;
  }

  #random(): number {
    this.#rand = (Math.imul(this.#rand, 1103515245) + 12345) & 0x7fffffff;
    return this.#rand / 0x80000000;
  }

  async run(stop: () => boolean): Promise<void> {
    while (!stop()) await this.step();
  }

  async step(key = KEYS[Math.floor(this.#random() * KEYS.length)], forceRead = false): Promise<void> {
    const x = forceRead ? 0 : this.#random();
    const expected = this.#seen.get(key);
    const process = `c${this.#id}/${this.#consistency}`;
    const invoke = performance.now();
    if (x < 0.45) {
      try {
        const value = await read(this.#node(), key, this.#consistency);
        this.history.push({
          kind: "read",
          key,
          value,
          invoke,
          complete: performance.now(),
          outcome: "ok",
          process,
        });
        if (value !== null) this.#seen.set(key, value);
      } catch (e) {
        if (!(e instanceof NodeError)) throw e;
        this.history.push({
          kind: "read",
          key,
          value: null,
          invoke,
          complete: performance.now(),
          outcome: "fail",
          process,
        });
      }
      return;
    }
    const value = this.#id * 1_000_000 + ++this.#seq; // unique: a value names its write
    const isCas = x >= 0.75 && expected !== undefined; // `v = NULL` never matches: no CAS from an absent key
    try {
      if (isCas) {
        const res = await this.#node().execute(CAS, [value, key, expected]);
        const r = res.results[0];
        if (r.error) throw new Error(r.error);
        const ok = r.rowsAffected === 1;
        this.history.push({
          kind: "cas",
          key,
          expected,
          value,
          invoke,
          complete: performance.now(),
          outcome: ok ? "ok" : "fail",
          process,
        });
        if (ok) this.#seen.set(key, value);
      } else {
        const res = await this.#node().execute(UPSERT, [key, value]);
        if (res.results[0].error) throw new Error(res.results[0].error);
        this.history.push({
          kind: "write",
          key,
          value,
          invoke,
          complete: performance.now(),
          outcome: "ok",
          process,
        });
        this.#seen.set(key, value);
      }
    } catch (e) {
      if (!(e instanceof NodeError)) throw e;
      const complete = performance.now();
      this.history.push(
        isCas
          ? {
            kind: "cas",
            key,
            expected: expected!,
            value,
            invoke,
            complete,
            outcome: "indeterminate",
            process,
          }
          : { kind: "write", key, value, invoke, complete, outcome: "indeterminate", process },
      );
    }
  }
}

test("register workload under leader and follower partitions is linearizable", async () => {
  const { c, cut } = await cluster();
  try {
    const clients = [
      new Client(0, () => c.node(0), "linearizable"),
      new Client(1, () => c.node(1), "linearizable"),
      new Client(2, () => c.node(2), "strong"),
      new Client(3, () => c.node(0), "strong"),
      new Client(4, () => c.node(1), "linearizable"),
    ];
    let stopped = false;
    const running = clients.map((cl) => cl.run(() => stopped));
    // The fault schedule: timers space the phases (the workload's timing, not waits for conditions).
    const faults: string[] = [];
    await sleep(500);
    const l = await c.leader();
    cut.add(c.nodes[l].peerId);
    faults.push(`cut leader n${l}`);
    await sleep(1500);
    cut.clear();
    faults.push("heal");
    const l2 = await c.leader();
    await sleep(500);
    const f = (l2 + 1) % 3;
    cut.add(c.nodes[f].peerId);
    faults.push(`cut follower n${f} (leader n${l2})`);
    await sleep(1200);
    cut.clear();
    faults.push("heal");
    await sleep(500);
    stopped = true;
    await Promise.all(running);
    // Final reads of every key by every client, retried until they succeed: the history ends observed.
    for (const cl of clients) {
      for (const key of KEYS) {
        await waitFor(
          async () => {
            const before = cl.history.length;
            await cl.step(key, true);
            return cl.history[before].outcome === "ok";
          },
          15_000,
          `a final read of ${key}`,
        );
      }
    }

    const history = clients.flatMap((cl) => cl.history);
    const count = (pred: (op: Op) => boolean): number => history.filter(pred).length;
    const figures = {
      faults,
      ops: history.length,
      okReads: count((op) => op.kind === "read" && op.outcome === "ok"),
      failedReads: count((op) => op.kind === "read" && op.outcome === "fail"),
      okWrites: count((op) => op.kind === "write" && op.outcome === "ok"),
      okCas: count((op) => op.kind === "cas" && op.outcome === "ok"),
      failedCas: count((op) => op.kind === "cas" && op.outcome === "fail"),
      indeterminate: count((op) => op.outcome === "indeterminate"),
    };
    const t0 = performance.now();
    const res = checkHistory(history, { timeoutMs: 15_000 });
    console.log(
      "register figures:",
      JSON.stringify({ ...figures, checkMs: Math.round(performance.now() - t0) }),
    );
    // Not vacuous: the history holds real reads, writes and successful CASes on every key.
    for (const key of KEYS) {
      assert.ok(history.some((op) => op.key === key && op.kind === "write" && op.outcome === "ok"), key);
    }
    assert.ok(figures.okReads >= 20 && figures.okWrites >= 10 && figures.okCas >= 1, JSON.stringify(figures));
    assert.equal(res.result, "ok", describeResult(res));
  } finally {
    await c.stop();
  }
});

test("the checker catches a stale read at consistency none from a cut-off follower", async () => {
  const { c, cut } = await cluster();
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
    cut.clear();
    await c.stop();
  }
});
