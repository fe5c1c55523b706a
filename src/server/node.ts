/**
 * ChiselStore: one node of a replicated SQLite. It glues the consensus core (through Replica), durable
 * storage, the sql.js state machine and the libp2p transport, and serves execute/query on any node:
 * a follower forwards to the leader over /chiselstore/client/1.0.0 and returns once its own state has
 * applied the result (read-your-writes on the node you asked). No call hangs: each has a deadline.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import { loadOrCreateIdentity } from "../net/identity.ts";
import { checkIdentityKept } from "./data_dir.ts";
import { type NetLogger, silentLogger } from "../net/log.ts";
import type { ClientPolicy } from "../net/gater.ts";
import type { NetMetrics } from "../net/metrics.ts";
import { callRpc, serveRpc } from "../net/rpc.ts";
import { MuxRpcClient, serveMuxRpc } from "../net/mux_rpc.ts";
import { parsePeerAddr, PaxosTransport } from "../net/transport.ts";
import { multiaddr } from "@multiformats/multiaddr";
import {
  continueLogOps,
  type LogEntry,
  MemoryStorage,
  type Message,
  type NodeId,
  NotLeaderError,
  type OmniPaxosStatus,
  PendingReconfigError,
  type StopSign,
} from "../omnipaxos/mod.ts";
import { FileStorage, type FsyncMode } from "../storage/mod.ts";
import {
  type Command,
  encodeCommand,
  type Params,
  type RequestId,
  type Statement,
} from "../store/command.ts";
import { randomSeed } from "../store/determinism.ts";
import type { CommandResult, StatementResult } from "../store/results.ts";
import { type Checksum, SqlStateMachine } from "../store/state_machine.ts";
import { checkStatements } from "../store/validate.ts";
import {
  CLIENT_PROTOCOL,
  type ClientRequest,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FORWARD_PROTOCOL,
} from "./client_protocol.ts";
import type { Consistency } from "./consistency.ts";
import { NodeError } from "./errors.ts";
import { Replica, type SyncableStorage } from "./replica.ts";
import { type HttpApi, type HttpApiOptions, startHttpApi } from "./http/server.ts";
import { PendingRequests } from "./pending.ts";
import { RequestIds } from "./inflight.ts";
import { setImmediate } from "node:timers";
import { collectGarbage } from "./release_memory.ts";
import {
  ADMIN_PROTOCOL,
  type AdminRequest,
  decodeAdminRequest,
  decodeAdminResponse,
  encodeAdmin,
} from "./admin_protocol.ts";
import {
  type ClusterConfig,
  decodeAddrs,
  encodeAddrs,
  loadClusterConfig,
  logDirFor,
  saveClusterConfig,
} from "./cluster_config.ts";
import { statementArgs, type StatementInput } from "./call_args.ts";

export type { StatementInput };

/** Options of `execute`. */
export interface ExecuteOptions {
  /** Run all statements as one atomic transaction. */
  transaction?: boolean;
  /** Set it to retry a write safely: a request id is applied once, a retry gets the first result. */
  requestId?: RequestId;
  /** Deadline of the call (default `requestTimeoutMs`). */
  timeoutMs?: number;
}

/** Options of `query`. */
export interface QueryOptions {
  /** Default "weak". */
  consistency?: Consistency;
  timeoutMs?: number;
  /** Add per-statement `timeMs` (local reads). */
  timings?: boolean;
}

const EXECUTE_OPTION_KEYS = ["transaction", "requestId", "timeoutMs"];
const QUERY_OPTION_KEYS = ["consistency", "timeoutMs", "timings"];

export interface ChiselStoreOptions {
  /** Where the identity key, the log and snapshots live. Default "./data". Ignored with `memory`. */
  dataDir?: string;
  /** Keep everything in memory with a fresh identity (tests, throwaway and edge nodes). */
  memory?: boolean;
  /** libp2p listen multiaddrs. Default ["/ip4/127.0.0.1/tcp/0"] when there are peers, none otherwise. */
  listen?: string[];
  /** The other members' multiaddrs, each ending in /p2p/<peerId>. None: a single-node cluster. */
  peers?: string[];
  /** Serve as a circuit relay for members behind NAT. */
  relay?: boolean;
  /** Reserve a slot on this relay and be reachable through it. */
  relayVia?: string;
  /** Default "always": nothing is acknowledged before it is on disk. */
  fsync?: FsyncMode;
  /** Real-time length of one consensus tick. Default 10 ms. */
  tickMs?: number;
  /** Ticks per election timeout (heartbeat round). Default 30 (300 ms with the default tick). */
  electionTicks?: number;
  /** Snapshot the database and trim the log every this many applied entries. Default 10,000. */
  snapshotEntries?: number;
  /**
   * Serve the rqlite-compatible HTTP API on "host:port" (port 0: any free port). Binds 127.0.0.1 when only
   * a port is given. See docs/http-api.md.
   */
  http?: string;
  /** More options of that HTTP API: TLS, a users file, limits (docs/security.md). */
  httpOptions?: Omit<HttpApiOptions, "host" | "port">;
  /**
   * Join a running cluster through this member (multiaddr ending in /p2p/<peerId>): the node waits until
   * an operator adds it (`chiselstore join <this node's address>`, or `addMember` on any member), then
   * fetches its configuration and the database and starts. Ignored once the node has a configuration.
   */
  join?: string;
  /** Deadline of one execute/query call. Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Who besides members may connect over libp2p to use /chiselstore/client/1.0.0 and
   * /chiselstore/status/1.0.0 (`connect()` / P2pClient): "members" (default: nobody else), "any" (every peer;
   * there is no other authentication, so only on a trusted network), or a list of allowed client peer IDs.
   * Clients can never speak the paxos protocol.
   */
  clients?: ClientPolicy;
  log?: NetLogger;
  /**
   * Fault injection for tests and chaos runs: consensus messages for which this returns false are dropped
   * instead of sent (the protocol treats them as lost).
   */
  sendFilter?: (msg: Message<Uint8Array>) => boolean;
}

