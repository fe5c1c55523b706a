/**
 * Core messages <-> protobuf frames (schema: wire.proto). Entries are opaque bytes here.
 *
 * `from` and `to` are not encoded: the receiver supplies them from the authenticated session, so a peer
 * cannot speak for another. Decoding validates everything the protobuf layer cannot (required fields,
 * safe integers, the one-of body) and throws only `CodecError`; it never yields an invalid message.
 */
import type { Uint8ArrayList } from "uint8arraylist";
import type { Ballot } from "../omnipaxos/ballot.ts";
import type { Message } from "../omnipaxos/messages.ts";
import type { LogSync, NodeId, SequenceNumber, SnapshotData, StopSign } from "../omnipaxos/types.ts";
import * as pb from "./wire.ts";

/** The only error encodeMessage/decodeMessage throw. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/** Peer IDs are about 52 characters; anything far longer is garbage, not an identity. */
const MAX_ID_LENGTH = 256;

const COMPACTION_OPS = { trim: 1, snapshot: 2 } as const;

function uint(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(`${what}: ${v} is not a safe unsigned integer`);
  return v;
}

function need<V>(v: V | undefined, what: string): V {
  if (v === undefined) throw new CodecError(`${what} is missing`);
  return v;
}

function nodeId(s: string, what: string): NodeId {
  if (s.length === 0 || s.length > MAX_ID_LENGTH) throw new CodecError(`${what}: bad node id`);
  return s;
}

// ---- core -> wire (validates numbers so a core bug cannot put an unreadable frame on the wire) ----

function ballotOut(b: Ballot): pb.Ballot {
  return { n: uint(b.n, "ballot.n"), priority: uint(b.priority, "ballot.priority"), pid: b.pid };
}

function seqOut(s: SequenceNumber): pb.SequenceNumber {
  return { session: uint(s.session, "seq.session"), counter: uint(s.counter, "seq.counter") };
}

function stopSignOut(ss: StopSign): pb.StopSign {
  return {
    configId: uint(ss.configId, "stopSign.configId"),
    nodes: ss.nodes,
    ...(ss.metadata ? { metadata: ss.metadata as Uint8Array<ArrayBuffer> } : {}),
  };
}

function snapshotOut(s: SnapshotData): pb.SnapshotData {
  return { idx: uint(s.idx, "snapshot.idx"), data: s.data as Uint8Array<ArrayBuffer> };
}

function logSyncOut(l: LogSync<Uint8Array>): pb.LogSync {
  return {
    syncIdx: uint(l.syncIdx, "logSync.syncIdx"),
    suffix: l.suffix as Uint8Array<ArrayBuffer>[],
    ...(l.snapshot ? { snapshot: snapshotOut(l.snapshot) } : {}),
    ...(l.stopSign ? { stopSign: stopSignOut(l.stopSign) } : {}),
  };
}

function bodyOut(m: Message<Uint8Array>): Omit<pb.Frame, "configId"> {
  const entries = (e: Uint8Array[]) => e as Uint8Array<ArrayBuffer>[];
  switch (m.type) {
    case "Prepare":
      return {
        prepare: {
          n: ballotOut(m.n),
          decidedIdx: uint(m.decidedIdx, "decidedIdx"),
          nAccepted: ballotOut(m.nAccepted),
          acceptedIdx: uint(m.acceptedIdx, "acceptedIdx"),
        },
      };
    case "Promise":
      return {
        promise: {
          n: ballotOut(m.n),
          nAccepted: ballotOut(m.nAccepted),
          decidedIdx: uint(m.decidedIdx, "decidedIdx"),
          acceptedIdx: uint(m.acceptedIdx, "acceptedIdx"),
          ...(m.logSync ? { logSync: logSyncOut(m.logSync) } : {}),
        },
      };
    case "AcceptSync":
      return {
        acceptSync: {
          n: ballotOut(m.n),
          seq: seqOut(m.seq),
          decidedIdx: uint(m.decidedIdx, "decidedIdx"),
          logSync: logSyncOut(m.logSync),
        },
      };
    case "AcceptDecide":
      return {
        acceptDecide: {
          n: ballotOut(m.n),
          seq: seqOut(m.seq),
          decidedIdx: uint(m.decidedIdx, "decidedIdx"),
          entries: entries(m.entries),
        },
      };
    case "Accepted":
      return { accepted: { n: ballotOut(m.n), acceptedIdx: uint(m.acceptedIdx, "acceptedIdx") } };
    case "NotAccepted":
      return { notAccepted: { n: ballotOut(m.n) } };
    case "Decide":
      return {
        decide: { n: ballotOut(m.n), seq: seqOut(m.seq), decidedIdx: uint(m.decidedIdx, "decidedIdx") },
      };
    case "PrepareReq":
      return { prepareReq: { n: ballotOut(m.n) } };
    case "ProposalForward":
      return { proposalForward: { entries: entries(m.entries) } };
    case "AcceptStopSign":
      return { acceptStopSign: { n: ballotOut(m.n), seq: seqOut(m.seq), ss: stopSignOut(m.ss) } };
    case "ForwardStopSign":
      return { forwardStopSign: { ss: stopSignOut(m.ss) } };
    case "Compaction":
      return { compaction: { op: COMPACTION_OPS[m.op], idx: uint(m.idx, "idx") } };
    case "ReadConfirm":
      return { readConfirm: { n: ballotOut(m.n), round: uint(m.round, "round") } };
    case "ReadConfirmAck":
      return { readConfirmAck: { n: ballotOut(m.n), round: uint(m.round, "round") } };
    case "HeartbeatRequest":
      return { heartbeatRequest: { round: uint(m.round, "round") } };
    case "HeartbeatReply":
      return {
        heartbeatReply: {
          round: uint(m.round, "round"),
          ballot: ballotOut(m.ballot),
          quorumConnected: m.quorumConnected,
        },
      };
  }
}

