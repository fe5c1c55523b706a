/** Sequence Paxos, follower side: promises, log syncs, accepting entries and decisions, resends. */
import { ballotEq, compareBallots } from "./ballot.ts";
import { stepDown } from "./leader.ts";
import type { AcceptDecide, AcceptStopSign, AcceptSync, Decide, Prepare } from "./messages.ts";
import type { SequencePaxos } from "./sequence_paxos.ts";
import type { StorageOp } from "./storage.ts";
import type { LogSync, NodeId, SequenceNumber } from "./types.ts";

export function handlePrepare<T>(sp: SequencePaxos<T>, m: Prepare): void {
  const c = compareBallots(m.n, sp.log.promise);
  if (c < 0) {
    // Tell the stale leader what it must beat (a restarted server may hold a promise nobody else saw).
    sp.send({ type: "NotAccepted", to: m.from, n: sp.log.promise });
    return;
  }
  if (c === 0 && sp.phase !== "recover") return; // duplicate Prepare
  // Decide what the leader is missing before promising: if we cannot tell it, we must not promise.
  let logSync: LogSync<T> | undefined;
  const rc = compareBallots(sp.log.acceptedRound, m.nAccepted);
  if (rc > 0) {
    logSync = sp.log.createLogSync(m.decidedIdx, m.acceptedIdx);
    if (!logSync) return;
  } else if (rc === 0 && sp.log.acceptedIdx > m.acceptedIdx) {
    logSync = sp.log.createLogSync(m.acceptedIdx, m.acceptedIdx);
    if (!logSync) return;
  }
  stepDown(sp);
  sp.log.write([{ op: "setPromise", ballot: m.n }]);
  sp.role = "follower";
  sp.phase = "prepare";
  sp.currentSeq = { session: 0, counter: 0 };
  sp.freshPromise = true;
  sp.cachedPromise = {
    type: "Promise",
    to: m.from,
    n: m.n,
    nAccepted: sp.log.acceptedRound,
    decidedIdx: sp.log.decidedIdx,
    acceptedIdx: sp.log.acceptedIdx,
    ...(logSync ? { logSync } : {}),
  };
  sp.send(sp.cachedPromise);
}

export function handleAcceptSync<T>(sp: SequencePaxos<T>, m: AcceptSync<T>): void {
  if (!sp.checkBallot(m.n) || sp.role !== "follower" || sp.phase !== "prepare") return;
  if (sp.lastSync && ballotEq(sp.lastSync.n, m.n) && m.seq.session <= sp.lastSync.session) return; // stale copy
  const applied = sp.log.applyLogSync(m.logSync);
  if (!applied) {
    sp.reconnected(m.from); // the leader's picture of our log is out of date: promise again
    return;
  }
  const decided = Math.max(sp.log.decidedIdx, Math.min(m.decidedIdx, applied.acceptedIdx));
  sp.log.write([
    { op: "setAcceptedRound", ballot: m.n },
    ...applied.ops,
    { op: "setDecidedIdx", idx: decided },
  ]);
  sp.lastSync = { n: m.n, session: m.seq.session };
  sp.currentSeq = m.seq;
  sp.phase = "accept";
  sp.cachedPromise = undefined;
  sendAccepted(sp, m.from);
  sp.forwardBuffered(m.from);
}

type SeqStatus = "expected" | "outdated" | "gap";

function seqStatus(last: SequenceNumber, s: SequenceNumber): SeqStatus {
  if (s.session === last.session && s.counter === last.counter + 1) return "expected";
  if (s.session < last.session || (s.session === last.session && s.counter <= last.counter)) {
    return "outdated";
  }
  return "gap";
}

/**
 * Common gate for AcceptDecide / Decide / AcceptStopSign: right ballot, synced, next in the session.
 * A message from a session newer than any sync we applied means the leader thinks we are synced when we
 * are not (our AcceptSync was lost): resync, as on a detected gap.
 */
function admit<T>(
  sp: SequencePaxos<T>,
  n: AcceptDecide<T>["n"],
  from: NodeId,
  seq: SequenceNumber,
): SeqStatus {
  if (!sp.checkBallot(n) || sp.role !== "follower") return "outdated";
  if (sp.phase !== "accept") {
    if (sp.phase === "prepare" && seq.session > (sp.lastSync?.session ?? 0)) {
      sp.counters.sessionGaps++;
      sp.reconnected(from);
    }
    return "outdated";
  }
  const st = seqStatus(sp.currentSeq, seq);
  if (st === "expected") sp.currentSeq = seq;
  else if (st === "gap") {
    sp.counters.sessionGaps++;
    sp.reconnected(from);
  }
  return st;
}

export function handleAcceptDecide<T>(sp: SequencePaxos<T>, m: AcceptDecide<T>): void {
  if (admit(sp, m.n, m.from, m.seq) !== "expected") return;
  if (sp.log.stopSign) return; // nothing follows a stop sign
  const ops: StorageOp<T>[] = [];
  if (m.entries.length > 0) ops.push({ op: "append", entries: m.entries });
  const decided = Math.min(m.decidedIdx, sp.log.acceptedIdx + m.entries.length);
  if (decided > sp.log.decidedIdx) ops.push({ op: "setDecidedIdx", idx: decided });
  sp.log.write(ops);
  if (m.entries.length > 0) sendAccepted(sp, m.from);
}

export function handleDecide<T>(sp: SequencePaxos<T>, m: Decide): void {
  if (admit(sp, m.n, m.from, m.seq) !== "expected") return;
  const decided = Math.min(m.decidedIdx, sp.log.acceptedIdx);
  if (decided > sp.log.decidedIdx) sp.log.write([{ op: "setDecidedIdx", idx: decided }]);
}

export function handleAcceptStopSign<T>(sp: SequencePaxos<T>, m: AcceptStopSign): void {
  const st = admit(sp, m.n, m.from, m.seq);
  if (st === "outdated" && sp.isPromised(m.n) && sp.phase === "accept" && sp.log.stopSign) {
    sendAccepted(sp, m.from); // a resend: our Accepted may have been lost
    return;
  }
  if (st !== "expected" || sp.log.stopSign) return;
  sp.log.write([{ op: "setStopSign", ss: m.ss }]);
  sendAccepted(sp, m.from);
}

/** Queue Accepted, or raise the index of one still unsent. */
function sendAccepted<T>(sp: SequencePaxos<T>, to: NodeId): void {
  const p = sp.pendingAccepted;
  if (p && p.to === to && ballotEq(p.n, sp.log.promise)) {
    p.acceptedIdx = sp.log.acceptedIdx;
    return;
  }
  sp.pendingAccepted = sp.send({ type: "Accepted", to, n: sp.log.promise, acceptedIdx: sp.log.acceptedIdx });
}

export function resend<T>(sp: SequencePaxos<T>): void {
  if (sp.phase === "prepare") {
    if (sp.cachedPromise) sp.send(sp.cachedPromise);
    else sp.phase = "recover";
  }
  if (sp.phase === "recover") {
    for (const p of sp.cfg.peers) sp.send({ type: "PrepareReq", to: p, n: sp.log.promise });
  }
}
