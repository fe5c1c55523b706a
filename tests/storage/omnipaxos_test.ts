/**
 * A real OmniPaxos cluster on FileStorage: three in-process servers, messages handed over directly by a
 * host that honours write-before-send (drain, sync, then deliver). Servers crash (their storage is
 * abandoned: unsynced writes are lost, the object is dropped) and restart from disk; they must recover
 * and catch up to the same decided log as the others.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type LogEntry, OmniPaxos } from "../../mod.ts";
import { FileStorage } from "../../src/storage/mod.ts";
import { withDir } from "./helpers.ts";

interface Server {
  op: OmniPaxos<Uint8Array>;
  storage: FileStorage;
}

const IDS = ["n1", "n2", "n3"];

class Host {
  readonly live = new Map<string, Server>();
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  async start(id: string): Promise<Server> {
    const storage = await FileStorage.open(`${this.root}/${id}`, { fsync: "batch" });
    const op = new OmniPaxos<Uint8Array>(
      { pid: id, nodes: IDS, electionTicks: 1, resendTicks: 5, flushTicks: 1, batchSize: 10 },
      storage,
    );
    const s = { op, storage };
    this.live.set(id, s);
    return s;
  }

  crash(id: string): void {
    this.live.get(id)!.storage.abandon();
    this.live.delete(id);
  }

  /** Deliver until quiet; each server's drained messages go out only after its writes are synced. */
  async pump(): Promise<void> {
    for (let moved = 1; moved > 0;) {
      moved = 0;
      for (const s of [...this.live.values()]) {
        const out = s.op.outgoingMessages();
        if (out.length === 0) continue;
        await s.storage.sync();
        for (const m of out) this.live.get(m.to)?.op.handleIncoming(m);
        moved += out.length;
      }
    }
  }

  async step(ticks = 1): Promise<void> {
    for (let i = 0; i < ticks; i++) {
      for (const s of this.live.values()) s.op.tick();
      await this.pump();
    }
  }

  leader(): Server {
    const l = [...this.live.values()].find((s) => s.op.isLeader());
    assert.ok(l, "a leader");
    return l;
  }

  async until(cond: () => boolean, what: string, limit = 300): Promise<void> {
    for (let i = 0; i < limit && !cond(); i++) await this.step();
    assert.ok(cond(), `timed out waiting for ${what}`);
  }

  async propose(from: number, count: number): Promise<void> {
    await this.until(() => [...this.live.values()].some((s) => s.op.isLeader()), "a leader");
    for (let i = from; i < from + count; i++) {
      this.leader().op.append(entry(i));
      if (i % 25 === 0) await this.step();
    }
  }
}

function entry(i: number): Uint8Array {
  const b = new Uint8Array(100);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

/** The decided log as plain values: a trimmed prefix, then entry numbers. */
function decided(op: OmniPaxos<Uint8Array>): (number | string)[] {
  return op.readDecidedSuffix(0).map((e: LogEntry<Uint8Array>) =>
    e.kind === "decided" ? new DataView(e.entry.buffer, e.entry.byteOffset).getUint32(0) : `${e.kind}`
  );
}

test("OmniPaxos on FileStorage: servers crash, restart from disk and catch up to the same decided log", async () => {
  await withDir(async (root) => {
    const host = new Host(root);
    for (const id of IDS) await host.start(id);
    await host.propose(0, 200);
    await host.until(() => [...host.live.values()].every((s) => s.op.getDecidedIdx() === 200), "200 decided");

    // Compaction on every server: each rewrites its log as a checkpoint.
    host.leader().op.trim(150);
    await host.step(3);
    for (const s of host.live.values()) assert.equal(s.op.getCompactedIdx(), 150);

    const follower = IDS.find((id) => !host.live.get(id)!.op.isLeader())!;
    host.crash(follower);
    await host.propose(200, 100);
    const restarted = await host.start(follower);
    assert.equal(restarted.op.getDecidedIdx(), 200, "the follower's decided index survived its crash");
    assert.equal(restarted.op.getCompactedIdx(), 150, "and so did its trim");
    await host.until(() => [...host.live.values()].every((s) => s.op.getDecidedIdx() === 300), "300 decided");

    // The leader crashes with appends that were never synced or sent: they vanish, nothing else does.
    const old = host.leader();
    old.op.append(entry(9999));
    old.op.tick(); // flushes the batch into storage (written, not synced)
    const written = old.op.getAcceptedIdx();
    assert.equal(written, 301);
    host.crash(old.op.pid);
    await host.propose(300, 100);
    const back = await host.start(old.op.pid);
    assert.equal(back.op.getAcceptedIdx(), 300, "the unsynced write was lost whole");
    await host.until(() => [...host.live.values()].every((s) => s.op.getDecidedIdx() >= 400), "400 decided");
    await host.step(5);

    const logs = IDS.map((id) => decided(host.live.get(id)!.op));
    const want = ["trimmed", ...Array.from({ length: 250 }, (_, i) => 150 + i)];
    for (const [i, log] of logs.entries()) assert.deepEqual(log, want, `decided log of ${IDS[i]}`);
    for (const s of host.live.values()) await s.storage.close();
  });
});
