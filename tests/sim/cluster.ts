/**
 * A simulated Omni-Paxos cluster: servers on MemoryStorage (writes are instantly durable), a SimNetwork,
 * crash/restart on the same storage, and the safety checker run after every step. Scenario tests and the
 * randomized runner both drive this.
 */
import { MemoryStorage, type Message, type NodeId, OmniPaxos, type OmniPaxosConfig } from "../../mod.ts";
import { checkWholeLog, SafetyChecker } from "./invariants.ts";
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

  constructor(opts: SimClusterOptions<T>) {
    this.#opts = opts;
    this.ids = opts.ids;
    this.rng = new Prng(opts.seed ?? 1);
    this.net = new SimNetwork<T>(this.rng);
    for (const id of this.ids) {
      this.storages.set(id, opts.storage?.(id) ?? new MemoryStorage<T>());
      this.start(id);
    }
  }

  config(id: NodeId): OmniPaxosConfig<T> {
    return { pid: id, nodes: this.ids, ...this.#opts.config, ...this.#opts.configFor?.(id) };
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
    for (const m of n.outgoingMessages()) this.net.send(structuredClone(m));
  }

  deliver(m: Message<T>): void {
    const n = this.nodes.get(m.to);
    if (!n) return;
    n.handleIncoming(m);
    this.#flush(m.to);
    this.checker.check(m.to, n);
  }

  /** One tick on every live server, then deliver everything (new messages included) up to `maxDeliveries`. */
  tick(maxDeliveries = 10_000): void {
    this.now++;
    for (const [id, n] of this.nodes) {
      n.tick();
      this.#flush(id);
      this.checker.check(id, n);
    }
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