/** What `status()` reports. */
export interface NodeStatus {
  peerId: string;
  members: NodeId[];
  leader: NodeId | undefined;
  isLeader: boolean;
  appliedIdx: number;
  consensus: OmniPaxosStatus;
  /** Members with an open paxos session from this node. */
  connected: NodeId[];
  multiaddrs: string[];
  dataDir: string | undefined;
  /** The HTTP API's URL, once one is advertised. */
  httpUrl: string | undefined;
  /** Transport counters (absent on a node without networking). */
  net?: NetMetrics;
  /**
   * Members that run the same configuration id with a different member set: the nodes were started with
   * different --peers lists (every member must list the same set). Empty when all agree.
   */
  configMismatches: { peerId: NodeId; members: NodeId[] }[];
  /** Snapshots this process took (trimming the log behind them) and what they cost. */
  snapshots: SnapshotStats;
}

/** What the node's own snapshots cost: the export stalls the process, the write out stalls applying. */
export interface SnapshotStats {
  /** Snapshots taken since the process started. */
  taken: number;
  /** Index, size and export time of the newest one. */
  lastIdx?: number;
  lastBytes?: number;
  lastExportMs?: number;
  /**
   * Holds of applying while a snapshot's bytes were written out (file storage only), by this configuration's
   * replica: how many, for how long in total and the newest one, in ms.
   */
  applyHolds: number;
  applyHoldMs: number;
  lastApplyHoldMs?: number;
}

const MAX_RPC_BYTES = 64 << 20;
/** Largest configuration + database a joining node accepts from a member. */
const MAX_JOIN_BYTES = 1 << 30;
/** How long the previous configuration's replica keeps answering after a membership change. */
const RETIRE_AFTER_MS = 10_000;
/** Snapshots at least this large are followed by a full garbage collection (see #afterSnapshot). */
const GC_AFTER_SNAPSHOT_BYTES = 16 << 20;

type ClosableStorage = SyncableStorage<Uint8Array> & {
  close?(): Promise<void>;
  /** FileStorage: resolves once the current snapshot's bytes are written out and no longer held. */
  snapshotWritten?(): Promise<void>;
};
/** Members ask each other for their status (JSON) to build cluster views: /nodes, the dashboard. */
export const STATUS_PROTOCOL = "/chiselstore/status/1.0.0";

/** One member as seen from this node: its own status when reachable. */
export interface MemberView {
  peerId: NodeId;
  reachable: boolean;
  /** This member believes it leads (accept phase). */
  leader: boolean;
  httpUrl?: string;
  appliedIdx?: number;
  decidedIdx?: number;
  /** Members this member has a session with: a row of the connectivity matrix. */
  connected?: NodeId[];
  /** Its libp2p multiaddrs. */
  addrs?: string[];
  /** The configuration it runs. */
  configId?: number;
  members?: NodeId[];
  error?: string;
}

function normalize(input: StatementInput | StatementInput[]): Statement[] {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new NodeError("bad-request", "no statements");
  return list.map((s) => (typeof s === "string" ? { sql: s } : s));
}

/** "host:port", ":port" or "port" (host defaults to 127.0.0.1). */
export function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(":");
  const host = i > 0 ? s.slice(0, i).replace(/^\[(.*)\]$/, "$1") : "127.0.0.1";
  const port = Number(i >= 0 ? s.slice(i + 1) : s);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NodeError("bad-request", `bad HTTP address "${s}": expected host:port`);
  }
  return { host, port };
}

