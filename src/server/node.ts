/**
 * ChiselStore: one node of a replicated SQLite. It glues the consensus core (through Replica), durable
 * storage, the sql.js state machine and the libp2p transport, and serves execute/query on any node:
 * a follower forwards to the leader over /chiselstore/client/1.0.0 and returns once its own state has
 * applied the result (read-your-writes on the node you asked). No call hangs: each has a deadline.
 */
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import { loadOrCreateIdentity } from "../net/identity.ts";
import { type NetLogger, silentLogger } from "../net/log.ts";
import type { NetMetrics } from "../net/metrics.ts";
import { callRpc, serveRpc } from "../net/rpc.ts";
import { parsePeerAddr, PaxosTransport } from "../net/transport.ts";
import {
  type LogEntry,
  MemoryStorage,
  type Message,
  type NodeId,
  NotLeaderError,
  type OmniPaxosStatus,
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
} from "./client_protocol.ts";
import type { Consistency } from "./consistency.ts";
import { NodeError } from "./errors.ts";
import { Replica, type SyncableStorage } from "./replica.ts";
import { type HttpApi, startHttpApi } from "./http/server.ts";
import { PendingRequests } from "./pending.ts";

export type StatementInput = string | Statement;

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

/**
 * Sorts out the two call shapes: (sql, params?, options?) and (statements, options?). After a SQL string,
 * an object whose keys are all option names is taken as options (so `query(sql, { consistency })` works);
 * any other object is named parameters.
 */
function statementArgs<O>(
  first: StatementInput | StatementInput[],
  second: Params | O | undefined,
  third: O | undefined,
  optionKeys: readonly string[],
): [StatementInput | StatementInput[], O] {
  if (typeof first !== "string") return [first, (second ?? {}) as O];
  if (second === undefined) return [first, third ?? ({} as O)];
  const keys = Array.isArray(second) ? [] : Object.keys(second as object);
  const looksLikeOptions = keys.length > 0 && keys.every((k) => optionKeys.includes(k));
  if (looksLikeOptions && third === undefined) return [first, second as O];
  return [{ sql: first, params: second as Params }, third ?? ({} as O)];
}

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
  /** Deadline of one execute/query call. Default 10 s. */
  requestTimeoutMs?: number;
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
}

