/**
 * One Omni-Paxos server for one configuration: Sequence Paxos for the log, Ballot Leader Election for
 * leadership. Pure and deterministic: no I/O, no timers, no clock, no randomness. The host drives it with
 * `tick()` (the only notion of time), `handleIncoming()`, client calls, and drains `outgoingMessages()`,
 * sending them only after the storage writes made so far are durable.
 */
import { BallotLeaderElection } from "./ble.ts";
import { type Ballot, copyBallot, isNoBallot } from "./ballot.ts";
import { type OmniPaxosConfig, resolveConfig, type ResolvedConfig, validateNodes } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { durabilityMark, handleLeader, markDurable, prepareIfUnpromised } from "./leader.ts";
import { type LogEntry, readDecided, readEntry } from "./log_entry.ts";
import { isBleMessage, type Message } from "./messages.ts";
import type { ReadConfirmation } from "./read_confirm.ts";
import { type PaxosCounters, type Phase, type Role, SequencePaxos } from "./sequence_paxos.ts";
import type { Storage } from "./storage.ts";
import type { DurabilityMark, NodeId, StopSign } from "./types.ts";

/** A snapshot of a server's consensus state, for status pages and tests. */
export interface OmniPaxosStatus {
  pid: NodeId;
  configId: number;
  nodes: NodeId[];
  role: Role;
  phase: Phase;
  promise: Ballot;
  acceptedRound: Ballot;
  decidedIdx: number;
  acceptedIdx: number;
  compactedIdx: number;
  leader: NodeId | undefined;
  ble: { ballot: Ballot; leader: Ballot; quorumConnected: boolean; round: number; heardFrom: NodeId[] };
  /** Leader only: each server's accepted index in the current round. */
  acceptedIndexes?: Record<NodeId, number>;
  buffered: number;
  stopSign?: StopSign;
  counters: PaxosCounters & { droppedIncoming: number };
}

export class OmniPaxos<T> {
  readonly #cfg: ResolvedConfig<T>;
  readonly #peers: Set<NodeId>;
  readonly #sp: SequencePaxos<T>;
  readonly #ble: BallotLeaderElection;
  #electionClock = 0;
  #droppedIncoming = 0;

