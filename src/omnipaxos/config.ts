/** Configuration of one Omni-Paxos server, its validation and the quorum sizes derived from it. */
import { ConfigError } from "./errors.ts";
import type { NodeId } from "./types.ts";

/** Builds a snapshot of the decided log; see docs/protocol.md, "Compaction". */
export interface Snapshotter<T> {
  /**
   * Return application state covering the decided log [0, idx): `base` is the previous snapshot (covering
   * [0, idx - entries.length)) or undefined, and `entries` are the decided entries after it. Throwing refuses
   * the snapshot (the core reports the error to a local caller and ignores it for a remote request).
   */
  create(idx: number, entries: T[], base: Uint8Array | undefined): Uint8Array;
  /** false: `create` builds from the application's own state and is always passed `base` undefined. */
  usesBase?: boolean;
}

export interface OmniPaxosConfig<T = unknown> {
  /** This server. */
  pid: NodeId;
  /** All members of this configuration, pid included. One member is allowed (an embedded single node). */
  nodes: NodeId[];
  /** > 0, default 1. Messages of other configurations are dropped. */
  configurationId?: number;
  /** Ticks per heartbeat round, which is also the election timeout. Default 10. */
  electionTicks?: number;
  /** Ticks between resends of messages that have no successor to expose their loss. Default 25. */
  resendTicks?: number;
  /** Entries the leader collects before one storage write and one AcceptDecide. Default 1. */
  batchSize?: number;
  /** Ticks after which a partly filled batch is flushed anyway. Default 1. */
  flushTicks?: number;
  /** Higher wins elections among equal rounds. Default 0. */
  leaderPriority?: number;
  /** Proposals held while no leader is usable; appends beyond it throw BufferFullError. Default 100000. */
  bufferSize?: number;
  /** Custom quorums: read (prepare) + write (accept) > N, each in [2, N] (or N when N is 1), read ≥ write. */
  flexibleQuorum?: { readQuorumSize: number; writeQuorumSize: number };
  /** Enables `snapshot()` and snapshot-based log sync. */
  snapshotter?: Snapshotter<T>;
  /**
   * The leader counts its own log towards a quorum only up to what the host reported durable
   * (`markDurable`), instead of as soon as it wrote it. This lets a host send AcceptDecide before the
   * leader's own fsync, in parallel with the followers' (docs/protocol.md, "Leader durability"). Default
   * false: storage writes count as durable when made (MemoryStorage, or a host that syncs first).
   */
  leaderAcceptsWhenDurable?: boolean;
}

export interface ResolvedConfig<T> {
  pid: NodeId;
  nodes: NodeId[];
  peers: NodeId[];
  configId: number;
  electionTicks: number;
  resendTicks: number;
  flushTicks: number;
  batchSize: number;
  leaderPriority: number;
  bufferSize: number;
  readQuorum: number;
  writeQuorum: number;
  snapshotter: Snapshotter<T> | undefined;
  leaderAcceptsWhenDurable: boolean;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  }
  return x;
}

export function validateNodes(pid: NodeId | undefined, nodes: unknown): NodeId[] {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new ConfigError("nodes must be a non-empty array");
  const set = new Set<string>();
  for (const n of nodes) {
    if (typeof n !== "string" || n.length === 0) throw new ConfigError(`node ids must be non-empty strings`);
    if (set.has(n)) throw new ConfigError(`node ${n} is listed twice`);
    set.add(n);
  }
  if (pid !== undefined && !set.has(pid)) throw new ConfigError(`nodes must include this server (${pid})`);
  return [...nodes] as NodeId[];
}

export function resolveConfig<T>(c: OmniPaxosConfig<T>): ResolvedConfig<T> {
  if (typeof c.pid !== "string" || c.pid.length === 0) {
    throw new ConfigError("pid must be a non-empty string");
  }
  const nodes = validateNodes(c.pid, c.nodes);
  const n = nodes.length;
  const majority = Math.floor(n / 2) + 1;
  let readQuorum = majority;
  let writeQuorum = majority;
  if (c.flexibleQuorum) {
    const { readQuorumSize: r, writeQuorumSize: w } = c.flexibleQuorum;
    const min = Math.min(2, n);
    const ok = Number.isSafeInteger(r) && Number.isSafeInteger(w) && r + w > n && r >= w && w >= min &&
      r <= n;
    if (!ok) {
      throw new ConfigError(
        `flexible quorum read=${r} write=${w} invalid for ${n} nodes: need read+write > N, each in [2, N], read >= write`,
      );
    }
    readQuorum = r;
    writeQuorum = w;
  }
  const priority = c.leaderPriority ?? 0;
  if (!Number.isSafeInteger(priority) || priority < 0) throw new ConfigError("leaderPriority must be >= 0");
  return {
    pid: c.pid,
    nodes,
    peers: nodes.filter((p) => p !== c.pid),
    configId: positiveInt("configurationId", c.configurationId, 1),
    electionTicks: positiveInt("electionTicks", c.electionTicks, 10),
    resendTicks: positiveInt("resendTicks", c.resendTicks, 25),
    flushTicks: positiveInt("flushTicks", c.flushTicks, 1),
    batchSize: positiveInt("batchSize", c.batchSize, 1),
    leaderPriority: priority,
    bufferSize: positiveInt("bufferSize", c.bufferSize, 100_000),
    readQuorum,
    writeQuorum,
    snapshotter: c.snapshotter,
    leaderAcceptsWhenDurable: c.leaderAcceptsWhenDurable ?? false,
  };
}
