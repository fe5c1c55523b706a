/**
 * The faults of the original ChiselStore/Omni-Paxos demos, on any cluster size: the leader isolated from
 * everyone, frozen with SIGSTOP, killed with SIGKILL. Each measures the downtime until another node decides,
 * checks that the others agree on a new leader, then undoes the fault (heal, SIGCONT, restart).
 */
import assert from "node:assert/strict";
import type { WriteLoad } from "../../crash/load.ts";
import type { NetnsCluster } from "./harness.ts";
import { downtime, type Figures, leaderSeenBy, others } from "./scenario.ts";
import { waitFor } from "../../net/wait.ts";

/** Waits until the nodes in `group` follow one node among them that says it leads; returns it. */
export async function newLeaderAmong(c: NetnsCluster, group: number[], timeoutMs = 15_000): Promise<number> {
  let leader = -1;
  await waitFor(
    async () => {
      const seen = await Promise.all(group.map((i) => leaderSeenBy(c, i)));
      leader = seen[0];
      if (!group.includes(leader) || seen.some((l) => l !== leader)) return false;
      return (await c.procs.status(leader).catch(() => undefined))?.store.is_leader === true;
    },
    timeoutMs,
    `${group.map((i) => c.name(i)).join(", ")} to agree on a leader among them`,
    25,
  );
  return leader;
}

export async function leaderIsolated(c: NetnsCluster, load: WriteLoad): Promise<Figures> {
  const old = await c.procs.leader();
  const rest = others(c, old);
  await c.partition([[old], rest]);
  const faultAt = performance.now();
  try {
    const d = await downtime(load, faultAt, "isolating the leader");
    const leader = await newLeaderAmong(c, rest);
    return { ...d, oldLeader: c.name(old), newLeader: c.name(leader) };
  } finally {
    await c.heal();
  }
}

export async function leaderPaused(c: NetnsCluster, load: WriteLoad): Promise<Figures> {
  const old = await c.procs.leader();
  c.pause(old);
  const faultAt = performance.now();
  try {
    const d = await downtime(load, faultAt, "SIGSTOP of the leader");
    const leader = await newLeaderAmong(c, others(c, old));
    return { ...d, oldLeader: c.name(old), newLeader: c.name(leader) };
  } finally {
    c.resume(old);
  }
}

export async function leaderKilled(c: NetnsCluster, load: WriteLoad): Promise<Figures> {
  const old = await c.procs.leader();
  await c.kill(old);
  const faultAt = performance.now();
  let figures: Figures;
  try {
    const d = await downtime(load, faultAt, "SIGKILL of the leader");
    const leader = await newLeaderAmong(c, others(c, old));
    assert.notEqual(leader, old);
    figures = { ...d, oldLeader: c.name(old), newLeader: c.name(leader) };
  } finally {
    if (!c.procs.nodes[old].proc) c.procs.spawn(old);
  }
  const restartedAt = performance.now();
  await c.procs.waitReady(old);
  return { ...figures, restartReadyMs: Math.round(performance.now() - restartedAt) };
}
