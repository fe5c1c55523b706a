/**
 * Fewer socket writes for libp2p over TCP (issue 7). @libp2p/tcp writes every buffer it is handed with its
 * own `socket.write`, and Noise hands it each message as two (the 2-byte length, then the ciphertext), so
 * one small paxos frame costs two write syscalls, and a pass that sends a frame, a reply and a window
 * update on one connection costs six. On loopback every write also runs the receiver's TCP stack and wakes
 * it, so in the issue-7 profiles socket writes were the leader's largest single cost (15–18% of its CPU).
 *
 * `coalesceTcpWrites(node)` replaces the TCP connection's `sendData` once (on its prototype, when the first
 * TCP connection opens) with one that corks the socket for the rest of the current JavaScript turn and
 * writes the buffers as one: everything sent on a connection while one batch of work runs leaves in a
 * single `writev` when the turn ends (`process.nextTick`, after the promise jobs of that turn). Same bytes,
 * same order, same backpressure answer (`socket.write`'s return value). Other transports (circuit relay)
 * are left alone: only a connection object with a `socket` that can cork is patched.
 */
import type { Libp2p } from "@libp2p/interface";
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

function isCorkable(s: unknown): s is CorkableSocket {
  const x = s as CorkableSocket | undefined;
  return typeof x?.cork === "function" && typeof x.uncork === "function" && typeof x.write === "function";
}

/** The replacement `sendData`: one corked write per call, uncorked once the current turn's work is done. */
function coalescedSendData(this: SocketConn, data: BufferList): { sentBytes: number; canSendMore: boolean } {
  const socket = this.socket!;
  if (socket.writableCorked === 0 && !socket.destroyed) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  return { sentBytes: data.byteLength, canSendMore: socket.write(data.subarray()) };
}

/** Patches the TCP connection class of `node` (see above); safe to call for several nodes. */
export function coalesceTcpWrites(node: Libp2p): void {
  const onOpen = (evt: CustomEvent<unknown>): void => {
    const maConn = (evt.detail as { maConn?: SocketConn }).maConn;
    if (!maConn || !isCorkable(maConn.socket)) return;
    const proto = Object.getPrototypeOf(maConn) as SocketConn & { [PATCHED]?: boolean };
    if (proto[PATCHED] || !Object.hasOwn(proto, "sendData")) return;
    proto.sendData = coalescedSendData;
    proto[PATCHED] = true;
    node.removeEventListener("connection:open", onOpen);
  };
  node.addEventListener("connection:open", onOpen);
}
