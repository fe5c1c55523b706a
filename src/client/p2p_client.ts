/**
 * A libp2p client of a ChiselStore node: its own libp2p node (TCP + Noise, yamux/mplex, no listen address)
 * dials one node's multiaddr and sends execute and query (every consistency level; the node forwards to the
 * leader itself) over one long-lived /chiselstore/forward/1.0.0 stream (mux_rpc.ts: pipelined calls, no
 * stream setup per call), falling back to one /chiselstore/client/1.0.0 stream per call on a node that does
 * not speak the former; status uses /chiselstore/status/1.0.0. The node must admit the client
 * (`clients: "any"` or the client's peer ID in its `clients` list); members-only nodes refuse it.
 */
import "../net/shims.ts";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { identify } from "@libp2p/identify";
import type { Libp2p, PeerId, PrivateKey } from "@libp2p/interface";
import { mplex } from "@libp2p/mplex";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { loadOrCreateIdentity } from "../net/identity.ts";
import { MuxRpcClient, MuxRpcError } from "../net/mux_rpc.ts";
import { tuneConnections } from "../net/connection_tuning.ts";
import { callRpc, RpcTimeoutError } from "../net/rpc.ts";
import { parsePeerAddr } from "../net/transport.ts";
import { statementArgs, type StatementInput } from "../server/call_args.ts";
import {
  CLIENT_PROTOCOL,
  type ClientRequest,
  decodeResponse,
  encodeRequest,
  FORWARD_PROTOCOL,
} from "../server/client_protocol.ts";
import { RequestIds } from "../server/inflight.ts";
import type { Consistency } from "../server/consistency.ts";
import { NodeError } from "../server/errors.ts";
import type { Params, RequestId, Statement } from "../store/command.ts";
import type { CommandResult, StatementResult } from "../store/results.ts";

/** The status protocol's name (the same constant as the node's STATUS_PROTOCOL). */
const STATUS_PROTOCOL = "/chiselstore/status/1.0.0";
const MAX_RESPONSE_BYTES = 64 << 20;

export interface P2pClientOptions {
  /** The client's libp2p key. Default: a fresh Ed25519 key (a new peer ID per client). */
  privateKey?: PrivateKey;
  /**
   * Load (or create) the client's key from `<identityDir>/node.key` instead: a stable peer ID to list in a
   * node's `clients` option.
   */
  identityDir?: string;
  /**
   * Deadline of one call, and of connecting. Default 15 s: longer than a node's own request deadline
   * (10 s by default), so the node's answer (e.g. a `timeout` NodeError naming the leader) arrives first.
   */
  timeoutMs?: number;
  /** Namespace of the request ids this client makes up (default: random). See ExecuteOptions.requestId. */
  clientId?: string;
}

/** Options of P2pClient.execute. */
export interface P2pExecuteOptions {
  /** Run all statements as one atomic transaction. */
  transaction?: boolean;
  /** Set it to retry a write safely: a request id is applied once, a retry gets the first result. */
  requestId?: RequestId;
  /** Deadline of this call on the client (the node applies its own `requestTimeoutMs`). */
  timeoutMs?: number;
}

/** Options of P2pClient.query. */
export interface P2pQueryOptions {
  /** Default "weak". */
  consistency?: Consistency;
  /** Deadline of this call on the client (the node applies its own `requestTimeoutMs`). */
  timeoutMs?: number;
}

const EXECUTE_OPTION_KEYS = ["transaction", "requestId", "timeoutMs"];
const QUERY_OPTION_KEYS = ["consistency", "timeoutMs"];

/** What a node says about itself over /chiselstore/status/1.0.0 (MemberView in src/server/node.ts). */
export interface RemoteStatus {
  peerId: string;
  /** This node believes it leads. */
  leader: boolean;
  httpUrl?: string;
  appliedIdx?: number;
  decidedIdx?: number;
  /** Members this node has a session with. */
  connected?: string[];
  /** Its libp2p multiaddrs. */
  addrs?: string[];
}

