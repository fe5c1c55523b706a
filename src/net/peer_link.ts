/**
 * The outbound half of the mesh for one member: keeps one long-lived paxos stream open (redialling with
 * backoff and jitter), and writes queued frames to it in FIFO order, batched, respecting backpressure.
 * A new stream is a new session: `onSession` fires so the host can call the core's `reconnected(pid)`.
 */
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { encodeFrames } from "./framing.ts";
import type { NetLogger } from "./log.ts";
import type { NetMetrics } from "./metrics.ts";
import { PeerQueue, type PeerQueueLimits } from "./peer_queue.ts";
import { PAXOS_PROTOCOL } from "./protocol.ts";
import { dropDeadConnections } from "./connection_tuning.ts";

/** Upper bound of one write: large enough to amortise per-write costs, small enough to interleave. */
const MAX_WRITE_BYTES = 256 * 1024;

export interface PeerLinkOptions {
  node: Libp2p;
  peer: PeerId;
  metrics: NetMetrics;
  log: NetLogger;
  onSession: (peer: string) => void;
  queue?: PeerQueueLimits;
  backoff?: BackoffOptions;
  /** Per dial attempt, ms. Default 10_000. */
  dialTimeoutMs?: number;
  /** Whether the link should dial on its own (it has an address); otherwise it waits for `poke()`. */
  canDial: () => boolean;
}

export class PeerLink {
  readonly #o: PeerLinkOptions;
  readonly #id: string;
  readonly #queue: PeerQueue;
  readonly #backoff: Backoff;
  #stream: Stream | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dialing = false;
  #writing = false;
  #stopped = true;

  constructor(opts: PeerLinkOptions) {
    this.#o = opts;
    this.#id = opts.peer.toString();
    this.#queue = new PeerQueue(opts.queue);
    this.#backoff = new Backoff(opts.backoff);
  }

  get connected(): boolean {
    return this.#stream !== undefined;
  }

  get queued(): number {
    return this.#queue.length;
  }

  start(): void {
    this.#stopped = false;
    this.poke();
  }

  /** Closes the stream and stops redialling. Queued frames are discarded. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#detach(this.#stream, new Error("link stopped"));
  }

  /** Try to (re)connect now, e.g. after the peer connected to us or a new address became known. */
  poke(): void {
    if (this.#stopped || this.#stream || this.#dialing) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#dial();
  }

  /** Queues a frame; false if it was dropped (no session, or queue full), which is counted. */
  send(frame: Uint8Array): boolean {
    return this.#enqueue(() => this.#queue.push(frame));
  }

  /** Queues the fragments of one large message, all or none (see PeerQueue.pushAll). */
  sendAll(frames: readonly Uint8Array[], maxGroupBytes: number): boolean {
    return this.#enqueue(() => this.#queue.pushAll(frames, maxGroupBytes));
  }

  #enqueue(push: () => boolean): boolean {
    if (!this.#stream) {
      this.#o.metrics.droppedNoSession++;
      return false;
    }
    if (!push()) {
      this.#o.metrics.droppedQueueFull++;
      return false;
    }
    // Coalesce everything sent in this turn of the event loop into one write.
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => void this.#drain());
    }
    return true;
  }

  async #dial(): Promise<void> {
    if (!this.#o.canDial() && this.#o.node.getConnections(this.#o.peer).length === 0) return;
    this.#dialing = true;
    try {
      dropDeadConnections(this.#o.node, this.#o.peer);
      const stream = await this.#o.node.dialProtocol(this.#o.peer, PAXOS_PROTOCOL, {
        runOnLimitedConnection: true,
        signal: AbortSignal.timeout(this.#o.dialTimeoutMs ?? 10_000),
      });
      if (this.#stopped) stream.abort(new Error("link stopped"));
      else this.#attach(stream);
    } catch (err) {
      this.#o.metrics.dialFailures++;
      this.#o.log("debug", `dial ${this.#id} failed: ${(err as Error).message}`);
      this.#retryLater();
    } finally {
      this.#dialing = false;
    }
  }

  #retryLater(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.poke();
    }, this.#backoff.next());
  }

  #attach(stream: Stream): void {
    this.#stream = stream;
    this.#backoff.reset();
    stream.addEventListener("close", () => {
      if (this.#stream !== stream) return;
      this.#detach(stream);
      this.#retryLater();
    }, { once: true });
    this.#o.metrics.sessions++;
    this.#o.log("info", `session open to ${this.#id}`);
    this.#o.onSession(this.#id);
  }

  #detach(stream: Stream | undefined, abortWith?: Error): void {
    if (!stream || this.#stream !== stream) return;
    this.#stream = undefined;
    // After a new session the core resyncs: frames queued for the old one are stale anyway.
    this.#o.metrics.droppedNoSession += this.#queue.clear();
    if (abortWith && stream.status === "open") stream.abort(abortWith);
  }

  async #drain(): Promise<void> {
    const stream = this.#stream;
    try {
      while (stream && this.#stream === stream && this.#queue.length > 0) {
        const frames = this.#queue.take(MAX_WRITE_BYTES);
        const buf = encodeFrames(frames);
        this.#o.metrics.framesSent += frames.length;
        this.#o.metrics.bytesSent += buf.byteLength;
        // false: accepted but the buffer is full; wait before adding more (backpressure).
        if (!stream.send(buf)) await stream.onDrain();
      }
    } catch (err) {
      this.#o.log("debug", `write to ${this.#id} failed: ${(err as Error).message}`);
      if (stream) {
        this.#detach(stream, err as Error);
        this.#retryLater();
      }
    } finally {
      this.#writing = false;
      // Frames may have arrived for a newer stream while this loop awaited.
      if (this.#stream && this.#queue.length > 0 && !this.#writing) {
        this.#writing = true;
        queueMicrotask(() => void this.#drain());
      }
    }
  }
}
