/**
 * Replica: runs one OmniPaxos core in real time. It owns the tick timer and the pump that moves messages
 * out of the core, and it enforces the core's storage contract: the messages drained from the core are
 * sent only after `storage.sync()` made every write before the drain durable (group commit: one sync
 * covers everything the core did since the previous one).
 *
 * Decided entries go to the applier (which answers clients) as soon as this node holds them durably: a
 * decided entry below the accepted index covered by the last completed sync is applied *before* the sync
 * of this pass, so a client does not wait for the fsync of the decided index (issue 7). Why that is safe:
 * an entry is decided once a majority accepted it, and every acceptance counted in that majority is durable
 * (a follower sends Accepted after its sync; the leader sent the entry only after its own sync). The only
 * unsynced write it skips is `setDecidedIdx`, which a restart recovers from the log and a quorum (the
 * decided prefix is re-learnt in the next Prepare/AcceptSync round). What is not yet durable here (a
 * single-node cluster, where this node alone is the majority) is applied only after the sync. For the
 * same reason a Decide for durable entries leaves before the sync (`#sendDecidesEarly`).
 */
import { NodeError } from "./errors.ts";
import {
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
  /** The accepted index (log length) covered by the last completed sync: entries below it are durable. */
  #durableIdx = 0;
  #leader: NodeId | undefined;
  /** Waiting for a leadership confirmation: ticket -> callbacks. */
  readonly #reads = new Map<number, { resolve(idx: number): void; reject(e: Error): void }>();
  /** Waiting until the applied index reaches idx. */
  #appliedWaiters: Waiter[] = [];
  #fatal: unknown;

  constructor(o: ReplicaOptions<T>) {
    this.#o = o;
    this.core = new OmniPaxos<T>(o.config, o.storage);
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
        const out = this.core.outgoingMessages();
        const accepted = this.core.getAcceptedIdx();
        // Decided and durable here: apply (answer clients) and tell followers now, before this pass's sync.
        this.#applyDecided(this.#durableIdx);
        const held = this.#sendDecidesEarly(out);
        if (held.length > 0 || this.core.getDecidedIdx() > this.#durableIdx) {
          await this.#o.storage.sync?.();
          this.#durableIdx = accepted;
          for (const m of held) this.#o.send(m);
        }
        this.#answerReads();
        this.#applyDecided(Infinity);
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
   * Sends at once each Decide whose entries this node holds durably and that no earlier message to the same
   * peer waits behind (per-peer order, and so sequence numbers, stay as the core produced them); returns
   * the rest. A Decide is justified by the majority's durable acceptances, not by this node's unsynced
   * `setDecidedIdx` write, so it need not wait for that write's fsync.
   */
  #sendDecidesEarly(out: Message<T>[]): Message<T>[] {
    const held: Message<T>[] = [];
    const waiting = new Set<NodeId>();
    for (const m of out) {
      if (m.type === "Decide" && m.decidedIdx <= this.#durableIdx && !waiting.has(m.to)) this.#o.send(m);
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

  /** Applies the decided entries below `limit` (the rest waits for a later call). */
  #applyDecided(limit: number): void {
    if (Math.min(this.core.getDecidedIdx(), limit) <= this.#applied) return;
    let entries = this.core.readDecidedSuffix(this.#applied);
    // A trimmed/snapshotted item stands for a prefix decided (and compacted) long ago: always in.
    entries = entries.filter((e) => e.kind === "trimmed" || e.kind === "snapshotted" || e.idx < limit);
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
