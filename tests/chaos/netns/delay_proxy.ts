/**
 * Added latency without netem (this kernel has none, docs/reliability.md): every connection a node opens to
 * another node's libp2p port is redirected by an iptables DNAT rule in the dialler's namespace to a TCP relay in
 * the test process (on the bridge's root address), which forwards it to the real destination and holds each
 * chunk for the delay currently set for its direction before writing it on. Delays change at run time and apply
 * to data already flowing, so a long-lived libp2p connection is slowed in place.
 *
 * The relay keeps byte order per direction (a chunk is released no earlier than the one before it) and applies
 * backpressure only through the kernel buffers; jitter is seeded, so a run's schedule is reproducible. Traffic
 * through the relay comes from the root address, which the iptables drop rules (faults.ts) do not match: a
 * cluster started with latency links is for delay experiments, not for partitions.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { Netns } from "./netns.ts";

/** A small seeded PRNG (mulberry32) for jitter. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Delay {
  ms: number;
  jitterMs: number;
}

/**
 * Copies `from` to `to`, each chunk held for `delay()` ms and never overtaking the previous one: one FIFO
 * and one timer per direction (separate timers per chunk could fire out of order).
 */
function delayedPipe(from: Socket, to: Socket, delay: () => number): void {
  const queue: { at: number; chunk: Buffer | null }[] = []; // null: the end of the stream
  let timer: ReturnType<typeof setTimeout> | undefined;
  const release = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now) {
      const { chunk } = queue.shift()!;
      if (to.destroyed) continue;
      if (chunk === null) to.end();
      else to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(release, Math.max(0, queue[0].at - performance.now()));
  };
  const push = (chunk: Buffer | null) => {
    const last = queue.length > 0 ? queue[queue.length - 1].at : 0;
    queue.push({ at: Math.max(performance.now() + delay(), last), chunk });
    if (timer === undefined) release();
  };
  from.on("data", (chunk: Buffer) => push(chunk));
  from.on("end", () => push(null));
  from.on("close", () => {
    if (timer !== undefined && to.destroyed) clearTimeout(timer);
  });
}

export class DelayProxy {
  readonly #net: Netns;
  readonly #port: number;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  /** `from>to` → the delay of bytes travelling from node `from` to node `to`. */
  readonly #delays = new Map<string, Delay>();
  readonly #random: () => number;

  private constructor(net: Netns, port: number, seed: number) {
    this.#net = net;
    this.#port = port;
    this.#random = rng(seed);
  }

  /**
   * Starts one relay per ordered pair of nodes and redirects each node's connections to the others' `port`
   * through it. Call before the nodes start: the redirection applies to new connections only.
   */
  static async start(net: Netns, port: number, seed = 1): Promise<DelayProxy> {
    const p = new DelayProxy(net, port, seed);
    try {
      for (let a = 0; a < net.size; a++) {
        for (let b = 0; b < net.size; b++) if (a !== b) await p.#relay(a, b);
      }
      return p;
    } catch (e) {
      await p.close();
      throw e;
    }
  }

  /** The root-namespace port relaying node a's connections to node b. */
  #relayPort(a: number, b: number): number {
    return 20000 + a * 64 + b;
  }

  async #relay(a: number, b: number): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = createConnection({ host: this.#net.ip(b), port: this.#port });
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.setNoDelay(true);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      delayedPipe(inbound, outbound, () => this.#draw(a, b));
      delayedPipe(outbound, inbound, () => this.#draw(b, a));
    });
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#relayPort(a, b), this.#net.hostIp, () => resolve());
    });
    await this.#net.exec(a, "iptables", [
      "-t",
      "nat",
      "-A",
      "OUTPUT",
      "-p",
      "tcp",
      "-d",
      this.#net.ip(b),
      "--dport",
      String(this.#port),
      "-j",
      "DNAT",
      "--to-destination",
      `${this.#net.hostIp}:${this.#relayPort(a, b)}`,
    ]);
  }

  #draw(from: number, to: number): number {
    const d = this.#delays.get(`${from}>${to}`);
    if (!d) return 0;
    return d.ms + (d.jitterMs > 0 ? this.#random() * d.jitterMs : 0);
  }

  /** Bytes from `from` to `to` are held `ms` (+ up to `jitterMs`, seeded) from now on; 0 removes the delay. */
  set(from: number, to: number, ms: number, jitterMs = 0): void {
    for (const i of [from, to]) {
      if (!Number.isInteger(i) || i < 0 || i >= this.#net.size || from === to) {
        throw new Error(`delay: bad link ${from}>${to} for ${this.#net.size} nodes`);
      }
    }
    if (!(ms >= 0) || !(jitterMs >= 0)) throw new Error(`delay: ms and jitterMs must be >= 0`);
    if (ms === 0 && jitterMs === 0) this.#delays.delete(`${from}>${to}`);
    else this.#delays.set(`${from}>${to}`, { ms, jitterMs });
  }

  /** Every link, both ways. */
  setAll(ms: number, jitterMs = 0): void {
    for (let a = 0; a < this.#net.size; a++) {
      for (let b = 0; b < this.#net.size; b++) if (a !== b) this.set(a, b, ms, jitterMs);
    }
  }

  clear(): void {
    this.#delays.clear();
  }

  /** Connections relayed right now (each node-to-node connection counts twice: both legs). */
  get sockets(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
