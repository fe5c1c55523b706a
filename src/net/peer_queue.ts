/**
 * Bounded outbound frame queue for one peer. Paxos recovers lost messages (sequence gaps trigger a
 * resync, heartbeats and resends repeat), so when the link cannot keep up the newest frame is dropped
 * and counted instead of growing memory without limit.
 */

export interface PeerQueueLimits {
  /** Default 8192 frames. */
  maxFrames?: number;
  /** Default 32 MiB of encoded frames. */
  maxBytes?: number;
}

export class PeerQueue {
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  #frames: Uint8Array[] = [];
  #bytes = 0;

  constructor(limits: PeerQueueLimits = {}) {
    this.#maxFrames = limits.maxFrames ?? 8192;
    this.#maxBytes = limits.maxBytes ?? 32 * 1024 * 1024;
  }

  get length(): number {
    return this.#frames.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** False (and nothing queued) when the frame would exceed a limit. */
  push(frame: Uint8Array): boolean {
    if (this.#frames.length >= this.#maxFrames || this.#bytes + frame.byteLength > this.#maxBytes) {
      return false;
    }
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    return true;
  }

  /**
   * Queues the fragments of one large message, all or none. A group may take the queue past `maxBytes`
   * (a snapshot cannot be dropped and recovered like a small frame) but only while the queue is within
   * its limit, so at most one oversized group is waiting at a time; `maxGroupBytes` caps the group.
   */
  pushAll(frames: readonly Uint8Array[], maxGroupBytes: number): boolean {
    let total = 0;
    for (const f of frames) total += f.byteLength;
    const fits = this.#bytes + total <= this.#maxBytes &&
      this.#frames.length + frames.length <= this.#maxFrames;
    if (!fits && (this.#bytes > this.#maxBytes || total > maxGroupBytes)) return false;
    for (const f of frames) this.#frames.push(f);
    this.#bytes += total;
    return true;
  }

  /** Removes and returns frames from the head, at least one, until about `maxBytes` are taken. */
  take(maxBytes: number): Uint8Array[] {
    let n = 0;
    let size = 0;
    while (n < this.#frames.length && (n === 0 || size + this.#frames[n].byteLength <= maxBytes)) {
      size += this.#frames[n].byteLength;
      n++;
    }
    this.#bytes -= size;
    return this.#frames.splice(0, n);
  }

  /** Empties the queue; returns how many frames were discarded. */
  clear(): number {
    const n = this.#frames.length;
    this.#frames = [];
    this.#bytes = 0;
    return n;
  }
}
