/**
 * A local cluster of real `chiselstore node` processes for `chiselstore bench`: each node is this same CLI run
 * by the same runtime (process.execPath + main.ts, or Deno.execPath() run --allow-all), on its own data
 * directory in a temporary directory, with free loopback ports for libp2p and HTTP. `stop()` always ends
 * every process (SIGTERM, then SIGKILL after a grace period) and removes the directory.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { HttpClient } from "../../client/http_client.ts";
import { cliCommand } from "../launch.ts";
import { loadOrCreateIdentity } from "../../net/identity.ts";
import { spawnTracked } from "./children.ts";
import { poll } from "./poll.ts";

/** Where one local node lives: its data directory, libp2p listen address, peer ID and HTTP URL. */
export interface NodePlace {
  dir: string;
  listen: string;
  peerId: string;
  url: string;
}

/** `chiselstore node` arguments for `me` in a cluster of `all` (everyone else as --peers). */
export function nodeArgs(me: NodePlace, all: readonly NodePlace[], o: { fsync: string }): string[] {
  return [
    "node",
    "--data",
    me.dir,
    "--listen",
    me.listen,
    "--http",
    me.url.slice("http://".length),
    "--fsync",
    o.fsync,
    ...all.filter((x) => x !== me).flatMap((x) => ["--peers", `${x.listen}/p2p/${x.peerId}`]),
  ];
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Environment for the nodes: this one without CHISELSTORE_* settings (the bench passes flags). */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("CHISELSTORE_")) env[k] = v;
  }
  return { ...env, NO_COLOR: "1" };
}

const OUTPUT_KEEP = 16_384;

export interface LocalNode {
  name: string;
  dir: string;
  peerId: string;
  /** libp2p listen address without the peer ID. */
  listen: string;
  url: string;
  client: HttpClient;
  child: ChildProcess | undefined;
  /** The process ID (set once spawned). */
  pid: number | undefined;
  /** Resolves with the exit code (-1 for a death by signal). */
  exited: Promise<number> | undefined;
  /** The last OUTPUT_KEEP characters the process wrote (stdout and stderr), for error reports. */
  output: string;
}

export interface LocalClusterOptions {
  nodes: number;
  fsync: "always" | "batch" | "never";
  /** How long the nodes may take to answer /readyz. Default 60 s. */
  readyTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL. Default 5 s. */
  graceMs?: number;
  /** Admit any libp2p client (`--clients any`), for the libp2p client runs. Default false. */
  p2pClients?: boolean;
  /** The nodes' `--election-ms` (default: the node's own default). */
  electionMs?: number;
  signal?: AbortSignal;
}

export class LocalCluster {
  readonly root: string;
  readonly nodes: LocalNode[] = [];
  readonly #graceMs: number;
  #stopped = false;

  private constructor(root: string, graceMs: number) {
    this.root = root;
    this.#graceMs = graceMs;
  }

  /**
   * Creates the directories and identities, spawns every node and waits until each answers /readyz. On any
   * failure (including an abort) everything started so far is stopped and removed before the error is thrown.
   */
  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const c = new LocalCluster(await mkdtemp(join(tmpdir(), "chiselstore-bench-")), opts.graceMs ?? 5_000);
    try {
      for (let i = 0; i < opts.nodes; i++) {
        const dir = join(c.root, `n${i + 1}`);
        const { peerId } = await loadOrCreateIdentity(dir);
        const listen = `/ip4/127.0.0.1/tcp/${await freePort()}`;
        const url = `http://127.0.0.1:${await freePort()}`;
        c.nodes.push({
          name: `n${i + 1}`,
          dir,
          peerId,
          listen,
          url,
          client: new HttpClient(url),
          child: undefined,
          pid: undefined,
          exited: undefined,
          output: "",
        });
      }
      const extra = [
        ...(opts.p2pClients ? ["--clients", "any"] : []),
        ...(opts.electionMs !== undefined ? ["--election-ms", String(opts.electionMs)] : []),
      ];
      for (const n of c.nodes) c.#spawn(n, opts.fsync, extra);
      await Promise.all(c.nodes.map((n) => c.#waitReady(n, opts.readyTimeoutMs ?? 60_000, opts.signal)));
      return c;
    } catch (e) {
      const tail = c.outputTail();
      await c.stop();
      throw new Error(`${(e as Error).message}${tail ? `\n${tail}` : ""}`, { cause: e });
    }
  }

  #spawn(me: LocalNode, fsync: string, extra: string[]): void {
    const { cmd, argv } = cliCommand([
      ...nodeArgs(me, this.nodes, { fsync }),
      ...extra,
      "--log-level",
      "warn",
    ]);
    const { child, exited } = spawnTracked(cmd, argv, { env: childEnv() }, (d) => {
      me.output = (me.output + d).slice(-OUTPUT_KEEP);
    });
    me.child = child;
    me.pid = child.pid;
    me.exited = exited;
  }

  async #waitReady(me: LocalNode, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    await poll(
      async () => {
        const child = me.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${me.name} exited (${child?.exitCode ?? child?.signalCode}) before it was ready`);
        }
        try {
          return (await me.client.ready()).ok;
        } catch {
          return false; // not listening yet
        }
      },
      { timeoutMs, what: `${me.name} (${me.url}) to answer /readyz`, intervalMs: 50, signal },
    );
  }

  /** Whether node `n`'s process is still running. */
  static running(n: LocalNode): boolean {
    return n.child !== undefined && n.child.exitCode === null && n.child.signalCode === null;
  }

  /** The last lines of every node's output. */
  outputTail(lines = 10): string {
    return this.nodes
      .filter((n) => n.output.trim() !== "")
      .map((n) =>
        `--- ${n.name} (pid ${n.pid}) ---\n${n.output.trimEnd().split("\n").slice(-lines).join("\n")}`
      )
      .join("\n");
  }

  /** Node `n`'s full libp2p address (for P2pClient.connect). */
  static p2pAddr(n: LocalNode): string {
    return `${n.listen}/p2p/${n.peerId}`;
  }

  /** kill -9 of one node (no cleanup on its side); resolves once the process is gone. */
  async kill9(n: LocalNode): Promise<void> {
    if (!LocalCluster.running(n) || n.pid === undefined) return;
    process.kill(n.pid, "SIGKILL");
    await n.exited;
  }

  /** SIGKILL to every running node at once (a second Ctrl-C). */
  killNow(): void {
    for (const n of this.nodes) {
      if (LocalCluster.running(n) && n.pid !== undefined) {
        try {
          process.kill(n.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }

  /** SIGTERM to every node, SIGKILL to those still running after the grace period; removes the directory. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.nodes.map((n) => this.#stopNode(n)));
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }

  async #stopNode(n: LocalNode): Promise<void> {
    if (n.exited === undefined || n.pid === undefined) return;
    if (LocalCluster.running(n)) {
      // process.kill by PID: Deno's ChildProcess.kill reports a handled signal as a death by that signal.
      try {
        process.kill(n.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          process.kill(n.pid!, "SIGKILL");
        } catch {
          // already gone
        }
        resolve();
      }, this.#graceMs);
    });
    try {
      await Promise.race([n.exited, killed]);
      await n.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
