/**
 * Sequence Paxos: the replicated log. This file holds the state both roles share and the entry points;
 * the leader's handlers live in leader.ts and the follower's in follower.ts.
 *
 * Every handler writes storage before it queues the messages those writes justify (see storage.ts for the
 * host's half of that rule).
 */
import { type Ballot, ballotEq, compareBallots, isNoBallot } from "./ballot.ts";
import type { ResolvedConfig } from "./config.ts";
import { BufferFullError, CompactionError, NotLeaderError, PendingReconfigError } from "./errors.ts";
import * as follower from "./follower.ts";
import { InternalStorage } from "./internal_storage.ts";
import * as leader from "./leader.ts";
import type { LeaderState } from "./leader_state.ts";
import type { Accepted, Message, PaxosMessage } from "./messages.ts";
import type { Storage } from "./storage.ts";
import { ReadConfirmer } from "./read_confirm.ts";
import type { NodeId, SequenceNumber, StopSign } from "./types.ts";

export type Role = "follower" | "leader";
export type Phase = "none" | "prepare" | "accept" | "recover";

/** Counters for things the protocol tolerates but an operator may want to see. */
export interface PaxosCounters {
  /** Proposals dropped because a stop sign sealed the log. */
  droppedProposals: number;
  /** Followers that could not be synced (they need a snapshot this server does not have). */
  unsyncableFollowers: number;
  /** Accept-phase messages that revealed a gap in their session (each triggers a resync). */
  sessionGaps: number;
}

/** A message before the envelope's sender and configuration are filled in. */
export type Outgoing<T> = PaxosMessage<T> extends infer U
  ? U extends unknown ? Omit<U, "from" | "configId"> : never
  : never;

export class SequencePaxos<T> {
  readonly log: InternalStorage<T>;
  role: Role = "follower";
  phase: Phase = "none";
  leaderState: LeaderState<T> | undefined;
  /** Leader: appended entries not yet written (see batchSize). */
  batch: T[] = [];
  /** Proposals waiting for a usable leader. */
  buffered: T[] = [];
  bufferedStopSign: StopSign | undefined;
  /** Follower: last accept-phase message applied from the current leader. */
  currentSeq: SequenceNumber = { session: 0, counter: 0 };
  /** Follower: the newest AcceptSync session applied per ballot; older syncs are stale duplicates. */
  lastSync: { n: Ballot; session: number } | undefined;
  /** Follower: the Promise to resend while waiting for the AcceptSync. */
  cachedPromise: Outgoing<T> | undefined;
  /** Follower: an unsent Accepted in the outbox, updated in place instead of queuing another. */
  pendingAccepted: Accepted | undefined;
  /** Set when this server promised a new leader's Prepare since the last heartbeat round ended. */
  freshPromise = false;
  /** Highest ballot a follower refused this leader with (shown in status). */
  highestRejection: Ballot | undefined;
  /** Linearizable-read confirmations (see read_confirm.ts). */
  readonly reads = new ReadConfirmer();
  #nextTicket = 0;
  readonly counters: PaxosCounters = { droppedProposals: 0, unsyncableFollowers: 0, sessionGaps: 0 };
  #outbox: Message<T>[] = [];
  #resendClock = 0;
  #flushClock = 0;

  readonly cfg: ResolvedConfig<T>;

  constructor(cfg: ResolvedConfig<T>, storage: Storage<T>) {
    this.cfg = cfg;
    this.log = new InternalStorage(storage);
    if (!isNoBallot(this.log.promise)) {
      // Recovering: the volatile state is gone; ask the cluster to sync us (never reuse our old ballot).
      this.phase = "recover";
      for (const p of cfg.peers) this.send({ type: "PrepareReq", to: p, n: this.log.promise });
    }
  }

  get pid(): NodeId {
    return this.cfg.pid;
  }

  send<M extends Outgoing<T>>(m: M): M & { from: NodeId; configId: number } {
    const msg = { ...m, from: this.cfg.pid, configId: this.cfg.configId };
    this.#outbox.push(msg as unknown as Message<T>);
    return msg;
  }

