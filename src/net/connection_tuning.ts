/**
 * libp2p hot spots of the issue-7 profiles, fixed by `tuneConnections(node)` (per class once, per connection
 * where the state is per connection), and one libp2p quirk the third fix exposed (4).
 *
 * 1. Socket writes. @libp2p/tcp writes every buffer it is handed with its own `socket.write`, and Noise hands
 *    it each message as two (the 2-byte length, then the ciphertext), so one small paxos frame cost two write
 *    syscalls, and a pass that sends a frame, a reply and a window update on one connection cost six. On
 *    loopback every write also runs the receiver's TCP stack and wakes it (in this VM about 70 µs each):
 *    socket writes were the leader's largest single cost (15–26% of its profile samples). The TCP
 *    connection's `sendData` is replaced once (on its prototype) with one that corks the socket for the rest
 *    of the current JavaScript turn and writes the buffers as one: everything sent on a connection while one
 *    batch of work runs leaves in a single `writev` when the turn ends (`process.nextTick`, after the promise
 *    jobs of that turn). Same bytes, same order, same backpressure answer (`socket.write`'s return value).
 * 2. Noise's length decoder. Noise reads its 2-byte length prefixes with a decoder that signals "not enough
 *    bytes yet" by throwing a *new* RangeError, which happens at the end of every received chunk; building it
 *    (stack trace included) took 7% of the leader's profile samples with one client. Each connection's decoder
 *    gets a length function that throws nothing: with fewer than 2 bytes buffered it answers the largest
 *    length a prefix can hold, more than is buffered, so the decoder waits for the next chunk as it does for
 *    an incomplete message (a shared RangeError, the first version, still cost a throw per chunk).
 *
 * 3. Yamux window updates. A yamux stream answered every data frame it received with a window update frame
 *    (its check only skips the update when nothing at all was consumed), so each paxos message or client
 *    request cost a second frame back: one more socket write, wake-up and read on both ends. Go's and
 *    HashiCorp's yamux send an update only once half the receive window is consumed; the stream class's
 *    `sendWindowUpdate` is wrapped to do the same for established streams (the sender may still have a
 *    whole window in flight, so it is never held up; SYN/ACK, pauses and the window's growth are unchanged).
 * 4. Connections whose multiplexer ended first. When a node closes a session, its yamux sends GoAway and then
 *    closes the socket; between the two, the other side's connection still reads "open" while its
 *    multiplexer is closed, and libp2p hands that connection to the next dial, which fails ("muxer closed")
 *    instead of dialling anew. The per-frame window updates used to hide this (writing one hit the closed
 *    socket and ended the connection). `dropDeadConnections` aborts such connections before a dial.
 *
 * The patches check the shape of what they patch and otherwise leave the connection alone (circuit relay
 * connections, or a libp2p release that changed these internals): the effect is then only on speed.
 */
import { StreamState, YamuxStream } from "@chainsafe/libp2p-yamux/stream";
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import process from "node:process";

interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write(buf: Uint8Array): boolean;
  writableCorked: number;
  destroyed: boolean;
}

interface BufferList {
  byteLength: number;
  subarray(): Uint8Array;
}

interface SocketConn {
  socket?: CorkableSocket;
  sendData?: (data: BufferList) => { sentBytes: number; canSendMore: boolean };
}

const PATCHED = Symbol.for("chiselstore.tcpCoalesced");
const HALF_WINDOW = Symbol.for("chiselstore.yamuxHalfWindowUpdates");

/**
 * The answer for an incomplete prefix: the largest 2-byte length. LengthPrefixedDecoder then needs 2 + 65,535
 * bytes, has fewer than 2, and waits for more (it must accept this length: see tuneNoiseDecoder).
 */
const WAIT_FOR_MORE = 0xffff;

interface ByteList {
  byteLength: number;
  getUint16(at: number): number;
}

/** Noise's 2-byte big-endian length prefix, as @chainsafe/libp2p-noise's uint16BEDecode, minus the throw. */
export function noiseLength(data: Uint8Array | ByteList): number {
  if (data.byteLength < 2) return WAIT_FOR_MORE;
  return data instanceof Uint8Array ? (data[0] << 8) | data[1] : data.getUint16(0);
}

