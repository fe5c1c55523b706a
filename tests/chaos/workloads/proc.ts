/**
 * Target: `chiselstore node` OS processes (tests/crash/harness.ts) reached over HTTP. Faults are signals to
 * one process by PID: SIGKILL (restarted on the same data directory on heal) and SIGSTOP (SIGCONT on heal).
 * A frozen process never answers, so every request also has a client-side deadline: past it the op is
 * indeterminate, as for a real client that gives up.
 */
import process from "node:process";
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

export class ProcTarget implements Target {
  readonly name = "processes";
  readonly cluster: ProcCluster;
  readonly replicas: Replica[];
  readonly nemesis: Nemesis;

  constructor(cluster: ProcCluster) {
    this.cluster = cluster;
    this.replicas = cluster.nodes.map((n, i) => ({
      name: n.name,
      ...forwarded(() => {
        if (!n.proc) throw new Unsent(n.name);
        return n.client;
      }, (run) => withDeadline(run, n.name)),
      checksum: () => withDeadline(() => cluster.checksum(i), n.name),
    }));
    this.nemesis = new ProcNemesis(cluster);
  }

  /** Runs `fn` on a started cluster of `n` processes; always kills them and removes their directories. */
  static with<T>(n: number, opts: ProcClusterOptions, fn: (t: ProcTarget) => Promise<T>): Promise<T> {
    return ProcCluster.with(n, opts, (c) => fn(new ProcTarget(c)));
  }
}

class ProcNemesis implements Nemesis {
  readonly kinds: readonly FaultKind[] = ["kill", "kill-leader", "pause", "pause-leader"];
  readonly #c: ProcCluster;
  readonly #killed = new Set<number>();
  readonly #paused = new Set<number>();

  constructor(c: ProcCluster) {
    this.#c = c;
  }

  async inject(f: Fault): Promise<string> {
    let i = f.node;
    let role = "";
    if (f.kind.endsWith("-leader")) {
      i = await this.#c.leader(3000).catch(() => f.node);
      role = " (leader)";
    }
    if (this.#killed.has(i) || this.#paused.has(i)) return `n${i} already down`;
    if (f.kind.startsWith("kill")) {
      this.#killed.add(i);
      await this.#c.kill9(i);
      return `kill -9 n${i}${role}`;
    }
    if (f.kind.startsWith("pause")) {
      this.#paused.add(i);
      process.kill(this.#c.nodes[i].proc!.child.pid!, "SIGSTOP");
      return `SIGSTOP n${i}${role}`;
    }
    throw new Error(`process target cannot inject ${f.kind}`);
  }

  async heal(): Promise<void> {
    for (const i of this.#paused) process.kill(this.#c.nodes[i].proc!.child.pid!, "SIGCONT");
    this.#paused.clear();
    for (const i of this.#killed) this.#c.spawn(i);
    await Promise.all([...this.#killed].map((i) => this.#c.waitReady(i)));
    this.#killed.clear();
  }
}
