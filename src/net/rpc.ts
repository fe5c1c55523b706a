/**
 * Request/response over a libp2p protocol: one stream per call, one length-prefixed frame each way.
 * Opaque bytes in, opaque bytes out: the protocols built on it (the client/forwarding protocol) own their
 * encoding. A handler's failure or an oversized request aborts only that stream.
 */
import type { Libp2p, PeerId } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import type { Multiaddr } from "@multiformats/multiaddr";
import { dropDeadConnections } from "./connection_tuning.ts";

export interface RpcServerOptions {
  protocol: string;
  /** Largest request accepted (bytes). */
  maxRequestBytes: number;
  /** Concurrent inbound calls per connection. Default 512. */
  maxInboundStreams?: number;
  /**
   * Time a caller has to send its whole request after opening the stream. Default 10 s. Without it a
   * peer that opens streams and sends nothing (or half a request) holds them, up to maxInboundStreams.
   */
  requestTimeoutMs?: number;
  /** Answers one request; `remote` is the authenticated caller. A throw aborts the stream. */
  handler(request: Uint8Array, remote: string): Promise<Uint8Array>;
  onError?(remote: string, err: unknown): void;
}

/** Register the server side on a node (before or after start). */
export async function serveRpc(node: Libp2p, o: RpcServerOptions): Promise<void> {
  await node.handle(o.protocol, async (stream, connection) => {
    const remote = connection.remotePeer.toString();
    const lp = lpStream(stream, { maxDataLength: o.maxRequestBytes });
    try {
      const req = await lp.read({ signal: AbortSignal.timeout(o.requestTimeoutMs ?? 10_000) });
      const res = await o.handler(req.subarray(), remote);
      await lp.write(res);
      await stream.close();
    } catch (err) {
      o.onError?.(remote, err);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }, { runOnLimitedConnection: true, maxInboundStreams: o.maxInboundStreams ?? 512 });
}

export class RpcTimeoutError extends Error {
  override name = "RpcTimeoutError";
}

/** Call `protocol` on `peer` with one request; rejects on timeout, refusal or a dropped stream. */
export async function callRpc(
  node: Libp2p,
  peer: PeerId | Multiaddr,
  protocol: string,
  request: Uint8Array,
  opts: { timeoutMs: number; maxResponseBytes: number },
): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    dropDeadConnections(node, peer);
    const stream = await node.dialProtocol(peer, protocol, { signal, runOnLimitedConnection: true });
    const lp = lpStream(stream, { maxDataLength: opts.maxResponseBytes });
    await lp.write(request, { signal });
    const res = await lp.read({ signal });
    await stream.close().catch(() => {});
    return res.subarray();
  } catch (err) {
    if (signal.aborted) {
      throw new RpcTimeoutError(`no answer from ${peer.toString()} within ${opts.timeoutMs} ms`);
    }
    throw err;
  }
}
