/**
 * Core messages <-> protobuf frames (schema: wire.proto). Entries are opaque bytes here.
 *
 * `from` and `to` are not encoded: the receiver supplies them from the authenticated session, so a peer
 * cannot speak for another. Decoding validates everything the protobuf layer cannot (required fields,
 * safe integers, the one-of body) and throws only `CodecError`; it never yields an invalid message.
 *
 * Each message is described once in MESSAGES (its wire field and the kind of each of its fields); the
 * generic encoder and decoder walk that table, and the compiler checks the table against the core's types.
 */
import type { Uint8ArrayList } from "uint8arraylist";
import type { Ballot } from "../omnipaxos/ballot.ts";
import type { Message, MessageType } from "../omnipaxos/messages.ts";
import type { LogSync, NodeId, SequenceNumber, StopSign } from "../omnipaxos/types.ts";
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

/**
 * Most entries one message may carry. An empty entry costs 2 bytes on the wire but ~400 bytes of heap
 * once decoded, so without a cap one 16 MiB frame would take gigabytes and seconds of CPU. A legitimate
 * batch or log suffix is far smaller (the server snapshots every 10,000 entries by default).
 */
export const MAX_ENTRIES_PER_MESSAGE = 1 << 18;
/** Most members a stop sign may name. */
export const MAX_STOP_SIGN_NODES = 1024;

const SS_LIMITS = { nodes: MAX_STOP_SIGN_NODES };
const LOG_SYNC_LIMITS = { logSync: { suffix: MAX_ENTRIES_PER_MESSAGE, stopSign: SS_LIMITS } };
/** Checked by protons while decoding, before any oversized list is built. */
const DECODE_LIMITS = {
  promise: LOG_SYNC_LIMITS,
  acceptSync: LOG_SYNC_LIMITS,
  acceptDecide: { entries: MAX_ENTRIES_PER_MESSAGE },
  proposalForward: { entries: MAX_ENTRIES_PER_MESSAGE },
  acceptStopSign: { ss: SS_LIMITS },
  forwardStopSign: { ss: SS_LIMITS },
};

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

/** protons types bytes as Uint8Array<ArrayBuffer>; the core's are plain Uint8Array. Same bytes. */
const wireBytes = <V>(v: V) => v as never;

/** The encoder refuses what the decoder would (DECODE_LIMITS), so no peer is sent an unreadable frame. */
function capped<V>(list: V[], max: number, what: string): V[] {
  if (list.length > max) throw new CodecError(`${what}: ${list.length} elements, more than ${max}`);
  return list;
}

const entriesOut = (list: Uint8Array[], what: string) =>
  wireBytes(capped(list, MAX_ENTRIES_PER_MESSAGE, what));

/** Copies, so a stored entry never pins the (much larger) receive buffer it was decoded from. */
const copyBytes = (list: Uint8Array[]) => list.map((e) => e.slice());

// ---- the parts messages are made of: out = core -> wire, in = wire -> core (validating) ----

const ballot = {
  out: (b: Ballot, what: string): pb.Ballot => ({
    n: uint(b.n, `${what}.n`),
    priority: uint(b.priority, `${what}.priority`),
    pid: b.pid,
  }),
  in: (b: pb.Ballot, what: string): Ballot => {
    const n = uint(b.n, `${what}.n`);
    const priority = uint(b.priority, `${what}.priority`);
    // The only ballot without an owner is NO_BALLOT (all zero).
    if (b.pid === "" && (n !== 0 || priority !== 0)) throw new CodecError(`${what}: ballot has no owner`);
    if (b.pid !== "") nodeId(b.pid, `${what}.pid`);
    return { n, priority, pid: b.pid };
  },
};

const seq = {
  out: (s: SequenceNumber, what: string): pb.SequenceNumber => seq.in(s, what),
  in: (s: pb.SequenceNumber, what: string): SequenceNumber => ({
    session: uint(s.session, `${what}.session`),
    counter: uint(s.counter, `${what}.counter`),
  }),
};

