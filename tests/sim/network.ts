/**
 * A simulated network between simulated servers: directed links that can be cut, and per-message faults
 * (drop, duplicate, delay/reorder). Nothing here knows about Omni-Paxos beyond the message envelope.
 */
import type { Message, NodeId } from "../../mod.ts";
import type { Prng } from "./prng.ts";

export interface FaultRates {
  /** Probability a message is lost. */
  drop: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Probability a delivery takes a random queued message instead of the oldest (reordering). */
  reorder: number;
}

export const NO_FAULTS: FaultRates = { drop: 0, duplicate: 0, reorder: 0 };

export class SimNetwork<T> {
  readonly #queues = new Map<string, Message<T>[]>();
  readonly #cut = new Set<string>();
  faults: FaultRates = NO_FAULTS;
  readonly rng: Prng;
  constructor(rng: Prng) {
    this.rng = rng;
  }

  static key(from: NodeId, to: NodeId): string {
    return `${from}\u0000${to}`;
  }

  /** Cut or restore the link in both directions. */
  setLink(a: NodeId, b: NodeId, up: boolean): void {
    for (const k of [SimNetwork.key(a, b), SimNetwork.key(b, a)]) {
      if (up) this.#cut.delete(k);
      else {
        this.#cut.add(k);
        this.#queues.delete(k); // what was in flight on a broken connection is gone
      }
    }
  }

  /** Cut one direction only (one-way loss). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.#cut.add(SimNetwork.key(from, to));
    this.#queues.delete(SimNetwork.key(from, to));
  }

  isUp(from: NodeId, to: NodeId): boolean {
    return !this.#cut.has(SimNetwork.key(from, to));
  }

  healAll(): void {
    this.#cut.clear();
  }

  send(m: Message<T>): void {
    if (!this.isUp(m.from, m.to)) return;
    if (this.rng.chance(this.faults.drop)) return;
    const k = SimNetwork.key(m.from, m.to);
    let q = this.#queues.get(k);
    if (!q) this.#queues.set(k, q = []);
    q.push(m);
    if (this.rng.chance(this.faults.duplicate)) q.push(structuredClone(m));
  }

  /** Drop everything to or from a server (it crashed). */
  dropAllOf(id: NodeId): void {
    for (const k of [...this.#queues.keys()]) {
      const [from, to] = k.split("\u0000");
      if (from === id || to === id) this.#queues.delete(k);
    }
  }

  pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Take one message: a random link, then its oldest message (or a random one when reordering). */
  take(): Message<T> | undefined {
    const keys = [...this.#queues.keys()].filter((k) => this.#queues.get(k)!.length > 0);
    if (keys.length === 0) return undefined;
    const q = this.#queues.get(this.rng.pick(keys))!;
    const i = this.rng.chance(this.faults.reorder) ? this.rng.int(q.length) : 0;
    return q.splice(i, 1)[0];
  }

  /** Take every queued message in FIFO order per link (for deterministic scenario tests). */
  takeAll(): Message<T>[] {
    const out: Message<T>[] = [];
    for (const q of this.#queues.values()) out.push(...q.splice(0));
    return out;
  }
}
