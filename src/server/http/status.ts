/** /status, /nodes and /readyz: rqlite's monitoring endpoints over ChiselStore's status and cluster views. */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import type { ChiselStore, MemberView, NodeStatus } from "../node.ts";

declare const Deno: { version: { deno: string; v8: string; typescript: string } } | undefined;

export interface RuntimeInfo {
  name: "deno" | "node";
  version: string;
  platform: string;
  arch: string;
  pid: number;
}

export function runtimeInfo(): RuntimeInfo {
  const base = { platform: process.platform, arch: process.arch, pid: process.pid };
  return typeof Deno !== "undefined"
    ? { name: "deno", version: Deno.version.deno, ...base }
    : { name: "node", version: process.versions.node, ...base };
}

/** The process's memory, in bytes (V8 heap, memory outside it such as sql.js' database, RSS). */
export interface MemoryInfo {
  rss: number;
  heap_total: number;
  heap_used: number;
  /** C++ objects bound to JS, ArrayBuffers included. */
  external: number;
  /** ArrayBuffers: sql.js' database file and WASM heap, buffers in flight. */
  array_buffers: number;
}

export function memoryInfo(): MemoryInfo {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heap_total: m.heapTotal,
    heap_used: m.heapUsed,
    external: m.external,
    array_buffers: m.arrayBuffers,
  };
}

/** The package version: package.json two (source) or three (dist) levels above src/server/http. */
function packageVersion(): string {
  for (const rel of ["../../../package.json", "../../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "chiselstore" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not there: try the next layout
    }
  }
  return "unknown";
}

export const VERSION = packageVersion();

/** rqlite's Raft state names for our roles. */
function raftState(st: NodeStatus): "Leader" | "Follower" | "Candidate" {
  if (st.isLeader) return "Leader";
  return st.leader ? "Follower" : "Candidate";
}

function goDuration(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

export interface StatusContext {
  node: ChiselStore;
  url: string;
  bindAddr: string;
  startedAt: Date;
  maxBodyBytes: number;
  /** Whether requests need credentials (a users file is loaded). */
  auth?: boolean;
}

export function buildStatus(ctx: StatusContext): Record<string, unknown> {
  const st = ctx.node.status();
  const c = st.consensus;
  const now = new Date();
  const rt = runtimeInfo();
  return {
    build: { version: VERSION, runtime: `${rt.name} ${rt.version}` },
    http: {
      bind_addr: ctx.bindAddr,
      url: ctx.url,
      auth: ctx.auth ? "enabled" : "disabled",
      max_body_bytes: ctx.maxBodyBytes,
    },
    node: {
      id: st.peerId,
      start_time: ctx.startedAt.toISOString(),
      current_time: now.toISOString(),
      uptime: goDuration(now.getTime() - ctx.startedAt.getTime()),
    },
    os: { hostname: hostname(), pid: rt.pid, platform: rt.platform },
    runtime: { ...rt, memory: memoryInfo() },
    store: {
      node_id: st.peerId,
      members: st.members,
      leader: { node_id: st.leader ?? "", api_addr: st.isLeader ? ctx.url : undefined },
      is_leader: st.isLeader,
      data_dir: st.dataDir ?? null,
      in_memory: st.dataDir === undefined,
      applied_index: st.appliedIdx,
      connected: st.connected,
      multiaddrs: st.multiaddrs,
      config_mismatches: st.configMismatches,
      snapshots: {
        taken: st.snapshots.taken,
        last_index: st.snapshots.lastIdx ?? null,
        last_bytes: st.snapshots.lastBytes ?? null,
        last_export_ms: st.snapshots.lastExportMs ?? null,
        last_apply_hold_ms: st.snapshots.lastApplyHoldMs ?? null,
        apply_hold_ms: st.snapshots.applyHoldMs,
        apply_holds: st.snapshots.applyHolds,
      },
      raft: {
        state: raftState(st),
        role: c.role,
        phase: c.phase,
        leader_id: st.leader ?? "",
        commit_index: c.decidedIdx,
        decided_index: c.decidedIdx,
        accepted_index: c.acceptedIdx,
        compacted_index: c.compactedIdx,
        applied_index: st.appliedIdx,
        term: c.promise.n,
        promise: c.promise,
        accepted_round: c.acceptedRound,
        ballot: c.ble.ballot,
        quorum_connected: c.ble.quorumConnected,
        config_id: c.configId,
        num_peers: Math.max(0, st.members.length - 1),
        buffered: c.buffered,
      },
    },
  };
}

/** One entry of rqlite's /nodes. */
export interface RqliteNode {
  id: string;
  api_addr?: string;
  addr?: string;
  version: string;
  voter: boolean;
  reachable: boolean;
  leader: boolean;
  applied_index?: number;
  decided_index?: number;
  error?: string;
}

function toRqliteNode(m: MemberView, st: NodeStatus): RqliteNode {
  const n: RqliteNode = {
    id: m.peerId,
    version: m.reachable ? VERSION : "",
    voter: true,
    reachable: m.reachable,
    leader: m.reachable && m.peerId === st.leader,
  };
  if (m.httpUrl) n.api_addr = m.httpUrl;
  if (m.peerId === st.peerId && st.multiaddrs.length > 0) n.addr = st.multiaddrs[0];
  if (m.appliedIdx !== undefined) n.applied_index = m.appliedIdx;
  if (m.decidedIdx !== undefined) n.decided_index = m.decidedIdx;
  if (m.error) n.error = m.error;
  return n;
}

/** Every member, sorted by id: `{id: node}` (rqlite's default) or `{nodes: [node]}` (`ver=2`). */
export async function buildNodes(node: ChiselStore, timeoutMs: number, v2: boolean): Promise<unknown> {
  const views = await node.clusterStatus(timeoutMs);
  const st = node.status();
  const nodes = views.map((m) => toRqliteNode(m, st)).sort((
    a,
    b,
  ) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (v2) return { nodes };
  return Object.fromEntries(nodes.map((n) => [n.id, n]));
}

/** rqlite's /readyz text and status: ready when a leader is known and, if remote, connected. */
export function readiness(node: ChiselStore, noLeader: boolean): { status: number; text: string } {
  if (noLeader) return { status: 200, text: "[+]node ok" };
  const st = node.status();
  if (!st.leader) return { status: 503, text: "[+]node ok\n[+]leader does not exist" };
  if (st.leader !== st.peerId && !st.connected.includes(st.leader)) {
    return { status: 503, text: `[+]node ok\n[+]leader not contactable: no session with ${st.leader}` };
  }
  return { status: 200, text: "[+]node ok\n[+]leader ok\n[+]store ok" };
}
