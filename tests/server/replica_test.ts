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
import { Replica } from "../../src/server/replica.ts";
import { waitFor } from "../net/wait.ts";

/**
 * MemoryStorage whose writes become durable only when sync() resolves (a tick later), remembering the
 * durable promise and log length so a test can catch a message sent before its write was durable.
 */
class SlowDurableStorage extends MemoryStorage<string> {
  durablePromise: Ballot | undefined;
  durableAccepted = 0;
  syncs = 0;
  override write(ops: readonly StorageOp<string>[]): void {
    super.write(ops);
  }
  async sync(): Promise<void> {
    const promise = this.getPromise();
    const accepted = this.getCompactedIdx() + this.getLogLen() + (this.getStopSign() ? 1 : 0);
    await new Promise((r) => setTimeout(r, 1));
    this.durablePromise = promise;
    this.durableAccepted = accepted;
    this.syncs++;
  }
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
  const storages = new Map(ids.map((id) => [id, new SlowDurableStorage()]));
  const applied = new Map(ids.map((id) => [id, [] as string[]]));
  const violations: string[] = [];
  const replicas = new Map<string, Replica<string>>();
  for (const id of ids) {
    const storage = storages.get(id)!;
    replicas.set(
      id,
      new Replica<string>({
        config: { pid: id, nodes: ids, electionTicks: 5 },
        storage,
        tickMs: 5,
        send: (m) => {
          const v = violatesDurability(m, storage);
          if (v) violations.push(`${id}: ${v}`);
          setTimeout(() => replicas.get(m.to)?.receive(structuredClone(m)), 0);
        },
        apply: (entries: LogEntry<string>[]) => {
          for (const e of entries) if (e.kind === "decided") applied.get(id)!.push(e.entry);
        },
      }),
    );
  }
  for (const r of replicas.values()) r.start();
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
