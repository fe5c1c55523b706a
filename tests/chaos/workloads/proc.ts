/**
 * Target: `chiselstore node` OS processes (tests/crash/harness.ts) reached over HTTP. Faults are signals to
 * one process by PID: SIGKILL (restarted on the same data directory on heal) and SIGSTOP (SIGCONT on heal);
 * with NetworkFaults (network namespaces) also partitions.
 * A frozen process never answers, so every request also has a client-side deadline: past it the op is
 * indeterminate, as for a real client that gives up.
 */
import { HttpClientError } from "../../../src/client/http_client.ts";
import { ProcCluster, type ProcClusterOptions } from "../../crash/harness.ts";
import { forwarded } from "./sql_forward.ts";
import { type Fault, type FaultKind, type Nemesis, type Replica, type Target, Unsent } from "./target.ts";

/** How long a client waits for any answer before it counts the op as indeterminate. */
const CLIENT_DEADLINE_MS = 5000;

function withDeadline<R>(run: () => Promise<R>, what: string): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HttpClientError(0, "timeout", `${what}: no answer within ${CLIENT_DEADLINE_MS} ms`)),
      CLIENT_DEADLINE_MS,
    );
    run().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Network faults a process target may also have (network namespaces): cut node i off, and undo it. */
export interface NetworkFaults {
  isolate(i: number): Promise<void>;
  heal(): Promise<void>;
}

export class ProcTarget implements Target {
  readonly name: string;
  readonly cluster: ProcCluster;
  readonly replicas: Replica[];
  readonly nemesis: Nemesis;

  constructor(cluster: ProcCluster, net?: NetworkFaults, name = "processes") {
    this.name = name;
    this.cluster = cluster;
    this.replicas = cluster.nodes.map((n, i) => ({
      name: n.name,
      ...forwarded(() => {
        if (!n.proc) throw new Unsent(n.name);
        return n.client;
      }, (run) => withDeadline(run, n.name)),
      checksum: () => withDeadline(() => cluster.checksum(i), n.name),
    }));
    this.nemesis = new ProcNemesis(cluster, net);
  }

  /** Runs `fn` on a started cluster of `n` processes; always kills them and removes their directories. */
  static with<T>(n: number, opts: ProcClusterOptions, fn: (t: ProcTarget) => Promise<T>): Promise<T> {
    return ProcCluster.with(n, opts, (c) => fn(new ProcTarget(c)));
  }
}

const PROCESS_KINDS: FaultKind[] = ["kill", "kill-leader", "pause", "pause-leader"];

class ProcNemesis implements Nemesis {
  readonly kinds: readonly FaultKind[];
  readonly #c: ProcCluster;
  readonly #net: NetworkFaults | undefined;
  readonly #killed = new Set<number>();
  readonly #paused = new Set<number>();

  constructor(c: ProcCluster, net: NetworkFaults | undefined) {
    this.#c = c;
    this.#net = net;
    this.kinds = net
      ? [...PROCESS_KINDS, "partition", "partition-leader", "partition-follower"]
      : PROCESS_KINDS;
  }

  async inject(f: Fault): Promise<string> {
    let i = f.node;
    let role = "";
    if (f.kind.endsWith("-leader") || f.kind.endsWith("-follower")) {
      const l = await this.#c.leader(3000).catch(() => undefined);
      if (l === undefined) role = " (no leader agreed)";
      else if (f.kind.endsWith("-leader")) [i, role] = [l, " (leader)"];
      else [i, role] = [(l + 1) % this.#c.nodes.length, ` (leader n${l})`];
    }
    if (this.#killed.has(i) || this.#paused.has(i)) return `n${i} already down`;
    if (f.kind.startsWith("kill")) {
      this.#killed.add(i);
      await this.#c.kill9(i);
      return `kill -9 n${i}${role}`;
    }
    if (f.kind.startsWith("pause")) {
      this.#paused.add(i);
      this.#c.pause(i);
      return `SIGSTOP n${i}${role}`;
    }
    if (f.kind.startsWith("partition") && this.#net) {
      await this.#net.isolate(i);
      return `isolate n${i}${role} (iptables)`;
    }
    throw new Error(`this target cannot inject ${f.kind}`);
  }

  async heal(): Promise<void> {
    await this.#net?.heal();
    for (const i of this.#paused) this.#c.resume(i);
    this.#paused.clear();
    for (const i of this.#killed) this.#c.spawn(i);
    await Promise.all([...this.#killed].map((i) => this.#c.waitReady(i)));
    this.#killed.clear();
  }
}
