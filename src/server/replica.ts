/**
 * Replica: runs one OmniPaxos core in real time. It owns the tick timer and the pump that moves messages
 * out of the core, and it enforces the core's storage contract (group commit: one `storage.sync()` covers
 * everything the core wrote since the previous one).
 *
 * What may leave before the sync that covers this pass's writes (docs/protocol.md, "Leader durability"):
 * - AcceptDecide: the leader ships new entries to the followers while its own fsync runs, so the two
 *   fsyncs overlap instead of adding up. Safe because the core runs with `leaderAcceptsWhenDurable`: the
 *   leader counts its own copy towards a quorum only after `markDurable`, i.e. after this sync completed.
 * - Decide: a decided index is backed by a majority's *durable* acceptances (a follower sends Accepted
 *   only after its sync; the leader counts itself only after its own), whatever this node has synced.
 * Everything else (Promise, Accepted, AcceptSync, heartbeats, ...) waits for the sync, and nothing
 * overtakes an earlier held message to the same peer (per-peer order carries the sequence numbers).
 * For the same reason decided entries are applied (and clients answered) as soon as they are decided.
 */
import { NodeError } from "./errors.ts";
import {
  ballotEq,
  type DurabilityMark,
  type LogEntry,
  type Message,
  type NodeId,
  NotLeaderError,
  OmniPaxos,
  type OmniPaxosConfig,
  type Storage,
} from "../omnipaxos/mod.ts";

/** A Storage that can make its writes durable; MemoryStorage (no `sync`) counts as always durable. */
export type SyncableStorage<T> = Storage<T> & { sync?(): Promise<void> };

export interface ReplicaOptions<T> {
  config: OmniPaxosConfig<T>;
  storage: SyncableStorage<T>;
  /** Sends one message to its `to`; may drop it (the protocol recovers from loss). */
  send(msg: Message<T>): void;
  /**
   * Receives decided entries in log order, each exactly once per process lifetime, starting after
   * `appliedIdx` (a "snapshotted" item means: replace the state with this snapshot).
   */
  apply(entries: LogEntry<T>[]): void;
  /** Index below which the state machine already holds every decided entry (e.g. from its own file). */
  appliedIdx?: number;
  /** Real-time length of one core tick. Default 10 ms. */
  tickMs?: number;
  /** Called when the leader this replica follows changes (undefined: none known). */
  onLeaderChange?(leader: NodeId | undefined): void;
  /** Called when the pump fails (e.g. the disk failed): the replica stops. */
  onFatal?(err: unknown): void;
}

interface Waiter {
  idx: number;
  resolve(): void;
}

export class Replica<T> {
  readonly core: OmniPaxos<T>;
  readonly #o: ReplicaOptions<T>;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pumping = false;
  #dirty = false;
  #stopped = false;
  #applied: number;
  /** The accepted index (log length) covered by the last completed sync: new entries beyond it need one. */
  #durableIdx = 0;
  #leader: NodeId | undefined;
  /** The last durability mark handed to the core (a new round's, or a longer one, needs a sync first). */
  #marked: DurabilityMark | undefined;
  /** Waiting for a leadership confirmation: ticket -> callbacks. */
  readonly #reads = new Map<number, { resolve(idx: number): void; reject(e: Error): void }>();
  /** Waiting until the applied index reaches idx. */
  #appliedWaiters: Waiter[] = [];
  /** Applying waits while this is pending (see holdApply). */
  #applyHold: Promise<void> | undefined;
  readonly #holds = { count: 0, totalMs: 0, lastMs: 0 };
  #fatal: unknown;

