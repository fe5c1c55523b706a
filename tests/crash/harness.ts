/**
 * Crash tests with real processes: every node is a separate `chiselstore node` OS process started through the
 * CLI with the runtime running the tests (tests/cli/helpers.ts), on its own data directory (identity made
 * first, as `chiselstore id` would), with fixed free ports for libp2p and HTTP so a node killed with SIGKILL
 * comes back on the same addresses and the same directory. Everything is observed over the HTTP API, and
 * everything is cleaned up: children killed and the temporary directory removed, even when a test fails.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { HttpClient } from "../../src/client/http_client.ts";
import { loadOrCreateIdentity } from "../../src/net/identity.ts";
import type { Checksum } from "../../src/server/http/checksum.ts";
import { type Running, startCli } from "../cli/helpers.ts";
import { waitFor } from "../net/wait.ts";
import { freePort } from "../server/cluster.ts";
import { nodeArgs } from "../../src/cli/bench/cluster.ts";

export interface ProcNode {
  name: string;
  dir: string;
  peerId: string;
  /** libp2p listen address without the peer ID. */
  listen: string;
  /** The address other members dial: `listen` + `/p2p/<peerId>`. */
  addr: string;
  url: string;
  client: HttpClient;
  /** The running process, or undefined while the node is down. */
  proc: Running | undefined;
  /** The running process has answered /readyz (waitReady) since it was spawned, and is not paused. */
  ready: boolean;
  /** Output of earlier processes on this data directory (for failure reports). */
  pastOutput: string[];
}

export interface ProcClusterOptions {
  /** --election-ms (the CLI's tick stays at its default). Default 200. */
  electionMs?: number;
  /** --snapshot-entries; the CLI default when unset. */
  snapshotEntries?: number;
  /** How long a (re)started node may take to answer /readyz. Default 30 s. */
  readyTimeoutMs?: number;
  /** Where node i listens (libp2p, without /p2p) and serves HTTP. Default: free loopback ports. */
  place?: (i: number) => Promise<{ listen: string; url: string }>;
  /** A command node i's process is started through, which must exec the CLI (e.g. `ip netns exec <ns>`). */
  prefix?: (i: number) => string[];
}

async function loopback(): Promise<{ listen: string; url: string }> {
  return { listen: `/ip4/127.0.0.1/tcp/${await freePort()}`, url: `http://127.0.0.1:${await freePort()}` };
}

interface StatusBody {
  store: {
    node_id: string;
    is_leader: boolean;
    applied_index: number;
    raft: { leader_id: string; accepted_index: number; compacted_index: number };
  };
}

/** Children of every cluster in this process, killed on exit should a test runner leave without cleanup. */
const everyChild = new Set<Running>();
process.on("exit", () => {
  for (const r of everyChild) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
  }
});

export class ProcCluster {
  readonly nodes: ProcNode[] = [];
  readonly root: string;
  readonly #opts: ProcClusterOptions;

  private constructor(root: string, opts: ProcClusterOptions) {
    this.root = root;
    this.#opts = opts;
  }

