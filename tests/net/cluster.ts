/**
 * Test host glue: a real OmniPaxos<Uint8Array> core (MemoryStorage) driven by a tick timer and wired to a
 * PaxosTransport, as the server layer will do. A host can be stopped and restarted from the same key and
 * the same storage object (as if the storage were durable).
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { MemoryStorage, type OmniPaxosConfig } from "../../src/omnipaxos/mod.ts";
import { OmniPaxos } from "../../src/omnipaxos/mod.ts";
import {
  type NetLogger,
  PaxosTransport,
  type PaxosTransportOptions,
  silentLogger,
} from "../../src/net/mod.ts";

export interface HostOptions {
  key: PrivateKey;
  members: string[];
  listen?: string[];
  peers?: string[];
  relay?: boolean;
  relayVia?: string;
  log?: NetLogger;
  tickMs?: number;
  core?: Partial<OmniPaxosConfig<Uint8Array>>;
  transport?: Partial<PaxosTransportOptions>;
}

export class PaxosHost {
  readonly id: string;
  readonly storage = new MemoryStorage<Uint8Array>();
  core!: OmniPaxos<Uint8Array>;
  transport!: PaxosTransport;
  readonly #o: HostOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #flushQueued = false;

  constructor(opts: HostOptions) {
    this.#o = opts;
    this.id = peerIdFromPrivateKey(opts.key).toString();
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts (or restarts) the core on the same storage and a new transport with the same key. */
  async start(listen = this.#o.listen ?? ["/ip4/127.0.0.1/tcp/0"]): Promise<void> {
    this.core = new OmniPaxos<Uint8Array>(
      { pid: this.id, nodes: this.#o.members, electionTicks: 10, ...this.#o.core },
      this.storage,
    );
    this.transport = new PaxosTransport({
      privateKey: this.#o.key,
      members: this.#o.members,
      listen,
      peers: this.#o.peers ?? [],
      log: this.#o.log ?? silentLogger,
      ...(this.#o.relay ? { relay: true } : {}),
      ...(this.#o.relayVia ? { relayVia: this.#o.relayVia } : {}),
      ...this.#o.transport,
      onMessage: (m) => {
        this.core.handleIncoming(m);
        this.#scheduleFlush();
      },
      onSession: (p) => {
        this.core.reconnected(p);
        this.#scheduleFlush();
      },
    });
    await this.transport.start();
    this.#timer = setInterval(() => {
      this.core.tick();
      this.flush();
    }, this.#o.tickMs ?? 10);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.transport.stop();
  }

  /** Sends everything the core has queued. */
  flush(): void {
    if (!this.running) return;
    for (const m of this.core.outgoingMessages()) this.transport.send(m);
  }

  /** Incoming messages arrive in bursts: answer once per burst, not once per message. */
  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      this.flush();
    });
  }

  /** The TCP listen address actually bound (port 0 resolved), for restarts on the same address. */
  boundListenAddrs(): string[] {
    return this.transport.libp2p.getMultiaddrs()
      .map((a) => a.decapsulateCode(421).toString())
      .filter((a) => a.includes("/tcp/") && !a.includes("p2p-circuit"));
  }
}

export async function newKeys(n: number): Promise<PrivateKey[]> {
  return await Promise.all(Array.from({ length: n }, () => generateKeyPair("Ed25519")));
}

/**
 * Starts n hosts on 127.0.0.1 (port 0), then tells each the others' addresses through the runtime API.
 * `extraMembers` join the member set without a host (tests play them by hand).
 */
export async function startCluster(
  n: number,
  opts: Partial<HostOptions> = {},
  extraMembers: string[] = [],
): Promise<PaxosHost[]> {
  const keys = await newKeys(n);
  const members = [...keys.map((k) => peerIdFromPrivateKey(k).toString()), ...extraMembers];
  const hosts = keys.map((key) => new PaxosHost({ ...opts, key, members }));
  await Promise.all(hosts.map((h) => h.start()));
  await introduce(hosts);
  return hosts;
}

/** Every running host learns every other running host's addresses. */
export async function introduce(hosts: PaxosHost[]): Promise<void> {
  for (const h of hosts) {
    for (const other of hosts) {
      if (other === h || !other.running) continue;
      for (const a of other.transport.getMultiaddrs()) await h.transport.addPeerAddress(a);
    }
  }
}

export async function stopAll(hosts: PaxosHost[]): Promise<void> {
  await Promise.all(hosts.filter((h) => h.running).map((h) => h.stop()));
}

/** The leader every running host agrees on, if any. */
export function agreedLeader(hosts: PaxosHost[]): PaxosHost | undefined {
  const running = hosts.filter((h) => h.running);
  const leader = running[0]?.core.getCurrentLeader();
  if (!leader || running.some((h) => h.core.getCurrentLeader() !== leader)) return undefined;
  const host = running.find((h) => h.id === leader);
  return host?.core.isLeader() ? host : undefined;
}

/** A logger that keeps every line, for asserting on what was logged. */
export function collectingLogger(): { log: NetLogger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, message) => void lines.push(`${level}: ${message}`) };
}

export function entry(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}
