/** Sequence Paxos, leader side: prepare phase, accept phase, decisions, resends. */
import { type Ballot, ballotEq, ballotGt, compareBallots, copyBallot } from "./ballot.ts";
import { LeaderState, type PromiseMeta, promiseMetaGt } from "./leader_state.ts";
import type { Accepted, NotAccepted, PrepareReq, PromiseMsg } from "./messages.ts";
import type { SequencePaxos } from "./sequence_paxos.ts";
import type { StorageOp } from "./storage.ts";
import type { DurabilityMark, NodeId, StopSign } from "./types.ts";

/** BLE elected ballot n (ours): run Prepare. Idempotent: ignores n unless it beats our promise. */
export function handleLeader<T>(sp: SequencePaxos<T>, n: Ballot): void {
  if (n.pid !== sp.pid) return;
  if (!ballotGt(n, sp.log.promise)) return;
  if (sp.leaderState && !ballotGt(n, sp.leaderState.n)) return;
  stepDown(sp);
  sp.log.write([{ op: "setPromise", ballot: n }]);
  sp.role = "leader";
  sp.phase = "prepare";
  sp.cachedPromise = undefined;
  const own: PromiseMeta = {
    pid: sp.pid,
    nAccepted: sp.log.acceptedRound,
    acceptedIdx: sp.log.acceptedIdx,
    decidedIdx: sp.log.decidedIdx,
  };
  sp.leaderState = new LeaderState<T>(copyBallot(n), own);
  for (const p of sp.cfg.peers) sendPrepare(sp, p);
  if (sp.leaderState.promisedCount() >= sp.cfg.readQuorum) handleMajorityPromises(sp);
}

/** Leave leadership; entries not yet written go back to the proposal buffer (nobody has seen them). */
export function stepDown<T>(sp: SequencePaxos<T>): void {
  if (sp.role !== "leader") return;
  sp.reads.failAll();
  if (sp.batch.length > 0) {
    sp.buffered.unshift(...sp.batch);
    sp.batch = [];
  }
  sp.role = "follower";
  sp.leaderState = undefined;
}

function sendPrepare<T>(sp: SequencePaxos<T>, to: NodeId): void {
  const ls = sp.leaderState!;
  sp.send({
    type: "Prepare",
    to,
    n: ls.n,
    decidedIdx: sp.log.decidedIdx,
    nAccepted: sp.log.acceptedRound,
    acceptedIdx: sp.log.acceptedIdx,
  });
}

export function handlePromise<T>(sp: SequencePaxos<T>, m: PromiseMsg<T>): void {
  const ls = sp.leaderState;
  if (!ls || sp.role !== "leader" || !ballotEq(m.n, ls.n)) return;
  const meta: PromiseMeta = {
    pid: m.from,
    nAccepted: m.nAccepted,
    acceptedIdx: m.acceptedIdx,
    decidedIdx: m.decidedIdx,
  };
  if (sp.phase === "prepare") {
    ls.promises.set(m.from, meta);
    if (m.logSync) ls.syncs.set(m.from, m.logSync);
    else ls.syncs.delete(m.from);
    if (promiseMetaGt(meta, ls.maxMeta)) ls.maxMeta = meta;
    if (ls.promisedCount() >= sp.cfg.readQuorum) handleMajorityPromises(sp);
  } else if (sp.phase === "accept") {
    // A follower already synced in this round sends duplicates only; a fresh promise follows a PrepareReq.
    if (ls.promises.get(m.from) !== undefined) return;
    ls.promises.set(m.from, meta);
    sendAcceptSync(sp, m.from);
  }
}

