/**
 * Real libp2p nodes on 127.0.0.1 in one process, each driving a real Omni-Paxos core: election, 10,000
 * decided entries, and a node whose libp2p instance is killed and restarted from the same key and storage.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { agreedLeader, PaxosHost, startCluster, stopAll } from "./cluster.ts";
import { assertSameDecidedLog, replicate } from "./replicate.ts";
import { waitFor } from "./wait.ts";

async function killAndRestart(hosts: PaxosHost[], victim: PaxosHost, total: number): Promise<void> {
  const listen = victim.boundListenAddrs();
  await victim.stop();
  // The rest keep deciding while it is down.
  await replicate(hosts, total, total + 1000, 20_000);
  // Same key, same storage object, same address: a process restart with durable storage.
  await victim.start(listen);
  await waitFor(
    () => victim.core.getDecidedIdx() === agreedLeader(hosts)?.core.getDecidedIdx(),
    20_000,
    "the restarted node to catch up",
  );
  await replicate(hosts, total + 1000, total + 1100, 20_000);
  assertSameDecidedLog(hosts, total + 1100);
  await waitFor(
    () => hosts.every((h) => hosts.every((o) => o === h || h.transport.isConnected(o.id))),
    10_000,
    "a full mesh again",
  );
}

for (const n of [3, 5]) {
  test(
    `${n} libp2p nodes: elect, decide 10,000 entries, restart a node, catch up`,
    { timeout: 60_000 },
    async () => {
      const hosts = await startCluster(n);
      try {
        await waitFor(() => agreedLeader(hosts) !== undefined, 10_000, "a leader");
        await replicate(hosts, 0, 10_000, 30_000);
        assertSameDecidedLog(hosts, 10_000);
        // 3 nodes: restart a follower; 5 nodes: restart the leader (forces a re-election too).
        const leader = agreedLeader(hosts)!;
        const victim = n === 3 ? hosts.find((h) => h !== leader)! : leader;
        await killAndRestart(hosts, victim, 10_000);
        for (const h of hosts) {
          const m = h.transport.metrics();
          assert.equal(m.rejectedFrames, 0);
          assert.equal(m.refusedPeers, 0);
        }
      } finally {
        await stopAll(hosts);
      }
    },
  );
}

test("tiny outbound queues drop frames under load, counted, and Paxos still decides everything", {
  timeout: 60_000,
}, async () => {
  const hosts = await startCluster(3, { transport: { queue: { maxFrames: 8 } } });
  try {
    // One AcceptDecide per entry, 500 per event-loop turn: far more than 8 frames queued per peer.
    await replicate(hosts, 0, 3000, 40_000, 1);
    assertSameDecidedLog(hosts, 3000);
    const dropped = hosts.reduce((n, h) => n + h.transport.metrics().droppedQueueFull, 0);
    assert.ok(dropped > 0, "the queues overflowed");
  } finally {
    await stopAll(hosts);
  }
});
