/**
 * A simulated Omni-Paxos cluster: servers on MemoryStorage (writes are instantly durable), a SimNetwork,
 * crash/restart on the same storage, and the safety checker run after every step. Scenario tests and the
 * randomized runner both drive this.
 *
 * With `syncLag`, storage behaves like FileStorage instead (LaggingStorage: durable only once synced, a
 * crash loses the rest) and each server is driven the way the node's Replica drives it: the leader counts
 * its own log only once synced (leaderAcceptsWhenDurable), AcceptDecide and Decide leave at once, every
 * other message waits for the sync that covers the writes before it, and syncs complete at random later
 * steps (or never, when the server crashes first).
 */
import {
  type DurabilityMark,
  MemoryStorage,
  type Message,
  type NodeId,
  OmniPaxos,
  type OmniPaxosConfig,
} from "../../mod.ts";
import { checkWholeLog, SafetyChecker } from "./invariants.ts";
import { LaggingStorage } from "./lagging_storage.ts";
import { SimNetwork } from "./network.ts";
import { Prng } from "./prng.ts";

export interface SimClusterOptions<T> {
  ids: NodeId[];
  seed?: number;
  /** Extra server configuration (electionTicks, batchSize, flexibleQuorum, ...). */
  config?: Partial<OmniPaxosConfig<T>>;
  /** Per-server overrides, e.g. a leaderPriority. */
  configFor?: (id: NodeId) => Partial<OmniPaxosConfig<T>>;
  /** Storage factory (e.g. a failing storage for atomicity tests). */
  storage?: (id: NodeId) => MemoryStorage<T>;
  /** Storage durable only once synced, syncs completing later (see above). */
  syncLag?: boolean;
}

/** A sync in flight: the writes it covers, the leader's mark to report, the messages it releases. */
interface PendingSync<T> {
  written: number;
  mark: DurabilityMark | undefined;
  held: Message<T>[];
}

export class SimCluster<T = string> {
  readonly ids: NodeId[];
  readonly rng: Prng;
  readonly net: SimNetwork<T>;
  readonly checker = new SafetyChecker<T>();
  readonly storages = new Map<NodeId, MemoryStorage<T>>();
  readonly nodes = new Map<NodeId, OmniPaxos<T>>();
  /** Logical time in ticks since the start. */
  now = 0;
  readonly #opts: SimClusterOptions<T>;
  readonly #syncs = new Map<NodeId, PendingSync<T>[]>();
  /**
   * With syncLag: the chance a server's syncs complete at each tick and after each delivery. Slow syncs also
   * hold heartbeats back, so they cause leader changes; a healing phase sets both to 1 (healthy disks).
   */
  syncChance = { tick: 0.5, delivery: 0.2 };

  constructor(opts: SimClusterOptions<T>) {
    this.#opts = opts;
    this.ids = opts.ids;
    this.rng = new Prng(opts.seed ?? 1);
    this.net = new SimNetwork<T>(this.rng);
    for (const id of this.ids) {
      this.storages.set(
        id,
        opts.syncLag ? new LaggingStorage<T>() : opts.storage?.(id) ?? new MemoryStorage<T>(),
      );
      this.start(id);
    }
  }

  config(id: NodeId): OmniPaxosConfig<T> {
    const lag = this.#opts.syncLag ? { leaderAcceptsWhenDurable: true } : {};
    return { pid: id, nodes: this.ids, ...this.#opts.config, ...this.#opts.configFor?.(id), ...lag };
  }

  /** Start (or restart after a crash) a server on its storage. */
  start(id: NodeId): OmniPaxos<T> {
    const node = new OmniPaxos<T>(this.config(id), this.storages.get(id)!);
    this.nodes.set(id, node);
    this.#flush(id);
    return node;
  }

  crash(id: NodeId): void {
    this.nodes.delete(id);
    this.net.dropAllOf(id);
    const st = this.storages.get(id);
    if (st instanceof LaggingStorage) {
      const after = st.afterCrash(this.rng);
      this.storages.set(id, after);
      this.#syncs.delete(id);
      this.checker.crashedTo(id, after.getDecidedIdx(), after.getPromise());
    }
  }

  isUp(id: NodeId): boolean {
    return this.nodes.has(id);
  }

  node(id: NodeId): OmniPaxos<T> {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`${id} is down`);
    return n;
  }

  /** Only these links exist (undirected pairs); every other link is cut. */
  setTopology(links: [NodeId, NodeId][]): void {
    for (const a of this.ids) for (const b of this.ids) if (a !== b) this.net.setLink(a, b, false);
    for (const [a, b] of links) this.net.setLink(a, b, true);
  }