/** Encodes one message as a frame (without length prefix). @throws CodecError for unencodable values. */
export function encodeMessage(m: Message<Uint8Array>): Uint8Array {
  const frame: pb.Frame = { configId: uint(m.configId, "configId"), ...bodyOut(m) };
  if (Object.keys(frame).length !== 2) throw new CodecError(`unknown message type ${String(m.type)}`);
  return pb.Frame.encode(frame);
}

// ---- wire -> core (everything here comes from the network) ----

function ballotIn(w: pb.Ballot | undefined, what: string): Ballot {
  const b = need(w, what);
  const n = uint(b.n, `${what}.n`);
  const priority = uint(b.priority, `${what}.priority`);
  // The only ballot without an owner is NO_BALLOT (all zero).
  if (b.pid === "" && (n !== 0 || priority !== 0)) throw new CodecError(`${what}: ballot has no owner`);
  if (b.pid !== "") nodeId(b.pid, `${what}.pid`);
  return { n, priority, pid: b.pid };
}

function seqIn(w: pb.SequenceNumber | undefined, what: string): SequenceNumber {
  const s = need(w, what);
  return { session: uint(s.session, `${what}.session`), counter: uint(s.counter, `${what}.counter`) };
}

/** Copies, so a stored entry never pins the (much larger) receive buffer it was decoded from. */
function bytesIn(list: Uint8Array[]): Uint8Array[] {
  return list.map((e) => e.slice());
}

function stopSignIn(w: pb.StopSign | undefined, what: string): StopSign {
  const ss = need(w, what);
  const configId = uint(ss.configId, `${what}.configId`);
  if (configId < 1) throw new CodecError(`${what}.configId must be >= 1`);
  if (ss.nodes.length === 0) throw new CodecError(`${what}.nodes is empty`);
  const nodes = ss.nodes.map((n) => nodeId(n, `${what}.nodes`));
  if (new Set(nodes).size !== nodes.length) throw new CodecError(`${what}.nodes has duplicates`);
  return { configId, nodes, ...(ss.metadata ? { metadata: ss.metadata.slice() } : {}) };
}

function logSyncIn(w: pb.LogSync | undefined, what: string): LogSync<Uint8Array> {
  const l = need(w, what);
  const out: LogSync<Uint8Array> = { syncIdx: uint(l.syncIdx, `${what}.syncIdx`), suffix: bytesIn(l.suffix) };
  if (l.snapshot) {
    out.snapshot = { idx: uint(l.snapshot.idx, `${what}.snapshot.idx`), data: l.snapshot.data.slice() };
  }
  if (l.stopSign) out.stopSign = stopSignIn(l.stopSign, `${what}.stopSign`);
  return out;
}

interface Envelope {
  from: NodeId;
  to: NodeId;
  configId: number;
}

