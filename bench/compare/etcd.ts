/**
 * A 3-member etcd cluster on loopback (Debian's etcd-server 3.4), each member with its own data directory,
 * and the comparison's two operations through the gRPC client `etcd3`: put of one key, and a linearizable
 * get (a range with serializable=false, which etcd serves through a ReadIndex round with the leader).
 * etcd fsyncs its WAL on every commit; there is no setting to turn that off in 3.4 besides the unsafe one.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { freePort } from "../../src/cli/bench/cluster.ts";
import { poll } from "../../src/cli/bench/poll.ts";
import { Proc } from "./procs.ts";

export const ETCD_BIN = "/usr/bin/etcd";

export class EtcdCluster {
  readonly members: Proc[];
  readonly endpoints: string[];

  private constructor(members: Proc[], endpoints: string[]) {
    this.members = members;
    this.endpoints = endpoints;
  }

  /** Starts `n` members under `root` and waits until a put goes through (a leader is elected). */
  static async start(root: string, n = 3, timeoutMs = 60_000): Promise<EtcdCluster> {
    const places: { name: string; dir: string; client: string; peer: string }[] = [];
    for (let i = 1; i <= n; i++) {
      const dir = join(root, `etcd${i}`);
      await mkdir(dir, { recursive: true });
      places.push({
        name: `m${i}`,
        dir,
        client: `http://127.0.0.1:${await freePort()}`,
        peer: `http://127.0.0.1:${await freePort()}`,
      });
    }
    const initial = places.map((p) => `${p.name}=${p.peer}`).join(",");
    const members = places.map((p) =>
      new Proc(`etcd ${p.name}`, ETCD_BIN, [
        "--name",
        p.name,
        "--data-dir",
        p.dir,
        "--listen-client-urls",
        p.client,
        "--advertise-client-urls",
        p.client,
        "--listen-peer-urls",
        p.peer,
        "--initial-advertise-peer-urls",
        p.peer,
        "--initial-cluster",
        initial,
        "--initial-cluster-token",
        `bench-${process.pid}`,
        "--initial-cluster-state",
        "new",
        "--log-level",
        "warn",
      ])
    );
    const cluster = new EtcdCluster(members, places.map((p) => p.client));
    try {
      const client = cluster.client();
      try {
        await poll(async () => {
          const dead = members.find((m) => !m.running);
          if (dead) throw new Error(`${dead.name} exited before the cluster was ready\n${dead.tail()}`);
          try {
            await client.put("bench/ready").value("1");
            return true;
          } catch {
            return false;
          }
        }, { timeoutMs, what: "etcd to accept a put", intervalMs: 100 });
      } finally {
        client.close();
      }
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  /** A gRPC client over every member's endpoint. */
  client(): Etcd3 {
    return new Etcd3({ hosts: this.endpoints });
  }

  /** A gRPC client of the current leader's endpoint only (each member's status names the leader). */
  async leaderClient(): Promise<{ client: Etcd3; endpoint: string }> {
    for (const endpoint of this.endpoints) {
      const client = new Etcd3({ hosts: [endpoint] });
      try {
        const s = await client.maintenance.status();
        if (s.leader === s.header.member_id) return { client, endpoint };
      } catch {
        // this member cannot answer now: ask the next one
      }
      client.close();
    }
    throw new Error("no etcd member says it leads");
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

/** The key of write number `seq` (zero-padded, so keys sort like the sequence). */
export function etcdKey(seq: number): string {
  return `bench/${seq.toString(36).padStart(8, "0")}`;
}

/** The comparison's put: one key of a 32-byte value. */
export function etcdPut(): (client: Etcd3, seq: number) => Promise<void> {
  return async (client, seq) => {
    await client.put(etcdKey(seq)).value(`v${seq.toString(36).padStart(8, "0")}-${"x".repeat(22)}`);
  };
}

/** A linearizable get of one of the keys 0..count-1 (spread like the ChiselStore reads); fails if missing. */
export function etcdGet(count: number): (client: Etcd3, seq: number) => Promise<void> {
  return async (client, seq) => {
    const key = etcdKey((Math.imul(seq, 2654435761) >>> 0) % count);
    const v = await client.get(key).serializable(false).string();
    if (v === null) throw new Error(`etcd: ${key} not found`);
  };
}