  /** Runs `fn` on a started cluster of `n` processes; always kills them and removes the directories. */
  static async with<T>(n: number, opts: ProcClusterOptions, fn: (c: ProcCluster) => Promise<T>): Promise<T> {
    const c = new ProcCluster(await mkdtemp(join(tmpdir(), "chisel-crash-")), opts);
    try {
      for (let i = 0; i < n; i++) {
        const dir = join(c.root, `n${i}`);
        const { peerId } = await loadOrCreateIdentity(dir);
        const { listen, url } = await (opts.place ?? loopback)(i);
        const node: ProcNode = {
          name: `n${i}`,
          dir,
          peerId,
          listen,
          addr: `${listen}/p2p/${peerId}`,
          url,
          client: new HttpClient(url),
          proc: undefined,
          ready: false,
          pastOutput: [],
        };
        c.nodes.push(node);
      }
      for (let i = 0; i < n; i++) c.spawn(i);
      await Promise.all(c.nodes.map((_, i) => c.waitReady(i)));
      const result = await fn(c);
      c.#checkNoneExitedAlone();
      return result;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${c.outputTail()}`, { cause: e });
    } finally {
      await c.#killAll();
      await rm(c.root, { recursive: true, force: true });
    }
  }

  /** Starts node i's process (it must be down). Returns the moment it was spawned (performance.now()). */
  spawn(i: number): number {
    const me = this.nodes[i];
    if (me.proc) throw new Error(`${me.name} is already running`);
    const args = [
      ...nodeArgs(me, this.nodes, { fsync: "always" }),
      "--election-ms",
      String(this.#opts.electionMs ?? 200),
      ...(this.#opts.snapshotEntries !== undefined
        ? ["--snapshot-entries", String(this.#opts.snapshotEntries)]
        : []),
    ];
    me.proc = startCli(args, { prefix: this.#opts.prefix?.(i) });
    me.ready = false;
    everyChild.add(me.proc);
    return performance.now();
  }

  /** Waits until node i answers /readyz with 200 (it knows a leader it has a session with). */
  async waitReady(i: number, timeoutMs = this.#opts.readyTimeoutMs ?? 30_000): Promise<void> {
    const me = this.nodes[i];
    await waitFor(
      async () => {
        const p = me.proc;
        if (!p) throw new Error(`${me.name} is down`);
        if (p.child.exitCode !== null) throw new Error(`${me.name} exited with ${p.child.exitCode}`);
        try {
          return (await me.client.ready()).ok;
        } catch {
          return false; // not listening yet
        }
      },
      timeoutMs,
      `${me.name} to be ready`,
      50,
    );
    me.ready = true;
  }

  /** kill -9: SIGKILL to node i's process, then waits until it is gone (reaped, so its LOCK is stale). */
  async kill9(i: number): Promise<void> {
    const me = this.nodes[i];
    const p = me.proc;
    if (!p) throw new Error(`${me.name} is not running`);
    me.proc = undefined;
    // A process that already exited (and was reaped) has nothing left to kill.
    if (p.child.exitCode === null && p.child.signalCode === null) process.kill(p.child.pid!, "SIGKILL");
    await p.exited;
    everyChild.delete(p);
    me.pastOutput.push(p.stderr());
  }

  /**
   * SIGSTOP to node i: it stays up (sockets open, packets queued) but does nothing, as in a long GC pause. It
   * no longer counts as serving (requests to it would hang until it resumes: the HTTP client has no timeout).
   */
  pause(i: number): void {
    this.#signal(i, "SIGSTOP");
    this.nodes[i].ready = false;
  }

  /** SIGCONT to a paused node i; it serves again. */
  resume(i: number): void {
    this.#signal(i, "SIGCONT");
    this.nodes[i].ready = true;
  }

  #signal(i: number, sig: "SIGSTOP" | "SIGCONT"): void {
    const p = this.nodes[i].proc;
    if (!p) throw new Error(`${this.nodes[i].name} is not running`);
    process.kill(p.child.pid!, sig);
  }

  /** Indexes of the nodes whose process is running. */
  up(): number[] {
    return this.nodes.flatMap((n, i) => (n.proc ? [i] : []));
  }

  /** Indexes of the running nodes that have been ready since they were (re)started: where clients go. */
  serving(): number[] {
    return this.nodes.flatMap((n, i) => (n.proc && n.ready ? [i] : []));
  }

  async status(i: number): Promise<StatusBody> {
    return (await this.nodes[i].client.status()) as unknown as StatusBody;
  }

  /** GET /db/checksum of node i: its applied index and the SHA-256 of its database. */
  async checksum(i: number): Promise<Checksum> {
    const res = await fetch(`${this.nodes[i].url}/db/checksum`);
    const body = await res.text();
    if (!res.ok) throw new Error(`${this.nodes[i].name}: GET /db/checksum: HTTP ${res.status} ${body}`);
    return JSON.parse(body) as Checksum;
  }

  /** The node every running node names as leader, once they agree and it says it leads. */
  async leader(timeoutMs = 15_000): Promise<number> {
    let found = -1;
    await waitFor(
      async () => {
        const sts = await Promise.all(this.up().map((i) => this.status(i).catch(() => undefined)));
        const ids = new Set(sts.map((s) => s?.store.raft.leader_id));
        const [id] = ids;
        found = this.nodes.findIndex((n) => n.peerId === id);
        return ids.size === 1 && found >= 0 &&
          sts.some((s) => s !== undefined && s.store.node_id === id && s.store.is_leader);
      },
      timeoutMs,
      "the running nodes to agree on a leader",
      25,
    );
    return found;
  }

  /** Waits until every running node reports the same checksum (same applied index and digest); returns it. */
  async converged(timeoutMs = 20_000): Promise<Checksum> {
    let sums: (Checksum | undefined)[] = [];
    await waitFor(
      async () => {
        sums = await Promise.all(
          this.up().map((i) => this.checksum(i).catch(() => undefined)),
        );
        return sums.every((s) =>
          s !== undefined && s.index === sums[0]!.index && s.sha256 === sums[0]!.sha256
        );
      },
      timeoutMs,
      "equal checksums on every running node",
      50,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last: ${JSON.stringify(sums)}`);
    });
    return sums[0]!;
  }

  /** The last lines each process wrote on stderr. */
  outputTail(lines = 15): string {
    return this.nodes.map((n) => {
      const all = [...n.pastOutput, n.proc?.stderr() ?? ""].join("").trimEnd().split("\n");
      return `--- ${n.name} (${n.peerId}) ---\n${all.slice(-lines).join("\n")}`;
    }).join("\n");
  }

  /** A node that should be running but whose process ended by itself crashed: that fails the test. */
  #checkNoneExitedAlone(): void {
    const dead = this.nodes.filter((n) =>
      n.proc && (n.proc.child.exitCode !== null || n.proc.child.signalCode !== null)
    );
    if (dead.length === 0) return;
    const what = dead.map((n) => `${n.name} (${n.proc!.child.exitCode ?? n.proc!.child.signalCode})`).join(
      ", ",
    );
    throw new Error(`node process(es) exited by themselves: ${what}`);
  }

  async #killAll(): Promise<void> {
    await Promise.all(this.up().map((i) => this.kill9(i)));
  }
}