/** A read quorum promised: adopt the most up-to-date log among them, then open the accept phase. */
function handleMajorityPromises<T>(sp: SequencePaxos<T>): void {
  const ls = sp.leaderState!;
  const ops: StorageOp<T>[] = [{ op: "setAcceptedRound", ballot: ls.n }];
  let acceptedIdx = sp.log.acceptedIdx;
  if (ls.maxMeta.pid !== sp.pid) {
    const sync = ls.syncs.get(ls.maxMeta.pid);
    const applied = sync && sp.log.applyLogSync(sync);
    if (!applied) {
      // The best log cannot be adopted as sent: ask its holder again rather than proceed without it.
      retryPrepare(sp, ls.maxMeta.pid);
      return;
    }
    ops.push(...applied.ops);
    acceptedIdx = applied.acceptedIdx;
  }
  let maxDecided = 0;
  for (const p of ls.promises.values()) if (p !== "higher") maxDecided = Math.max(maxDecided, p.decidedIdx);
  const decided = Math.max(sp.log.decidedIdx, Math.min(maxDecided, acceptedIdx));
  ops.push({ op: "setDecidedIdx", idx: decided });
  sp.log.write(ops);
  ls.syncs.clear();
  sp.phase = "accept";
  if (sp.log.stopSign) {
    sp.dropBuffered(); // the adopted log is sealed
  } else {
    if (sp.buffered.length > 0) sp.log.write([{ op: "append", entries: sp.buffered.splice(0) }]);
    if (sp.bufferedStopSign) {
      sp.log.write([{ op: "setStopSign", ss: sp.bufferedStopSign }]);
      sp.bufferedStopSign = undefined;
    }
  }
  ls.acceptedIndexes.set(sp.pid, ownAccepted(sp));
  for (const p of sp.cfg.peers) if (ls.meta(p)) sendAcceptSync(sp, p);
  tryDecide(sp);
}

/** Forget pid's promise (and recompute the best one) and send it a fresh Prepare. */
function retryPrepare<T>(sp: SequencePaxos<T>, pid: NodeId): void {
  const ls = sp.leaderState!;
  ls.promises.delete(pid);
  ls.syncs.delete(pid);
  let best = ls.meta(sp.pid)!;
  for (const p of ls.promises.values()) if (p !== "higher" && promiseMetaGt(p, best)) best = p;
  ls.maxMeta = best;
  sendPrepare(sp, pid);
}

/** Make follower f's log equal to ours, starting a new session with it. */
function sendAcceptSync<T>(sp: SequencePaxos<T>, f: NodeId): void {
  const ls = sp.leaderState!;
  const meta = ls.meta(f)!;
  let prefix: number;
  if (ballotEq(meta.nAccepted, ls.n)) prefix = meta.acceptedIdx;
  else if (ballotEq(meta.nAccepted, ls.maxMeta.nAccepted)) {
    prefix = Math.min(meta.acceptedIdx, ls.maxMeta.acceptedIdx);
  } else prefix = meta.decidedIdx;
  const logSync = sp.log.createLogSync(prefix, meta.acceptedIdx);
  if (!logSync) {
    sp.counters.unsyncableFollowers++;
    ls.promises.delete(f); // Prepare resends retry later, e.g. once a snapshot exists.
    return;
  }
  const prev = ls.seqs.get(f);
  const seq = { session: (prev?.session ?? 0) + 1, counter: 1 };
  ls.seqs.set(f, seq);
  ls.pending.delete(f);
  sp.send({ type: "AcceptSync", to: f, n: ls.n, seq, decidedIdx: sp.log.decidedIdx, logSync });
}

export function appendEntry<T>(sp: SequencePaxos<T>, entry: T): void {
  sp.batch.push(entry);
  if (sp.batch.length >= sp.cfg.batchSize) flushBatch(sp);
}

/** Write the batch, then ship it to every synced follower (extending an unsent AcceptDecide if any). */
export function flushBatch<T>(sp: SequencePaxos<T>): void {
  const ls = sp.leaderState;
  if (!ls || sp.batch.length === 0) return;
  const entries = sp.batch;
  sp.batch = [];
  sp.log.write([{ op: "append", entries }]);
  ls.acceptedIndexes.set(sp.pid, ownAccepted(sp));
  const decidedIdx = sp.log.decidedIdx;
  for (const f of sp.cfg.peers) {
    if (!ls.meta(f)) continue;
    const pending = ls.pending.get(f);
    if (pending?.type === "AcceptDecide") {
      for (const e of entries) pending.entries.push(e);
      pending.decidedIdx = decidedIdx;
      continue;
    }
    const msg = sp.send({
      type: "AcceptDecide",
      to: f,
      n: ls.n,
      seq: ls.nextSeq(f),
      decidedIdx,
      entries: [...entries],
    });
    ls.pending.set(f, msg);
  }
  tryDecide(sp);
}

