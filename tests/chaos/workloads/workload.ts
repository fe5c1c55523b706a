/**
 * The shape all workloads share: clients issue ops through replicas and record outcomes; after the faults
 * are healed and the replicas converged, the workload reads every replica and its checker gives a verdict.
 */
import type { Prng } from "../../sim/prng.ts";
import type { Checksum, Replica } from "./target.ts";

export type Outcome = "ok" | "fail" | "indeterminate";

export interface Verdict {
  /** "ok", "violation", or "unknown" (the checker gave up within its bounds: not a proof either way). */
  result: "ok" | "violation" | "unknown";
  /** Every violation found (empty when ok), each a sentence a person can act on. */
  problems: string[];
  /** Counts for the report: ops by kind and outcome, and checker-specific figures. */
  figures: Record<string, number>;
  checkMs: number;
}

/** One replica's final state, as the checkers receive it. */
export interface FinalState<T> {
  name: string;
  checksum: Checksum;
  state: T;
}

export interface Workload {
  readonly name: string;
  /** Every op recorded so far, in completion order per client (written out when a check fails). */
  readonly history: readonly unknown[];
  /** Creates the tables (through one replica, once). */
  setup(r: Replica): Promise<void>;
  /**
   * One op by client `client` through `r`, chosen with `rand`; records its outcome. Resolves with whether
   * the cluster answered (false after a NodeError: the runner backs the client off).
   */
  step(client: number, r: Replica, rand: Prng): Promise<boolean>;
  /** After heal and convergence: reads every replica and checks the whole history. */
  check(replicas: Replica[], checksums: Checksum[]): Promise<Verdict>;
}

/** Counts of ops by "<kind>:<outcome>", for reports. */
export function countOutcomes(ops: readonly { kind: string; outcome: Outcome }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const op of ops) out[`${op.kind}:${op.outcome}`] = (out[`${op.kind}:${op.outcome}`] ?? 0) + 1;
  return out;
}

/** Problems common to every workload's final states: replicas must hold identical databases. */
export function checksumProblems(finals: readonly { name: string; checksum: Checksum }[]): string[] {
  const first = finals[0];
  return finals.slice(1).flatMap((f) =>
    f.checksum.index !== first.checksum.index || f.checksum.sha256 !== first.checksum.sha256
      ? [
        `checksums differ: ${first.name} ${first.checksum.index}/${first.checksum.sha256.slice(0, 12)} vs ` +
        `${f.name} ${f.checksum.index}/${f.checksum.sha256.slice(0, 12)}`,
      ]
      : []
  );
}