function bodyIn(f: pb.Frame, env: Envelope): Message<Uint8Array> {
  if (f.prepare) {
    const w = f.prepare;
    return {
      type: "Prepare",
      ...env,
      n: ballotIn(w.n, "Prepare.n"),
      decidedIdx: uint(w.decidedIdx, "Prepare.decidedIdx"),
      nAccepted: ballotIn(w.nAccepted, "Prepare.nAccepted"),
      acceptedIdx: uint(w.acceptedIdx, "Prepare.acceptedIdx"),
    };
  }
  if (f.promise) {
    const w = f.promise;
    return {
      type: "Promise",
      ...env,
      n: ballotIn(w.n, "Promise.n"),
      nAccepted: ballotIn(w.nAccepted, "Promise.nAccepted"),
      decidedIdx: uint(w.decidedIdx, "Promise.decidedIdx"),
      acceptedIdx: uint(w.acceptedIdx, "Promise.acceptedIdx"),
      ...(w.logSync ? { logSync: logSyncIn(w.logSync, "Promise.logSync") } : {}),
    };
  }
  if (f.acceptSync) {
    const w = f.acceptSync;
    return {
      type: "AcceptSync",
      ...env,
      n: ballotIn(w.n, "AcceptSync.n"),
      seq: seqIn(w.seq, "AcceptSync.seq"),
      decidedIdx: uint(w.decidedIdx, "AcceptSync.decidedIdx"),
      logSync: logSyncIn(w.logSync, "AcceptSync.logSync"),
    };
  }
  if (f.acceptDecide) {
    const w = f.acceptDecide;
    return {
      type: "AcceptDecide",
      ...env,
      n: ballotIn(w.n, "AcceptDecide.n"),
      seq: seqIn(w.seq, "AcceptDecide.seq"),
      decidedIdx: uint(w.decidedIdx, "AcceptDecide.decidedIdx"),
      entries: bytesIn(w.entries),
    };
  }
  if (f.accepted) {
    const w = f.accepted;
    return {
      type: "Accepted",
      ...env,
      n: ballotIn(w.n, "Accepted.n"),
      acceptedIdx: uint(w.acceptedIdx, "Accepted.acceptedIdx"),
    };
  }
  if (f.notAccepted) return { type: "NotAccepted", ...env, n: ballotIn(f.notAccepted.n, "NotAccepted.n") };
  if (f.decide) {
    const w = f.decide;
    return {
      type: "Decide",
      ...env,
      n: ballotIn(w.n, "Decide.n"),
      seq: seqIn(w.seq, "Decide.seq"),
      decidedIdx: uint(w.decidedIdx, "Decide.decidedIdx"),
    };
  }
  if (f.prepareReq) return { type: "PrepareReq", ...env, n: ballotIn(f.prepareReq.n, "PrepareReq.n") };
  if (f.proposalForward) {
    return { type: "ProposalForward", ...env, entries: bytesIn(f.proposalForward.entries) };
  }
  if (f.acceptStopSign) {
    const w = f.acceptStopSign;
    return {
      type: "AcceptStopSign",
      ...env,
      n: ballotIn(w.n, "AcceptStopSign.n"),
      seq: seqIn(w.seq, "AcceptStopSign.seq"),
      ss: stopSignIn(w.ss, "AcceptStopSign.ss"),
    };
  }
  if (f.forwardStopSign) {
    return { type: "ForwardStopSign", ...env, ss: stopSignIn(f.forwardStopSign.ss, "ForwardStopSign.ss") };
  }
  if (f.compaction) {
    const w = f.compaction;
    const op = w.op === COMPACTION_OPS.trim
      ? "trim"
      : w.op === COMPACTION_OPS.snapshot
      ? "snapshot"
      : undefined;
    if (op === undefined) throw new CodecError(`Compaction.op: unknown operation ${w.op}`);
    return { type: "Compaction", ...env, op, idx: uint(w.idx, "Compaction.idx") };
  }
  if (f.readConfirm) {
    const w = f.readConfirm;
    return {
      type: "ReadConfirm",
      ...env,
      n: ballotIn(w.n, "ReadConfirm.n"),
      round: uint(w.round, "ReadConfirm.round"),
    };
  }
  if (f.readConfirmAck) {
    const w = f.readConfirmAck;
    return {
      type: "ReadConfirmAck",
      ...env,
      n: ballotIn(w.n, "ReadConfirmAck.n"),
      round: uint(w.round, "ReadConfirmAck.round"),
    };
  }
  if (f.heartbeatRequest) {
    return {
      type: "HeartbeatRequest",
      ...env,
      round: uint(f.heartbeatRequest.round, "HeartbeatRequest.round"),
    };
  }
  if (f.heartbeatReply) {
    const w = f.heartbeatReply;
    return {
      type: "HeartbeatReply",
      ...env,
      round: uint(w.round, "HeartbeatReply.round"),
      ballot: ballotIn(w.ballot, "HeartbeatReply.ballot"),
      quorumConnected: w.quorumConnected,
    };
  }
  throw new CodecError("frame carries no known message type");
}

/**
 * Decodes one frame received from the authenticated peer `from` by the local node `to`.
 * @throws CodecError for anything that is not a valid core message.
 */
export function decodeMessage(
  bytes: Uint8Array | Uint8ArrayList,
  from: NodeId,
  to: NodeId,
): Message<Uint8Array> {
  let frame: pb.Frame;
  try {
    frame = pb.Frame.decode(bytes);
  } catch (err) {
    // protons throws RangeError & co. on truncated or mis-typed input (and on deeply nested groups).
    throw new CodecError(`malformed frame: ${err instanceof Error ? err.message : String(err)}`);
  }
  const configId = uint(frame.configId, "configId");
  if (configId < 1) throw new CodecError("configId must be >= 1");
  return bodyIn(frame, { from, to, configId });
}
