/**
 * gouged: the original ChiselStore demo server, for partial-connectivity experiments on one machine.
 *
 *   node examples/gouged.ts --id 1 --peers 2 3          (deno run --allow-all examples/gouged.ts ...)
 *   node examples/gouged.ts --id 2 --peers 1
 *   node examples/gouged.ts --id 3 --peers 1            -> node 1, the only node linked to both, leads
 *
 * All nodes share one configuration, `--members` (default 1,2,3); `--peers` says which LINKS exist. A node
 * knows the address of its listed peers only, so it dials nothing else, and it drops every consensus
 * message and forwarded request to or from a member it does not list. Links are meant to be listed at
 * both ends.
 *
 * ChiselStore.start cannot express "members M, links P" (its members are its peers) nor a leader priority,
 * so this demo assembles a node from the layers below, as src/server/node.ts does: PaxosTransport, Replica,
 * SqlStateMachine, FileStorage. It serves a small HTTP API for examples/gouge.ts:
 *
 *   POST /execute[?consistency=strong|relaxed]   body: one SQL statement (text)
 *        -> 200 {"node":N,"index":I,"results":[...]} | 4xx/5xx {"error":"...","leader":L}
 *   GET  /status -> {"id","peerId","leader","isLeader","members","links","connected","appliedIdx","priority"}
 *
 * strong (the default): through the leader and the log, answered once applied on this node; relaxed: a
 * read on this node's own copy, no leader involved (the original's RelaxedReads).
 */
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { peerIdFromString } from "@libp2p/peer-id";
import { callRpc, serveRpc } from "../src/net/rpc.ts";
import { PaxosTransport } from "../src/net/transport.ts";
import type { LogEntry, Message, NodeId } from "../src/omnipaxos/mod.ts";
import { NotLeaderError } from "../src/omnipaxos/mod.ts";
import { FileStorage, MemoryStorage } from "../src/storage/mod.ts";
import { type Command, encodeCommand } from "../src/store/command.ts";
import { randomSeed } from "../src/store/determinism.ts";
import type { CommandResult } from "../src/store/results.ts";
import { SqlStateMachine } from "../src/store/state_machine.ts";
import { checkStatements } from "../src/store/validate.ts";
import {
  CLIENT_PROTOCOL,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from "../src/server/client_protocol.ts";
import { NodeError } from "../src/server/errors.ts";
import { PendingRequests } from "../src/server/pending.ts";
import { Replica, type SyncableStorage } from "../src/server/replica.ts";
import { defaultPriority, devIdentity, devMultiaddr, httpPort, p2pPort, parseMembers } from "./demo_ids.ts";

export interface GougedOptions {
  id: number;
  /** Ids this node is linked to. */
  peers: number[];
  /** Every member's id (the shared configuration). */
  members: number[];
  /** Default: the number of links, then the id (see defaultPriority). */
  priority?: number;
  /** Default "./data/gouged/n<id>"; `null`: log in memory. */
  dataDir?: string | null;
  /** HTTP "host:port"; default 127.0.0.1:(41000+id). */
  http?: string;
  tickMs?: number;
  electionTicks?: number;
  requestTimeoutMs?: number;
  /** Progress lines (leader changes, start); default none. */
  say?: (line: string) => void;
}

const MAX_RPC_BYTES = 16 << 20;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NodeError("timeout", what)), Math.max(1, deadline - Date.now()));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One demo node. */
export class Gouged {
  readonly id: number;
  readonly peerId: string;
  readonly priority: number;
  readonly #o: GougedOptions;
  readonly #ids: Map<NodeId, number>;
  readonly #linked: Set<NodeId>;
  readonly #transport: PaxosTransport;
  readonly #replica: Replica<Uint8Array>;
  readonly #store: SqlStateMachine;
  readonly #storage: SyncableStorage<Uint8Array> & { close?(): Promise<void> };
  readonly #pending = new PendingRequests();
  readonly #clientId: string;
  #seq = 0;
  #http: Server | undefined;
  #stopped = false;

