/**
 * The kernel side of the network-namespace harness: one bridge per run, one namespace per node joined to it by
 * a veth pair, each node with its own IPv4 address on 10.77.<subnet>.0/24, and the root namespace on .254 of
 * the same bridge so the test process reaches every node's HTTP API directly. Every object is named
 * `cs<pid in base 36>-<run><kind><node>` (at most 15 characters, the limit for links), so a sweep can tell leftovers of a dead test process (crashed, or
 * killed before its cleanup) from the live objects of a run in progress, and remove them.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { alive } from "../../../src/storage/lock.ts";

/** Commands the harness runs; all need root. */
const TOOLS = ["ip", "iptables-restore", "tc"];

/** Runs a command to completion; rejects with its stderr when it exits non-zero. */
export function sh(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")}: exit ${code}: ${err.trim()}`));
    });
    if (input !== undefined) {
      child.stdin!.on("error", () => undefined); // a command that exits early: its exit code tells
      child.stdin!.end(input);
    }
  });
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => d !== "" && existsSync(join(d, cmd)));
}

/** What is missing to run the harness here (root, ip, iptables, tc), or undefined when nothing is. */
export function missingPrerequisites(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const t of TOOLS) if (!onPath(t)) missing.push(t);
  if (missing.length === 0) return undefined;
  return `network-namespace tests need ${missing.join(", ")} ` +
    "(run as root; apt-get install iproute2 iptables, as .ci/run does)";
}

/**
 * Why the netns tests cannot run here, or false when they can. Outside CI a machine without root or the tools
 * skips them (saying why); under CI (`CI=true`) they never skip, so a missing prerequisite fails them.
 */
export function netnsSkip(): string | false {
  const why = missingPrerequisites();
  return why !== undefined && process.env.CI !== "true" ? why : false;
}

/** b: bridge, n: namespace, v: veth end in the root namespace, p: its peer before it moves in. */
const NAME = /^cs([0-9a-z]+)-(\d+)[bnvp]\d*$/;

/** The PID and run of a harness object's name, or undefined for other names. */
function owner(name: string): { pid: number; run: number } | undefined {
  const m = NAME.exec(name);
  return m ? { pid: parseInt(m[1], 36), run: Number(m[2]) } : undefined;
}

/** Namespace names (`ip netns list` prints `name (id: N)`). */
async function namespaces(): Promise<string[]> {
  return (await sh("ip", ["netns", "list"])).split("\n").map((l) => l.split(" ")[0]).filter((n) => n !== "");
}

/** Link names in the root namespace (`ip -o link` prints `N: name@peer: <...`). */
async function links(): Promise<string[]> {
  return (await sh("ip", ["-o", "link", "show"])).split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter((n) => n !== "");
}

/** Kills every process left in namespace `ns` (SIGKILL by PID), then deletes the namespace. */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = (await sh("ip", ["netns", "pids", ns]).catch(() => "")).split("\n").filter((p) => p !== "");
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  await sh("ip", ["netns", "delete", ns]);
}

/** Removes namespaces and links of earlier runs whose test process is gone. Returns what it removed. */
export async function sweep(): Promise<string[]> {
  const dead = (name: string) => {
    const o = owner(name);
    return o !== undefined && !alive(o.pid);
  };
  const removed: string[] = [];
  for (const ns of (await namespaces()).filter(dead)) {
    await deleteNamespace(ns);
    removed.push(ns);
  }
  // Deleting a namespace destroys its veth pairs; what is left is bridges and unpaired host ends.
  for (const link of (await links()).filter(dead)) {
    await sh("ip", ["link", "delete", link]).catch(() => undefined);
    removed.push(link);
  }
  return removed;
}

/** Runs of this process so far: the second part of every name. */
let runs = 0;

/** Third octets of 10.77.x.0/24 subnets already on root-namespace interfaces. */
async function usedSubnets(): Promise<Set<number>> {
  const out = await sh("ip", ["-o", "-4", "addr", "show"]);
  return new Set([...out.matchAll(/inet 10\.77\.(\d+)\./g)].map((m) => Number(m[1])));
}

