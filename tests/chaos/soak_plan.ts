/**
 * What the soak does, as data: its arguments (--minutes M, default 10; --seed N, default 1; --out DIR;
 * --targets a,b) and each round's plan, a function of the seed, the round number and the targets only.
 */
import { Prng } from "../sim/prng.ts";
import { faultSchedule, type ScheduledFault } from "./workloads/run.ts";
import type { FaultKind } from "./workloads/target.ts";

export const WORKLOADS = ["register", "bank", "set"] as const;
export type TargetName = "netns" | "processes" | "in-process";

/** The fault kinds each target can inject. */
export const KINDS: Record<TargetName, FaultKind[]> = {
  netns: [
    "partition",
    "partition-leader",
    "partition-follower",
    "kill",
    "kill-leader",
    "pause",
    "pause-leader",
  ],
  processes: ["kill", "kill-leader", "pause", "pause-leader"],
  "in-process": ["partition", "partition-leader", "partition-follower", "kill", "kill-leader"],
};

export interface Plan {
  round: number;
  workload: typeof WORKLOADS[number];
  target: TargetName;
  /** Seeds the clients' op choices and the fault schedule. */
  seed: number;
  durationMs: number;
  clients: number;
  schedule: ScheduledFault[];
}

/** Round r's plan: workloads in turn; target, length (15–30 s), clients (3–5) and 2–4 faults from the seed. */
export function plan(seed: number, round: number, targets: readonly TargetName[]): Plan {
  const rand = new Prng(seed * 7919 + round);
  const target = rand.pick(targets);
  const durationMs = 15_000 + rand.int(16) * 1000;
  const roundSeed = rand.int(1 << 30);
  return {
    round,
    workload: WORKLOADS[round % WORKLOADS.length],
    target,
    seed: roundSeed,
    durationMs,
    clients: 3 + rand.int(3),
    schedule: faultSchedule(roundSeed, KINDS[target], 3, durationMs, 2 + rand.int(3)),
  };
}

export interface Options {
  minutes: number;
  seed: number;
  out: string;
  targets?: TargetName[];
}

const TARGETS = ["netns", "processes", "in-process"] as const;

export function parseSoakArgs(argv: string[]): Options {
  const opts: Options = { minutes: 10, seed: 1, out: "" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!["--minutes", "--seed", "--out", "--targets"].includes(flag)) {
      throw new Error(
        `unknown argument "${flag}" (usage: --minutes M --seed N --out DIR [--targets netns,processes,in-process])`,
      );
    }
    if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === "--minutes") {
      opts.minutes = Number(value);
      if (!(opts.minutes > 0) || !Number.isFinite(opts.minutes)) {
        throw new Error(`--minutes must be a positive number, got "${value}"`);
      }
    } else if (flag === "--seed") {
      opts.seed = Number(value);
      if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) {
        throw new Error(`--seed must be a non-negative integer, got "${value}"`);
      }
    } else if (flag === "--out") opts.out = value;
    else {
      const list = value.split(",").map((s) => s.trim());
      const bad = list.filter((t) => !(TARGETS as readonly string[]).includes(t));
      if (bad.length > 0 || list.length === 0) {
        throw new Error(`--targets: unknown target(s) ${bad.join(", ")} (use ${TARGETS.join(", ")})`);
      }
      opts.targets = list as Options["targets"];
    }
  }
  if (opts.out === "") opts.out = `chaos-soak-${opts.seed}`;
  return opts;
}
