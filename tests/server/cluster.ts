/**
 * Real ChiselStore nodes in one process on 127.0.0.1: identities made first (as `chiselstore id` would),
 * free ports picked, then every node started with the others as peers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateIdentity } from "../../src/net/identity.ts";
import { ChiselStore, type ChiselStoreOptions } from "../../src/server/node.ts";
import { waitFor } from "../net/wait.ts";

/** A free TCP port on 127.0.0.1 (the bench's helper: one implementation). */
export { freePort } from "../../src/cli/bench/cluster.ts";
import { freePort } from "../../src/cli/bench/cluster.ts";

export interface TestNode {
  dir: string;
  addr: string;
  peerId: string;
  node: ChiselStore | undefined;
}

export class TestCluster {
  readonly nodes: TestNode[] = [];
  #root = "";
  #opts: ChiselStoreOptions = {};

  static async create(n: number, opts: ChiselStoreOptions = {}): Promise<TestCluster> {
    const c = new TestCluster();
    c.#opts = opts;
    c.#root = await mkdtemp(join(tmpdir(), "chisel-cluster-"));
    for (let i = 0; i < n; i++) {
      const dir = join(c.#root, `n${i}`);
      const { peerId } = await loadOrCreateIdentity(dir);
      const addr = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerId}`;
      c.nodes.push({ dir, addr, peerId, node: undefined });
    }
    for (let i = 0; i < n; i++) await c.start(i);
    return c;
  }

  async start(i: number): Promise<ChiselStore> {
    const me = this.nodes[i];
    me.node = await ChiselStore.start({
      fsync: "never",
      tickMs: 10,
      electionTicks: 20,
      ...this.#opts,
      dataDir: me.dir,
      listen: [me.addr.slice(0, me.addr.indexOf("/p2p/"))],
      peers: this.nodes.filter((o) => o !== me).map((o) => o.addr),
    });
    return me.node;
  }

  async stopNode(i: number): Promise<void> {
    await this.nodes[i].node?.stop();
    this.nodes[i].node = undefined;
  }

  node(i: number): ChiselStore {
    const n = this.nodes[i].node;
    if (!n) throw new Error(`node ${i} is down`);
    return n;
  }

  live(): ChiselStore[] {
    return this.nodes.flatMap((n) => (n.node ? [n.node] : []));
  }

  /** Index of the node every live node agrees leads. */
  async leader(timeoutMs = 15_000): Promise<number> {
    await waitFor(
      () => {
        const l = this.live()[0]?.leader;
        return l !== undefined && this.live().every((n) => n.leader === l) &&
          this.nodes.some((n) => n.peerId === l && n.node?.isLeader());
      },
      timeoutMs,
      "an agreed leader",
    );
    return this.nodes.findIndex((n) => n.peerId === this.live()[0].leader);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.stopNode(i);
    await rm(this.#root, { recursive: true, force: true });
  }
}