const stopSign = {
  out: (ss: StopSign, what: string): pb.StopSign => ({
    configId: uint(ss.configId, `${what}.configId`),
    nodes: capped(ss.nodes, MAX_STOP_SIGN_NODES, `${what}.nodes`),
    ...(ss.metadata ? { metadata: wireBytes(ss.metadata) } : {}),
  }),
  in: (ss: pb.StopSign, what: string): StopSign => {
    const configId = uint(ss.configId, `${what}.configId`);
    if (configId < 1) throw new CodecError(`${what}.configId must be >= 1`);
    if (ss.nodes.length === 0) throw new CodecError(`${what}.nodes is empty`);
    const nodes = ss.nodes.map((n) => nodeId(n, `${what}.nodes`));
    if (new Set(nodes).size !== nodes.length) throw new CodecError(`${what}.nodes has duplicates`);
    return { configId, nodes, ...(ss.metadata ? { metadata: ss.metadata.slice() } : {}) };
  },
};

const logSync = {
  out: (l: LogSync<Uint8Array>, what: string): pb.LogSync => ({
    syncIdx: uint(l.syncIdx, `${what}.syncIdx`),
    suffix: entriesOut(l.suffix, `${what}.suffix`),
    ...(l.snapshot
      ? { snapshot: { idx: uint(l.snapshot.idx, `${what}.snapshot.idx`), data: wireBytes(l.snapshot.data) } }
      : {}),
    ...(l.stopSign ? { stopSign: stopSign.out(l.stopSign, `${what}.stopSign`) } : {}),
  }),
  in: (l: pb.LogSync, what: string): LogSync<Uint8Array> => {
    const out: LogSync<Uint8Array> = {
      syncIdx: uint(l.syncIdx, `${what}.syncIdx`),
      suffix: copyBytes(l.suffix),
    };
    if (l.snapshot) {
      out.snapshot = { idx: uint(l.snapshot.idx, `${what}.snapshot.idx`), data: l.snapshot.data.slice() };
    }
    if (l.stopSign) out.stopSign = stopSign.in(l.stopSign, `${what}.stopSign`);
    return out;
  },
};

const COMPACTION_OPS = { trim: 1, snapshot: 2 } as const;

// deno-lint-ignore no-explicit-any -- each kind checks its own values; the table below ties kinds to fields
type FieldKind = { out(v: any, what: string): unknown; in(v: any, what: string): unknown };

const KINDS = {
  uint: { out: uint, in: uint },
  bool: { out: (v: boolean) => v, in: (v: boolean) => v },
  entries: { out: entriesOut, in: copyBytes },
  ballot,
  seq,
  stopSign,
  logSync,
  compactionOp: {
    out: (op: keyof typeof COMPACTION_OPS) => COMPACTION_OPS[op],
    in: (op: number, what: string) => {
      if (op === COMPACTION_OPS.trim) return "trim";
      if (op === COMPACTION_OPS.snapshot) return "snapshot";
      throw new CodecError(`${what}: unknown operation ${op}`);
    },
  },
} satisfies Record<string, FieldKind>;

type Kind = keyof typeof KINDS;
type WireBody = Exclude<keyof pb.Frame, "configId">;
type Fields<T extends MessageType> = Exclude<
  keyof Extract<Message<Uint8Array>, { type: T }>,
  "type" | "from" | "to" | "configId"
>;

