import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage, type Message, OmniPaxos } from "../../mod.ts";

test("three servers on a perfect network elect a leader and decide entries", () => {
  const ids = ["a", "b", "c"];
  const nodes = new Map(
    ids.map((id) => [id, new OmniPaxos<number>({ pid: id, nodes: ids }, new MemoryStorage())]),
  );
  const pump = () => {
    for (let round = 0; round < 100; round++) {
      const msgs: Message<number>[] = [];
      for (const n of nodes.values()) msgs.push(...n.outgoingMessages());
      if (msgs.length === 0) return;
      for (const m of msgs) nodes.get(m.to)!.handleIncoming(structuredClone(m));
    }
  };
  for (let t = 0; t < 50; t++) {
    for (const n of nodes.values()) n.tick();
    pump();
  }
  const leader = nodes.get("a")!.getCurrentLeader();
  assert.ok(leader);
  for (const n of nodes.values()) assert.equal(n.getCurrentLeader(), leader);
  for (let i = 0; i < 100; i++) nodes.get("b")!.append(i);
  for (let t = 0; t < 5; t++) {
    for (const n of nodes.values()) n.tick();
    pump();
  }
  for (const n of nodes.values()) {
    assert.equal(n.getDecidedIdx(), 100);
    const got = n.readDecidedSuffix(0).map((e) => (e.kind === "decided" ? e.entry : -1));
    assert.deepEqual(got, [...Array(100).keys()]);
  }
});
