/**
 * Every message the core sends or receives. Plain data only (numbers, strings, booleans, arrays,
 * Uint8Array, nested objects): a message survives `structuredClone` and the protobuf codec unchanged.
 * Optional fields are omitted, never set to `undefined`.
 *
 * `from` is informational inside the core's output; a transport must overwrite it with the authenticated
 * sender before calling `handleIncoming`, so one member cannot speak for another.
 */
import type { Ballot } from "./ballot.ts";
import type { LogSync, NodeId, SequenceNumber, StopSign } from "./types.ts";

interface Envelope {
  from: NodeId;
  to: NodeId;
  /** The configuration this message belongs to; a server drops messages of other configurations. */
  configId: number;
}

// ---- Sequence Paxos ----

/** Leader → followers: "promise not to accept lower ballots, and tell me what I am missing". */
export interface Prepare extends Envelope {
  type: "Prepare";
  n: Ballot;
  decidedIdx: number;
  nAccepted: Ballot;
  acceptedIdx: number;
}

/** Follower → leader; carries the part of the follower's log the leader may be missing. */
export interface PromiseMsg<T> extends Envelope {
  type: "Promise";
  n: Ballot;
  nAccepted: Ballot;
  decidedIdx: number;
  acceptedIdx: number;
  logSync?: LogSync<T>;
}

/** Leader → a promised follower: makes the follower's log equal to the leader's; opens a new session. */
export interface AcceptSync<T> extends Envelope {
  type: "AcceptSync";
  n: Ballot;
  seq: SequenceNumber;
  decidedIdx: number;
  logSync: LogSync<T>;
}

/** Leader → synced followers: new entries for the end of the log, and the leader's decided index. */
export interface AcceptDecide<T> extends Envelope {
  type: "AcceptDecide";
  n: Ballot;
  seq: SequenceNumber;
  decidedIdx: number;
  entries: T[];
}

/** Follower → leader: "my log equals yours up to acceptedIdx in round n". */
export interface Accepted extends Envelope {
  type: "Accepted";
  n: Ballot;
  acceptedIdx: number;
}

/** Follower → a stale leader: "I have promised the higher ballot n". */
export interface NotAccepted extends Envelope {
  type: "NotAccepted";
  n: Ballot;
}

/** Leader → synced followers: the decided index moved. */
export interface Decide extends Envelope {
  type: "Decide";
  n: Ballot;
  seq: SequenceNumber;
  decidedIdx: number;
}

/** Follower → leader (or everyone while recovering): "send me a Prepare again", n = my promise. */
export interface PrepareReq extends Envelope {
  type: "PrepareReq";
  n: Ballot;
}

/** Anyone → the believed leader: entries to append. Fire-and-forget. */
export interface ProposalForward<T> extends Envelope {
  type: "ProposalForward";
  entries: T[];
}

/** Leader → synced followers: accept the stop sign as the last slot of this configuration. */
export interface AcceptStopSign extends Envelope {
  type: "AcceptStopSign";
  n: Ballot;
  seq: SequenceNumber;
  ss: StopSign;
}

/** Anyone → the believed leader: propose this stop sign. */
export interface ForwardStopSign extends Envelope {
  type: "ForwardStopSign";
  ss: StopSign;
}

/** Trim (leader → all) or snapshot (anyone → all) the log below idx; receivers try and ignore failure. */
export interface Compaction extends Envelope {
  type: "Compaction";
  op: "trim" | "snapshot";
  idx: number;
}

/** Leader → followers: "do you still promise n?" — confirms leadership for linearizable reads. */
export interface ReadConfirm extends Envelope {
  type: "ReadConfirm";
  n: Ballot;
  round: number;
}

/** Follower → leader: "yes, my promise is still n" for that confirmation round. */
export interface ReadConfirmAck extends Envelope {
  type: "ReadConfirmAck";
  n: Ballot;
  round: number;
}

// ---- Ballot Leader Election ----

export interface HeartbeatRequest extends Envelope {
  type: "HeartbeatRequest";
  round: number;
}

/** Carries the sender's OWN ballot only (never the leader's or the highest seen: that would livelock). */
export interface HeartbeatReply extends Envelope {
  type: "HeartbeatReply";
  round: number;
  ballot: Ballot;
  /** Whether the sender heard a quorum in its last completed round: only such servers may be elected. */
  quorumConnected: boolean;
}

export type PaxosMessage<T> =
  | Prepare
  | PromiseMsg<T>
  | AcceptSync<T>
  | AcceptDecide<T>
  | Accepted
  | NotAccepted
  | Decide
  | PrepareReq
  | ProposalForward<T>
  | AcceptStopSign
  | ForwardStopSign
  | Compaction
  | ReadConfirm
  | ReadConfirmAck;

export type BleMessage = HeartbeatRequest | HeartbeatReply;

export type Message<T> = PaxosMessage<T> | BleMessage;

export type MessageType = Message<unknown>["type"];

/** All message type names, for codecs and exhaustive tests. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  "Prepare",
  "Promise",
  "AcceptSync",
  "AcceptDecide",
  "Accepted",
  "NotAccepted",
  "Decide",
  "PrepareReq",
  "ProposalForward",
  "AcceptStopSign",
  "ForwardStopSign",
  "Compaction",
  "ReadConfirm",
  "ReadConfirmAck",
  "HeartbeatRequest",
  "HeartbeatReply",
];

export function isBleMessage<T>(m: Message<T>): m is BleMessage {
  return m.type === "HeartbeatRequest" || m.type === "HeartbeatReply";
}