export class Netns {
  /** The prefix of every name of this run. */
  readonly tag: string;
  readonly run: number;
  readonly bridge: string;
  readonly subnet: number;
  readonly size: number;
  #destroyed = false;

  private constructor(run: number, subnet: number, size: number) {
    this.run = run;
    this.tag = `cs${process.pid.toString(36)}-${run}`;
    this.bridge = `${this.tag}b`;
    this.subnet = subnet;
    this.size = size;
  }

  /** Node i's namespace. */
  ns(i: number): string {
    return `${this.tag}n${i}`;
  }

  /** Node i's address (.1 upwards). */
  ip(i: number): string {
    return `10.77.${this.subnet}.${i + 1}`;
  }

  /** The root namespace's address on the bridge: the source of the test's HTTP traffic. */
  get hostIp(): string {
    return `10.77.${this.subnet}.254`;
  }

  /** Node i's veth end in the root namespace (its end inside the namespace is `eth0`). */
  hostVeth(i: number): string {
    return `${this.tag}v${i}`;
  }

  /** Runs a command inside node i's namespace. */
  exec(i: number, cmd: string, args: string[], input?: string): Promise<string> {
    return sh("ip", ["netns", "exec", this.ns(i), cmd, ...args], input);
  }

  /**
   * Sweeps leftovers of dead runs, then creates the bridge and `size` namespaces. On failure everything made
   * so far is removed before the error is thrown.
   */
  static async create(size: number): Promise<Netns> {
    const why = missingPrerequisites();
    if (why !== undefined) throw new Error(why);
    await sweep();
    const run = runs++;
    const used = await usedSubnets();
    // Start at an octet derived from the PID so parallel test processes rarely probe the same ones.
    let subnet = 10 + (process.pid * 7 + run) % 240;
    for (let tries = 0; used.has(subnet); tries++) {
      if (tries === 240) throw new Error("no free 10.77.x.0/24 subnet for a netns cluster");
      subnet = 10 + (subnet - 9) % 240;
    }
    const net = new Netns(run, subnet, size);
    try {
      await sh("ip", ["link", "add", net.bridge, "type", "bridge"]);
      await sh("ip", ["addr", "add", `${net.hostIp}/24`, "dev", net.bridge]);
      await sh("ip", ["link", "set", net.bridge, "up"]);
      for (let i = 0; i < size; i++) await net.#addNode(i);
      return net;
    } catch (e) {
      await net.destroy();
      throw e;
    }
  }

  async #addNode(i: number): Promise<void> {
    const ns = this.ns(i);
    const peer = `${this.tag}p${i}`;
    await sh("ip", ["netns", "add", ns]);
    await sh("ip", ["link", "add", this.hostVeth(i), "type", "veth", "peer", "name", peer]);
    await sh("ip", ["link", "set", peer, "netns", ns]);
    await sh("ip", ["-n", ns, "link", "set", peer, "name", "eth0"]);
    await sh("ip", ["-n", ns, "addr", "add", `${this.ip(i)}/24`, "dev", "eth0"]);
    await sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    await sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await sh("ip", ["link", "set", this.hostVeth(i), "master", this.bridge]);
    await sh("ip", ["link", "set", this.hostVeth(i), "up"]);
  }

  /** Deletes the namespaces (killing anything left in them), their veths and the bridge. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const errors: string[] = [];
    const mine = (n: string) => owner(n)?.pid === process.pid && owner(n)?.run === this.run;
    for (const ns of (await namespaces()).filter(mine)) {
      await deleteNamespace(ns).catch((e: Error) => void errors.push(e.message));
    }
    // The kernel destroys a deleted namespace's veth pairs asynchronously: one may vanish while listed here
    // ("Cannot find device" before the delete looks it up, "No such device" if it vanishes during it).
    for (const link of (await links()).filter(mine)) {
      await sh("ip", ["link", "delete", link]).catch((e: Error) => {
        if (!/Cannot find device|No such device/.test(e.message)) errors.push(e.message);
      });
    }
    if (errors.length > 0) throw new Error(`netns cleanup of ${this.tag}: ${errors.join("; ")}`);
  }
}
