/** fast-check generators for every core message (Message<Uint8Array>), and an independent validity check. */
import fc from "fast-check";
import type { Ballot, LogSync, Message, SequenceNumber, StopSign } from "../../src/omnipaxos/mod.ts";
import { MESSAGE_TYPES } from "../../src/omnipaxos/mod.ts";

/** Numbers biased towards the edges: 0, 1 and MAX_SAFE_INTEGER show up often. */
export const index = (): fc.Arbitrary<number> =>
  fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER), fc.nat(), fc.maxSafeNat());

export const nodeId = (): fc.Arbitrary<string> =>
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 16 });

export const ballot = (): fc.Arbitrary<Ballot> =>
  fc.oneof(
    fc.constant({ n: 0, priority: 0, pid: "" }),
    fc.record({ n: index(), priority: index(), pid: nodeId() }, { noNullPrototype: true }),
  );

const seq = (): fc.Arbitrary<SequenceNumber> =>
  fc.record({ session: index(), counter: index() }, { noNullPrototype: true });

const bytes = (maxLength = 64): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

/** Batches range from empty to large; entries from empty to a few hundred bytes. */
const entries = (): fc.Arbitrary<Uint8Array[]> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(bytes(), { maxLength: 20 }) },
    { weight: 1, arbitrary: fc.array(bytes(300), { minLength: 500, maxLength: 2000 }) },
  );

export const stopSign = (): fc.Arbitrary<StopSign> =>
  fc.record(
    {
      configId: index().filter((n) => n >= 1),
      nodes: fc.uniqueArray(nodeId(), { minLength: 1, maxLength: 7 }),
      metadata: bytes(),
    },
    { noNullPrototype: true, requiredKeys: ["configId", "nodes"] },
  );

const logSync = (): fc.Arbitrary<LogSync<Uint8Array>> =>
  fc.record(
    {
      syncIdx: index(),
      suffix: entries(),
      snapshot: fc.record({ idx: index(), data: bytes(256) }, { noNullPrototype: true }),
      stopSign: stopSign(),
    },
    { noNullPrototype: true, requiredKeys: ["syncIdx", "suffix"] },
  );

const env = () => ({ from: nodeId(), to: nodeId(), configId: index().filter((n) => n >= 1) });

const bodies: { [K in Message<Uint8Array>["type"]]: () => fc.Arbitrary<Record<string, unknown>> } = {
  Prepare: () =>
    fc.record({ n: ballot(), decidedIdx: index(), nAccepted: ballot(), acceptedIdx: index() }, {
      noNullPrototype: true,
    }),
  Promise: () =>
    fc.record(
      { n: ballot(), nAccepted: ballot(), decidedIdx: index(), acceptedIdx: index(), logSync: logSync() },
      { noNullPrototype: true, requiredKeys: ["n", "nAccepted", "decidedIdx", "acceptedIdx"] },
    ),
  AcceptSync: () =>
    fc.record({ n: ballot(), seq: seq(), decidedIdx: index(), logSync: logSync() }, {
      noNullPrototype: true,
    }),
  AcceptDecide: () =>
    fc.record({ n: ballot(), seq: seq(), decidedIdx: index(), entries: entries() }, {
      noNullPrototype: true,
    }),
  Accepted: () => fc.record({ n: ballot(), acceptedIdx: index() }, { noNullPrototype: true }),
  NotAccepted: () => fc.record({ n: ballot() }, { noNullPrototype: true }),
  Decide: () => fc.record({ n: ballot(), seq: seq(), decidedIdx: index() }, { noNullPrototype: true }),
  PrepareReq: () => fc.record({ n: ballot() }, { noNullPrototype: true }),
  ProposalForward: () => fc.record({ entries: entries() }, { noNullPrototype: true }),
  AcceptStopSign: () => fc.record({ n: ballot(), seq: seq(), ss: stopSign() }, { noNullPrototype: true }),
  ForwardStopSign: () => fc.record({ ss: stopSign() }, { noNullPrototype: true }),
  Compaction: () =>
    fc.record({ op: fc.constantFrom("trim", "snapshot"), idx: index() }, { noNullPrototype: true }),
  ReadConfirm: () => fc.record({ n: ballot(), round: index() }, { noNullPrototype: true }),
  ReadConfirmAck: () => fc.record({ n: ballot(), round: index() }, { noNullPrototype: true }),
  HeartbeatRequest: () => fc.record({ round: index() }, { noNullPrototype: true }),
  HeartbeatReply: () =>
    fc.record({ round: index(), ballot: ballot(), quorumConnected: fc.boolean() }, { noNullPrototype: true }),
};

