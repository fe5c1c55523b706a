/**
 * Little-endian binary writer and bounds-checked reader for record payloads. Numbers are float64 (every
 * JS number round-trips exactly); lengths and counts are uint32; strings are UTF-8 with a length prefix.
 */
import { DecodeError } from "./errors.ts";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#len++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.#len, v, true);
    this.#len += 4;
  }

  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#len, v, true);
    this.#len += 8;
  }

  bytes(v: Uint8Array): void {
    this.u32(v.length);
    this.#room(v.length);
    this.#buf.set(v, this.#len);
    this.#len += v.length;
  }

  str(v: string): void {
    this.bytes(utf8.encode(v));
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

export class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get pos(): number {
    return this.#pos;
  }

  #need(n: number): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) {
      throw new DecodeError(at, `need ${n} bytes, ${this.#buf.length - at} left`);
    }
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.#buf[this.#need(1)];
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }

  f64(): number {
    return this.#view.getFloat64(this.#need(8), true);
  }

  /** A float64 that must be a non-negative safe integer (an index, a count, a size). */
  index(): number {
    const at = this.#pos;
    const v = this.f64();
    if (!Number.isSafeInteger(v) || v < 0) throw new DecodeError(at, `expected an index, got ${v}`);
    return v;
  }

  /** A plain Uint8Array copy: decoded values never pin (or alias) the file buffer, even a Buffer. */
  bytes(): Uint8Array {
    const n = this.u32();
    const at = this.#need(n);
    const out = new Uint8Array(n);
    out.set(this.#buf.subarray(at, at + n));
    return out;
  }

  str(): string {
    const n = this.u32();
    const at = this.#need(n);
    try {
      return fromUtf8.decode(this.#buf.subarray(at, at + n));
    } catch {
      throw new DecodeError(at, "invalid UTF-8");
    }
  }

  /** A 0/1 presence flag. */
  flag(): boolean {
    const at = this.#pos;
    const v = this.u8();
    if (v > 1) throw new DecodeError(at, `bad flag ${v}`);
    return v === 1;
  }

  end(): void {
    if (this.#pos !== this.#buf.length) {
      throw new DecodeError(this.#pos, `${this.#buf.length - this.#pos} trailing bytes`);
    }
  }
}
