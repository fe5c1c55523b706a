/**
 * Network faults between the nodes of a Netns, all reversible by heal(). Links are dropped with iptables
 * INPUT rules inside the receiving node's namespace, matched on the sender's node address, so packets from
 * the root namespace (the test's HTTP requests, from the bridge's .254) are never filtered. Each namespace's
 * whole filter table is replaced at once with iptables-restore, so a fault lands on a node in one step. Slow
 * links are token-bucket (tbf) rate limits on both ends of a node's veth; netem (delay, jitter) is not
 * available on this kernel (docs/reliability.md), so delays are added in user space by delay_proxy.ts.
 */
import { type Netns, sh } from "./netns.ts";

/** A rate `tc` understands, e.g. `256kbit`, `2mbit`. */
const RATE = /^\d+(bit|kbit|mbit|gbit)$/;

export class Faults {
  readonly #net: Netns;
  /** Directed drops: `from>to` → probability that a packet from `from` to `to` is dropped (1: all). */
  readonly #drops = new Map<string, number>();
  readonly #throttled = new Set<number>();
  /** The filter table last loaded into each namespace, so unchanged ones are not reloaded. */
  readonly #loaded = new Map<number, string>();

  constructor(net: Netns) {
    this.#net = net;
  }

  /** Nodes in different groups cannot exchange packets. Every node must be in exactly one group. */
  async partition(groups: number[][]): Promise<void> {
    const seen = groups.flat();
    seen.forEach((i) => this.#check(i));
    if (seen.length !== this.#net.size || new Set(seen).size !== seen.length) {
      throw new Error(`partition: every node in exactly one group, got ${JSON.stringify(groups)}`);
    }
    const group = new Map(groups.flatMap((g, k) => g.map((i) => [i, k] as const)));
    await this.#apply(
      this.#pairs().filter(([a, b]) => group.get(a) !== group.get(b)).map(([a, b]) => [a, b, 1]),
    );
  }

  /** Cuts every link that is not listed: `[[0, 1], [0, 2]]` leaves node 0 linked to 1 and 2 and nothing else. */
  async onlyLinks(links: [number, number][]): Promise<void> {
    links.forEach(([a, b]) => this.#checkPair(a, b));
    const kept = new Set(links.flatMap(([a, b]) => [`${a}>${b}`, `${b}>${a}`]));
    await this.#apply(this.#pairs().filter(([a, b]) => !kept.has(`${a}>${b}`)).map(([a, b]) => [a, b, 1]));
  }

  /** Cuts the link between a and b, both ways. */
  async cut(a: number, b: number): Promise<void> {
    this.#checkPair(a, b);
    await this.#apply([[a, b, 1], [b, a, 1]]);
  }

  /** Drops every packet from `from` to `to`; the other direction still flows (TCP ACKs included). */
  async oneWay(from: number, to: number): Promise<void> {
    this.#checkPair(from, to);
    await this.#apply([[from, to, 1]]);
  }

  /** Drops each packet between a and b (both ways) with probability p, 0 < p < 1. */
  async loss(a: number, b: number, p: number): Promise<void> {
    this.#checkPair(a, b);
    if (!(p > 0 && p < 1)) throw new Error(`loss: probability must be in (0, 1), got ${p}`);
    await this.#apply([[a, b, p], [b, a, p]]);
  }

  /** Limits node a's link to `rate` each way (e.g. `256kbit`), with a queue of up to a second. */
  async throttle(a: number, rate: string): Promise<void> {
    this.#check(a);
    if (!RATE.test(rate)) {
      throw new Error(`throttle: rate like 256kbit or 2mbit, got ${JSON.stringify(rate)}`);
    }
    const tbf = ["tbf", "rate", rate, "burst", "16kb", "latency", "1s"];
    await this.#net.exec(a, "tc", ["qdisc", "replace", "dev", "eth0", "root", ...tbf]);
    this.#throttled.add(a);
    await sh("tc", ["qdisc", "replace", "dev", this.#net.hostVeth(a), "root", ...tbf]);
  }

  /** Removes every fault: all packets flow, no rate limits. */
  async heal(): Promise<void> {
    this.#drops.clear();
    await this.#load();
    await Promise.all([...this.#throttled].map(async (a) => {
      await this.#net.exec(a, "tc", ["qdisc", "del", "dev", "eth0", "root"]);
      await sh("tc", ["qdisc", "del", "dev", this.#net.hostVeth(a), "root"]);
    }));
    this.#throttled.clear();
  }

  /** The directed drops in force, as `from>to` → probability (for reports). */
  drops(): Record<string, number> {
    return Object.fromEntries(this.#drops);
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.#net.size) {
      throw new Error(`no node ${i} (nodes are 0..${this.#net.size - 1})`);
    }
  }

  #checkPair(a: number, b: number): void {
    this.#check(a);
    this.#check(b);
    if (a === b) throw new Error(`a link joins two different nodes, got ${a} and ${b}`);
  }

  /** Every ordered pair of distinct nodes. */
  #pairs(): [number, number][] {
    const n = this.#net.size;
    return Array.from({ length: n * n }, (_, k) => [Math.floor(k / n), k % n] as [number, number])
      .filter(([a, b]) => a !== b);
  }

  /** Adds directed drops (a stronger drop wins over a weaker one on the same direction) and loads them. */
  async #apply(drops: [number, number, number][]): Promise<void> {
    for (const [from, to, p] of drops) {
      const key = `${from}>${to}`;
      this.#drops.set(key, Math.max(p, this.#drops.get(key) ?? 0));
    }
    await this.#load();
  }

  /** Loads each namespace's filter table from #drops, in parallel, skipping the unchanged ones. */
  async #load(): Promise<void> {
    await Promise.all(Array.from({ length: this.#net.size }, async (_, to) => {
      const rules = [...this.#drops].flatMap(([key, p]) => {
        const [from, dst] = key.split(">").map(Number);
        if (dst !== to) return [];
        const chance = p < 1 ? `-m statistic --mode random --probability ${p} ` : "";
        return [`-A INPUT -s ${this.#net.ip(from)}/32 ${chance}-j DROP`];
      });
      const table =
        ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...rules]
          .join("\n") + "\nCOMMIT\n";
      if (this.#loaded.get(to) === table) return;
      await this.#net.exec(to, "iptables-restore", [], table);
      this.#loaded.set(to, table);
    }));
  }
}