export function messageOf(type: Message<Uint8Array>["type"]): fc.Arbitrary<Message<Uint8Array>> {
  return fc.tuple(fc.record(env()), bodies[type]()).map(([e, b]) =>
    ({ type, ...e, ...b }) as unknown as Message<Uint8Array>
  );
}

export const anyMessage = (): fc.Arbitrary<Message<Uint8Array>> => fc.oneof(...MESSAGE_TYPES.map(messageOf));

// ---- validity, written independently of the codec ----

const safe = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isId = (v: unknown) => typeof v === "string" && v.length > 0;
const isBallot = (b: Ballot | undefined) =>
  !!b && safe(b.n) && safe(b.priority) && typeof b.pid === "string" &&
  (b.pid !== "" || (b.n === 0 && b.priority === 0));
const isSeq = (s: SequenceNumber | undefined) => !!s && safe(s.session) && safe(s.counter);
const isBytesList = (l: unknown) => Array.isArray(l) && l.every((e) => e instanceof Uint8Array);
const isStopSign = (ss: StopSign | undefined) =>
  !!ss && safe(ss.configId) && ss.configId >= 1 && ss.nodes.length > 0 && ss.nodes.every(isId) &&
  new Set(ss.nodes).size === ss.nodes.length &&
  (ss.metadata === undefined || ss.metadata instanceof Uint8Array);
const isLogSync = (l: LogSync<Uint8Array> | undefined) =>
  !!l && safe(l.syncIdx) && isBytesList(l.suffix) && (l.stopSign === undefined || isStopSign(l.stopSign)) &&
  (l.snapshot === undefined || (safe(l.snapshot.idx) && l.snapshot.data instanceof Uint8Array));

/** Whether `m` is something the core may be handed. */
export function isValidMessage(m: Message<Uint8Array>): boolean {
  if (!isId(m.from) || !isId(m.to) || !safe(m.configId) || m.configId < 1) return false;
  if (Object.values(m).some((v) => v === undefined)) return false;
  switch (m.type) {
    case "Prepare":
      return isBallot(m.n) && isBallot(m.nAccepted) && safe(m.decidedIdx) && safe(m.acceptedIdx);
    case "Promise":
      return isBallot(m.n) && isBallot(m.nAccepted) && safe(m.decidedIdx) && safe(m.acceptedIdx) &&
        (m.logSync === undefined || isLogSync(m.logSync));
    case "AcceptSync":
      return isBallot(m.n) && isSeq(m.seq) && safe(m.decidedIdx) && isLogSync(m.logSync);
    case "AcceptDecide":
      return isBallot(m.n) && isSeq(m.seq) && safe(m.decidedIdx) && isBytesList(m.entries);
    case "Accepted":
      return isBallot(m.n) && safe(m.acceptedIdx);
    case "NotAccepted":
    case "PrepareReq":
      return isBallot(m.n);
    case "Decide":
      return isBallot(m.n) && isSeq(m.seq) && safe(m.decidedIdx);
    case "ProposalForward":
      return isBytesList(m.entries);
    case "AcceptStopSign":
      return isBallot(m.n) && isSeq(m.seq) && isStopSign(m.ss);
    case "ForwardStopSign":
      return isStopSign(m.ss);
    case "Compaction":
      return (m.op === "trim" || m.op === "snapshot") && safe(m.idx);
    case "ReadConfirm":
    case "ReadConfirmAck":
      return isBallot(m.n) && safe(m.round);
    case "HeartbeatRequest":
      return safe(m.round);
    case "HeartbeatReply":
      return safe(m.round) && isBallot(m.ballot) && typeof m.quorumConnected === "boolean";
    default:
      return false;
  }
}