  private constructor(
    o: GougedOptions,
    parts: {
      peerId: string;
      ids: Map<NodeId, number>;
      transport: PaxosTransport;
      store: SqlStateMachine;
      storage: SyncableStorage<Uint8Array> & { close?(): Promise<void> };
    },
  ) {
    this.#o = o;
    this.id = o.id;
    this.peerId = parts.peerId;
    this.#ids = parts.ids;
    this.#linked = new Set([...parts.ids].filter(([, id]) => o.peers.includes(id)).map(([p]) => p));
    this.#transport = parts.transport;
    this.#store = parts.store;
    this.#storage = parts.storage;
    this.priority = o.priority ?? defaultPriority(o.id, o.peers.length);
    this.#clientId = `gouged${o.id}-${randomSeed().toString(36)}`;
    const electionTicks = o.electionTicks ?? 30;
    this.#replica = new Replica<Uint8Array>({
      config: {
        pid: parts.peerId,
        nodes: [...parts.ids.keys()],
        electionTicks,
        resendTicks: 2 * electionTicks,
        leaderPriority: this.priority,
        snapshotter: parts.store.snapshotter(),
      },
      storage: parts.storage,
      tickMs: o.tickMs ?? 10,
      // No link, no message: this is what makes the topology partial.
      send: (m) => {
        if (this.#linked.has(m.to)) this.#transport.send(m);
      },
      apply: (entries) => this.#apply(entries),
      onLeaderChange: (l) => {
        this.#say(
          `leader is now ${l ? `node ${this.idOf(l)}` : "unknown"}${l === this.peerId ? " (this node)" : ""}`,
        );
        if (l !== this.peerId) this.#pending.failAll(new NodeError("not-leader", "leadership changed", l));
      },
      onFatal: (e) => this.#say(`consensus stopped: ${(e as Error)?.stack ?? e}`),
    });
  }

  static async start(o: GougedOptions): Promise<Gouged> {
    const { privateKey, peerId } = await devIdentity(o.id);
    const ids = new Map<NodeId, number>();
    for (const m of o.members) ids.set((await devIdentity(m)).peerId, m);
    const dataDir = o.dataDir === null ? undefined : (o.dataDir ?? join("data", "gouged", `n${o.id}`));
    const storage = dataDir
      ? await FileStorage.open(join(dataDir, "raft-log"), { fsync: "always" })
      : new MemoryStorage<Uint8Array>();
    const store = await SqlStateMachine.open();
    const transport = new PaxosTransport({
      privateKey,
      members: [...ids.keys()].sort(),
      listen: [`/ip4/127.0.0.1/tcp/${p2pPort(o.id)}`],
      // Only the listed peers' addresses: nothing else is ever dialled.
      peers: await Promise.all(o.peers.map(devMultiaddr)),
      natServices: false,
      log: (level, msg) => {
        if (level === "warn" || level === "error") o.say?.(`net ${level}: ${msg}`);
      },
    });
    const node = new Gouged(o, { peerId, ids, transport, store, storage });
    try {
      await node.#start();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  async #start(): Promise<void> {
    const t = this.#transport;
    t.onMessage = (m: Message<Uint8Array>) => {
      if (this.#linked.has(m.from)) this.#replica.receive(m);
    };
    t.onSession = (p) => this.#replica.sessionStarted(p);
    await t.start();
    await serveRpc(t.libp2p, {
      protocol: CLIENT_PROTOCOL,
      maxRequestBytes: MAX_RPC_BYTES,
      handler: (req, remote) => this.#serveForwarded(req, remote),
    });
    this.#replica.start();
    const http = this.#o.http ?? `127.0.0.1:${httpPort(this.id)}`;
    const colon = http.lastIndexOf(":");
    const host = http.slice(0, colon);
    const port = Number(http.slice(colon + 1));
    const server = createServer((req, res) => void this.#handleHttp(req, res));
    this.#http = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    this.#pending.failAll(new NodeError("stopped", "node stopped"));
    await this.#replica.stop();
    await this.#transport.stop();
    await this.#storage.close?.();
    this.#store.close();
  }

  /** The demo id of a peer ID (undefined for a non-member). */
  idOf(peer: NodeId | undefined): number | undefined {
    return peer === undefined ? undefined : this.#ids.get(peer);
  }

  get httpUrl(): string {
    const a = this.#http?.address();
    return a && typeof a === "object" ? `http://${a.address}:${a.port}` : "";
  }

  status(): Record<string, unknown> {
    const leader = this.#replica.leader;
    return {
      id: this.id,
      peerId: this.peerId,
      leader: this.idOf(leader) ?? null,
      isLeader: this.#replica.core.isLeader(),
      members: [...this.#ids.values()].sort((a, b) => a - b),
      links: [...this.#o.peers].sort((a, b) => a - b),
      connected: [...this.#linked].filter((p) => this.#transport.isConnected(p)).map((p) => this.#ids.get(p))
        .sort((a, b) => (a ?? 0) - (b ?? 0)),
      appliedIdx: this.#replica.appliedIdx,
      priority: this.priority,
    };
  }

  /** Runs one statement: "strong" through the leader and the log, "relaxed" on the local copy. */
  async execute(sql: string, consistency: "strong" | "relaxed" = "strong"): Promise<CommandResult> {
    if (this.#stopped) throw new NodeError("stopped", "node stopped");
    const statements = [{ sql }];
    const invalid = checkStatements(statements);
    if (invalid) throw new NodeError("bad-request", invalid.message);
    if (consistency === "relaxed") {
      return { index: this.#replica.appliedIdx, results: this.#store.query(statements) };
    }
    const command: Command = {
      requestId: { clientId: this.#clientId, seq: ++this.#seq },
      statements,
      transaction: false,
      timestampMs: 0,
      seed: 0n,
    };
    const deadline = Date.now() + (this.#o.requestTimeoutMs ?? 10_000);
    const result = await this.#atLeader(command, deadline);
    await withDeadline(
      this.#replica.waitApplied(result.index + 1),
      deadline,
      `decided at ${result.index} but not yet applied on node ${this.id}`,
    );
    return result;
  }

  /** Propose here when leading, else delegate to the leader over a link; retry until the deadline. */
  async #atLeader(command: Command, deadline: number): Promise<CommandResult> {
    let last = "no leader is known yet";
    while (Date.now() < deadline && !this.#stopped) {
      const leader = this.#replica.leader;
      try {
        if (leader === this.peerId && this.#replica.core.isLeader()) {
          return await withDeadline(this.#proposeHere(command, deadline), deadline, "not decided in time");
        }
        if (leader && leader !== this.peerId) {
          if (!this.#linked.has(leader)) {
            last = `the leader, node ${this.idOf(leader)}, is not linked to node ${this.id}`;
          } else {
            const bytes = await callRpc(
              this.#transport.libp2p,
              peerIdFromString(leader),
              CLIENT_PROTOCOL,
              encodeRequest({ op: "execute", command }),
              { timeoutMs: Math.max(1, deadline - Date.now()), maxResponseBytes: MAX_RPC_BYTES },
            ).catch((e: Error) => {
              throw new Error(`delegating to node ${this.idOf(leader)}: ${e.message}`);
            });
            const res = decodeResponse(bytes);
            if (res.ok) return res.result;
            if (res.error.code === "bad-request") throw res.error;
            last = res.error.message;
          }
        }
      } catch (e) {
        if (e instanceof NodeError && (e.code === "bad-request" || e.code === "stopped")) throw e;
        last = (e as Error).message;
      }
      await sleep(20);
    }
    throw new NodeError(
      this.#stopped ? "stopped" : "timeout",
      `not executed before the deadline (last: ${last})`,
      this.#replica.leader,
    );
  }

  #proposeHere(command: Command, deadline: number): Promise<CommandResult> {
    const done = this.#pending.wait(command.requestId, deadline);
    try {
      this.#replica.propose(encodeCommand({ ...command, timestampMs: Date.now(), seed: randomSeed() }));
    } catch (e) {
      this.#pending.cancel(command.requestId);
      if (e instanceof NotLeaderError) throw new NodeError("not-leader", e.message, e.leader);
      throw e;
    }
    return done;
  }

  /** The leader side of a delegated statement; only linked members may delegate. */
  async #serveForwarded(bytes: Uint8Array, remote: string): Promise<Uint8Array> {
    try {
      if (!this.#linked.has(remote)) {
        throw new NodeError("bad-request", `node ${this.idOf(remote)} is not linked`);
      }
      const req = decodeRequest(bytes);
      if (req.op !== "execute") throw new NodeError("bad-request", "gouged delegates writes only");
      if (!this.#replica.core.isLeader()) {
        throw new NodeError("not-leader", "not the leader", this.#replica.leader);
      }
      const invalid = checkStatements(req.command.statements);
      if (invalid) throw new NodeError("bad-request", invalid.message);
      const deadline = Date.now() + (this.#o.requestTimeoutMs ?? 10_000);
      const result = await withDeadline(
        this.#proposeHere(req.command, deadline),
        deadline,
        "not decided in time",
      );
      return encodeResponse({ ok: true, result });
    } catch (e) {
      const err = e instanceof NodeError ? e : new NodeError("internal", (e as Error)?.message ?? String(e));
      return encodeResponse({ ok: false, error: err });
    }
  }

  #apply(entries: LogEntry<Uint8Array>[]): void {
    for (const e of entries) {
      if (e.kind === "decided") {
        const result = this.#store.apply(e.idx, e.entry);
        if (result) this.#pending.resolve(e.entry, result);
      } else if (e.kind === "snapshotted") {
        this.#store.applySnapshot(e.trimmedIdx, e.snapshot);
      }
    }
  }

  async #handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    };
    try {
      const url = new URL(req.url ?? "/", "http://gouged");
      if (req.method === "GET" && url.pathname === "/status") return reply(200, this.status());
      if (req.method !== "POST" || url.pathname !== "/execute") {
        return reply(404, { error: "use POST /execute or GET /status" });
      }
      const c = url.searchParams.get("consistency") ?? "strong";
      if (c !== "strong" && c !== "relaxed") return reply(400, { error: `unknown consistency ${c}` });
      const chunks: Uint8Array[] = [];
      for await (const chunk of req) chunks.push(chunk as Uint8Array);
      const sql = new TextDecoder().decode(Buffer.concat(chunks)).trim();
      if (sql === "") return reply(400, { error: "empty statement" });
      const r = await this.execute(sql, c);
      reply(200, {
        node: this.id,
        index: r.index,
        results: r.results,
        ...(r.error ? { error: r.error } : {}),
      });
    } catch (e) {
      const err = e instanceof NodeError ? e : new NodeError("internal", (e as Error)?.message ?? String(e));
      const status = err.code === "bad-request" ? 400 : err.code === "internal" ? 500 : 503;
      reply(status, { error: err.message, code: err.code, leader: this.idOf(err.leader) ?? null });
    }
  }

  #say(line: string): void {
    this.#o.say?.(line);
  }
}

const USAGE =
  `usage: gouged --id N [--peers ID...] [--members N|ID,ID...] [--priority P] [--data DIR | --memory]

Starts demo node N: libp2p on 127.0.0.1:(50000+N), HTTP on 127.0.0.1:(41000+N), an INSECURE identity
derived from N. --peers lists the nodes it is linked to (list each link at both ends); --members the whole
cluster, the same on every node (default 1,2,3). Data in ./data/gouged/nN unless --memory.`;

/** Parses gouged's command line (the original's `--id N --peers a b c` form, space-separated peers). */
export function parseGougedArgs(args: string[]): GougedOptions {
  // --peers takes several values: gather them up to the next flag.
  const flat: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--peers" || a === "-p") {
      const vals: string[] = [];
      while (i + 1 < args.length && !args[i + 1].startsWith("-")) vals.push(args[++i]);
      flat.push(`--peers=${vals.join(",")}`);
    } else flat.push(a);
  }
  const { values } = parseArgs({
    args: flat,
    options: {
      id: { type: "string", short: "i" },
      peers: { type: "string", multiple: true },
      members: { type: "string" },
      priority: { type: "string" },
      data: { type: "string" },
      memory: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE, 0);
  if (values.id === undefined) throw new UsageError("--id is required");
  const id = Number(values.id);
  const peers = (values.peers ?? []).flatMap((v) => v.split(/[\s,]+/)).filter((s) => s !== "").map(Number);
  const members = parseMembers(values.members, id, peers);
  const o: GougedOptions = { id, peers: [...new Set(peers)], members };
  if (values.priority !== undefined) {
    const p = Number(values.priority);
    if (!Number.isSafeInteger(p) || p < 0) throw new UsageError("--priority must be an integer >= 0");
    o.priority = p;
  }
  if (values.memory) o.dataDir = null;
  else if (values.data !== undefined) o.dataDir = values.data;
  return o;
}

class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

async function main(): Promise<number> {
  let o: GougedOptions;
  try {
    o = parseGougedArgs(process.argv.slice(2));
  } catch (e) {
    const code = e instanceof UsageError ? e.exitCode : 2;
    (code === 0 ? process.stdout : process.stderr).write(
      `${(e as Error).message}\n${code ? `\n${USAGE}\n` : ""}`,
    );
    return code;
  }
  const tag = `[gouged ${o.id}]`;
  const say = (line: string) => void process.stdout.write(`${tag} ${line}\n`);
  process.stderr.write(
    `${tag} WARNING: INSECURE dev identity: node ${o.id}'s private key is derived from its id and is public. ` +
      `For local demos only.\n`,
  );
  const node = await Gouged.start({ ...o, say });
  const st = node.status();
  say(`peer ID ${node.peerId}`);
  say(`libp2p /ip4/127.0.0.1/tcp/${p2pPort(o.id)}  HTTP ${node.httpUrl}`);
  say(
    `members ${(st.members as number[]).join(",")}  links ${
      o.peers.join(",") || "none"
    }  priority ${node.priority}`,
  );
  say(`data ${o.dataDir === null ? "in memory" : (o.dataDir ?? join("data", "gouged", `n${o.id}`))}`);
  await new Promise<void>((resolve) => {
    // process.on, not once: Deno's node:process installs signal listeners through `on` only.
    process.on("SIGINT", () => resolve());
    process.on("SIGTERM", () => resolve());
  });
  say("stopping");
  await node.stop();
  say("stopped");
  return 0;
}

// exit(), not exitCode: Deno keeps the process alive while signal listeners are installed.
if (import.meta.main) process.exit(await main());
