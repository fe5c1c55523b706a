/**
 * Length-prefixed framing: unsigned varint length, then the frame (the same framing as it-length-prefixed
 * and @libp2p/utils, so the reading side uses their LengthPrefixedDecoder, with `decodeLengthPrefix`).
 */

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(n: number, out: Uint8Array, pos: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** Concatenates frames, each behind its length, into one buffer: one write per batch. */
export function encodeFrames(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += varintLength(f.byteLength) + f.byteLength;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const f of frames) {
    pos = writeVarint(f.byteLength, out, pos);
    out.set(f, pos);
    pos += f.byteLength;
  }
  return out;
}

/**
 * The length prefix at the start of `buf` (an unsigned varint of at most 8 bytes), for LengthPrefixedDecoder's
 * `lengthDecoder`. Same results as its default (uint8-varint), cheaper: that one throws a new RangeError,
 * with a stack trace, whenever the buffer ends inside or before a prefix, which is the end of every chunk,
 * and finds each byte by scanning the list from its start. The decoder reads any RangeError as "need more
 * bytes", so one shared instance without a stack will do.
 */
export function decodeLengthPrefix(data: Iterable<Uint8Array> | Uint8Array): number {
  let res = 0;
  let mul = 1;
  let n = 0;
  // A Uint8ArrayList iterates over its buffers.
  for (const b of data instanceof Uint8Array ? [data] : data) {
    for (let i = 0; i < b.byteLength; i++) {
      const byte = b[i];
      res += (byte & 0x7f) * mul;
      if (byte < 0x80) return res;
      if (++n === 8) throw NEED_MORE; // as uint8-varint: longer prefixes are not decoded
      mul *= 128;
    }
  }
  throw NEED_MORE;
}

const NEED_MORE = new RangeError("incomplete length prefix");
