/**
 * Fragmentation of large frames. A message bigger than one chunk (an AcceptSync carrying a database
 * snapshot, a large batch) travels as a run of fragment frames on the same FIFO stream and is reassembled
 * before decoding, so no single frame exceeds the frame limit and a snapshot never has to fit one buffer
 * of the muxer.
 *
 * A fragment frame is, in protobuf terms, field 100 (length-delimited) of a Frame — a field no real Frame
 * has, and one a real Frame never starts with (protons writes configId, field 1, first) — followed by:
 * varint message id · varint index · varint count · data. The reader recognises the two tag bytes.
 */
import { CodecError } from "./codec.ts";

const TAG0 = 0xa2; // (100 << 3 | 2) as a varint: 0xa2 0x06
const TAG1 = 0x06;

export const DEFAULT_CHUNK_BYTES = 1 << 20;

export function isFragment(frame: Uint8Array): boolean {
  return frame.byteLength >= 2 && frame[0] === TAG0 && frame[1] === TAG1;
}

function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    s++;
  }
  return s;
}

function putVarint(out: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[pos++] = n;
  return pos;
}

/** Split `frame` into fragment frames of at most `chunkBytes` data each (id distinguishes messages). */
export function splitFrame(frame: Uint8Array, id: number, chunkBytes = DEFAULT_CHUNK_BYTES): Uint8Array[] {
  const count = Math.max(1, Math.ceil(frame.byteLength / chunkBytes));
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const data = frame.subarray(i * chunkBytes, Math.min(frame.byteLength, (i + 1) * chunkBytes));
    const f = new Uint8Array(2 + varintSize(id) + varintSize(i) + varintSize(count) + data.byteLength);
    f[0] = TAG0;
    f[1] = TAG1;
    let pos = putVarint(f, 2, id);
    pos = putVarint(f, pos, i);
    pos = putVarint(f, pos, count);
    f.set(data, pos);
    out.push(f);
  }
  return out;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= b.byteLength) throw new CodecError("truncated fragment header");
    const byte = b[pos++];
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) return [n, pos];
    mul *= 0x80;
  }
  throw new CodecError("fragment header varint too long");
}

/**
 * Reassembles one stream's fragments. Fragments of a message arrive contiguous and in order (one FIFO
 * stream, enqueued together); anything else is a protocol violation (CodecError), as is a message larger
 * than `maxBytes`, or an empty fragment that is not the last (the sender never makes one: it would let a
 * peer keep a message open forever).
 *
 * Memory: the data goes straight into one buffer that grows by doubling up to `maxBytes`, so a message in
 * a million 1-byte fragments holds no more than its bytes (a list of parts would cost an object each:
 * ~100x the data). What one stream can make this node hold is at most `maxBytes` (2x briefly, while
 * the buffer grows), whatever its fragment headers claim.
 */
export class Reassembler {
  readonly #maxBytes: number;
  #id = -1;
  #next = 0;
  #count = 0;
  #buf = new Uint8Array(0);
  #size = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes held for the message being reassembled (its buffer's capacity). */
  get bufferedBytes(): number {
    return this.#buf.byteLength;
  }

  /** Take one fragment frame; returns the whole frame once its last fragment arrived. */
  accept(fragment: Uint8Array): Uint8Array | undefined {
    let pos = 2;
    let id: number;
    let index: number;
    let count: number;
    [id, pos] = readVarint(fragment, pos);
    [index, pos] = readVarint(fragment, pos);
    [count, pos] = readVarint(fragment, pos);
    if (count < 1 || index >= count) throw new CodecError(`bad fragment ${index}/${count}`);
    if (index === 0) {
      if (this.#next !== 0) throw new CodecError("a new fragmented message began before the last one ended");
      this.#id = id;
      this.#count = count;
      this.#size = 0;
    } else if (id !== this.#id || index !== this.#next || count !== this.#count) {
      throw new CodecError(
        `fragment ${id}:${index}/${count} out of order (expected ${this.#id}:${this.#next})`,
      );
    }
    const data = fragment.subarray(pos);
    if (data.byteLength === 0 && index < count - 1) {
      throw new CodecError(`empty fragment ${id}:${index}/${count} before the last`);
    }
    const size = this.#size + data.byteLength;
    if (size > this.#maxBytes) {
      this.#reset();
      throw new CodecError(`fragmented message exceeds ${this.#maxBytes} bytes`);
    }
    if (size > this.#buf.byteLength) {
      const grown = new Uint8Array(Math.min(this.#maxBytes, Math.max(size, 2 * this.#buf.byteLength)));
      grown.set(this.#buf.subarray(0, this.#size));
      this.#buf = grown;
    }
    this.#buf.set(data, this.#size);
    this.#size = size;
    this.#next = index + 1;
    if (this.#next < count) return undefined;
    const whole = this.#buf.subarray(0, size);
    this.#reset();
    return whole;
  }

  #reset(): void {
    this.#next = 0;
    this.#size = 0;
    this.#buf = new Uint8Array(0);
  }
}
