/**
 * Length-prefixed framing: unsigned varint length, then the frame (the same framing as it-length-prefixed
 * and @libp2p/utils, so the reading side uses their LengthPrefixedDecoder).
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
