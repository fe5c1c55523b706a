/**
 * ChiselStore-TS: a distributed SQLite. SQL writes are replicated through an Omni-Paxos log over libp2p and
 * applied to sql.js on every node. The same module runs on Node (>= 22) and Deno 2; see docs/api.md.
 *
 * ```ts
 * import { ChiselStore, connect } from "chiselstore"; // Deno: from "./mod.ts"
 *
 * const node = await ChiselStore.start({ dataDir: "./data" }); // an embedded single-node cluster
 * await node.execute("CREATE TABLE t(a)");
 * await node.execute("INSERT INTO t(a) VALUES (?)", [1]);
 * const [r] = await node.query("SELECT * FROM t", [], { consistency: "linearizable" });
 * await node.stop();
 *
 * const client = await connect("http://127.0.0.1:4001"); // or a multiaddr ending in /p2p/<peerId>
 * ```
 *
 * The consensus core (OmniPaxos and its types) is exported as well, flat (its names do not clash with the
 * node's) and as the `omnipaxos` namespace.
 * @module
 */

/** The node: start/execute/query/status/clusterStatus/checksum/stop, and its option and result types. */
export {
  ChiselStore,
  type ChiselStoreOptions,
  type ExecuteOptions,
  type MemberView,
  type NodeStatus,
  type QueryOptions,
  STATUS_PROTOCOL,
} from "./src/server/node.ts";
/** One statement (plain SQL or `{ sql, params }`), and the call shapes the node and both clients share. */
export type {
  CommonExecuteOptions,
  CommonQueryOptions,
  SqlApi,
  StatementInput,
} from "./src/server/call_args.ts";
/** Errors of every call: a stable `code` (ERROR_CODES), a message, and the leader's peer ID when known. */
export { ERROR_CODES, type ErrorCode, NodeError } from "./src/server/errors.ts";
/** Read consistency levels: "strong" | "linearizable" | "weak" | "none". */
export { type Consistency, CONSISTENCY_LEVELS } from "./src/server/consistency.ts";
/** The libp2p protocol clients (and forwarding followers) speak to a node. */
export { CLIENT_PROTOCOL } from "./src/server/client_protocol.ts";
/** Statements, parameters and request ids (exactly-once retries). */
export type { NamedParams, Params, RequestId, Statement } from "./src/store/command.ts";
/** Results: one StatementResult per statement; CommandResult wraps them with the log index. */
export type { CommandResult, SqlValue, StatementResult } from "./src/store/results.ts";
/** What checksum() returns: the applied index and the SHA-256 of the database at it. */
export type { Checksum } from "./src/store/state_machine.ts";
/** The `fsync` option: "always" | "batch" | "never" (see docs/storage.md). */
export type { FsyncMode } from "./src/storage/mod.ts";
/** The `clients` option: which non-members may connect as libp2p clients. */
export type { ClientPolicy } from "./src/net/gater.ts";
/** The `log` option's type, and the two ready-made loggers. */
export { type NetLogger, type NetLogLevel, silentLogger, stderrLogger } from "./src/net/log.ts";
/** Serve the rqlite-compatible HTTP API of a node (the `http` option does it for you). */
export { type HttpApi, type HttpApiOptions, startHttpApi } from "./src/server/http/server.ts";
/** connect(): an HttpClient for http(s) URLs, a P2pClient for multiaddrs. */
export { type Client, connect, type ConnectOptions } from "./src/client/connect.ts";
/** The HTTP client (rqlite JSON turned back into ChiselStore's result types). */
export {
  type ExecuteOptions as HttpExecuteOptions,
  HttpClient,
  HttpClientError,
  type QueryOptions as HttpQueryOptions,
} from "./src/client/http_client.ts";
/** Connection options of HttpClient and connect(): credentials, CA, client certificate (docs/security.md). */
export type { HttpConnectOptions, HttpCredentials } from "./src/client/http_transport.ts";
/** Securing the HTTP API: users files, password and token hashes, TLS files (docs/security.md). */
export { hashPassword, hashToken, newToken, type ScryptParams } from "./src/server/http/password.ts";
export {
  loadUsers,
  parseUsers,
  type Permission,
  PERMISSIONS,
  type Users,
  UsersFileError,
} from "./src/server/http/users.ts";
export { type HttpTlsFiles, type HttpTlsOptions, loadTls } from "./src/server/http/tls.ts";
/** The libp2p client (/chiselstore/client/1.0.0 and /chiselstore/status/1.0.0). */
export {
  P2pClient,
  type P2pClientOptions,
  type P2pExecuteOptions,
  type P2pQueryOptions,
  type RemoteStatus,
} from "./src/client/p2p_client.ts";

/** The consensus core, flat (as before) ... */
export * from "./src/omnipaxos/mod.ts";
/** ... and as a namespace: `omnipaxos.OmniPaxos`, `omnipaxos.MemoryStorage`, ... */
export * as omnipaxos from "./src/omnipaxos/mod.ts";
