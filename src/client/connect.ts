/**
 * connect(): one entry point for both clients. An http(s):// URL gets an HttpClient (the rqlite-compatible
 * HTTP API); anything else is read as a libp2p multiaddr ending in /p2p/<peerId> and gets a P2pClient.
 */
import type { SqlApi } from "../server/call_args.ts";
import { HttpClient } from "./http_client.ts";
import type { HttpConnectOptions } from "./http_transport.ts";
import { P2pClient, type P2pClientOptions, type RemoteStatus } from "./p2p_client.ts";

/**
 * What connect() returns: ChiselStore's execute/query call shapes, plus status() (HttpClient: rqlite's
 * /status document; P2pClient: the node's RemoteStatus) and close().
 */
export interface Client extends SqlApi {
  status(): Promise<Record<string, unknown> | RemoteStatus>;
  close(): Promise<void>;
}

/**
 * Options of connect(): `http` (credentials, CA, client certificate) for http(s) targets, the rest for
 * libp2p targets.
 */
export type ConnectOptions = P2pClientOptions & { http?: HttpConnectOptions };

/**
 * Connect to a node and check that it answers (a status request), so a wrong address, an unreachable node
 * or a node that refuses this client fails here rather than at the first query.
 *
 * - `connect("http://127.0.0.1:4001")`: HttpClient over the node's HTTP API (`http` option / `--http`);
 * - `connect("/ip4/10.0.0.1/tcp/7400/p2p/12D3KooW...")`: P2pClient over libp2p; the node must admit it
 *   (its `clients` option).
 * @throws NodeError (HttpClientError for HTTP targets): timeout when unreachable, not-member when refused.
 */
export async function connect(
  target: `http://${string}` | `https://${string}`,
  opts?: ConnectOptions,
): Promise<HttpClient>;
export async function connect(target: string, opts?: ConnectOptions): Promise<Client>;
export async function connect(target: string, opts: ConnectOptions = {}): Promise<Client> {
  const { http, ...p2p } = opts;
  if (/^https?:\/\//i.test(target)) {
    const client = new HttpClient(target, http);
    await client.status();
    return client;
  }
  return await P2pClient.connect(target, p2p);
}
