/**
 * Runs one workload on one target: setup, concurrent clients (client i on replica i mod n, each with its own
 * seeded PRNG) for a fixed time while a seeded fault schedule is played, then heal, converge and check.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Prng } from "../../sim/prng.ts";
import { converge, type Fault, type FaultKind, type Target } from "./target.ts";
import type { Verdict, Workload } from "./workload.ts";

/** How long a client waits after an op that got no answer (a NodeError) before its next op. */
const BACKOFF_MS = 100;

export interface ScheduledFault {
  /** When to inject, from the start of the load. */
  atMs: number;
  /** How long it lasts before the heal. */
  forMs: number;
  fault: Fault;
}

/**
 * `count` non-overlapping faults over `durationMs` (the first and last 10% stay fault-free): slot j covers
 * an equal share of the middle; each fault starts in the first third of its slot and lasts 30–60% of it. The
 * kinds come in turn from a seeded offset, the node at random.
 * The same seed and arguments give the same schedule.
 */
export function faultSchedule(
  seed: number,
  kinds: readonly FaultKind[],
  nodes: number,
  durationMs: number,
  count: number,
): ScheduledFault[] {
  const rand = new Prng(seed);
  const first = rand.int(kinds.length); // kinds in turn from a seeded offset: a short schedule covers them all
  const start = durationMs * 0.1;
  const slot = (durationMs * 0.8) / Math.max(1, count);
  return Array.from({ length: count }, (_, j) => ({
    atMs: Math.round(start + j * slot + rand.next() * slot / 3),
    forMs: Math.round(slot * (0.3 + rand.next() * 0.3)),
    fault: { kind: kinds[(first + j) % kinds.length], node: rand.int(nodes) },
  }));
}

export interface RunOptions {
  seed: number;
  durationMs: number;
  clients: number;
  schedule: ScheduledFault[];
  /** Called with each fault's description as it happens (progress output). */
  log?: (line: string) => void;
}

export interface RunReport {
  workload: string;
  target: string;
  seed: number;
  durationMs: number;
  clients: number;
  schedule: ScheduledFault[];
  /** What the nemesis did, with times from the start of the load. */
  faults: string[];
  verdict: Verdict;
  elapsedMs: number;
}

export async function runWorkload(target: Target, workload: Workload, opts: RunOptions): Promise<RunReport> {
  const began = performance.now();
  const { replicas, nemesis } = target;
  await converge(replicas);
  await workload.setup(replicas[0]);

  let stopped = false;
  let failure: unknown;
  const t0 = performance.now();
  const running = Array.from({ length: opts.clients }, async (_, i) => {
    const rand = new Prng(opts.seed * 1009 + i + 1);
    const r = replicas[i % replicas.length];
    try {
      while (!stopped) {
        // After an error a client backs off, as real ones do: otherwise a node that refuses at once (no
        // leader, down) turns the loop into a spin that piles up indeterminate ops for the checkers.
        if (!await workload.step(i, r, rand)) await sleep(BACKOFF_MS);
      }
    } catch (e) {
      // Not a fault outcome (those are recorded): a bug or an unexpected error. Stop everyone, report it.
      failure ??= new Error(`client ${i} on ${r.name}: ${(e as Error).message}`, { cause: e });
      stopped = true;
    }
  });
  const faults: string[] = [];
  const at = (): string => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  const note = (s: string): void => {
    faults.push(`${at()} ${s}`);
    opts.log?.(`  ${at()} ${s}`);
  };
  // Timers place the faults: they are the workload's schedule, not waits for conditions.
  try {
    for (const f of opts.schedule) {
      await sleep(Math.max(0, f.atMs - (performance.now() - t0)));
      if (stopped) break; // a client failed: the run is over
      if (!nemesis.kinds.includes(f.fault.kind)) {
        throw new Error(`${target.name} cannot inject ${f.fault.kind}`);
      }
      note(await nemesis.inject(f.fault));
      await sleep(f.forMs);
      await nemesis.heal();
      note("heal");
    }
    if (!stopped) await sleep(Math.max(0, opts.durationMs - (performance.now() - t0)));
  } finally {
    await nemesis.heal();
    stopped = true;
    await Promise.all(running);
  }
  if (failure) throw failure;
  const checksums = await converge(replicas);
  const verdict = await workload.check(replicas, checksums);
  return {
    workload: workload.name,
    target: target.name,
    seed: opts.seed,
    durationMs: opts.durationMs,
    clients: opts.clients,
    schedule: opts.schedule,
    faults,
    verdict,
    elapsedMs: Math.round(performance.now() - began),
  };
}