/** Every message type: its one-of field in Frame, and the kind of each field ("?" = optional). */
const MESSAGES: {
  [T in MessageType]: { wire: WireBody; fields: { [F in Fields<T>]-?: Kind | `${Kind}?` } };
} = {
  Prepare: {
    wire: "prepare",
    fields: { n: "ballot", decidedIdx: "uint", nAccepted: "ballot", acceptedIdx: "uint" },
  },
  Promise: {
    wire: "promise",
    fields: {
      n: "ballot",
      nAccepted: "ballot",
      decidedIdx: "uint",
      acceptedIdx: "uint",
      logSync: "logSync?",
    },
  },
  AcceptSync: {
    wire: "acceptSync",
    fields: { n: "ballot", seq: "seq", decidedIdx: "uint", logSync: "logSync" },
  },
  AcceptDecide: {
    wire: "acceptDecide",
    fields: { n: "ballot", seq: "seq", decidedIdx: "uint", entries: "entries" },
  },
  Accepted: { wire: "accepted", fields: { n: "ballot", acceptedIdx: "uint" } },
  NotAccepted: { wire: "notAccepted", fields: { n: "ballot" } },
  Decide: { wire: "decide", fields: { n: "ballot", seq: "seq", decidedIdx: "uint" } },
  PrepareReq: { wire: "prepareReq", fields: { n: "ballot" } },
  ProposalForward: { wire: "proposalForward", fields: { entries: "entries" } },
  AcceptStopSign: { wire: "acceptStopSign", fields: { n: "ballot", seq: "seq", ss: "stopSign" } },
  ForwardStopSign: { wire: "forwardStopSign", fields: { ss: "stopSign" } },
  Compaction: { wire: "compaction", fields: { op: "compactionOp", idx: "uint" } },
  ReadConfirm: { wire: "readConfirm", fields: { n: "ballot", round: "uint" } },
  ReadConfirmAck: { wire: "readConfirmAck", fields: { n: "ballot", round: "uint" } },
  HeartbeatRequest: { wire: "heartbeatRequest", fields: { round: "uint" } },
  HeartbeatReply: {
    wire: "heartbeatReply",
    fields: { round: "uint", ballot: "ballot", quorumConnected: "bool" },
  },
};

const TYPE_OF_WIRE = new Map<string, MessageType>(
  Object.entries(MESSAGES).map(([type, spec]) => [spec.wire, type as MessageType]),
);

/** Converts each listed field of `src` with its kind's `out` or `in`; optional fields may be absent. */
function convert(
  type: string,
  fields: Record<string, string>,
  src: Record<string, unknown>,
  dir: "out" | "in",
): Record<string, unknown> {
  const dst: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(fields)) {
    const optional = spec.endsWith("?");
    const kind: FieldKind = KINDS[(optional ? spec.slice(0, -1) : spec) as Kind];
    const v = src[field];
    if (v === undefined && optional) continue;
    dst[field] = kind[dir](need(v, `${type}.${field}`), `${type}.${field}`);
  }
  return dst;
}

/** Encodes one message as a frame (without length prefix). @throws CodecError for unencodable values. */
export function encodeMessage(m: Message<Uint8Array>): Uint8Array {
  const spec = Object.hasOwn(MESSAGES, m.type) ? MESSAGES[m.type] : undefined;
  if (!spec) throw new CodecError(`unknown message type ${String(m.type)}`);
  const body = convert(m.type, spec.fields, m as unknown as Record<string, unknown>, "out");
  return pb.Frame.encode({ configId: uint(m.configId, "configId"), [spec.wire]: body });
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
    frame = pb.Frame.decode(bytes, { limits: DECODE_LIMITS });
  } catch (err) {
    // protons throws RangeError & co. on truncated or mis-typed input (and on deeply nested groups).
    throw new CodecError(`malformed frame: ${err instanceof Error ? err.message : String(err)}`);
  }
  const configId = uint(frame.configId, "configId");
  if (configId < 1) throw new CodecError("configId must be >= 1");
  // protons keeps only the last one-of field it saw, so at most one body is present.
  for (const [wire, body] of Object.entries(frame)) {
    const type = TYPE_OF_WIRE.get(wire);
    if (type === undefined || body == null) continue;
    const fields = convert(type, MESSAGES[type].fields, body, "in");
    return { type, from, to, configId, ...fields } as Message<Uint8Array>;
  }
  throw new CodecError("frame carries no known message type");
}
