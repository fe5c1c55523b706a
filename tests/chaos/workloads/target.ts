/**
 * What a workload runs against: one replica per node (an embedded ChiselStore or an HTTP client, behind the
 * same SqlApi) and a nemesis that injects and heals faults. Workloads and checkers know nothing else about the
 * cluster, so the same workload runs in-process, on real processes and in network namespaces.
 */
import type { SqlApi } from "../../../src/server/call_args.ts";
import { NodeError } from "../../../src/server/errors.ts";
import type { Checksum } from "../../../src/store/state_machine.ts";
import { waitFor } from "../../net/wait.ts";

export type { Checksum };

/**
 * The request never left the client: the node it was for is down (killed and not restarted, stopped). Unlike
 * other NodeErrors this is a definite failure: nothing was proposed.
 */
export class Unsent extends NodeError {
  override name = "Unsent";
  constructor(node: string) {
    super("stopped", `${node} is down: request not sent`);
  }
}

/** Whether an error means the op definitely took no effect (else a NodeError leaves it indeterminate). */
export function definitelyFailed(e: NodeError): boolean {
  return e instanceof Unsent || e.code === "bad-request";
}

/** One node as a client sees it. Calls to a node that is down throw a NodeError, like a failed request. */
export interface Replica extends SqlApi {
  readonly name: string;
  /** The node's applied index and database digest (ChiselStore.checksum() or GET /db/checksum). */
  checksum(): Promise<Checksum>;
}

/**
 * Fault kinds. `partition`: the node is cut off from consensus traffic (both ways); `kill`: the node dies
 * (kill -9 for processes, a stop for in-process nodes) and restarts on heal; `pause`: the process is frozen
 * (SIGSTOP) and resumed on heal. The `-leader` variants pick whichever node leads at injection time,
 * `-follower` the node after it.
 */
export const FAULT_KINDS = [
  "partition",
  "partition-leader",
  "partition-follower",
  "kill",
  "kill-leader",
  "pause",
  "pause-leader",
] as const;
export type FaultKind = typeof FAULT_KINDS[number];

export interface Fault {
  kind: FaultKind;
  /** The node to hit (for `-leader`/`-follower` kinds: the fallback when no leader is agreed). */
  node: number;
}

export interface Nemesis {
  /** The kinds this target can inject. */
  readonly kinds: readonly FaultKind[];
  /** Injects a fault; returns what was done, for the report ("kill -9 n1 (leader)"). */
  inject(fault: Fault): Promise<string>;
  /** Undoes every active fault: reconnects, resumes, restarts. Resolves once restarted nodes serve again. */
  heal(): Promise<void>;
}

export interface Target {
  readonly name: string;
  readonly replicas: Replica[];
  readonly nemesis: Nemesis;
}

/**
 * Waits until every replica answers and reports the same checksum (same applied index, same digest), after a
 * strong read through each one (it needs a leader, and it pushes an entry through the log to everyone).
 */
export async function converge(replicas: Replica[], timeoutMs = 30_000): Promise<Checksum[]> {
  for (const r of replicas) {
    await waitFor(
      async () => {
        try {
          await r.query("SELECT 1", undefined, { consistency: "strong", timeoutMs: 2000 });
          return true;
        } catch (e) {
          if (e instanceof NodeError) return false;
          throw e;
        }
      },
      timeoutMs,
      `a strong read through ${r.name}`,
      50,
    );
  }
  let sums: (Checksum | undefined)[] = [];
  await waitFor(
    async () => {
      sums = await Promise.all(replicas.map((r) => r.checksum().catch(() => undefined)));
      return sums.every((s) => s !== undefined && s.index === sums[0]!.index && s.sha256 === sums[0]!.sha256);
    },
    timeoutMs,
    "equal checksums on every replica",
    50,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last: ${JSON.stringify(sums)}`);
  });
  return sums as Checksum[];
}

/** Reads every replica's own copy (consistency none) of one query's rows: what the final checks compare. */
export async function readEach(
  replicas: Replica[],
  sql: string,
): Promise<{ name: string; rows: unknown[][] }[]> {
  return await Promise.all(replicas.map(async (r) => {
    const [res] = await r.query(sql, undefined, { consistency: "none" });
    if (res.error) throw new Error(`${r.name}: ${sql}: ${res.error}`);
    return { name: r.name, rows: res.values ?? [] };
  }));
}