  constructor(o: ReplicaOptions<T>) {
    this.#o = o;
    this.core = new OmniPaxos<T>({ ...o.config, leaderAcceptsWhenDurable: true }, o.storage);
    this.#applied = o.appliedIdx ?? 0;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.core.tick();
      this.kick();
    }, this.#o.tickMs ?? 10);
    this.kick();
  }

  /** Stop ticking; pending reads and waits fail. Resolves once the pump is idle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#pumping) await new Promise((r) => setTimeout(r, 1));
    const err = new NodeError("stopped", "the node stopped before the read was confirmed");
    for (const r of this.#reads.values()) r.reject(err);
    this.#reads.clear();
  }

  get appliedIdx(): number {
    return this.#applied;
  }

  get leader(): NodeId | undefined {
    return this.core.getCurrentLeader();
  }

  /**
   * Applies no decided entry until `until` settles (either way), then catches up. Consensus goes on meanwhile:
   * the node uses this while a snapshot's bytes are written out, so that the database, which applying
   * grows, does not grow next to that copy of it.
   */
  holdApply(until: Promise<unknown>): void {
    const t0 = performance.now();
    const hold: Promise<void> = until.then(
      () => {},
      () => {}, // a failed snapshot write poisons the storage: the next sync reports it
    ).then(() => {
      const ms = performance.now() - t0;
      this.#holds.count++;
      this.#holds.totalMs += ms;
      this.#holds.lastMs = ms;
      if (this.#applyHold === hold) this.#applyHold = undefined;
      this.kick();
    });
    this.#applyHold = hold;
  }

  /** Holds of applying that ended (holdApply), and how long they lasted in total and the last one, in ms. */
  get applyHolds(): { count: number; totalMs: number; lastMs: number } {
    return { ...this.#holds };
  }

  /** A message from the transport (its `from` already authenticated). */
  receive(msg: Message<T>): void {
    if (this.#stopped) return;
    this.core.handleIncoming(msg);
    this.kick();
  }

  /** The transport opened a new session with `peer`. */
  sessionStarted(peer: NodeId): void {
    if (this.#stopped) return;
    this.core.reconnected(peer);
    this.kick();
  }

  /** Propose an entry (leader: appended; follower: forwarded). Throws the core's typed errors. */
  propose(entry: T): void {
    this.#check();
    this.core.append(entry);
    this.kick();
  }

  /**
   * Linearizable read barrier: resolves with the index the state machine has reached when it is safe to
   * read locally (this replica leads, a quorum confirmed it, and everything up to the read index is
   * decided and applied). Rejects with NotLeaderError when this replica does not lead (or stops leading).
   */
  async readBarrier(): Promise<number> {
    this.#check();
    const ticket = this.core.confirmLeadership();
    const p = new Promise<number>((resolve, reject) => this.#reads.set(ticket, { resolve, reject }));
    this.kick();
    await this.waitApplied(await p);
    return this.#applied;
  }

  /** Resolves once every entry below idx is applied. */
  waitApplied(idx: number): Promise<void> {
    if (this.#applied >= idx) return Promise.resolve();
    return new Promise((resolve) => this.#appliedWaiters.push({ idx, resolve }));
  }

  /** Schedule the pump (coalesced: a burst of events costs one pass). */
  kick(): void {
    this.#dirty = true;
    if (!this.#pumping && !this.#stopped) void this.#pump();
  }

  #check(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#stopped) throw new NodeError("stopped", "the node is stopped");
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#dirty && !this.#fatal) {
        this.#dirty = false;
        await Promise.resolve(); // let synchronous bursts of events land first
        const mark = this.core.durabilityMark();
        const out = this.core.outgoingMessages();
        const accepted = this.core.getAcceptedIdx();
        const held = this.#sendEarly(out);
        this.#applyDecided();
        const newMark = mark !== undefined &&
          (!this.#marked || !ballotEq(mark.n, this.#marked.n) || mark.idx > this.#marked.idx);
        if (held.length > 0 || accepted > this.#durableIdx || newMark) {
          await this.#o.storage.sync?.();
          this.#durableIdx = accepted;
          if (mark) {
            const decided = this.core.getDecidedIdx();
            this.core.markDurable(mark);
            this.#marked = mark;
            // Our own acceptance may complete a quorum: a new decision to apply and announce.
            if (this.core.getDecidedIdx() > decided) this.#dirty = true;
          }
          for (const m of held) this.#o.send(m);
        }
        this.#answerReads();
        this.#applyDecided();
        this.#noticeLeader();
      }
    } catch (e) {
      this.#fatal = e;
      this.#stopped = true;
      if (this.#timer) clearInterval(this.#timer);
      this.#o.onFatal?.(e);
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Sends at once every AcceptDecide and Decide that no earlier held message to the same peer waits
   * before (see the header); returns the rest, to send after the sync.
   */
  #sendEarly(out: Message<T>[]): Message<T>[] {
    const held: Message<T>[] = [];
    const waiting = new Set<NodeId>();
    for (const m of out) {
      if ((m.type === "AcceptDecide" || m.type === "Decide") && !waiting.has(m.to)) this.#o.send(m);
      else {
        held.push(m);
        waiting.add(m.to);
      }
    }
    return held;
  }

  #answerReads(): void {
    for (const r of this.core.takeReadConfirmations()) {
      const w = this.#reads.get(r.ticket);
      if (!w) continue;
      this.#reads.delete(r.ticket);
      if ("readIdx" in r) w.resolve(r.readIdx);
      else w.reject(new NotLeaderError(this.core.getCurrentLeader()));
    }
  }

  /** Applies every decided entry not applied yet. */
  #applyDecided(): void {
    if (this.#applyHold || this.core.getDecidedIdx() <= this.#applied) return;
    const entries = this.core.readDecidedSuffix(this.#applied);
    if (entries.length === 0) return;
    this.#o.apply(entries);
    const last = entries[entries.length - 1];
    this.#applied = last.kind === "trimmed" || last.kind === "snapshotted" ? last.trimmedIdx : last.idx + 1;
    if (this.#appliedWaiters.length > 0) {
      const ready = this.#appliedWaiters.filter((w) => w.idx <= this.#applied);
      this.#appliedWaiters = this.#appliedWaiters.filter((w) => w.idx > this.#applied);
      for (const w of ready) w.resolve();
    }
  }

  #noticeLeader(): void {
    const l = this.core.getCurrentLeader();
    if (l === this.#leader) return;
    this.#leader = l;
    this.#o.onLeaderChange?.(l);
  }
}