  /** Builds a server; non-empty storage means recovery (the server resyncs and never reuses a ballot). */
  constructor(config: OmniPaxosConfig<T>, storage: Storage<T>) {
    this.#cfg = resolveConfig(config);
    this.#peers = new Set(this.#cfg.peers);
    this.#sp = new SequencePaxos(this.#cfg, storage);
    const promise = this.#sp.log.promise;
    this.#ble = new BallotLeaderElection({
      pid: this.#cfg.pid,
      peers: this.#cfg.peers,
      configId: this.#cfg.configId,
      quorum: this.#cfg.readQuorum,
      priority: this.#cfg.leaderPriority,
      ...(isNoBallot(promise) ? {} : { recoveredPromise: promise }),
    });
  }

  get pid(): NodeId {
    return this.#cfg.pid;
  }

  get configurationId(): number {
    return this.#cfg.configId;
  }

  get nodes(): readonly NodeId[] {
    return this.#cfg.nodes;
  }

  /**
   * Propose an entry. The leader appends it; a follower forwards it to the leader, or buffers it until
   * one is known. Forwarded proposals are fire-and-forget: clients retry with deduplication.
   * @throws PendingReconfigError once a stop sign is accepted or pending; BufferFullError.
   */
  append(entry: T): void {
    this.#sp.append(entry);
  }

  /**
   * Propose a StopSign ending this configuration; the next one has id configurationId + 1 and `nodes`.
   * @throws ConfigError for an invalid node list; PendingReconfigError if one is already under way.
   */
  reconfigure(nodes: NodeId[], metadata?: Uint8Array): void {
    const next = validateNodes(undefined, nodes);
    if (next.length < 1) throw new ConfigError("the next configuration needs at least one node");
    const ss: StopSign = { configId: this.#cfg.configId + 1, nodes: next, ...(metadata ? { metadata } : {}) };
    this.#sp.reconfigure(ss);
  }

  /** Advance logical time by one tick: heartbeat rounds, resends and batch flushes are counted in ticks. */
  tick(): void {
    if (++this.#electionClock >= this.#cfg.electionTicks) {
      this.#electionClock = 0;
      const elected = this.#ble.timeout(this.#sp.log.promise, this.#sp.takeFreshPromise());
      if (elected && elected.pid === this.#cfg.pid) handleLeader(this.#sp, elected);
    }
    this.#sp.tick();
  }

  /** Handle one message. Messages for another server, configuration or from a non-member are dropped. */
  handleIncoming(msg: Message<T>): void {
    if (msg.to !== this.#cfg.pid || msg.configId !== this.#cfg.configId || !this.#peers.has(msg.from)) {
      this.#droppedIncoming++;
      return;
    }
    if (isBleMessage(msg)) {
      this.#ble.handle(msg);
      // A member we lead but that never promised (it just started, or restarted) gets a Prepare now,
      // before its first heartbeat round ends and it looks for a leader of its own.
      if (msg.type === "HeartbeatRequest") prepareIfUnpromised(this.#sp, msg.from);
    } else this.#sp.handle(msg);
  }

  /** Drain everything queued for sending since the last call. */
  outgoingMessages(): Message<T>[] {
    const ble = this.#ble.takeOutgoing();
    const sp = this.#sp.takeOutgoing();
    return ble.length === 0 ? sp : sp.length === 0 ? ble : [...ble, ...sp];
  }

  /**
   * With leaderAcceptsWhenDurable: where this leader's log stands now (undefined when not an
   * accept-phase leader). Take it before starting a storage sync; once the sync completed, pass it to
   * markDurable so the leader's own acceptance of those entries counts.
   */
  durabilityMark(): DurabilityMark | undefined {
    return durabilityMark(this.#sp);
  }

  /** Every storage write made before `mark` was taken is durable (see durabilityMark). */
  markDurable(mark: DurabilityMark): void {
    markDurable(this.#sp, mark);
  }

  /** A new session with `pid` (connect or reconnect): a follower resyncs with its leader. */
  reconnected(pid: NodeId): void {
    if (this.#peers.has(pid)) this.#sp.reconnected(pid);
  }

  /** Length of the decided prefix (entries [0, decidedIdx) are decided; the stop sign counts as one). */
  getDecidedIdx(): number {
    return this.#sp.log.decidedIdx;
  }

  getAcceptedIdx(): number {
    return this.#sp.log.acceptedIdx;
  }

  getCompactedIdx(): number {
    return this.#sp.log.compactedIdx;
  }

  /** The leader this server follows or is, if any. */
  getCurrentLeader(): NodeId | undefined {
    return this.#sp.currentLeader();
  }

  /** True when this server leads and can replicate right now (accept phase). */
  isLeader(): boolean {
    return this.#sp.isAcceptingLeader();
  }

  getPromise(): Ballot {
    return copyBallot(this.#sp.log.promise);
  }

  read(idx: number): LogEntry<T> | undefined {
    return readEntry(this.#sp.log, idx);
  }

  readDecidedSuffix(fromIdx: number): LogEntry<T>[] {
    return readDecided(this.#sp.log, fromIdx);
  }

  /**
   * Leader only: drop decided entries below idx (default: what every server has accepted) on all servers.
   * @throws NotLeaderError, CompactionError
   */
  trim(idx?: number): void {
    this.#sp.trim(idx);
  }

  /**
   * Fold decided entries below idx (default: the decided index) into a snapshot through the configured
   * Snapshotter; unless localOnly, ask every server to do the same.
   * @throws CompactionError
   */
  snapshot(idx?: number, localOnly?: boolean): void {
    this.#sp.snapshot(idx, localOnly ?? false);
  }

  /**
   * Leader only: start confirming leadership for a linearizable read without a log write. Returns a ticket;
   * its answer comes from `takeReadConfirmations()`: either `readIdx` — serve the read from local state once
   * this server's decided index and applied state reach readIdx — or `notLeader` (retry at the leader).
   * @throws NotLeaderError when this server is not an accept-phase leader.
   */
  confirmLeadership(): number {
    return this.#sp.confirmLeadership();
  }

  /** Drain answers for tickets from `confirmLeadership()`. */
  takeReadConfirmations(): ReadConfirmation[] {
    return this.#sp.reads.take();
  }

  /** The decided stop sign, once this configuration has ended. */
  isReconfigured(): StopSign | undefined {
    return this.#sp.log.isStopSignDecided() ? this.#sp.log.stopSign : undefined;
  }

  status(): OmniPaxosStatus {
    const sp = this.#sp;
    const ls = sp.leaderState;
    return {
      pid: this.#cfg.pid,
      configId: this.#cfg.configId,
      nodes: [...this.#cfg.nodes],
      role: sp.role,
      phase: sp.phase,
      promise: copyBallot(sp.log.promise),
      acceptedRound: copyBallot(sp.log.acceptedRound),
      decidedIdx: sp.log.decidedIdx,
      acceptedIdx: sp.log.acceptedIdx,
      compactedIdx: sp.log.compactedIdx,
      leader: sp.currentLeader(),
      ble: {
        ballot: copyBallot(this.#ble.ballot),
        leader: copyBallot(this.#ble.leader),
        quorumConnected: this.#ble.quorumConnected,
        round: this.#ble.round,
        heardFrom: this.#ble.heardFrom(),
      },
      ...(ls && sp.role === "leader" ? { acceptedIndexes: Object.fromEntries(ls.acceptedIndexes) } : {}),
      buffered: sp.buffered.length + sp.batch.length,
      ...(sp.log.stopSign ? { stopSign: sp.log.stopSign } : {}),
      counters: { ...sp.counters, droppedIncoming: this.#droppedIncoming },
    };
  }
}
