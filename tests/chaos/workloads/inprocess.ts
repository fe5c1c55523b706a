/**
 * Target: real ChiselStore nodes in this process (tests/server/cluster.ts). Partitions drop consensus
 * messages to and from a cut node (a sendFilter); a "kill" stops the node and heal restarts it on the same
 * data directory. No pause: one process cannot freeze part of itself.
 */
import type { Message } from "../../../mod.ts";
import type { ChiselStoreOptions } from "../../../src/server/node.ts";
import { TestCluster } from "../../server/cluster.ts";
import { forwarded } from "./sql_forward.ts";
import { type Fault, type FaultKind, type Nemesis, type Replica, type Target, Unsent } from "./target.ts";

export class InProcessTarget implements Target {
  readonly name = "in-process";
  readonly cluster: TestCluster;
  readonly replicas: Replica[];
  readonly nemesis: Nemesis;
  /** Peer IDs currently cut off. */
  readonly cut: Set<string>;

  private constructor(cluster: TestCluster, cut: Set<string>) {
    this.cluster = cluster;
    this.cut = cut;
    this.replicas = cluster.nodes.map((n, i) => ({
      name: `n${i}`,
      ...forwarded(() => {
        if (!n.node) throw new Unsent(`n${i}`);
        return n.node;
      }),
      checksum: () => cluster.node(i).checksum(),
    }));
    this.nemesis = new InProcessNemesis(this);
  }

  static async start(n = 3, opts: ChiselStoreOptions = {}): Promise<InProcessTarget> {
    const cut = new Set<string>();
    const cluster = await TestCluster.create(n, {
      sendFilter: (m: Message<Uint8Array>) => !cut.has(m.to) && !cut.has(m.from),
      requestTimeoutMs: 1500,
      ...opts,
    });
    return new InProcessTarget(cluster, cut);
  }

  async stop(): Promise<void> {
    this.cut.clear();
    await this.cluster.stop();
  }
}

class InProcessNemesis implements Nemesis {
  readonly kinds: readonly FaultKind[] = [
    "partition",
    "partition-leader",
    "partition-follower",
    "kill",
    "kill-leader",
  ];
  readonly #t: InProcessTarget;
  readonly #down = new Set<number>();

  constructor(t: InProcessTarget) {
    this.#t = t;
  }

  async #pick(f: Fault): Promise<{ i: number; role: string }> {
    if (f.kind.endsWith("-leader") || f.kind.endsWith("-follower")) {
      const l = await this.#t.cluster.leader(3000).catch(() => undefined);
      if (l === undefined) return { i: f.node, role: " (no leader agreed)" };
      const follower = f.kind.endsWith("-follower");
      return follower
        ? { i: (l + 1) % this.#t.cluster.nodes.length, role: ` (leader n${l})` }
        : { i: l, role: " (leader)" };
    }
    return { i: f.node, role: "" };
  }

  async inject(f: Fault): Promise<string> {
    const { i, role } = await this.#pick(f);
    const c = this.#t.cluster;
    if (f.kind.startsWith("partition")) {
      this.#t.cut.add(c.nodes[i].peerId);
      return `partition n${i}${role}`;
    }
    if (f.kind.startsWith("kill")) {
      if (this.#down.has(i)) return `n${i} already down`;
      this.#down.add(i);
      await c.stopNode(i);
      return `stop n${i}${role}`;
    }
    throw new Error(`in-process target cannot inject ${f.kind}`);
  }

  async heal(): Promise<void> {
    this.#t.cut.clear();
    for (const i of this.#down) await this.#t.cluster.start(i);
    this.#down.clear();
  }
}