  /** Restore every link and tell both ends of each link that a new session started. */
  healAll(): void {
    this.net.healAll();
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) if (a !== b) this.node(a).reconnected(b);
    }
    for (const id of this.nodes.keys()) this.#flush(id);
  }

  /** Reconnect one link (both directions) and notify both ends. */
  link(a: NodeId, b: NodeId): void {
    this.net.setLink(a, b, true);
    if (this.isUp(a)) this.node(a).reconnected(b);
    if (this.isUp(b)) this.node(b).reconnected(a);
    this.#flush(a);
    this.#flush(b);
  }

  propose(id: NodeId, v: T): void {
    this.checker.propose(v);
    this.node(id).append(v);
    this.#flush(id);
  }

  /** Move a server's outbox into the network (storage is synchronous, so everything is durable). */
  #flush(id: NodeId): void {
    const n = this.nodes.get(id);
    if (!n) return;
    const st = this.storages.get(id);
    if (!(st instanceof LaggingStorage)) {
      for (const m of n.outgoingMessages()) this.net.send(structuredClone(m));
      return;
    }
    const mark = n.durabilityMark();
    const out = n.outgoingMessages();
    const queue = this.#syncs.get(id) ?? [];
    // Per-peer order: nothing overtakes a message already waiting for a sync.
    const waiting = new Set<NodeId>();
    for (const s of queue) for (const m of s.held) waiting.add(m.to);
    const held: Message<T>[] = [];
    for (const m of out) {
      if ((m.type === "AcceptDecide" || m.type === "Decide") && !waiting.has(m.to)) {
        this.net.send(structuredClone(m));
      } else {
        held.push(m);
        waiting.add(m.to);
      }
    }
    const last = queue.at(-1);
    if (held.length === 0 && last && last.written === st.written && last.mark?.idx === mark?.idx) return;
    queue.push({ written: st.written, mark, held });
    this.#syncs.set(id, queue);
  }

  /** The oldest sync in flight at `id` completes: its writes are durable, its messages leave. */
  #completeSync(id: NodeId): void {
    const s = this.#syncs.get(id)?.shift();
    const n = this.nodes.get(id);
    const st = this.storages.get(id);
    if (!s || !n || !(st instanceof LaggingStorage)) return;
    st.syncTo(s.written);
    if (s.mark) n.markDurable(s.mark);
    for (const m of s.held) this.net.send(structuredClone(m));
    this.#flush(id); // markDurable may have decided entries
    this.checker.check(id, n);
  }

  /**
   * Complete syncs in flight: at each server with probability `p`, a random number of its oldest ones (at
   * least one; all of them half the time, as one group commit covers everything written before it).
   */
  #completeSyncs(p: number): void {
    for (const [id, queue] of this.#syncs) {
      if (queue.length === 0 || !this.rng.chance(p)) continue;
      const k = p === 1 || this.rng.chance(0.5) ? queue.length : 1 + this.rng.int(queue.length);
      for (let i = 0; i < k; i++) this.#completeSync(id);
    }
  }

  deliver(m: Message<T>): void {
    const n = this.nodes.get(m.to);
    if (!n) return;
    n.handleIncoming(m);
    this.#flush(m.to);
    this.checker.check(m.to, n);
    if (this.#opts.syncLag) this.#completeSyncs(this.syncChance.delivery);
  }

  /** One tick on every live server, then deliver everything (new messages included) up to `maxDeliveries`. */
  tick(maxDeliveries = 10_000): void {
    this.now++;
    for (const [id, n] of this.nodes) {
      n.tick();
      this.#flush(id);
      this.checker.check(id, n);
    }
    if (this.#opts.syncLag) this.#completeSyncs(this.syncChance.tick);
    for (let i = 0; i < maxDeliveries; i++) {
      const m = this.net.take();
      if (!m) break;
      this.deliver(m);
    }
  }

  ticks(n: number): void {
    for (let i = 0; i < n; i++) this.tick();
  }

  /** Tick until cond holds; returns the ticks it took, or throws after `limit` ticks. */
  until(cond: () => boolean, limit: number, what = "condition", describe?: () => string): number {
    const start = this.now;
    while (!cond()) {
      if (this.now - start >= limit) {
        throw new Error(`${what} not reached within ${limit} ticks${describe ? "\n" + describe() : ""}`);
      }
      this.tick();
    }
    return this.now - start;
  }

  /** The server every live server agrees leads (in the accept phase), if any. */
  stableLeader(among: NodeId[] = [...this.nodes.keys()]): NodeId | undefined {
    const l = this.nodes.get(among[0])?.getCurrentLeader();
    if (!l || !this.nodes.get(l)?.isLeader()) return undefined;
    return among.every((id) => this.nodes.get(id)?.getCurrentLeader() === l) ? l : undefined;
  }

  /** Any server that currently leads in the accept phase. */
  anyLeader(): NodeId | undefined {
    for (const [id, n] of this.nodes) if (n.isLeader()) return id;
    return undefined;
  }

  /** A leader in the accept phase that a majority (itself included, over live links) has promised. */
  anyLeaderWithQuorum(): NodeId | undefined {
    for (const [id, n] of this.nodes) {
      if (!n.isLeader()) continue;
      const b = n.getPromise();
      const promised = [...this.nodes].filter(([p, o]) => {
        const q = o.getPromise();
        return (p === id || (this.net.isUp(id, p) && this.net.isUp(p, id))) && q.n === b.n && q.pid === b.pid;
      });
      if (promised.length >= Math.floor(this.ids.length / 2) + 1) return id;
    }
    return undefined;
  }

  decided(id: NodeId): T[] {
    return this.node(id).readDecidedSuffix(0).flatMap((e) => (e.kind === "decided" ? [e.entry] : []));
  }

  checkAllLogs(): void {
    for (const [id, n] of this.nodes) checkWholeLog(this.checker, id, n);
  }
}
