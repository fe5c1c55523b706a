/**
 * Request/response multiplexed over one long-lived libp2p stream per peer. Opening a stream per call costs
 * a multistream-select negotiation, a logger and peer-store work on both ends (about 15% of a forwarding
 * follower's CPU in the issue-7 profiles); here every call is one frame on an open stream, tagged with a
 * request id, pipelined, and every request or response produced in one event-loop turn leaves in one write.
 *
 *   frame = varint length · u32 request id · kind byte (0 request | 1 response | 2 error) · payload
 *
 * The caller side (MuxRpcClient) reopens the stream on the next call after it failed, bounds the calls in
 * flight per peer (later callers queue, still under their deadline) and honours each call's deadline. The
 * serving side runs requests concurrently, at most `maxInFlight` per stream (beyond that it stops reading,
 * which backpressures the caller through the muxer). Opaque bytes in, opaque bytes out, like rpc.ts.
 */
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import { decodeLengthPrefix, encodeFrames } from "./framing.ts";
import { RpcTimeoutError } from "./rpc.ts";
import { dropDeadConnections } from "./connection_tuning.ts";

const REQUEST = 0;
const RESPONSE = 1;
const ERROR = 2;
const HEADER = 5;
/** Upper bound of one write, as on the paxos links: large enough to amortise, small enough to interleave. */
const MAX_WRITE_BYTES = 256 * 1024;

export class MuxRpcError extends Error {
  override name = "MuxRpcError";
}

function frame(id: number, kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.byteLength);
  new DataView(out.buffer).setUint32(0, id);
  out[4] = kind;
  out.set(payload, HEADER);
  return out;
}

/** Queues frames and writes what one turn produced as one buffer, waiting on the muxer's backpressure. */
class FrameWriter {
  readonly #stream: Stream;
  readonly #onError: (err: Error) => void;
  #queue: Uint8Array[] = [];
  #writing = false;

  constructor(stream: Stream, onError: (err: Error) => void) {
    this.#stream = stream;
    this.#onError = onError;
  }

  push(f: Uint8Array): void {
    this.#queue.push(f);
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => void this.#drain());
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        let bytes = 0;
        let n = 0;
        while (n < this.#queue.length && (n === 0 || bytes < MAX_WRITE_BYTES)) {
          bytes += this.#queue[n++].length;
        }
        const batch = this.#queue.splice(0, n);
        if (!this.#stream.send(encodeFrames(batch))) await this.#stream.onDrain();
      }
    } catch (err) {
      this.#queue = [];
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#writing = false;
    }
  }
}

/** Decoded frames of one stream; throws MuxRpcError on a frame too short to carry a header. */
async function* frames(stream: Stream, maxFrameBytes: number): AsyncGenerator<[number, number, Uint8Array]> {
  const decoder = new LengthPrefixedDecoder({
    maxDataLength: maxFrameBytes,
    maxBufferSize: maxFrameBytes + 16,
    lengthDecoder: decodeLengthPrefix,
  });
  for await (const chunk of stream) {
    for (const raw of decoder.decode(chunk)) {
      const f = raw.subarray();
      if (f.byteLength < HEADER) throw new MuxRpcError(`short frame (${f.byteLength} bytes)`);
      yield [new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(0), f[4], f.subarray(HEADER)];
    }
  }
}

export interface MuxRpcServerOptions {
  protocol: string;
  /** Largest request accepted (bytes); a larger one closes the stream. */
  maxRequestBytes: number;
  /** Requests served at once per stream. Default 1024. */
  maxInFlight?: number;
  /** Answers one request; `remote` is the authenticated caller. A throw answers an error frame. */
  handler(request: Uint8Array, remote: string): Promise<Uint8Array>;
  onError?(remote: string, err: unknown): void;
}

