/**
 * Leader failover for `chiselstore bench`: kill -9 of the leader of a local cluster, then writes through the
 * survivors until one is acknowledged. The figure is the time from the kill to the first acknowledged
 * (decided and applied) write that was sent after the kill, so a write already in flight at the old leader
 * cannot count.
 */
import type { HttpClient } from "../../client/http_client.ts";
import { type LocalCluster, LocalCluster as Cluster, type LocalNode } from "./cluster.ts";
import { poll } from "./poll.ts";
import { insertOp } from "./workload.ts";

export interface FailoverResult {
  /** The nodes' configured election timeout. */
  electionMs: number;
  /** Name of the node killed (the leader all nodes agreed on). */
  killedLeader: string;
  /** From the kill to the first acknowledged write sent after it. */
  msToFirstWrite: number;
  /** msToFirstWrite in election timeouts. */
  electionTimeouts: number;
  /** The leader the survivors agree on afterwards (name), if they agree within the deadline. */
  newLeader: string | null;
  /** Writes sent after the kill, and how many failed (no leader yet, forwarding to the dead one). */
  attempts: number;
  failed: number;
}

/** The leader's peer ID as node `n` sees it (from /status), undefined when it knows none. */
async function leaderSeenBy(client: HttpClient): Promise<string | undefined> {
  const st = await client.status() as { store?: { leader?: { node_id?: string } } };
  const id = st.store?.leader?.node_id;
  return id ? id : undefined;
}

/** The node every running node names as leader; polls until they agree (deadline `timeoutMs`). */
export async function agreedLeader(
  cluster: LocalCluster,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<LocalNode> {
  let found: LocalNode | undefined;
  await poll(async () => {
    const alive = cluster.nodes.filter((n) => Cluster.running(n));
    const seen = await Promise.all(alive.map((n) => leaderSeenBy(n.client).catch(() => undefined)));
    const id = seen[0];
    found = cluster.nodes.find((n) => n.peerId === id);
    return id !== undefined && seen.every((s) => s === id) && found !== undefined && Cluster.running(found);
  }, { timeoutMs, what: "the nodes to agree on a leader", intervalMs: 20, signal });
  return found!;
}

/** Kills the leader and measures; `table` exists. The cluster is left with one node fewer. */
export async function measureFailover(opts: {
  cluster: LocalCluster;
  table: string;
  electionMs: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<FailoverResult> {
  const { cluster, electionMs } = opts;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const leader = await agreedLeader(cluster, timeoutMs, opts.signal);
  const survivors = cluster.nodes.filter((n) => n !== leader && Cluster.running(n));
  if (survivors.length === 0) throw new Error("failover: needs at least 2 nodes");
  // Short per-request deadlines so a request stuck on the dead leader is retried soon; 2 writers per node.
  const write = insertOp(opts.table, Math.max(200, electionMs));
  let attempts = 0;
  let failed = 0;
  let firstAck: number | undefined;
  const t0 = performance.now();
  await cluster.kill9(leader);
  const deadline = t0 + timeoutMs;
  const worker = async (client: HttpClient) => {
    while (firstAck === undefined && performance.now() < deadline && !opts.signal?.aborted) {
      attempts++;
      try {
        await write(client, attempts);
        firstAck ??= performance.now();
      } catch {
        failed++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(survivors.flatMap((n) => [worker(n.client), worker(n.client)]));
  if (firstAck === undefined) {
    throw new Error(`failover: no write was acknowledged within ${timeoutMs} ms of killing the leader`);
  }
  const msToFirstWrite = firstAck - t0;
  let newLeader: string | null = null;
  try {
    newLeader = (await agreedLeader(cluster, 10_000, opts.signal)).name;
  } catch {
    // reported as null
  }
  return {
    electionMs,
    killedLeader: leader.name,
    msToFirstWrite,
    electionTimeouts: msToFirstWrite / electionMs,
    newLeader,
    attempts,
    failed,
  };
}