export function acceptStopSign<T>(sp: SequencePaxos<T>, ss: StopSign): void {
  const ls = sp.leaderState!;
  flushBatch(sp);
  sp.log.write([{ op: "setStopSign", ss }]);
  ls.acceptedIndexes.set(sp.pid, ownAccepted(sp));
  for (const f of sp.cfg.peers) {
    if (!ls.meta(f)) continue;
    ls.pending.delete(f);
    sp.send({ type: "AcceptStopSign", to: f, n: ls.n, seq: ls.nextSeq(f), ss });
  }
  tryDecide(sp);
}

export function handleAccepted<T>(sp: SequencePaxos<T>, m: Accepted): void {
  const ls = sp.leaderState;
  if (!ls || !sp.isAcceptingLeader() || !ballotEq(m.n, ls.n)) return;
  // Accepted(n, i) stays true for the rest of round n, so keep the highest (duplicates may arrive late).
  const idx = Math.min(m.acceptedIdx, sp.log.acceptedIdx);
  if (idx > (ls.acceptedIndexes.get(m.from) ?? 0)) ls.acceptedIndexes.set(m.from, idx);
  tryDecide(sp);
}

/**
 * How much of our own log counts towards a quorum: all of it, or with leaderAcceptsWhenDurable only the
 * part the host reported durable in this round, so a decision never rests on our unsynced write.
 */
function ownAccepted<T>(sp: SequencePaxos<T>): number {
  const ls = sp.leaderState!;
  return sp.cfg.leaderAcceptsWhenDurable ? Math.min(sp.log.acceptedIdx, ls.durableIdx) : sp.log.acceptedIdx;
}

/** Where our log stands now, to report with markDurable once a sync started after this call completes. */
export function durabilityMark<T>(sp: SequencePaxos<T>): DurabilityMark | undefined {
  const ls = sp.leaderState;
  // Only accept-phase marks count: within one round's accept phase our log only grows, so the first idx
  // entries are still the ones the sync wrote. (The prepare phase may still rewrite the log's suffix.)
  if (!ls || sp.role !== "leader" || sp.phase !== "accept") return undefined;
  return { n: copyBallot(ls.n), idx: sp.log.acceptedIdx };
}

/** The host made durable every write made before `mark` was taken: count that much of our log. */
export function markDurable<T>(sp: SequencePaxos<T>, mark: DurabilityMark): void {
  const ls = sp.leaderState;
  if (!ls || sp.role !== "leader" || sp.phase !== "accept" || !ballotEq(mark.n, ls.n)) return;
  if (mark.idx <= ls.durableIdx) return;
  ls.durableIdx = mark.idx;
  ls.acceptedIndexes.set(sp.pid, ownAccepted(sp));
  tryDecide(sp);
}

function tryDecide<T>(sp: SequencePaxos<T>): void {
  const ls = sp.leaderState!;
  const idx = ls.quorumAcceptedIdx(sp.cfg.writeQuorum);
  if (idx <= sp.log.decidedIdx) return;
  sp.log.write([{ op: "setDecidedIdx", idx }]);
  for (const f of sp.cfg.peers) {
    if (!ls.meta(f)) continue;
    const pending = ls.pending.get(f);
    if (pending) {
      pending.decidedIdx = idx;
      continue;
    }
    const msg = sp.send({ type: "Decide", to: f, n: ls.n, seq: ls.nextSeq(f), decidedIdx: idx });
    ls.pending.set(f, msg);
  }
}

