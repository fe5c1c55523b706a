/**
 * A 3-node ChiselStore cluster with a fourth member that is not a ChiselStore: a bare libp2p node holding
 * that member's identity, which the tests drive by hand (hostile frames, replays, raw RPC calls). With 4
 * members the quorum is 3, so the real nodes decide only while all three are up. A background writer
 * keeps inserting rows and records which ones were acknowledged.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { createLibp2pNode } from "../../src/net/libp2p_node.ts";
import { loadOrCreateIdentity } from "../../src/net/identity.ts";
import type { NetLogger } from "../../src/net/log.ts";
import type { Message } from "../../src/omnipaxos/mod.ts";
import { ChiselStore } from "../../src/server/node.ts";
import { freePort } from "../server/cluster.ts";
import { waitFor } from "./wait.ts";

export interface RogueCluster {
  nodes: ChiselStore[];
  rogue: Libp2p;
  rogueId: string;
  /** The real nodes' multiaddrs (ending in /p2p/<id>). */
  addrs: string[];
  /** Stops node `i` and starts it again on the same data directory and address. */
  restart(i: number): Promise<ChiselStore>;
  stop(): Promise<void>;
}

export async function startRogueCluster(
  o: { log?: NetLogger; sendFilter?: (i: number, m: Message<Uint8Array>) => boolean } = {},
): Promise<RogueCluster> {
  const root = await mkdtemp(join(tmpdir(), "chisel-rogue-"));
  const ids: { dir: string; peerId: string; privateKey: PrivateKey; listen: string; addr: string }[] = [];
  for (let i = 0; i < 4; i++) {
    const dir = join(root, `n${i}`);
    const { peerId, privateKey } = await loadOrCreateIdentity(dir);
    const listen = `/ip4/127.0.0.1/tcp/${await freePort()}`;
    ids.push({ dir, peerId, privateKey, listen, addr: `${listen}/p2p/${peerId}` });
  }
  const rogueInfo = ids[3];
  const rogue = await createLibp2pNode({
    privateKey: rogueInfo.privateKey,
    listen: [rogueInfo.listen],
    connectionGater: {},
    natServices: false,
  });
  await rogue.start();
  const startNode = (i: number) => {
    const me = ids[i];
    return ChiselStore.start({
      fsync: "never",
      tickMs: 10,
      electionTicks: 20,
      dataDir: me.dir,
      listen: [me.listen],
      peers: ids.filter((x) => x !== me).map((x) => x.addr),
      ...(o.log ? { log: o.log } : {}),
      ...(o.sendFilter ? { sendFilter: (m: Message<Uint8Array>) => o.sendFilter!(i, m) } : {}),
    });
  };
  const nodes = await Promise.all([0, 1, 2].map(startNode));
  return {
    nodes,
    rogue,
    rogueId: rogueInfo.peerId,
    addrs: ids.slice(0, 3).map((x) => x.addr),
    async restart(i) {
      await nodes[i].stop();
      nodes[i] = await startNode(i);
      return nodes[i];
    },
    async stop() {
      await rogue.stop();
      for (const n of nodes) await n.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Inserts rows 1, 2, ... through the nodes in turn until stopped; `acked` holds those acknowledged. */
export class Writer {
  readonly acked: number[] = [];
  readonly nodes: ChiselStore[];
  #next = 1;
  #stopped = false;
  #done: Promise<void> | undefined;

  constructor(nodes: ChiselStore[]) {
    this.nodes = nodes;
  }

  start(): void {
    this.#done = (async () => {
      while (!this.#stopped) {
        const id = this.#next;
        const node = this.nodes[id % this.nodes.length];
        try {
          // Idempotent: a retry after an unknown outcome cannot insert twice.
          await node.execute("INSERT OR IGNORE INTO t(id) VALUES (?)", [id], { timeoutMs: 5_000 });
          this.acked.push(id);
          this.#next++;
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // leader change under way: try the same row again
        }
      }
    })();
  }

  /** Waits until `n` more rows than now are acknowledged. */
  async progress(n: number, timeoutMs: number, what: string): Promise<void> {
    const target = this.acked.length + n;
    await waitFor(() => this.acked.length >= target, timeoutMs, `${n} acknowledged writes ${what}`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** Every acknowledged row is on every node, and the nodes' databases are identical. */
export async function assertConverged(nodes: ChiselStore[], acked: number[]): Promise<void> {
  const applied = () => nodes.map((n) => n.status().appliedIdx);
  await waitFor(() => new Set(applied()).size === 1, 20_000, `equal applied indexes (${applied()})`);
  const sums = await Promise.all(nodes.map((n) => n.checksum()));
  for (const s of sums) assert.deepEqual(s, sums[0], "replica checksums");
  for (const n of nodes) {
    const [r] = await n.query("SELECT id FROM t ORDER BY id", { consistency: "none" });
    const have = new Set((r.values ?? []).map((v) => v[0] as number));
    const lost = acked.filter((id) => !have.has(id));
    assert.deepEqual(lost, [], "acknowledged rows missing");
  }
}
