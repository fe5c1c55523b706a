/**
 * The reading side of /chiselstore/paxos/1.0.0: accepts streams from members only, decodes frames,
 * stamps them with the authenticated sender and hands them to the host. A malformed or oversized frame
 * closes the stream and the connection, with the reason logged; nothing from the network can throw out
 * of here.
 */
import type { Connection, Stream } from "@libp2p/interface";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import type { Uint8ArrayList } from "uint8arraylist";
import type { Message } from "../omnipaxos/messages.ts";
import { CodecError, decodeMessage } from "./codec.ts";
import { isFragment, Reassembler } from "./fragment.ts";
import { decodeLengthPrefix } from "./framing.ts";
import type { MemberGate } from "./gater.ts";
import type { NetLogger } from "./log.ts";
import type { NetMetrics } from "./metrics.ts";

/**
 * The decoder's buffer limit counts the bytes it holds *plus* the chunk being added, so one network chunk
 * holding several small frames could exceed it although every frame is within the limit. Chunks are fed
 * in pieces of at most this size; the buffer then never holds more than one partial frame plus a piece.
 */
const PIECE_BYTES = 64 * 1024;

/** How long closing our (never written) side of an ended stream may take before it is aborted. */
const CLOSE_TIMEOUT_MS = 5_000;

function* pieces(chunk: Uint8Array | Uint8ArrayList): Generator<Uint8Array | Uint8ArrayList> {
  if (chunk.byteLength <= PIECE_BYTES) {
    yield chunk;
    return;
  }
  for (let at = 0; at < chunk.byteLength; at += PIECE_BYTES) {
    const end = Math.min(chunk.byteLength, at + PIECE_BYTES);
    yield chunk instanceof Uint8Array ? chunk.subarray(at, end) : chunk.sublist(at, end);
  }
}

export interface InboundOptions {
  localId: string;
  gate: MemberGate;
  metrics: NetMetrics;
  log: NetLogger;
  maxFrameBytes: number;
  /** Largest message reassembled from fragments. */
  maxMessageBytes: number;
  onMessage: (msg: Message<Uint8Array>) => void;
}

/** Errors that mean "the peer sent bytes that are not our protocol" rather than "the stream died". */
function isProtocolViolation(err: unknown): boolean {
  const name = (err as Error | null)?.name;
  return err instanceof CodecError || name === "InvalidMessageLengthError" ||
    name === "InvalidParametersError";
}

export class InboundStreams {
  readonly #o: InboundOptions;
  readonly #streams = new Map<string, Set<Stream>>();

  constructor(opts: InboundOptions) {
    this.#o = opts;
  }

  /** The libp2p stream handler. */
  readonly handle = async (stream: Stream, connection: Connection): Promise<void> => {
    const remote = connection.remotePeer.toString();
    if (!this.#o.gate.isMember(remote)) {
      this.#o.gate.refuse(remote, "paxos stream from a non-member");
      stream.abort(new Error("not a cluster member"));
      return;
    }
    let set = this.#streams.get(remote);
    if (!set) this.#streams.set(remote, set = new Set());
    set.add(stream);
    try {
      await this.#read(stream, remote);
      // The peer ended its side; end ours too, or the half-open stream keeps one of the connection's
      // few inbound stream slots (maxInboundStreams) until the connection dies, and a peer that reopens
      // its stream a few times could no longer open one at all.
      await stream.close({ signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS) });
    } catch (err) {
      if (isProtocolViolation(err)) {
        this.#o.metrics.rejectedFrames++;
        this.#o.log("warn", `closing paxos stream from ${remote}: ${(err as Error).message}`);
        stream.abort(err as Error);
        // The peer reconnects with a fresh session; a peer that keeps misbehaving keeps being cut off.
        connection.abort(err as Error);
      } else {
        this.#o.log("debug", `paxos stream from ${remote} ended: ${(err as Error)?.message}`);
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      }
    } finally {
      set.delete(stream);
      if (set.size === 0) this.#streams.delete(remote);
    }
  };

  async #read(stream: Stream, remote: string): Promise<void> {
    const max = this.#o.maxFrameBytes;
    const decoder = new LengthPrefixedDecoder({
      maxDataLength: max,
      maxBufferSize: max + 16 + PIECE_BYTES,
      lengthDecoder: decodeLengthPrefix,
    });
    const reassembler = new Reassembler(this.#o.maxMessageBytes);
    for await (const chunk of stream) {
      for (const piece of pieces(chunk)) {
        for (const raw of decoder.decode(piece)) {
          let frame: Uint8Array | Uint8ArrayList = raw;
          // (subarray past the end of a Uint8ArrayList throws: a 1-byte frame must reach the decoder)
          if (isFragment(raw.subarray(0, Math.min(2, raw.byteLength)))) {
            const whole = reassembler.accept(raw.subarray());
            if (!whole) continue;
            frame = whole;
          }
          // Membership may have changed since the stream opened (reconfiguration).
          if (!this.#o.gate.isMember(remote)) throw new CodecError("peer is no longer a member");
          const msg = decodeMessage(frame, remote, this.#o.localId);
          this.#o.metrics.framesReceived++;
          this.#o.metrics.bytesReceived += frame.byteLength;
          this.#deliver(msg);
        }
      }
    }
  }

  #deliver(msg: Message<Uint8Array>): void {
    try {
      this.#o.onMessage(msg);
    } catch (err) {
      // A host bug must not look like a peer's fault (which would cut the link).
      this.#o.log(
        "error",
        `onMessage threw on ${msg.type} from ${msg.from}: ${(err as Error)?.stack ?? err}`,
      );
    }
  }

  /** Aborts every inbound stream of `peer` (it left the configuration, or we are stopping). */
  closePeer(peer: string, why: string): void {
    for (const s of this.#streams.get(peer) ?? []) s.abort(new Error(why));
  }

  closeAll(why: string): void {
    for (const peer of [...this.#streams.keys()]) this.closePeer(peer, why);
  }
}