function toStatements(input: StatementInput | StatementInput[]): Statement[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((s) => (typeof s === "string" ? { sql: s } : s));
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `p2p-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class P2pClient {
  /** This client's peer ID (what a node lists in its `clients` option). */
  readonly peerId: string;
  /** The node this client talks to. */
  readonly remotePeer: string;
  readonly #node: Libp2p;
  readonly #target: Multiaddr;
  readonly #timeoutMs: number;
  /** This client's request ids, acknowledged as they are answered (src/server/inflight.ts). */
  readonly #ids: RequestIds;
  readonly #mux: MuxRpcClient;
  readonly #remoteId: PeerId;
  /** The node does not speak FORWARD_PROTOCOL (an older version): one CLIENT_PROTOCOL stream per call. */
  #perCall = false;
  #closed = false;

  private constructor(node: Libp2p, target: Multiaddr, remotePeer: string, o: P2pClientOptions) {
    this.#node = node;
    this.#remoteId = peerIdFromString(remotePeer);
    this.#mux = new MuxRpcClient(node, { protocol: FORWARD_PROTOCOL, maxResponseBytes: MAX_RESPONSE_BYTES });
    this.#target = target;
    this.remotePeer = remotePeer;
    this.peerId = node.peerId.toString();
    this.#timeoutMs = o.timeoutMs ?? 15_000;
    this.#ids = new RequestIds(o.clientId ?? randomId());
  }

  /**
   * Start a client node and connect to `addr` (a multiaddr ending in /p2p/<peerId>). Resolves once the node
   * answered a status request, so a refused or unreachable node fails here.
   * @throws NodeError: not-member (the node refuses this client), timeout (unreachable), bad-request (address).
   */
  static async connect(addr: string, o: P2pClientOptions = {}): Promise<P2pClient> {
    let target: Multiaddr;
    let remotePeer: string;
    try {
      target = multiaddr(addr);
      remotePeer = parsePeerAddr(addr).peer;
    } catch (e) {
      throw new NodeError("bad-request", `bad node address ${addr}: ${(e as Error).message}`);
    }
    const privateKey = o.privateKey ??
      (o.identityDir
        ? (await loadOrCreateIdentity(o.identityDir)).privateKey
        : await generateKeyPair("Ed25519"));
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux(), mplex()],
      // Dial whatever address the caller gives (loopback and private ones included).
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify(), ping: ping() },
    });
    tuneConnections(node);
    const client = new P2pClient(node, target, remotePeer, o);
    try {
      await client.status();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return client;
  }

  async #call(protocol: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.#closed) throw new NodeError("stopped", "client closed");
    try {
      if (protocol === CLIENT_PROTOCOL && !this.#perCall) {
        const deadline = Date.now() + timeoutMs;
        try {
          return await this.#mux.call(this.#remoteId, request, { timeoutMs });
        } catch (e) {
          // The stream died (e.g. the connection dropped): once more on a new one. Safe: an execute carries
          // its request id (applied once), a query is read-only.
          if (e instanceof MuxRpcError && deadline - Date.now() > 0) {
            return await this.#mux.call(this.#remoteId, request, { timeoutMs: deadline - Date.now() });
          }
          if ((e as Error)?.name !== "UnsupportedProtocolError") throw e;
          this.#perCall = true;
        }
      }
      return await callRpc(this.#node, this.#target, protocol, request, {
        timeoutMs,
        maxResponseBytes: MAX_RESPONSE_BYTES,
      });
    } catch (e) {
      if (e instanceof RpcTimeoutError) {
        throw new NodeError("timeout", `no answer from ${this.#target.toString()} within ${timeoutMs} ms`);
      }
      // A gater refusal: the Noise handshake completes, then the node closes the connection before any
      // stream opens (docs/network.md, "Gating").
      const refused = !this.#node.getConnections().some((c) => c.remotePeer.toString() === this.remotePeer);
      const why = (e as Error)?.message ?? String(e);
      if (refused && /closed|reset|abort|EOF|ended|muxer|encrypt/i.test(why)) {
        throw new NodeError(
          "not-member",
          `node ${this.remotePeer} refused this client (peer ID ${this.peerId}): start the node with ` +
            `clients: "any" or list this peer ID in its clients option (${why})`,
        );
      }
      throw new NodeError("timeout", `cannot reach ${this.#target.toString()}: ${why}`);
    }
  }

  async #request(request: ClientRequest, timeoutMs: number | undefined): Promise<CommandResult> {
    const bytes = await this.#call(CLIENT_PROTOCOL, encodeRequest(request), timeoutMs ?? this.#timeoutMs);
    const res = decodeResponse(bytes);
    if (!res.ok) throw res.error;
    return res.result;
  }

  /**
   * Like ChiselStore.execute: `execute(sql, params?, options?)` or `execute(statements, options?)`, through
   * the log. Without `requestId` each call gets a fresh one (clientId + sequence number).
   * @throws NodeError
   */
  async execute(sql: string, params?: Params, opts?: P2pExecuteOptions): Promise<CommandResult>;
  async execute(
    statements: StatementInput | StatementInput[],
    opts?: P2pExecuteOptions,
  ): Promise<CommandResult>;
  async execute(
    first: StatementInput | StatementInput[],
    second?: Params | P2pExecuteOptions,
    third?: P2pExecuteOptions,
  ): Promise<CommandResult> {
    const [input, opts] = statementArgs<P2pExecuteOptions>(first, second, third, EXECUTE_OPTION_KEYS);
    const statements = toStatements(input);
    const transaction = opts.transaction ?? false;
    return await this.#ids.use(opts.requestId, (requestId) =>
      this.#request({
        op: "execute",
        command: { requestId, statements, transaction, timestampMs: 0, seed: 0n },
      }, opts.timeoutMs));
  }

  /**
   * Like ChiselStore.query: `query(sql, params?, options?)` or `query(statements, options?)` at a
   * consistency level (default "weak"; "none" reads the node this client is connected to).
   * @throws NodeError
   */
  async query(sql: string, params?: Params, opts?: P2pQueryOptions): Promise<StatementResult[]>;
  async query(
    statements: StatementInput | StatementInput[],
    opts?: P2pQueryOptions,
  ): Promise<StatementResult[]>;
  async query(
    first: StatementInput | StatementInput[],
    second?: Params | P2pQueryOptions,
    third?: P2pQueryOptions,
  ): Promise<StatementResult[]> {
    const [input, opts] = statementArgs<P2pQueryOptions>(first, second, third, QUERY_OPTION_KEYS);
    const statements = toStatements(input);
    const r = await this.#ids.use(undefined, (requestId) =>
      this.#request({
        op: "query",
        consistency: opts.consistency ?? "weak",
        command: { requestId, statements, transaction: false, timestampMs: 0, seed: 0n },
      }, opts.timeoutMs));
    return r.results;
  }

  /** The connected node's view of itself: whether it leads, its applied index, sessions, addresses. */
  async status(): Promise<RemoteStatus> {
    const bytes = await this.#call(STATUS_PROTOCOL, new Uint8Array(1), this.#timeoutMs);
    const { reachable: _, ...view } = JSON.parse(new TextDecoder().decode(bytes)) as RemoteStatus & {
      reachable?: boolean;
    };
    return view;
  }

  /** Stop the client's libp2p node. Calls after close() fail with NodeError("stopped"). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#mux.close();
    await this.#node.stop();
  }
}