interface NoiseDecoderHolder {
  muxer?: { maConn?: { decoder?: { lengthDecoder?: (d: unknown) => number; maxDataLength?: number } } };
}

function isCorkable(s: unknown): s is CorkableSocket {
  const x = s as CorkableSocket | undefined;
  return typeof x?.cork === "function" && typeof x.uncork === "function" && typeof x.write === "function";
}

/**
 * Ends the turn's cork. Nothing may throw out of a tick callback (it would end the process): a socket that
 * died meanwhile is simply left alone, its buffered bytes go with it.
 */
function uncork(socket: CorkableSocket): void {
  if (socket.destroyed) return;
  try {
    socket.uncork();
  } catch {
    // the write error reaches libp2p through the socket's 'error' event, as for any failed write
  }
}

/** The replacement `sendData`: one corked write per call, uncorked once the current turn's work is done. */
function coalescedSendData(this: SocketConn, data: BufferList): { sentBytes: number; canSendMore: boolean } {
  const socket = this.socket!;
  if (socket.writableCorked === 0 && !socket.destroyed) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  return { sentBytes: data.byteLength, canSendMore: socket.write(data.subarray()) };
}

/** Swaps the Noise length decoder of one connection (see 2 above); true when it did. */
export function tuneNoiseDecoder(conn: unknown): boolean {
  const decoder = (conn as NoiseDecoderHolder).muxer?.maConn?.decoder;
  if (!decoder || decoder.lengthDecoder?.name !== "uint16BEDecode") return false;
  // A decoder refusing lengths above WAIT_FOR_MORE would take it for a bad frame and end the connection.
  if (!(typeof decoder.maxDataLength === "number" && decoder.maxDataLength >= WAIT_FOR_MORE)) return false;
  decoder.lengthDecoder = noiseLength as (d: unknown) => number;
  return true;
}

interface WindowState {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate(): void;
}

/** Wraps YamuxStream's `sendWindowUpdate` once (see 3 above); true when it is (now or already) wrapped. */
export function tuneYamuxWindowUpdates(): boolean {
  const proto = YamuxStream.prototype as unknown as WindowState & { [HALF_WINDOW]?: boolean };
  if (proto[HALF_WINDOW]) return true;
  if (!Object.hasOwn(proto, "sendWindowUpdate")) return false;
  const original = proto.sendWindowUpdate;
  proto.sendWindowUpdate = function (this: WindowState): void {
    const consumed = this.recvWindow - this.recvWindowCapacity;
    if (this.state === StreamState.Established && consumed < this.recvWindow / 2) return;
    original.call(this);
  };
  proto[HALF_WINDOW] = true;
  return true;
}

/** Patches the TCP connection and yamux stream classes once and every new connection's Noise decoder. */
export function tuneConnections(node: Libp2p): void {
  tuneYamuxWindowUpdates();
  node.addEventListener("connection:open", (evt: CustomEvent<unknown>) => {
    tuneNoiseDecoder(evt.detail);
    const maConn = (evt.detail as { maConn?: SocketConn }).maConn;
    if (!maConn || !isCorkable(maConn.socket)) return;
    const proto = Object.getPrototypeOf(maConn) as SocketConn & { [PATCHED]?: boolean };
    if (proto[PATCHED] || !Object.hasOwn(proto, "sendData")) return;
    proto.sendData = coalescedSendData;
    proto[PATCHED] = true;
  });
}

/** Aborts the connections to `peer` whose multiplexer has ended (see 4 above), so a dial makes a new one. */
export function dropDeadConnections(node: Libp2p, peer: PeerId | Multiaddr): void {
  if (!("toMultihash" in peer)) return; // a bare address (a client's first dial): no connection to check
  for (const c of node.getConnections(peer)) {
    const muxer = (c as unknown as { muxer?: { status?: string } }).muxer;
    if (muxer && muxer.status !== "open" && c.status === "open") {
      c.abort(new Error("the remote closed the session"));
    }
  }
}