const MAX_RPC_BYTES = 64 << 20;
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
  readonly members: NodeId[];
  readonly #o: ChiselStoreOptions;
  readonly #store: SqlStateMachine;
  readonly #storage: SyncableStorage<Uint8Array> & { close?(): Promise<void> };
  readonly #transport: PaxosTransport | undefined;
  readonly #replica: Replica<Uint8Array>;
  readonly #pending = new PendingRequests();
  readonly #log: NetLogger;
  readonly #clientId: string;
  #seq = 0;
  #stopped = false;
  #httpUrl: string | undefined;
  #http: HttpApi | undefined;

  private constructor(
    o: ChiselStoreOptions,
    parts: {
      peerId: string;
      members: NodeId[];
      store: SqlStateMachine;
      storage: SyncableStorage<Uint8Array> & { close?(): Promise<void> };
      transport: PaxosTransport | undefined;
    },
  ) {
    this.#o = o;
    this.peerId = parts.peerId;
    this.members = parts.members;
    this.#store = parts.store;
    this.#storage = parts.storage;
    this.#transport = parts.transport;
    this.#log = o.log ?? silentLogger;
    // A fresh client id per process: request ids stay globally unique across restarts.
    this.#clientId = `${parts.peerId.slice(-12)}-${randomSeed().toString(36)}`;
    this.#replica = new Replica<Uint8Array>({
      config: {
        pid: parts.peerId,
        nodes: parts.members,
        electionTicks: o.electionTicks ?? 30,
        resendTicks: 2 * (o.electionTicks ?? 30),
        snapshotter: parts.store.snapshotter(),
      },
      storage: parts.storage,
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

  /** Start a node: load (or create) its identity and state, join its peers, begin electing. */
  static async start(o: ChiselStoreOptions = {}): Promise<ChiselStore> {
    const dataDir = o.memory ? undefined : (o.dataDir ?? "./data");
    let privateKey: PrivateKey;
    if (dataDir) privateKey = (await loadOrCreateIdentity(dataDir)).privateKey;
    else privateKey = await generateKeyPair("Ed25519");
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
    const members = [...memberIds].sort();
    const storage = dataDir
      ? await FileStorage.open(join(dataDir, "raft-log"), { fsync: o.fsync ?? "always" })
      : new MemoryStorage<Uint8Array>();
    const store = await SqlStateMachine.open();
    const networked = members.length > 1 || (o.listen?.length ?? 0) > 0 || o.relay === true;
    const transport = networked
      ? new PaxosTransport({
        privateKey,
        members,
        listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"],
        peers,
        ...(o.relay ? { relay: true } : {}),
        ...(o.relayVia ? { relayVia: o.relayVia } : {}),
        log: o.log ?? silentLogger,
      })
      : undefined;
    const node = new ChiselStore(o, { peerId, members, store, storage, transport });
    await node.#start(dataDir);
    return node;
  }

  async #start(dataDir: string | undefined): Promise<void> {
    const t = this.#transport;
    if (t) {
      t.onMessage = (m) => this.#replica.receive(m);
      t.onSession = (p) => this.#replica.sessionStarted(p);
      await t.start();
      await serveRpc(t.libp2p, {
        protocol: CLIENT_PROTOCOL,
        maxRequestBytes: MAX_RPC_BYTES,
        handler: (req) => this.#serve(req),
        onError: (remote, e) => this.#log("debug", `client stream from ${remote}: ${(e as Error)?.message}`),
      });
      await serveRpc(t.libp2p, {
        protocol: STATUS_PROTOCOL,
        maxRequestBytes: 16,
        handler: () => Promise.resolve(new TextEncoder().encode(JSON.stringify(this.#ownView()))),
      });
    }
    this.#replica.start();
    if (this.#o.http !== undefined) {
      const { host, port } = parseHostPort(this.#o.http);
      this.#http = await startHttpApi(this, { host, port });
    }
    this.#log(
      "info",
      `node ${this.peerId} started: ${this.members.length} member(s), data ${dataDir ?? "in memory"}`,
    );
  }

  /** Stop serving, stop consensus, close the files. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#http?.close();
    this.#pending.failAll(new NodeError("stopped", "node stopped"));
    await this.#replica.stop();
    await this.#transport?.stop();
    await this.#storage.close?.();
    this.#store.close();
  }

  get leader(): NodeId | undefined {
    return this.#replica.leader;
  }

  isLeader(): boolean {
    return this.#replica.core.isLeader();
  }

  multiaddrs(): string[] {
    return this.#transport?.getMultiaddrs() ?? [];
  }

  status(): NodeStatus {
    return {
      peerId: this.peerId,
      members: [...this.members],
      leader: this.leader,
      isLeader: this.isLeader(),
      appliedIdx: this.#replica.appliedIdx,
      consensus: this.#replica.core.status(),
      connected: this.members.filter((m) => m !== this.peerId && this.#transport?.isConnected(m)),
      multiaddrs: this.multiaddrs(),
      dataDir: this.#o.memory ? undefined : (this.#o.dataDir ?? "./data"),
      httpUrl: this.#httpUrl,
      ...(this.#transport ? { net: this.#transport.metrics() } : {}),
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
    };
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
    const command: Command = {
      requestId: opts.requestId ?? { clientId: this.#clientId, seq: ++this.#seq },
      statements: stmts,
      transaction: opts.transaction ?? false,
      timestampMs: 0,
      seed: 0n,
    };
    return await this.#throughLog(command, Date.now() + (opts.timeoutMs ?? this.#timeout()));
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
      const r = await this.#throughLog(
        {
          requestId: { clientId: this.#clientId, seq: ++this.#seq },
          statements: stmts,
          transaction: false,
          timestampMs: 0,
          seed: 0n,
        },
        deadline,
        false,
      );
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
      bytes = await callRpc(
        this.#transport!.libp2p,
        peerIdFromString(leader),
        CLIENT_PROTOCOL,
        encodeRequest(request),
        {
          timeoutMs,
          maxResponseBytes: MAX_RPC_BYTES,
        },
      );
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

  /** The leader side of a forwarded request. Answers errors instead of throwing. */
  async #serve(bytes: Uint8Array): Promise<Uint8Array> {
    try {
      const req = decodeRequest(bytes);
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

  /** Leader: propose the command with this node's clock and a fresh seed; resolve when applied. */
  #proposeHere(command: Command, deadline: number): Promise<CommandResult> {
    const stamped: Command = { ...command, timestampMs: Date.now(), seed: randomSeed() };
    const done = this.#pending.wait(command.requestId, deadline);
    try {
      this.#replica.propose(encodeCommand(stamped));
    } catch (e) {
      this.#pending.cancel(command.requestId);
      if (e instanceof NotLeaderError) throw new NodeError("not-leader", e.message, e.leader);
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

  /** The applier: decided entries in order, exactly once per process. */
  #apply(entries: LogEntry<Uint8Array>[]): void {
    for (const e of entries) {
      if (e.kind === "decided") {
        const result = this.#store.apply(e.idx, e.entry);
        if (result) this.#pending.resolve(e.entry, result);
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
    core.snapshot(applied, true);
    this.#log("debug", `snapshot at ${applied}`);
  }
}