  takeOutgoing(): Message<T>[] {
    const out = this.#outbox;
    this.#outbox = [];
    this.pendingAccepted = undefined;
    this.leaderState?.pending.clear();
    return out;
  }

  /** Whether a Prepare was promised since the last call (consumed by each heartbeat round). */
  takeFreshPromise(): boolean {
    const f = this.freshPromise;
    this.freshPromise = false;
    return f;
  }

  /** The leader this server follows (or is), from its promise. */
  currentLeader(): NodeId | undefined {
    return isNoBallot(this.log.promise) ? undefined : this.log.promise.pid;
  }

  isAcceptingLeader(): boolean {
    return this.role === "leader" && this.phase === "accept";
  }

  // ---- client operations ----

  append(entry: T): void {
    if (this.log.stopSign || this.bufferedStopSign) {
      throw new PendingReconfigError(
        "a stop sign is accepted or pending: this configuration takes no entries",
      );
    }
    if (this.isAcceptingLeader()) {
      leader.appendEntry(this, entry);
      return;
    }
    const to = this.forwardTarget();
    if (to) this.send({ type: "ProposalForward", to, entries: [entry] });
    else this.bufferProposals([entry]);
  }

  reconfigure(ss: StopSign): void {
    if (this.log.stopSign || this.bufferedStopSign) {
      throw new PendingReconfigError("a reconfiguration is already accepted or pending");
    }
    if (this.isAcceptingLeader()) {
      leader.acceptStopSign(this, ss);
      return;
    }
    const to = this.forwardTarget();
    if (to) this.send({ type: "ForwardStopSign", to, ss });
    else this.bufferedStopSign = ss;
  }

  /** Where a non-leader sends proposals: the leader it promised, if that is someone else. */
  forwardTarget(): NodeId | undefined {
    if (this.role === "leader") return undefined;
    const l = this.currentLeader();
    return l && l !== this.cfg.pid && this.phase !== "recover" ? l : undefined;
  }

  bufferProposals(entries: T[]): void {
    if (this.buffered.length + entries.length > this.cfg.bufferSize) {
      throw new BufferFullError(`proposal buffer full (${this.cfg.bufferSize} entries)`);
    }
    for (const e of entries) this.buffered.push(e);
  }

  /** Forward what waited for a leader, once one is known (after an AcceptSync). */
  forwardBuffered(to: NodeId): void {
    if (this.log.stopSign) {
      this.dropBuffered();
      return;
    }
    if (this.buffered.length > 0) {
      this.send({ type: "ProposalForward", to, entries: this.buffered.splice(0) });
    }
    if (this.bufferedStopSign) {
      this.send({ type: "ForwardStopSign", to, ss: this.bufferedStopSign });
      this.bufferedStopSign = undefined;
    }
  }

  dropBuffered(): void {
    this.counters.droppedProposals += this.buffered.length + this.batch.length;
    this.buffered = [];
    this.batch = [];
    this.bufferedStopSign = undefined;
  }

  // ---- linearizable reads ----

  /** Start confirming leadership for a read; returns its ticket (answered through `reads.take()`). */
  confirmLeadership(): number {
    if (!this.isAcceptingLeader()) throw new NotLeaderError(this.currentLeader());
    const ticket = ++this.#nextTicket;
    this.#broadcastReadConfirm(this.reads.add({ ticket, idx: this.log.acceptedIdx }, this.cfg.pid));
    this.#broadcastReadConfirm(this.reads.complete(this.cfg.readQuorum, this.cfg.pid));
    return ticket;
  }

