/** Proposing a workload through whichever host leads, and checking that every host decided all of it. */
import assert from "node:assert/strict";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { agreedLeader, entry, type PaxosHost } from "./cluster.ts";
import { waitFor } from "./wait.ts";

const STALL_MS = 1500;

function entryValue(e: Uint8Array): number {
  return new DataView(e.buffer, e.byteOffset, e.byteLength).getUint32(0);
}

/** The decided values of one host, in log order. */
export function decidedValues(h: PaxosHost): number[] {
  return h.core.readDecidedSuffix(0).flatMap((e) => (e.kind === "decided" ? [entryValue(e.entry)] : []));
}

/**
 * Proposes values [from, to) in chunks through the current leader and waits until every running host has
 * decided at least `to` entries. Proposals are fire-and-forget in Omni-Paxos (a leader change may drop
 * undecided ones), so after a stall the values not yet decided are proposed again.
 */
export async function replicate(
  hosts: PaxosHost[],
  from: number,
  to: number,
  timeoutMs: number,
  /** Entries appended between two sends of the leader's outbox (1: one AcceptDecide per entry). */
  flushEvery = 500,
): Promise<void> {
  const running = () => hosts.filter((h) => h.running);
  const deadline = Date.now() + timeoutMs;
  let pending = Array.from({ length: to - from }, (_, i) => from + i);
  while (pending.length > 0) {
    await waitFor(() => agreedLeader(hosts) !== undefined, Math.max(0, deadline - Date.now()), "a leader");
    const leader = agreedLeader(hosts)!;
    const target = leader.core.getDecidedIdx() + pending.length;
    for (let i = 0; i < pending.length; i += flushEvery) {
      for (const v of pending.slice(i, i + flushEvery)) leader.core.append(entry(v));
      leader.flush();
      if (i % 500 === 0) await yieldToLoop();
    }
    await progressOrStall(() => Math.min(...running().map((h) => h.core.getDecidedIdx())), target, deadline);
    const decided = new Set(decidedValues(running()[0]));
    pending = pending.filter((v) => !decided.has(v));
  }
  await waitFor(
    () => running().every((h) => h.core.getDecidedIdx() === running()[0].core.getDecidedIdx()),
    Math.max(1000, deadline - Date.now()),
    "equal decided indexes",
  );
}

/**
 * Waits until `level()` reaches `target`, or stops moving for STALL_MS (proposals were lost in a leader
 * change: the caller proposes the missing values again). Throws only at the deadline.
 */
async function progressOrStall(level: () => number, target: number, deadline: number): Promise<void> {
  let last = level();
  let lastMove = Date.now();
  await waitFor(
    () => {
      const now = level();
      if (now !== last) [last, lastMove] = [now, Date.now()];
      return now >= target || Date.now() - lastMove > STALL_MS;
    },
    Math.max(0, deadline - Date.now()),
    `decided index ${target} on every host`,
  );
}

/** Every running host holds the same decided log, containing each of [0, count). */
export function assertSameDecidedLog(hosts: PaxosHost[], count: number): void {
  const logs = hosts.filter((h) => h.running).map(decidedValues);
  for (const log of logs) assert.deepStrictEqual(log, logs[0]);
  const values = new Set(logs[0]);
  for (let v = 0; v < count; v++) assert.ok(values.has(v), `value ${v} was never decided`);
}
