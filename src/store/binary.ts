/**
 * Little binary writer/reader shared by the command codec and the stored-result codec: unsigned varints (up
 * to 2^53), length-prefixed UTF-8 and bytes, and tagged SQL values. The reader throws only
 * CommandDecodeError and checks every length against the remaining input before allocating.
 */
import { CommandDecodeError, CommandEncodeError } from "./errors.ts";
import type { SqlValue } from "./results.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

const TAG_NULL = 0;
const TAG_UINT = 1; // non-negative safe integer, varint
const TAG_NINT = 2; // negative safe integer, varint of -(v + 1)
const TAG_FLOAT = 3; // float64 LE
const TAG_TEXT = 4;
const TAG_BLOB = 5;
const TAG_BIGINT = 6; // int64 LE, 8 bytes

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint (LEB128) of a safe integer; arithmetic instead of bit ops beyond 32 bits. */
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new CommandEncodeError(`${v} is not a safe unsigned integer`);
    }
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  str(s: string): void {
    // Worst case 3 bytes per UTF-16 unit; encodeInto avoids an intermediate copy.
    this.ensure(s.length * 3 + 8);
    const start = this.pos;
    this.uint(0); // placeholder, patched below when the length needs more than one byte
    const lenPos = this.pos - 1;
    const { written } = enc.encodeInto(s, this.buf.subarray(this.pos));
    if (written < 0x80) {
      this.buf[lenPos] = written;
      this.pos += written;
      return;
    }
    const body = this.buf.slice(this.pos, this.pos + written);
    this.pos = start;
    this.bytes(body);
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }

  value(v: SqlValue): void {
    if (v === null) return this.byte(TAG_NULL);
    switch (typeof v) {
      case "number":
        if (Number.isSafeInteger(v)) {
          if (v >= 0) {
            this.byte(TAG_UINT);
            this.uint(v);
          } else {
            this.byte(TAG_NINT);
            this.uint(-(v + 1));
          }
        } else {
          this.byte(TAG_FLOAT);
          this.ensure(8);
          this.view.setFloat64(this.pos, v, true);
          this.pos += 8;
        }
        return;
      case "bigint":
        if (v < INT64_MIN || v > INT64_MAX) throw new CommandEncodeError(`bigint ${v} is outside int64`);
        this.byte(TAG_BIGINT);
        return this.u64(v);
      case "string":
        this.byte(TAG_TEXT);
        return this.str(v);
      default:
        if (v instanceof Uint8Array) {
          this.byte(TAG_BLOB);
          return this.bytes(v);
        }
        throw new CommandEncodeError(`unsupported SQL value of type ${typeof v}`);
    }
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string): never {
    throw new CommandDecodeError(msg, this.pos);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.buf.length) this.fail("unexpected end of input");
    return this.buf[this.pos++];
  }

  uint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v) || (i > 0 && b === 0)) this.fail("non-canonical or oversized varint");
        return v;
      }
      mul *= 0x80;
    }
    return this.fail("varint too long");
  }

  /** A count of items each taking at least `minBytes`, bounded by the remaining input. */
  count(minBytes = 1): number {
    const n = this.uint();
    if (n * minBytes > this.remaining) this.fail(`count ${n} exceeds the remaining input`);
    return n;
  }

  bytes(): Uint8Array {
    const n = this.uint();
    if (n > this.remaining) this.fail(`length ${n} exceeds the remaining input`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(): string {
    const n = this.uint();
    if (n > this.remaining) this.fail(`length ${n} exceeds the remaining input`);
    try {
      return dec.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      return this.fail("invalid UTF-8");
    } finally {
      this.pos += n;
    }
  }

  u64(): bigint {
    if (this.remaining < 8) this.fail("unexpected end of input");
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  value(): SqlValue {
    const tag = this.byte();
    switch (tag) {
      case TAG_NULL:
        return null;
      case TAG_UINT:
        return this.uint();
      case TAG_NINT:
        return -this.uint() - 1;
      case TAG_FLOAT: {
        if (this.remaining < 8) this.fail("unexpected end of input");
        const f = this.view.getFloat64(this.pos, true);
        this.pos += 8;
        return f;
      }
      case TAG_TEXT:
        return this.str();
      case TAG_BLOB:
        return this.bytes();
      case TAG_BIGINT:
        return BigInt.asIntN(64, this.u64());
      default:
        return this.fail(`unknown value tag ${tag}`);
    }
  }

  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}