  #broadcastReadConfirm(round: number | undefined): void {
    const ls = this.leaderState;
    if (round === undefined || !ls) return;
    for (const p of this.cfg.peers) this.send({ type: "ReadConfirm", to: p, n: ls.n, round });
  }

  // ---- time ----

  tick(): void {
    if (this.isAcceptingLeader()) {
      this.#broadcastReadConfirm(this.reads.tick(this.cfg.resendTicks, this.cfg.pid));
    }
    if (++this.#flushClock >= this.cfg.flushTicks) {
      this.#flushClock = 0;
      if (this.isAcceptingLeader()) leader.flushBatch(this);
    }
    if (++this.#resendClock >= this.cfg.resendTicks) {
      this.#resendClock = 0;
      if (this.role === "leader") leader.resend(this);
      else follower.resend(this);
    }
  }

  // ---- messages ----

  handle(m: PaxosMessage<T>): void {
    switch (m.type) {
      case "Prepare":
        if (m.n.pid === m.from) follower.handlePrepare(this, m);
        break;
      case "Promise":
        if (m.n.pid === this.cfg.pid) leader.handlePromise(this, m);
        break;
      case "AcceptSync":
        if (m.n.pid === m.from) follower.handleAcceptSync(this, m);
        break;
      case "AcceptDecide":
        if (m.n.pid === m.from) follower.handleAcceptDecide(this, m);
        break;
      case "Accepted":
        if (m.n.pid === this.cfg.pid) leader.handleAccepted(this, m);
        break;
      case "NotAccepted":
        leader.handleNotAccepted(this, m);
        break;
      case "Decide":
        if (m.n.pid === m.from) follower.handleDecide(this, m);
        break;
      case "PrepareReq":
        leader.handlePrepareReq(this, m);
        break;
      case "ProposalForward":
        this.#handleForward(m.from, m.entries);
        break;
      case "AcceptStopSign":
        if (m.n.pid === m.from) follower.handleAcceptStopSign(this, m);
        break;
      case "ForwardStopSign":
        this.#handleForwardStopSign(m.ss);
        break;
      case "Compaction":
        this.#handleCompaction(m.from, m.op, m.idx);
        break;
      case "ReadConfirm":
        if (m.n.pid === m.from && this.checkBallot(m.n)) {
          this.send({ type: "ReadConfirmAck", to: m.from, n: m.n, round: m.round });
        }
        break;
      case "ReadConfirmAck":
        if (this.leaderState && this.role === "leader" && ballotEq(m.n, this.leaderState.n)) {
          this.#broadcastReadConfirm(this.reads.ack(m.round, m.from, this.cfg.readQuorum, this.cfg.pid));
        }
        break;
    }
  }

  #handleForward(from: NodeId, entries: T[]): void {
    if (this.log.stopSign || this.bufferedStopSign) {
      this.counters.droppedProposals += entries.length;
      return;
    }
    if (this.isAcceptingLeader()) {
      for (const e of entries) leader.appendEntry(this, e);
      return;
    }
    const to = this.forwardTarget();
    // Never bounce a forward straight back: buffer it until a leader is settled.
    if (to && to !== from) this.send({ type: "ProposalForward", to, entries });
    else if (this.buffered.length + entries.length <= this.cfg.bufferSize) this.bufferProposals(entries);
    else this.counters.droppedProposals += entries.length;
  }

  #handleForwardStopSign(ss: StopSign): void {
    if (this.log.stopSign || this.bufferedStopSign) return;
    if (this.isAcceptingLeader()) leader.acceptStopSign(this, ss);
    else if (this.role === "leader") this.bufferedStopSign = ss;
  }

  #handleCompaction(from: NodeId, op: "trim" | "snapshot", idx: number): void {
    if (!Number.isSafeInteger(idx) || idx <= this.log.compactedIdx || idx > this.log.decidedIdx) return;
    if (op === "trim") {
      // Only the leader we follow may trim us: it knows every server holds the slots below idx.
      if (from !== this.currentLeader()) return;
      this.trimLocal(idx);
    } else {
      try {
        this.snapshotLocal(idx);
      } catch (e) {
        // A remote snapshot request is advisory: keep the log if we cannot snapshot at idx. A failing
        // disk is not advisory, though: the host must hear about it.
        if (!(e instanceof CompactionError)) throw e;
      }
    }
  }

  // ---- compaction ----

  trim(idx?: number): void {
    const ls = this.leaderState;
    if (!this.isAcceptingLeader() || !ls) throw new NotLeaderError(this.currentLeader());
    let bound = this.log.acceptedIdx;
    for (const p of this.cfg.nodes) bound = Math.min(bound, ls.acceptedIndexes.get(p) ?? 0);
    bound = Math.min(bound, this.log.decidedIdx);
    const target = idx ?? bound;
    if (target > this.log.decidedIdx) {
      throw new CompactionError("undecided", this.log.decidedIdx, `cannot trim undecided index ${target}`);
    }
    if (target > bound) {
      throw new CompactionError(
        "not-accepted-by-all",
        bound,
        `trim ${target} beyond what every server holds (${bound})`,
      );
    }
    if (target <= this.log.compactedIdx) return;
    this.trimLocal(target);
    for (const p of this.cfg.peers) this.send({ type: "Compaction", to: p, op: "trim", idx: target });
  }

  trimLocal(idx: number): void {
    const target = Math.min(idx, this.log.storedEnd);
    if (target <= this.log.compactedIdx) return;
    // The old snapshot no longer describes the state below the new compacted index.
    this.log.write([{ op: "trim", idx: target }, { op: "setSnapshot" }]);
  }

  snapshot(idx?: number, localOnly = false): void {
    const target = idx ?? this.log.decidedIdx;
    this.snapshotLocal(target);
    if (!localOnly) {
      for (const p of this.cfg.peers) this.send({ type: "Compaction", to: p, op: "snapshot", idx: target });
    }
  }

  snapshotLocal(idx: number): void {
    const s = this.cfg.snapshotter;
    if (!s) {
      throw new CompactionError("no-snapshotter", 0, "snapshots need a snapshotter in the configuration");
    }
    if (idx > this.log.decidedIdx) {
      throw new CompactionError("undecided", this.log.decidedIdx, `cannot snapshot undecided index ${idx}`);
    }
    if (idx < this.log.compactedIdx) {
      throw new CompactionError("trimmed", this.log.compactedIdx, `index ${idx} is already compacted`);
    }
    const target = Math.min(idx, this.log.storedEnd);
    if (target === this.log.compactedIdx) return;
    // A snapshotter that ignores `base` is not handed it: a file storage would read the whole previous
    // snapshot from disk just to drop it.
    const base = s.usesBase === false ? undefined : this.log.snapshot();
    if (base === undefined && s.usesBase !== false && this.log.compactedIdx > 0) {
      throw new CompactionError("trimmed", this.log.compactedIdx, "the log was trimmed without a snapshot");
    }
    let data: Uint8Array;
    try {
      data = s.create(target, this.log.entries(this.log.compactedIdx, target), base?.data);
    } catch (e) {
      throw new CompactionError(
        "refused",
        target,
        `the snapshotter refused index ${target}: ${(e as Error).message}`,
      );
    }
    this.log.write([{ op: "trim", idx: target }, { op: "setSnapshot", snapshot: { idx: target, data } }]);
  }

  // ---- sessions ----

  /**
   * A session with `pid` began (or a gap was found): a follower resyncs with its leader through a
   * PrepareReq; a leader re-prepares that follower.
   */
  reconnected(pid: NodeId): void {
    if (pid === this.cfg.pid) return;
    if (this.role === "leader") {
      leader.reprepare(this, pid);
      return;
    }
    if (pid !== this.currentLeader()) return;
    this.phase = "recover";
    this.send({ type: "PrepareReq", to: pid, n: this.log.promise });
  }

  /** Ballot check shared by the accept-phase handlers; false means "drop the message". */
  checkBallot(n: Ballot): boolean {
    const c = compareBallots(n, this.log.promise);
    if (c === 0) return true;
    if (c < 0) this.send({ type: "NotAccepted", to: n.pid, n: this.log.promise });
    else this.send({ type: "PrepareReq", to: n.pid, n: this.log.promise }); // never promised this leader
    return false;
  }

  isPromised(n: Ballot): boolean {
    return ballotEq(n, this.log.promise);
  }
}