/** Register the serving side on a node. */
export async function serveMuxRpc(node: Libp2p, o: MuxRpcServerOptions): Promise<void> {
  const limit = o.maxInFlight ?? 1024;
  await node.handle(o.protocol, async (stream, connection) => {
    const remote = connection.remotePeer.toString();
    const writer = new FrameWriter(stream, (err) => stream.abort(err));
    let inFlight = 0;
    let freed: (() => void) | undefined;
    const serve = async (id: number, req: Uint8Array) => {
      let out: Uint8Array;
      try {
        out = frame(id, RESPONSE, await o.handler(req, remote));
      } catch (err) {
        out = frame(id, ERROR, new TextEncoder().encode((err as Error)?.message ?? String(err)));
      }
      inFlight--;
      freed?.();
      if (stream.status === "open") writer.push(out);
    };
    try {
      for await (const [id, kind, payload] of frames(stream, o.maxRequestBytes + HEADER)) {
        if (kind !== REQUEST) throw new MuxRpcError(`unexpected frame kind ${kind} from a caller`);
        // Full: stop reading until a request finishes; the muxer's window then holds the caller back.
        while (inFlight >= limit) await new Promise<void>((r) => freed = r);
        freed = undefined;
        inFlight++;
        void serve(id, payload);
      }
      await stream.close().catch(() => {});
    } catch (err) {
      o.onError?.(remote, err);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }, { runOnLimitedConnection: true, maxInboundStreams: 8 });
}

export interface MuxRpcClientOptions {
  protocol: string;
  /** Largest response accepted (bytes); a larger one fails the stream and its calls. */
  maxResponseBytes: number;
  /** Calls in flight per peer; more wait for a slot. Default 256. */
  maxInFlight?: number;
}

interface Call {
  resolve(res: Uint8Array): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One open stream to one peer and the calls waiting on it. */
interface Session {
  stream: Stream;
  writer: FrameWriter;
  calls: Map<number, Call>;
}

export class MuxRpcClient {
  readonly #node: Libp2p;
  readonly #o: MuxRpcClientOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #opening = new Map<string, Promise<Session>>();
  /** Per peer: calls in flight, and callers waiting for a slot (FIFO). */
  readonly #slots = new Map<string, { used: number; waiting: (() => void)[] }>();
  #nextId = 1;
  #closed = false;

  constructor(node: Libp2p, o: MuxRpcClientOptions) {
    this.#node = node;
    this.#o = o;
  }

  /** Streams open now (for tests and status). */
  get openStreams(): number {
    return this.#sessions.size;
  }

  /** Calls `peer`; rejects with RpcTimeoutError at the deadline, or with the stream's failure. */
  async call(peer: PeerId, request: Uint8Array, opts: { timeoutMs: number }): Promise<Uint8Array> {
    if (this.#closed) throw new MuxRpcError("client closed");
    const key = peer.toString();
    const deadline = Date.now() + opts.timeoutMs;
    const timeout = () => new RpcTimeoutError(`no answer from ${key} within ${opts.timeoutMs} ms`);
    await this.#acquire(key, deadline, timeout);
    try {
      const session = await this.#session(peer, key, deadline, timeout);
      const id = this.#nextId;
      this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
      return await new Promise<Uint8Array>((resolve, reject) => {
        const timer = setTimeout(() => {
          session.calls.delete(id); // a late answer is dropped
          reject(timeout());
        }, Math.max(1, deadline - Date.now()));
        session.calls.set(id, { resolve, reject, timer });
        session.writer.push(frame(id, REQUEST, request));
      });
    } finally {
      this.#release(key);
    }
  }

  /** Closes every stream; calls in flight fail. */
  close(): void {
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) this.#fail(s, new MuxRpcError("client closed"));
    for (const slot of this.#slots.values()) for (const wake of slot.waiting.splice(0)) wake();
  }

  async #acquire(key: string, deadline: number, timeout: () => Error): Promise<void> {
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, slot = { used: 0, waiting: [] });
    const limit = this.#o.maxInFlight ?? 256;
    while (slot.used >= limit) {
      const s = slot;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let wake!: () => void;
      const woken = await new Promise<boolean>((resolve) => {
        wake = () => resolve(true);
        s.waiting.push(wake);
        timer = setTimeout(() => resolve(false), Math.max(1, deadline - Date.now()));
      });
      clearTimeout(timer);
      if (!woken) {
        s.waiting.splice(s.waiting.indexOf(wake), 1);
        throw timeout();
      }
      if (this.#closed) throw new MuxRpcError("client closed");
    }
    slot.used++;
  }

  #release(key: string): void {
    const slot = this.#slots.get(key)!;
    slot.used--;
    slot.waiting.shift()?.();
  }

  #session(peer: PeerId, key: string, deadline: number, timeout: () => Error): Promise<Session> {
    const open = this.#sessions.get(key);
    if (open) return Promise.resolve(open);
    let p = this.#opening.get(key);
    if (!p) {
      p = this.#open(peer, key, deadline).finally(() => this.#opening.delete(key));
      this.#opening.set(key, p);
    }
    // A later caller with an earlier deadline must not wait for someone else's longer dial.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeout()), Math.max(1, deadline - Date.now()));
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  async #open(peer: PeerId, key: string, deadline: number): Promise<Session> {
    const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    dropDeadConnections(this.#node, peer);
    const stream = await this.#node.dialProtocol(peer, this.#o.protocol, {
      signal,
      runOnLimitedConnection: true,
    });
    if (this.#closed) {
      stream.abort(new MuxRpcError("client closed"));
      throw new MuxRpcError("client closed");
    }
    const session: Session = {
      stream,
      writer: new FrameWriter(stream, (err) => this.#fail(session, err)),
      calls: new Map(),
    };
    this.#sessions.set(key, session);
    stream.addEventListener("close", () => this.#fail(session, new MuxRpcError(`stream to ${key} closed`)), {
      once: true,
    });
    void this.#read(session, key);
    return session;
  }

  async #read(s: Session, key: string): Promise<void> {
    try {
      for await (const [id, kind, payload] of frames(s.stream, this.#o.maxResponseBytes + HEADER)) {
        const call = s.calls.get(id);
        if (!call) continue; // timed out meanwhile
        s.calls.delete(id);
        clearTimeout(call.timer);
        if (kind === RESPONSE) call.resolve(payload);
        else if (kind === ERROR) call.reject(new MuxRpcError(new TextDecoder().decode(payload)));
        else throw new MuxRpcError(`unexpected frame kind ${kind} from ${key}`);
      }
      this.#fail(s, new MuxRpcError(`stream to ${key} ended`));
    } catch (err) {
      this.#fail(s, err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The stream is unusable: fail its calls, forget it (the next call opens a new one). */
  #fail(s: Session, err: Error): void {
    for (const [k, v] of this.#sessions) if (v === s) this.#sessions.delete(k);
    for (const call of s.calls.values()) {
      clearTimeout(call.timer);
      call.reject(err);
    }
    s.calls.clear();
    if (s.stream.status === "open") s.stream.abort(err);
  }
}
