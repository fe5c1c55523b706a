/**
 * One fault scenario on a NetnsCluster, measured the same way every time: a fresh table and an HTTP write load
 * through every serving node (tests/crash/load.ts, closed-loop writers plus a paced one), some writes acknowledged first, then the scenario injects
 * its fault and waits for the first write *sent after the fault was in force* to be acknowledged (decided):
 * that interval is the downtime, asserted to stay within MAX_DOWNTIME_TIMEOUTS election timeouts. The scenario
 * then undoes its fault; the load stops and verify() checks that every acknowledged write is on every replica
 * exactly once and that the checksums are equal. The figures are printed as `netns figures: {...}`.
 */
import assert from "node:assert/strict";
import { waitFor } from "../../net/wait.ts";
import { tableSql, verify, WriteLoad } from "../../crash/load.ts";
import type { NetnsCluster } from "./harness.ts";

/** --election-ms of the scenario clusters (the heartbeat round; ticks stay at the CLI default). */
export const ELECTION_MS = 200;
/**
 * The paper claims recovery within about 4 election timeouts; real processes on a loaded 2-core machine add
 * scheduling delays, TCP retransmissions and the writers' own round trips, so the tests allow 10.
 */
export const MAX_DOWNTIME_TIMEOUTS = 10;
const WRITERS = 4;
/** Per-request timeout (the server's): short, so a writer stuck on a lost leader soon moves on. */
const WRITE_TIMEOUT_MS = 1000;
/**
 * Plus one write sent every PACE_MS whatever the others wait for (WriteLoad.pace): the downtime's resolution.
 * Without it the closed-loop writers, all waiting out WRITE_TIMEOUT_MS on nodes that still forward to the lost
 * leader, would send nothing new for a second and every downtime would read as about one second.
 */
const PACE_MS = 40;
/** Writes acknowledged before the fault (the cluster is settled and deciding). */
const BEFORE = 20;

export type Figures = Record<string, unknown>;

let tables = 0;

/** Runs one scenario under a fresh write load, then stops the load and verifies every replica. */
export async function scenario(
  c: NetnsCluster,
  name: string,
  run: (load: WriteLoad) => Promise<Figures>,
): Promise<void> {
  const table = `t${tables++}`;
  await waitFor(
    () => c.procs.nodes[0].client.execute(tableSql(table)).then((r) => r.error === undefined, () => false),
    30_000,
    `CREATE TABLE ${table}`,
    100,
  );
  const load = new WriteLoad(c.procs, WRITERS, WRITE_TIMEOUT_MS, table);
  load.pace(PACE_MS);
  let figures: Figures;
  try {
    await load.progress(BEFORE, 30_000, "before the fault");
    figures = await run(load);
  } finally {
    await load.stop();
  }
  const verified = await verify(c.procs, load);
  const all = { scenario: name, nodes: c.size, electionMs: ELECTION_MS, ...figures, ...verified };
  console.log(`netns figures: ${JSON.stringify(all)}`);
}

/**
 * Milliseconds from `faultAt` (performance.now() once the fault was in force) to the acknowledgement of the
 * first write sent at or after it; asserts the bound. Returns the figures `downtimeMs` and `timeouts`.
 */
export async function downtime(load: WriteLoad, faultAt: number, what: string): Promise<Figures> {
  const after = () => load.acked().filter((r) => r.sentAt >= faultAt);
  await waitFor(() => after().length > 0, 30_000, `a write sent after ${what} to be acknowledged`, 5);
  const ms = Math.round(Math.min(...after().map((r) => r.doneAt)) - faultAt);
  const timeouts = Math.round((ms / ELECTION_MS) * 10) / 10;
  assert.ok(
    timeouts <= MAX_DOWNTIME_TIMEOUTS,
    `${what}: first write decided after ${ms} ms = ${timeouts} election timeouts (> ${MAX_DOWNTIME_TIMEOUTS})`,
  );
  return { downtimeMs: ms, timeouts };
}

/** The node that node i follows (its status' leader), or -1 when it knows none or cannot answer. */
export async function leaderSeenBy(c: NetnsCluster, i: number): Promise<number> {
  try {
    const id = (await c.procs.status(i)).store.raft.leader_id;
    return c.procs.nodes.findIndex((n) => n.peerId === id);
  } catch {
    return -1;
  }
}

/** Waits until node i says it leads and every node in `followers` follows it. */
export async function waitLeader(c: NetnsCluster, i: number, followers: number[], timeoutMs = 15_000) {
  await waitFor(
    async () => {
      const st = await c.procs.status(i).catch(() => undefined);
      if (!st?.store.is_leader) return false;
      const seen = await Promise.all(followers.map((f) => leaderSeenBy(c, f)));
      return seen.every((l) => l === i);
    },
    timeoutMs,
    `${c.name(i)} to lead, followed by ${followers.map((f) => c.name(f)).join(", ")}`,
    25,
  );
}

/**
 * Watches which node `observer` follows for `ms`, sampling every 50 ms; returns the leaders it followed in
 * turn (names). Samples without a known leader (between two leaders, or no answer) are skipped: a livelock
 * shows as leaders alternating, a new one every election timeout or two.
 */
export async function leadersSeen(c: NetnsCluster, observer: number, ms: number): Promise<string[]> {
  const seen: string[] = [];
  const until = performance.now() + ms;
  await waitFor(
    async () => {
      const now = await leaderSeenBy(c, observer);
      if (now >= 0 && seen.at(-1) !== c.name(now)) seen.push(c.name(now));
      return performance.now() >= until;
    },
    ms + 10_000,
    `${ms} ms of leader samples`,
    50,
  );
  return seen;
}

/** Every node but those given. */
export function others(c: NetnsCluster, ...not: number[]): number[] {
  return c.procs.nodes.map((_, i) => i).filter((i) => !not.includes(i));
}