export function handleNotAccepted<T>(sp: SequencePaxos<T>, m: NotAccepted): void {
  const ls = sp.leaderState;
  if (!ls || sp.role !== "leader" || !ballotGt(m.n, ls.n)) return;
  ls.promises.set(m.from, "higher");
  ls.pending.delete(m.from);
  if (!sp.highestRejection || ballotGt(m.n, sp.highestRejection)) sp.highestRejection = copyBallot(m.n);
}

export function handlePrepareReq<T>(sp: SequencePaxos<T>, m: PrepareReq): void {
  const ls = sp.leaderState;
  if (!ls || sp.role !== "leader" || compareBallots(m.n, ls.n) > 0) return;
  reprepare(sp, m.from);
}

/**
 * Forget what we knew of `pid`'s log and Prepare it again: after it asked (PrepareReq), or when a new
 * session with it began — it may have restarted, even with an empty disk, and the old session's
 * messages may be lost, so our picture of its log can no longer be trusted.
 */
export function reprepare<T>(sp: SequencePaxos<T>, pid: NodeId): void {
  const ls = sp.leaderState;
  if (!ls || sp.role !== "leader") return;
  ls.promises.delete(pid);
  ls.syncs.delete(pid);
  ls.pending.delete(pid);
  sendPrepare(sp, pid);
}

/**
 * Accept-phase messages carry no index, so a follower only notices a lost one when a later one arrives.
 * When traffic stops right after a loss (a dropped frame on a live session, a full send queue), nothing
 * later comes. Each resend period, a follower whose accepted index has not moved while it lags behind,
 * or that has not heard the latest decided index, gets a Decide on the next sequence number: one that
 * missed something sees the gap and resyncs; one that missed nothing just applies it.
 */
function probeStalledFollowers<T>(sp: SequencePaxos<T>): void {
  const ls = sp.leaderState!;
  const decidedIdx = sp.log.decidedIdx;
  for (const f of sp.cfg.peers) {
    if (!ls.meta(f)) continue;
    const acc = ls.acceptedIndexes.get(f) ?? 0;
    const last = ls.probes.get(f);
    ls.probes.set(f, { acc, decided: decidedIdx });
    const stalled = acc < sp.log.acceptedIdx && last?.acc === acc;
    if (!stalled && last?.decided === decidedIdx) continue;
    const pending = ls.pending.get(f);
    if (pending) pending.decidedIdx = decidedIdx;
    else ls.pending.set(f, sp.send({ type: "Decide", to: f, n: ls.n, seq: ls.nextSeq(f), decidedIdx }));
  }
}

/** A peer showed it is alive (a heartbeat, a new session): if it has not promised us yet, Prepare it now. */
export function prepareIfUnpromised<T>(sp: SequencePaxos<T>, pid: NodeId): void {
  const ls = sp.leaderState;
  if (!ls || sp.role !== "leader" || ls.promises.has(pid)) return;
  sendPrepare(sp, pid);
}

/** Resend what has no successor to expose its loss: Prepares, and the stop sign and its decision. */
export function resend<T>(sp: SequencePaxos<T>): void {
  const ls = sp.leaderState;
  if (!ls) return;
  for (const p of sp.cfg.peers) if (!ls.promises.has(p)) sendPrepare(sp, p);
  if (sp.phase !== "accept") return;
  const ss = sp.log.stopSign;
  if (!ss) {
    probeStalledFollowers(sp);
    return;
  }
  const decided = sp.log.isStopSignDecided();
  for (const f of sp.cfg.peers) {
    if (!ls.meta(f)) continue;
    // Same sequence number as the last message: a follower that got it sees a duplicate, one that missed it doesn't.
    const seq = ls.seqs.get(f) ?? { session: 0, counter: 0 };
    if (decided) {
      sp.send({ type: "Decide", to: f, n: ls.n, seq, decidedIdx: sp.log.decidedIdx });
    } else if ((ls.acceptedIndexes.get(f) ?? 0) < sp.log.acceptedIdx) {
      sp.send({ type: "AcceptStopSign", to: f, n: ls.n, seq, ss });
    }
  }
}