/** Settle with `p`, or reject with a timeout NodeError at `deadline`. */
async function withDeadline<T>(p: Promise<T>, deadline: number, leader?: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NodeError("timeout", "no quorum confirmed the request before its deadline", leader)),
      Math.max(1, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ChiselStore {
  readonly peerId: string;
  readonly #o: ChiselStoreOptions;
  readonly #store: SqlStateMachine;
  #storage!: ClosableStorage;
  /** The node's own snapshots (the replica counts the holds). */
  readonly #snapshots: Omit<SnapshotStats, "applyHolds" | "applyHoldMs" | "lastApplyHoldMs"> = { taken: 0 };
  readonly #transport: PaxosTransport | undefined;
  #replica!: Replica<Uint8Array>;
  #config: ClusterConfig;
  /** The previous configuration's replica, kept a while to answer stragglers after a membership change. */
  #retiring: { replica: Replica<Uint8Array>; storage: ClosableStorage; configId: number } | undefined;
  /** This node was removed from the cluster: it serves nothing any more. */
  #removed = false;
  /** Peers whose member set differs from ours (see #checkPeerConfig). */
  readonly #mismatches = new Map<NodeId, NodeId[]>();
  #transition: Promise<void> | undefined;
  readonly #dataDir: string | undefined;
  readonly #pending = new PendingRequests();
  readonly #log: NetLogger;
  readonly #clientId: string;
  /** This node's own request ids, acknowledged as they are answered (src/server/inflight.ts). */
  readonly #ids: RequestIds;
  #stopped = false;
  #httpUrl: string | undefined;
  #http: HttpApi | undefined;
  /** Forwarding to the leader: one long-lived multiplexed stream per peer. */
  #forwarder: MuxRpcClient | undefined;

  private constructor(
    o: ChiselStoreOptions,
    parts: {
      peerId: string;
      config: ClusterConfig;
      store: SqlStateMachine;
      transport: PaxosTransport | undefined;
      dataDir: string | undefined;
    },
  ) {
    this.#o = o;
    this.peerId = parts.peerId;
    this.#config = parts.config;
    this.#store = parts.store;
    this.#transport = parts.transport;
    this.#dataDir = parts.dataDir;
    this.#log = o.log ?? silentLogger;
    // A fresh client id per process: request ids stay globally unique across restarts.
    this.#clientId = `${parts.peerId.slice(-12)}-${randomSeed().toString(36)}`;
    this.#ids = new RequestIds(this.#clientId);
  }

  /** Members of the configuration this node runs. */
  get members(): NodeId[] {
    return [...this.#config.members];
  }

  /** The configuration this node runs (id, members, first log index, addresses). */
  get configuration(): ClusterConfig {
    return structuredClone(this.#config);
  }

  #makeReplica(config: ClusterConfig, storage: ClosableStorage, appliedIdx: number): Replica<Uint8Array> {
    const o = this.#o;
    return new Replica<Uint8Array>({
      config: {
        pid: this.peerId,
        nodes: config.members,
        configurationId: config.configId,
        electionTicks: o.electionTicks ?? 30,
        resendTicks: 2 * (o.electionTicks ?? 30),
        snapshotter: this.#store.snapshotter(),
      },
      storage,
      appliedIdx,
      tickMs: o.tickMs ?? 10,
      send: (m) => {
        if (!o.sendFilter || o.sendFilter(m)) this.#transport?.send(m);
      },
      apply: (entries) => this.#apply(entries),
      onLeaderChange: (l) => {
        this.#log("info", `leader is now ${l ?? "unknown"}${l === this.peerId ? " (this node)" : ""}`);
        // Proposals waiting at a deposed leader may never be decided: their callers retry (same request id).
        if (l !== this.peerId) this.#pending.failAll(new NodeError("not-leader", "leadership changed", l));
      },
      onFatal: (e) => this.#log("error", `consensus stopped: ${(e as Error)?.stack ?? e}`),
    });
  }

  /** Opens the log of configuration `configId` (file or memory), telling the operator what recovery did. */
  async #openStorage(configId: number): Promise<ClosableStorage> {
    if (!this.#dataDir) return new MemoryStorage<Uint8Array>();
    const dir = logDirFor(this.#dataDir, configId);
    const storage = await FileStorage.open(dir, {
      fsync: this.#o.fsync ?? "always",
      onSnapshotWritten: (bytes) => this.#afterSnapshot(bytes),
    });
    const r = storage.recoveryReport;
    if (r.truncatedAt !== undefined) {
      this.#log(
        "warn",
        `${dir}: cut a torn tail of ${r.truncatedBytes} byte(s) at offset ${r.truncatedAt} of ${r.segment} ` +
          `(${r.tornReason ?? "invalid record"}): bytes written after the last completed fsync`,
      );
    }
    if (r.brokeStaleLock) this.#log("warn", `${dir}: took over the lock of a process that had crashed`);
    return storage;
  }

  /**
   * A snapshot file was written and its bytes dropped: after a large one, a full garbage collection gives the
   * dropped database copy back at once (src/server/release_memory.ts), once the current work has let go of it.
   */
  #afterSnapshot(bytes: number): void {
    this.#snapshots.lastBytes = bytes;
    if (bytes < GC_AFTER_SNAPSHOT_BYTES) return;
    setImmediate(() => {
      const t0 = performance.now();
      if (collectGarbage()) {
        this.#log(
          "debug",
          `garbage collected after a ${(bytes / 2 ** 20).toFixed(0)} MiB snapshot in ${
            (performance.now() - t0).toFixed(0)
          } ms`,
        );
      }
    });
  }

  /** Start a node: load (or create) its identity and state, join its peers, begin electing. */
  static async start(o: ChiselStoreOptions = {}): Promise<ChiselStore> {
    const dataDir = o.memory ? undefined : (o.dataDir ?? "./data");
    let privateKey: PrivateKey;
    if (dataDir) {
      await checkIdentityKept(dataDir);
      privateKey = (await loadOrCreateIdentity(dataDir)).privateKey;
    } else privateKey = await generateKeyPair("Ed25519");
    const peerId = peerIdFromPrivateKey(privateKey).toString();
    const peers = o.peers ?? [];
    const memberIds = new Set([peerId]);
    for (const addr of peers) {
      try {
        memberIds.add(peerIdFromString(parsePeerAddr(addr).peer).toString());
      } catch (e) {
        throw new NodeError("bad-request", `bad peer address ${addr}: ${(e as Error).message}`);
      }
    }
    const saved = dataDir ? await loadClusterConfig(dataDir) : undefined;
    const joining = !saved && o.join !== undefined;
    const addrs: Record<NodeId, string[]> = {};
    for (const addr of peers) (addrs[parsePeerAddr(addr).peer] ??= []).push(addr);
    const config: ClusterConfig = saved ??
      { configId: 1, members: joining ? [peerId] : [...memberIds].sort(), startIdx: 0, addrs };
    const members = config.members;
    const store = await SqlStateMachine.open();
    const networked = members.length > 1 || joining || (o.listen?.length ?? 0) > 0 || o.relay === true;
    const transport = networked
      ? new PaxosTransport({
        privateKey,
        members,
        listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"],
        peers: [...peers, ...Object.values(saved?.addrs ?? {}).flat()],
        ...(o.relay ? { relay: true } : {}),
        ...(o.relayVia ? { relayVia: o.relayVia } : {}),
        ...(o.clients ? { clients: o.clients } : {}),
        log: o.log ?? silentLogger,
      })
      : undefined;
    const node = new ChiselStore(o, { peerId, config, store, transport, dataDir });
    await node.#start(joining ? o.join : undefined);
    return node;
  }

  async #start(joinVia: string | undefined): Promise<void> {
    const t = this.#transport;
    if (t) {
      t.onMessage = (m) => {
        if (m.configId === this.#config.configId) this.#replica?.receive(m);
        else if (m.configId === this.#retiring?.configId) this.#retiring.replica.receive(m);
      };
      t.onSession = (p) => {
        this.#replica?.sessionStarted(p);
        this.#retiring?.replica.sessionStarted(p);
        void this.#checkPeerConfig(p);
      };
      await t.start();
      await serveRpc(t.libp2p, {
        protocol: ADMIN_PROTOCOL,
        maxRequestBytes: 1 << 16,
        handler: (req, remote) => this.#serveAdmin(req, remote),
      });
      await serveRpc(t.libp2p, {
        protocol: CLIENT_PROTOCOL,
        maxRequestBytes: MAX_RPC_BYTES,
        handler: (req, remote) => this.#serve(req, remote),
        onError: (remote, e) => this.#log("debug", `client stream from ${remote}: ${(e as Error)?.message}`),
      });
      // Members forward over one long-lived stream each (mux_rpc.ts); the per-call protocol above stays for
      // P2pClient and older callers. Both run the same handler.
      await serveMuxRpc(t.libp2p, {
        protocol: FORWARD_PROTOCOL,
        maxRequestBytes: MAX_RPC_BYTES,
        handler: (req, remote) => this.#serve(req, remote),
        onError: (remote, e) => this.#log("debug", `forward stream from ${remote}: ${(e as Error)?.message}`),
      });
      this.#forwarder = new MuxRpcClient(t.libp2p, {
        protocol: FORWARD_PROTOCOL,
        maxResponseBytes: MAX_RPC_BYTES,
      });
      await serveRpc(t.libp2p, {
        protocol: STATUS_PROTOCOL,
        maxRequestBytes: 16,
        handler: () => Promise.resolve(new TextEncoder().encode(JSON.stringify(this.#ownView()))),
      });
    }
    if (joinVia) {
      await this.#joinThrough(joinVia);
    } else {
      this.#storage = await this.#openStorage(this.#config.configId);
      this.#replica = this.#makeReplica(this.#config, this.#storage, 0);
      this.#replica.start();
    }
    if (this.#o.http !== undefined) {
      const { host, port } = parseHostPort(this.#o.http);
      this.#http = await startHttpApi(this, { ...this.#o.httpOptions, host, port });
    }
    this.#log(
      "info",
      `node ${this.peerId} started: configuration ${this.#config.configId} with ${this.#config.members.length} member(s), data ${
        this.#dataDir ?? "in memory"
      }`,
    );
  }

  /** Stop serving, stop consensus, close the files. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#http?.close();
    this.#pending.failAll(new NodeError("stopped", "node stopped"));
    await this.#transition?.catch(() => {});
    await this.#replica?.stop();
    await this.#retire();
    this.#forwarder?.close();
    await this.#transport?.stop();
    await this.#storage?.close?.();
    this.#store.close();
  }

  get leader(): NodeId | undefined {
    return this.#removed ? undefined : this.#replica?.leader;
  }

  isLeader(): boolean {
    return !this.#removed && (this.#replica?.core.isLeader() ?? false);
  }

  multiaddrs(): string[] {
    return this.#transport?.getMultiaddrs() ?? [];
  }

  /** The other members this node has a session with now (cheap: no addresses are looked up, unlike status()). */
  connectedPeers(): NodeId[] {
    return this.members.filter((m) => m !== this.peerId && this.#transport?.isConnected(m));
  }

  status(): NodeStatus {
    return {
      peerId: this.peerId,
      members: [...this.members],
      leader: this.leader,
      isLeader: this.isLeader(),
      appliedIdx: this.#replica.appliedIdx,
      consensus: this.#replica.core.status(),
      connected: this.connectedPeers(),
      multiaddrs: this.multiaddrs(),
      dataDir: this.#o.memory ? undefined : (this.#o.dataDir ?? "./data"),
      httpUrl: this.#httpUrl,
      ...(this.#transport ? { net: this.#transport.metrics() } : {}),
      configMismatches: [...this.#mismatches].map(([peerId, members]) => ({ peerId, members })),
      snapshots: this.#snapshotStats(),
    };
  }

  /** Tell the cluster where this node's HTTP API listens (shown by /nodes and the dashboard). */
  advertiseHttp(url: string | undefined): void {
    this.#httpUrl = url;
  }

  #ownView(): MemberView {
    const st = this.status();
    return {
      peerId: this.peerId,
      reachable: true,
      leader: st.isLeader,
      ...(st.httpUrl ? { httpUrl: st.httpUrl } : {}),
      appliedIdx: st.appliedIdx,
      decidedIdx: st.consensus.decidedIdx,
      connected: st.connected,
      addrs: st.multiaddrs,
      configId: this.#config.configId,
      members: this.members,
    };
  }

  /**
   * On every new session: does the peer run our configuration with the same members? Nodes started with
   * different --peers lists would each count quorums over a different set, so a mismatch is logged as an
   * error (once per peer and set) and shown in status().configMismatches.
   */
  async #checkPeerConfig(peer: NodeId): Promise<void> {
    const t = this.#transport;
    if (!t || this.#stopped) return;
    let view: MemberView;
    try {
      const bytes = await callRpc(t.libp2p, peerIdFromString(peer), STATUS_PROTOCOL, new Uint8Array(1), {
        timeoutMs: 5_000,
        maxResponseBytes: 1 << 20,
      });
      view = JSON.parse(new TextDecoder().decode(bytes)) as MemberView;
    } catch {
      return; // unreachable right now: the next session checks again
    }
    const theirs = [...(view.members ?? [])].sort();
    const ours = [...this.#config.members].sort();
    const same = view.configId !== this.#config.configId || theirs.join() === ours.join();
    const known = this.#mismatches.get(peer);
    if (same) {
      this.#mismatches.delete(peer);
      return;
    }
    if (known?.join() === theirs.join()) return;
    this.#mismatches.set(peer, theirs);
    this.#log(
      "error",
      `member set mismatch with ${peer}: it runs configuration ${view.configId} with [${
        theirs.join(", ")
      }], ` +
        `this node with [${ours.join(", ")}]. Every member must be started with the same set (--peers).`,
    );
  }

  /** Every member's own view, asked over libp2p (unreachable members are marked so, never awaited long). */
  async clusterStatus(timeoutMs = 2000): Promise<MemberView[]> {
    return await Promise.all(this.members.map(async (m): Promise<MemberView> => {
      if (m === this.peerId) return this.#ownView();
      try {
        const bytes = await callRpc(
          this.#transport!.libp2p,
          peerIdFromString(m),
          STATUS_PROTOCOL,
          new Uint8Array(1),
          {
            timeoutMs,
            maxResponseBytes: 1 << 20,
          },
        );
        const v = JSON.parse(new TextDecoder().decode(bytes)) as MemberView;
        return { ...v, peerId: m, reachable: true };
      } catch (e) {
        return { peerId: m, reachable: false, leader: false, error: (e as Error).message };
      }
    }));
  }

  /** SHA-256 of this node's database at its applied index, to compare replicas. */
  checksum(): Promise<Checksum> {
    return this.#store.checksum();
  }

  /**
   * Run statements through the log (writes, or reads that must see everything). Resolves with the
   * command's result once it is decided and applied on this node (read-your-writes here).
   *
   * `execute(sql, params?, options?)` runs one statement with positional (`?`) or named (`:name`)
   * parameters; `execute(statements, options?)` runs several (strings or `{ sql, params }`), as one atomic
   * transaction with `{ transaction: true }`. SQL errors are per-statement results, not exceptions.
   * @throws NodeError: bad-request (refused statement), timeout, no-leader, stopped.
   */
  async execute(sql: string, params?: Params, opts?: ExecuteOptions): Promise<CommandResult>;
  async execute(statements: StatementInput | StatementInput[], opts?: ExecuteOptions): Promise<CommandResult>;
  async execute(
    first: StatementInput | StatementInput[],
    second?: Params | ExecuteOptions,
    third?: ExecuteOptions,
  ): Promise<CommandResult> {
    const [input, opts] = statementArgs<ExecuteOptions>(first, second, third, EXECUTE_OPTION_KEYS);
    const stmts = this.#validated(input);
    const deadline = Date.now() + (opts.timeoutMs ?? this.#timeout());
    return await this.#ids.use(opts.requestId, (requestId) =>
      this.#throughLog(
        { requestId, statements: stmts, transaction: opts.transaction ?? false, timestampMs: 0, seed: 0n },
        deadline,
      ));
  }

  /**
   * Read at a consistency level (default "weak"): `query(sql, params?, options?)` or
   * `query(statements, options?)`. Writes are refused outside "strong".
   * @throws NodeError
   */
  async query(sql: string, params?: Params, opts?: QueryOptions): Promise<StatementResult[]>;
  async query(statements: StatementInput | StatementInput[], opts?: QueryOptions): Promise<StatementResult[]>;
  async query(
    first: StatementInput | StatementInput[],
    second?: Params | QueryOptions,
    third?: QueryOptions,
  ): Promise<StatementResult[]> {
    const [input, opts] = statementArgs<QueryOptions>(first, second, third, QUERY_OPTION_KEYS);
    const stmts = this.#validated(input);
    const level = opts.consistency ?? "weak";
    const deadline = Date.now() + (opts.timeoutMs ?? this.#timeout());
    if (level === "strong") {
      const r = await this.#ids.use(undefined, (requestId) =>
        this.#throughLog(
          { requestId, statements: stmts, transaction: false, timestampMs: 0, seed: 0n },
          deadline,
          false,
        ));
      return r.results;
    }
    if (level === "none") return this.#store.query(stmts, { timings: opts.timings ?? false });
    return (await this.#atLeader(deadline, () => this.#leaderRead(stmts, level), {
      op: "query",
      consistency: level,
      command: {
        requestId: { clientId: this.#clientId, seq: 1 },
        statements: stmts,
        transaction: false,
        timestampMs: 0,
        seed: 0n,
      },
    })).results;
  }

  #timeout(): number {
    return this.#o.requestTimeoutMs ?? 10_000;
  }

  #validated(input: StatementInput | StatementInput[]): Statement[] {
    if (this.#stopped) throw new NodeError("stopped", "node stopped");
    if (this.#removed) throw new NodeError("not-member", "this node was removed from the cluster");
    const stmts = normalize(input);
    const invalid = checkStatements(stmts);
    if (invalid) throw new NodeError("bad-request", invalid.message);
    return stmts;
  }

  /**
   * Propose through the leader (here or remote). Writes then wait until this node applied them too, so
   * the caller reads its own writes here; a strong read returns the leader's answer as it is.
   */
  async #throughLog(command: Command, deadline: number, waitLocal = true): Promise<CommandResult> {
    const request: ClientRequest = waitLocal
      ? { op: "execute", command }
      : { op: "query", consistency: "strong", command };
    const result = await this.#atLeader(deadline, () => this.#proposeHere(command, deadline), request);
    if (waitLocal) await this.#waitAppliedBy(result.index + 1, deadline);
    return result;
  }

  /**
   * Run `local` if this node leads, else send `request` to the leader; retry across leader changes
   * until the deadline (request ids make retried writes exactly-once).
   */
  async #atLeader(
    deadline: number,
    local: () => Promise<CommandResult>,
    request: ClientRequest,
  ): Promise<CommandResult> {
    let last: NodeError | undefined;
    while (Date.now() < deadline && !this.#stopped) {
      const leader = this.leader;
      try {
        if (leader === this.peerId && this.isLeader()) return await withDeadline(local(), deadline, leader);
        if (leader && leader !== this.peerId && this.#transport) {
          return await this.#forward(leader, request, deadline);
        }
        last = new NodeError("no-leader", "no leader is known yet (election in progress or no quorum)");
      } catch (e) {
        if (!(e instanceof NodeError) || e.code === "bad-request" || e.code === "stopped") throw e;
        last = e;
      }
      await sleep(Math.min(20, Math.max(0, deadline - Date.now())));
    }
    if (this.#stopped) throw new NodeError("stopped", "node stopped");
    const leader = this.leader;
    throw new NodeError(
      last?.code === "no-leader" ? "no-leader" : "timeout",
      `request not completed within its deadline${last ? ` (last: ${last.message})` : ""}${
        leader ? `; leader is ${leader}` : "; no leader known"
      }`,
      leader,
    );
  }

  async #forward(leader: NodeId, request: ClientRequest, deadline: number): Promise<CommandResult> {
    const timeoutMs = Math.max(1, deadline - Date.now());
    let bytes: Uint8Array;
    try {
      bytes = await this.#forwarder!.call(peerIdFromString(leader), encodeRequest(request), { timeoutMs });
    } catch (e) {
      throw new NodeError(
        "timeout",
        `forwarding to leader ${leader} failed: ${(e as Error).message}`,
        leader,
      );
    }
    const res = decodeResponse(bytes);
    if (!res.ok) throw res.error;
    return res.result;
  }

  /**
   * The leader side of a forwarded request, or a client's request (from a non-member, served like a local
   * call: forwarded to the leader if need be). Answers errors instead of throwing.
   */
  async #serve(bytes: Uint8Array, remote: string): Promise<Uint8Array> {
    try {
      const req = decodeRequest(bytes);
      if (!this.#transport?.isMember(remote)) {
        return encodeResponse({ ok: true, result: await this.#serveClient(req) });
      }
      const deadline = Date.now() + this.#timeout();
      if (!this.isLeader()) {
        throw new NodeError("not-leader", "this node is not the leader", this.leader);
      }
      const invalid = checkStatements(req.command.statements);
      if (invalid) throw new NodeError("bad-request", invalid.message);
      const result = req.op === "execute"
        ? await this.#proposeHere(req.command, deadline)
        : req.consistency === "strong"
        ? await this.#proposeHere(req.command, deadline)
        : await this.#leaderRead(req.command.statements, req.consistency);
      return encodeResponse({ ok: true, result });
    } catch (e) {
      const err = e instanceof NodeError ? e : new NodeError("internal", (e as Error)?.message ?? String(e));
      return encodeResponse({ ok: false, error: err });
    }
  }

  async #serveClient(req: ClientRequest): Promise<CommandResult> {
    const { statements, transaction, requestId } = req.command;
    if (req.op === "execute") return await this.execute(statements, { transaction, requestId });
    const results = await this.query(statements, { consistency: req.consistency });
    return { index: this.#replica.appliedIdx, results };
  }

  /** Leader: propose the command with this node's clock and a fresh seed; resolve when applied. */
  #proposeHere(command: Command, deadline: number): Promise<CommandResult> {
    const stamped: Command = { ...command, timestampMs: Date.now(), seed: randomSeed() };
    const done = this.#pending.wait(command.requestId, deadline);
    try {
      this.#replica.propose(encodeCommand(stamped));
    } catch (e) {
      this.#pending.cancel(command.requestId);
      if (e instanceof NotLeaderError) throw new NodeError("not-leader", e.message, e.leader);
      if (e instanceof PendingReconfigError) {
        throw new NodeError("reconfiguring", "a membership change is in progress", this.leader);
      }
      throw new NodeError("internal", `cannot propose: ${(e as Error).message}`);
    }
    return done;
  }

  /** Leader-local reads: weak reads at once, linearizable ones after a read barrier. */
  async #leaderRead(statements: Statement[], level: Consistency): Promise<CommandResult> {
    if (level === "linearizable") {
      try {
        await this.#replica.readBarrier();
      } catch (e) {
        if (e instanceof NotLeaderError) throw new NodeError("not-leader", e.message, e.leader);
        throw e;
      }
    }
    return { index: this.#replica.appliedIdx, results: this.#store.query(statements) };
  }

  async #waitAppliedBy(idx: number, deadline: number): Promise<void> {
    try {
      await withDeadline(this.#replica.waitApplied(idx), deadline);
    } catch {
      throw new NodeError("timeout", `decided at ${idx - 1} but not yet applied on this node`, this.leader);
    }
  }

  // ---- membership ----

  /**
   * Add the node at `addr` (its multiaddr, ending in /p2p/<peerId>) to the cluster: the leader proposes a
   * stop sign with the new member set; resolves with the new configuration once this node runs it. The
   * new node, started with `join` pointing at any member, then fetches the database and takes part.
   * @throws NodeError: bad-request (bad address, already a member), reconfiguring, timeout, no-leader.
   */
  async addMember(addr: string, opts: { timeoutMs?: number } = {}): Promise<ClusterConfig> {
    let peer: string;
    try {
      peer = peerIdFromString(parsePeerAddr(addr).peer).toString();
    } catch (e) {
      throw new NodeError("bad-request", `bad member address ${addr}: ${(e as Error).message}`);
    }
    if (this.#config.members.includes(peer)) {
      throw new NodeError("bad-request", `${peer} is already a member`);
    }
    return await this.#reconfigure({ op: "join", addr }, opts.timeoutMs);
  }

  /**
   * Remove member `id` (a peer ID) from the cluster through a stop sign; resolves with the new configuration.
   * @throws NodeError: bad-request (not a member, last member), reconfiguring, timeout, no-leader.
   */
  async removeMember(id: string, opts: { timeoutMs?: number } = {}): Promise<ClusterConfig> {
    if (!this.#config.members.includes(id)) throw new NodeError("bad-request", `${id} is not a member`);
    if (this.#config.members.length === 1) {
      throw new NodeError("bad-request", "cannot remove the last member");
    }
    return await this.#reconfigure({ op: "remove", id }, opts.timeoutMs);
  }

  async #reconfigure(
    req: AdminRequest & { op: "join" | "remove" },
    timeoutMs?: number,
  ): Promise<ClusterConfig> {
    if (this.#stopped || this.#removed) throw new NodeError("stopped", "node stopped or removed");
    const deadline = Date.now() + (timeoutMs ?? this.#timeout());
    // Retried until the deadline: not the leader yet, no leader yet, or a stop sign in flight (another change,
    // or this one's switch still under way) all pass; the leader side is idempotent, so a retry is safe.
    const retryable = (code: string) =>
      code === "not-leader" || code === "no-leader" || code === "reconfiguring";
    while (Date.now() < deadline) {
      const leader = this.leader;
      if (leader === this.peerId && this.isLeader()) {
        try {
          return await this.#reconfigureHere(req, deadline);
        } catch (e) {
          if (!(e instanceof NodeError) || !retryable(e.code)) throw e;
        }
      } else if (leader && this.#transport) {
        try {
          const bytes = await callRpc(
            this.#transport.libp2p,
            peerIdFromString(leader),
            ADMIN_PROTOCOL,
            encodeAdmin(req),
            {
              timeoutMs: Math.max(1, deadline - Date.now()),
              maxResponseBytes: 1 << 20,
            },
          );
          const res = decodeAdminResponse(bytes);
          if (res.ok) return res.config;
          if (!retryable(res.code)) throw new NodeError(res.code, res.message, res.leader);
        } catch (e) {
          if (e instanceof NodeError) throw e;
        }
      }
      await sleep(50);
    }
    throw new NodeError("timeout", "membership change not completed before its deadline", this.leader);
  }

  /** Leader: propose the stop sign, wait until this node runs the next configuration. */
  async #reconfigureHere(
    req: AdminRequest & { op: "join" | "remove" },
    deadline: number,
  ): Promise<ClusterConfig> {
    const from = this.#config;
    // Already in effect (a retried request whose first attempt went through): nothing to propose.
    const target = req.op === "join" ? parsePeerAddr(req.addr).peer : req.id;
    if (from.members.includes(target) === (req.op === "join")) return this.configuration;
    const addrs: Record<NodeId, string[]> = structuredClone(from.addrs);
    addrs[this.peerId] = this.multiaddrs();
    let members: NodeId[];
    if (req.op === "join") {
      const peer = parsePeerAddr(req.addr).peer;
      members = [...new Set([...from.members, peer])].sort();
      addrs[peer] = [req.addr];
    } else {
      members = from.members.filter((m) => m !== req.id);
      delete addrs[req.id];
    }
    try {
      this.#replica.core.reconfigure(members, encodeAddrs(addrs));
      this.#replica.kick();
    } catch (e) {
      if (e instanceof PendingReconfigError) {
        throw new NodeError("reconfiguring", "another membership change is in progress; retry when it ends");
      }
      throw new NodeError("bad-request", (e as Error).message);
    }
    this.#log("info", `proposed configuration ${from.configId + 1}: ${members.length} member(s)`);
    while (this.#config.configId === from.configId) {
      if (Date.now() > deadline) {
        throw new NodeError(
          "timeout",
          "the membership change was proposed but not decided before the deadline",
        );
      }
      await sleep(20);
    }
    return this.configuration;
  }

  /** The stop sign at `ssIdx` is decided and applied: run the next configuration (or leave). */
  async #enterNext(ss: StopSign, ssIdx: number): Promise<void> {
    if (ss.configId <= this.#config.configId) return;
    const next: ClusterConfig = {
      configId: ss.configId,
      members: [...ss.nodes].sort(),
      startIdx: ssIdx + 1,
      addrs: { ...this.#config.addrs, ...decodeAddrs(ss.metadata) },
    };
    for (const id of Object.keys(next.addrs)) if (!next.members.includes(id)) delete next.addrs[id];
    this.#log("info", `configuration ${next.configId} decided: members ${next.members.join(", ")}`);
    if (!next.members.includes(this.peerId)) {
      this.#removed = true;
      this.#config = next;
      this.#pending.failAll(new NodeError("not-member", "this node was removed from the cluster"));
      this.#log("info", "this node was removed from the cluster; it serves no more requests");
      return;
    }
    const storage = await this.#openStorage(next.configId);
    if (storage.getPromise() === undefined && storage.getCompactedIdx() === 0) {
      // A fresh log continuing the global index, with the state up to the stop sign as its snapshot.
      storage.write(continueLogOps(next.startIdx, this.#store.createSnapshot()));
      await storage.sync?.();
    }
    await this.#adopt(next, storage, next.startIdx);
  }

  /** Switch to `next`: persist it, start its replica, keep the old one briefly for stragglers. */
  async #adopt(next: ClusterConfig, storage: ClosableStorage, appliedIdx: number): Promise<void> {
    if (this.#dataDir) await saveClusterConfig(this.#dataDir, next);
    await this.#retire();
    if (this.#replica) {
      this.#retiring = { replica: this.#replica, storage: this.#storage, configId: this.#config.configId };
      const old = this.#retiring;
      setTimeout(() => {
        if (this.#retiring === old) void this.#retire();
      }, RETIRE_AFTER_MS);
    }
    this.#config = next;
    this.#storage = storage;
    this.#replica = this.#makeReplica(next, storage, appliedIdx);
    const t = this.#transport;
    if (t) {
      t.setMembers(next.members);
      for (const [id, list] of Object.entries(next.addrs)) {
        if (id === this.peerId) continue;
        for (const a of list) await t.addPeerAddress(a).catch(() => {});
      }
    }
    if (!this.#stopped) this.#replica.start();
  }

  async #retire(): Promise<void> {
    const r = this.#retiring;
    if (!r) return;
    this.#retiring = undefined;
    await r.replica.stop();
    await r.storage.close?.();
  }

  /** A node started with `join`: wait until a member answers with our configuration, then start it. */
  async #joinThrough(addr: string): Promise<void> {
    const t = this.#transport!;
    const member = parsePeerAddr(addr).peer;
    t.allowPeer(member);
    this.#log(
      "info",
      `waiting to be added to the cluster: run \`chiselstore join ${
        this.multiaddrs()[0] ?? this.peerId
      }\` against a member`,
    );
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        const bytes = await callRpc(t.libp2p, multiaddr(addr), ADMIN_PROTOCOL, encodeAdmin({ op: "fetch" }), {
          timeoutMs: 5_000,
          maxResponseBytes: MAX_JOIN_BYTES,
        });
        const res = decodeAdminResponse(bytes);
        if (
          res.ok && res.config.members.includes(this.peerId) && res.snapshot && res.snapshotIdx !== undefined
        ) {
          const storage = await this.#openStorage(res.config.configId);
          storage.write(continueLogOps(res.snapshotIdx, res.snapshot));
          await storage.sync?.();
          this.#store.applySnapshot(res.snapshotIdx, res.snapshot);
          await this.#adopt(res.config, storage, res.snapshotIdx);
          this.#log("info", `joined configuration ${res.config.configId}`);
          return;
        }
      } catch {
        // Not added yet (the member's gater refuses us until then), or the member is unreachable: retry.
      }
      await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
    }
    throw new NodeError("stopped", "node stopped before it joined a cluster");
  }

  /** The member side of /chiselstore/admin/1.0.0. */
  async #serveAdmin(bytes: Uint8Array, remote: string): Promise<Uint8Array> {
    try {
      const req = decodeAdminRequest(bytes);
      if (req.op === "fetch") {
        if (!this.#config.members.includes(remote) || !this.#replica) {
          throw new NodeError("not-member", "you are not a member of this cluster's configuration");
        }
        return encodeAdmin({
          ok: true,
          config: this.configuration,
          snapshot: this.#store.createSnapshot(),
          snapshotIdx: this.#store.appliedIndex,
        });
      }
      // Admitted libp2p clients (the `clients` option) reach this protocol too: only members change membership.
      if (!this.#config.members.includes(remote)) {
        throw new NodeError(
          "not-member",
          "only members of this cluster's configuration change its membership",
        );
      }
      if (!this.isLeader()) throw new NodeError("not-leader", "this node is not the leader", this.leader);
      const config = await this.#reconfigureHere(req, Date.now() + this.#timeout());
      return encodeAdmin({ ok: true, config });
    } catch (e) {
      const err = e instanceof NodeError ? e : new NodeError("internal", (e as Error)?.message ?? String(e));
      return encodeAdmin({
        ok: false,
        code: err.code,
        message: err.message,
        ...(err.leader ? { leader: err.leader } : {}),
      });
    }
  }

  /** The applier: decided entries in order, exactly once per process. */
  #apply(entries: LogEntry<Uint8Array>[]): void {
    for (const e of entries) {
      if (e.kind === "decided") {
        const result = this.#store.apply(e.idx, e.entry);
        if (result) this.#pending.resolve(e.entry, result);
      } else if (e.kind === "stopSign") {
        // The configuration ends here: this slot holds no SQL; the next configuration starts after it.
        this.#store.skip(e.idx);
        const ss = e.ss;
        const idx = e.idx;
        this.#transition = (this.#transition ?? Promise.resolve()).then(() => this.#enterNext(ss, idx)).catch(
          (err) => this.#log("error", `membership change failed: ${(err as Error)?.stack ?? err}`),
        );
      } else if (e.kind === "snapshotted") {
        this.#store.applySnapshot(e.trimmedIdx, e.snapshot);
      } else if (e.kind === "trimmed") {
        if (this.#store.appliedIndex < e.trimmedIdx) {
          throw new Error(
            `the log is trimmed to ${e.trimmedIdx} without a snapshot; cannot rebuild the state`,
          );
        }
      }
    }
    this.#maybeSnapshot();
  }

  #maybeSnapshot(): void {
    const every = this.#o.snapshotEntries ?? 10_000;
    const core = this.#replica.core;
    const applied = this.#store.appliedIndex;
    if (applied - core.getCompactedIdx() < every || applied > core.getDecidedIdx()) return;
    const t0 = performance.now();
    core.snapshot(applied, true);
    const st = this.#snapshots;
    st.taken++;
    st.lastIdx = applied;
    st.lastExportMs = Math.round(performance.now() - t0);
    this.#log("debug", `snapshot at ${applied} (export ${st.lastExportMs} ms)`);
    // Until the export's copy is written out, applying could grow the database next to it: three copies at
    // the peak instead of two (docs/performance.md, "Memory").
    const written = this.#storage.snapshotWritten?.();
    if (!written) {
      st.lastBytes = this.#storage.getSnapshot()?.data.length; // memory storage: held anyway
      return;
    }
    this.#replica.holdApply(written);
  }

  #snapshotStats(): SnapshotStats {
    const h = this.#replica.applyHolds;
    return {
      ...this.#snapshots,
      applyHolds: h.count,
      applyHoldMs: Math.round(h.totalMs),
      ...(h.count > 0 ? { lastApplyHoldMs: Math.round(h.lastMs) } : {}),
    };
  }
}
