/**
 * NetnsCluster: N real `chiselstore node` processes, each in its own network namespace with its own address
 * (netns.ts), started through `ip netns exec` by the crash harness (tests/crash/harness.ts: CLI start,
 * identities, readiness, status, checksums, kill -9), plus reversible faults on the real network stack
 * (faults.ts) and on the processes (SIGSTOP/SIGCONT, SIGKILL and restart).
 *
 * Usage (nodes are numbered 0..n-1; everything is removed when `fn` settles, even on failure):
 *
 * ```ts
 * if (netnsSkip()) ... // not root / no ip, iptables, tc: skip (never under CI=true)
 * await NetnsCluster.with(5, { electionMs: 200 }, async (c) => {
 *   const leader = await c.procs.leader();
 *   await c.partition([[leader], [0, 1, 2, 3, 4].filter((i) => i !== leader)]);
 *   await c.heal();
 *   await c.procs.converged();
 * });
 * ```
 *
 * `c.procs` is a ProcCluster, so tests/crash/load.ts (WriteLoad, verify) runs on it unchanged. The HTTP API of
 * node i is `c.procs.nodes[i].url` (`http://10.77.<subnet>.<i+1>:4001`), reachable from the test process
 * whatever faults are in force.
 */
import { ProcCluster, type ProcClusterOptions } from "../../crash/harness.ts";
import { DelayProxy } from "./delay_proxy.ts";
import { Faults } from "./faults.ts";
import { Netns } from "./netns.ts";

export { netnsSkip } from "./netns.ts";

export interface NetnsClusterOptions extends Omit<ProcClusterOptions, "place" | "prefix"> {
  /**
   * Route every node-to-node connection through a delaying relay (delay_proxy.ts), so `delay()` works. The
   * iptables faults do not apply to relayed traffic: use this for latency experiments only.
   */
  latency?: { seed?: number };
}

/** Every node listens on its own address, so all can use the same ports. */
const P2P_PORT = 7400;
const HTTP_PORT = 4001;

export class NetnsCluster {
  readonly procs: ProcCluster;
  readonly net: Netns;
  readonly faults: Faults;
  readonly #proxy: DelayProxy | undefined;

  private constructor(procs: ProcCluster, net: Netns, proxy: DelayProxy | undefined) {
    this.procs = procs;
    this.net = net;
    this.faults = new Faults(net);
    this.#proxy = proxy;
  }

  /**
   * Creates the namespaces, starts `n` nodes in them (waiting until each is ready) and runs `fn`; then kills
   * the processes and deletes the namespaces, veths and bridge, whatever happened.
   */
  static async with<T>(
    n: number,
    opts: NetnsClusterOptions,
    fn: (c: NetnsCluster) => Promise<T>,
  ): Promise<T> {
    const net = await Netns.create(n);
    let proxy: DelayProxy | undefined;
    try {
      if (opts.latency) proxy = await DelayProxy.start(net, P2P_PORT, opts.latency.seed);
      return await ProcCluster.with(n, {
        ...opts,
        place: (i) =>
          Promise.resolve({
            listen: `/ip4/${net.ip(i)}/tcp/${P2P_PORT}`,
            url: `http://${net.ip(i)}:${HTTP_PORT}`,
          }),
        prefix: (i) => ["ip", "netns", "exec", net.ns(i)],
      }, (procs) => fn(new NetnsCluster(procs, net, proxy)));
    } finally {
      await proxy?.close();
      await net.destroy();
    }
  }

  get size(): number {
    return this.procs.nodes.length;
  }

  /** Node i's name (n0, n1, ...). */
  name(i: number): string {
    return this.procs.nodes[i].name;
  }

  /** Nodes in different groups cannot exchange packets; every node in exactly one group. */
  partition(groups: number[][]): Promise<void> {
    return this.faults.partition(groups);
  }

  /** Cuts every link not listed. */
  onlyLinks(links: [number, number][]): Promise<void> {
    return this.faults.onlyLinks(links);
  }

  /** Cuts one link, both ways. */
  cut(a: number, b: number): Promise<void> {
    return this.faults.cut(a, b);
  }

  /** Drops packets from `from` to `to` only. */
  oneWay(from: number, to: number): Promise<void> {
    return this.faults.oneWay(from, to);
  }

  /** Drops packets between a and b with probability p (both ways). */
  loss(a: number, b: number, p: number): Promise<void> {
    return this.faults.loss(a, b, p);
  }

  /** Rate-limits node a's link (e.g. `256kbit`) both ways. */
  throttle(a: number, rate: string): Promise<void> {
    return this.faults.throttle(a, rate);
  }

  /**
   * Holds bytes from `from` to `to` for `ms` (+ up to `jitterMs`, seeded) from now on; 0 removes the delay.
   * Needs a cluster started with `latency`.
   */
  delay(from: number, to: number, ms: number, jitterMs = 0): void {
    if (!this.#proxy) throw new Error("delay: start the cluster with { latency: {} }");
    this.#proxy.set(from, to, ms, jitterMs);
  }

  /** The same delay on every link, both ways. */
  delayAll(ms: number, jitterMs = 0): void {
    if (!this.#proxy) throw new Error("delay: start the cluster with { latency: {} }");
    this.#proxy.setAll(ms, jitterMs);
  }

  /** Removes every network fault (paused or killed processes stay so: resume() / restart()). */
  heal(): Promise<void> {
    this.#proxy?.clear();
    return this.faults.heal();
  }

  /** SIGSTOP to node i's process. */
  pause(i: number): void {
    this.procs.pause(i);
  }

  /** SIGCONT to node i's process. */
  resume(i: number): void {
    this.procs.resume(i);
  }

  /** SIGKILL to node i's process; resolves once it is reaped. */
  kill(i: number): Promise<void> {
    return this.procs.kill9(i);
  }

  /** Starts killed node i again on its data directory and address; waits until it is ready unless told not to. */
  async restart(i: number, waitReady = true): Promise<void> {
    this.procs.spawn(i);
    if (waitReady) await this.procs.waitReady(i);
  }
}
