/**
 * PaxosTransport: carries core messages between cluster members over libp2p. The host wires it to an
 * OmniPaxos core: `onMessage` -> `handleIncoming`, `onSession` -> `reconnected`, and every message from
 * `outgoingMessages()` -> `send`. Full mesh: a PeerLink per member keeps an outbound stream open.
 */
import type { Libp2p, PeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Message } from "../omnipaxos/messages.ts";
import type { NodeId } from "../omnipaxos/types.ts";
import type { BackoffOptions } from "./backoff.ts";
import { encodeMessage } from "./codec.ts";
import { type ClientPolicy, MemberGate } from "./gater.ts";
import { createLibp2pNode } from "./libp2p_node.ts";
import { type NetLogger, stderrLogger } from "./log.ts";
import { type NetMetrics, newMetrics } from "./metrics.ts";
import { InboundStreams } from "./paxos_protocol.ts";
import { PeerLink } from "./peer_link.ts";
import type { PeerQueueLimits } from "./peer_queue.ts";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES, PAXOS_PROTOCOL } from "./protocol.ts";
import { DEFAULT_CHUNK_BYTES, splitFrame } from "./fragment.ts";

export interface PaxosTransportOptions {
  privateKey: PrivateKey;
  /**
   * Cluster members (peer ID strings). Changeable with setMembers(). Sessions are opened only while this
   * node is itself a member; a dedicated relay lists the members it serves without itself.
   */
  members: NodeId[];
  /** TCP listen multiaddrs. Default ["/ip4/0.0.0.0/tcp/0"]; [] for a node reachable only via `relayVia`. */
  listen?: string[];
  announce?: string[];
  /** Members' multiaddrs, each ending in /p2p/<peerId> (may be /p2p-circuit addresses). */
  peers?: string[];
  /** Be a circuit-relay-v2 server for members. */
  relay?: boolean;
  /** Reserve a slot on this relay (multiaddr ending in /p2p/<relayId>) and announce the circuit address. */
  relayVia?: string;
  /**
   * Non-members that may connect as clients of the node's other protocols: "members" (none, the default),
   * "any", or a list of peer IDs. They can never speak paxos.
   */
  clients?: ClientPolicy;
  /** DCUtR + AutoNAT (default true). */
  natServices?: boolean;
  /** Largest single frame. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Messages larger than this travel as fragments of this size. Default 1 MiB. */
  chunkBytes?: number;
  /** Largest message reassembled from fragments (a snapshot). Default 512 MiB. */
  maxMessageBytes?: number;
  queue?: PeerQueueLimits;
  backoff?: BackoffOptions;
  dialTimeoutMs?: number;
  log?: NetLogger;
  onMessage?: (msg: Message<Uint8Array>) => void;
  onSession?: (peer: NodeId) => void;
}

interface ParsedAddr {
  peer: string;
  /** The relay's peer ID for a /p2p-circuit address. */
  relay?: string;
}

/** Reads the target peer (last /p2p/) and, for circuit addresses, the relay (the /p2p/ before it). */
export function parsePeerAddr(addr: string): ParsedAddr {
  const parts = multiaddr(addr).getComponents();
  const last = parts.at(-1);
  if (last?.name !== "p2p" || !last.value) {
    throw new TypeError(`peer address must end in /p2p/<peerId>: ${addr}`);
  }
  const circuit = parts.findIndex((c) => c.name === "p2p-circuit");
  const relay = circuit > 0 && parts[circuit - 1].name === "p2p" ? parts[circuit - 1].value : undefined;
  return relay ? { peer: last.value, relay } : { peer: last.value };
}

export class PaxosTransport {
  /** Receives every valid message; `from`/`to` are the authenticated remote and this node. */
  onMessage: (msg: Message<Uint8Array>) => void;
  /** A new outbound session with a member: the host calls the core's `reconnected(peer)`. */
  onSession: (peer: NodeId) => void;

  readonly #o: PaxosTransportOptions;
  readonly #peerId: PeerId;
  readonly #log: NetLogger;
  readonly #metrics = newMetrics();
  readonly #gate: MemberGate;
  readonly #links = new Map<string, PeerLink>();
  #fragmentId = 0;
  /** Members we hold an address for: only those are dialled unprompted. */
  readonly #addressed = new Set<string>();
  /** Addresses given before start(). */
  readonly #pending: string[];
  #inbound: InboundStreams | undefined;
  #node: Libp2p | undefined;

  constructor(opts: PaxosTransportOptions) {
    this.#o = opts;
    this.#peerId = peerIdFromPrivateKey(opts.privateKey);
    this.#log = opts.log ?? stderrLogger;
    this.#gate = new MemberGate(opts.members, this.#log, opts.clients);
    this.#pending = [...(opts.peers ?? [])];
    this.onMessage = opts.onMessage ?? (() => {});
    this.onSession = opts.onSession ?? (() => {});
  }

  get peerId(): NodeId {
    return this.#peerId.toString();
  }

  /** The underlying libp2p node (after start()). */
  get libp2p(): Libp2p {
    if (!this.#node) throw new Error("transport not started");
    return this.#node;
  }

  async start(): Promise<void> {
    if (this.#node) return;
    const relayVia = this.#o.relayVia ? parsePeerAddr(this.#o.relayVia).peer : undefined;
    if (relayVia) this.#gate.allowInfrastructure(relayVia);
    const node = await createLibp2pNode({
      privateKey: this.#o.privateKey,
      listen: this.#o.listen ?? ["/ip4/0.0.0.0/tcp/0"],
      ...(this.#o.announce ? { announce: this.#o.announce } : {}),
      connectionGater: this.#gate.connectionGater(),
      ...(this.#o.relay ? { relay: true } : {}),
      ...(this.#o.relayVia ? { relayVia: this.#o.relayVia } : {}),
      ...(this.#o.natServices === undefined ? {} : { natServices: this.#o.natServices }),
    });
    this.#inbound = new InboundStreams({
      localId: this.peerId,
      gate: this.#gate,
      metrics: this.#metrics,
      log: this.#log,
      maxFrameBytes: this.#o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxMessageBytes: this.#o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      onMessage: (m) => this.onMessage(m),
    });
    await node.handle(PAXOS_PROTOCOL, this.#inbound.handle, {
      runOnLimitedConnection: true,
      maxInboundStreams: 8,
      maxOutboundStreams: 8,
    });
    node.addEventListener("peer:connect", (e) => this.#links.get(e.detail.toString())?.poke());
    this.#node = node;
    for (const addr of this.#pending.splice(0)) await this.addPeerAddress(addr);
    await node.start();
    for (const m of this.#gate.members) this.#addLink(m);
  }

  async stop(): Promise<void> {
    const node = this.#node;
    if (!node) return;
    for (const link of this.#links.values()) link.stop();
    this.#links.clear();
    this.#inbound?.closeAll("transport stopping");
    this.#node = undefined;
    await node.stop();
  }

  /**
   * Sends a core message to `msg.to`. Never throws: returns false when the frame was dropped (no session,
   * queue full, not a member), which Paxos recovers from; drops are counted in metrics().
   */
  send(msg: Message<Uint8Array>): boolean {
    const link = this.#links.get(msg.to);
    if (!link) {
      this.#metrics.droppedNoSession++;
      return false;
    }
    let frame: Uint8Array;
    try {
      frame = encodeMessage(msg);
    } catch (err) {
      this.#log("error", `cannot encode ${msg.type} for ${msg.to}: ${(err as Error).message}`);
      return false;
    }
    const chunk = this.#o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (frame.byteLength <= chunk) return link.send(frame);
    this.#metrics.fragmentedMessages++;
    return link.sendAll(
      splitFrame(frame, ++this.#fragmentId, chunk),
      this.#o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    );
  }

  /**
   * Learns a member's address (multiaddr ending in /p2p/<peerId>); a circuit address also admits its relay
   * through the gater. @throws TypeError for an address without a peer ID.
   */
  async addPeerAddress(addr: string): Promise<void> {
    const { peer, relay } = parsePeerAddr(addr);
    if (peer === this.peerId) return;
    if (relay) this.#gate.allowInfrastructure(relay);
    this.#addressed.add(peer);
    const node = this.#node;
    if (!node) {
      this.#pending.push(addr);
      return;
    }
    // The peer store holds the transport part; dialling by peer ID then tries every known address.
    await node.peerStore.merge(peerIdFromString(peer), {
      multiaddrs: [multiaddr(addr).decapsulateCode(421)],
    });
    this.#links.get(peer)?.poke();
  }

  /**
   * Lets a non-member connect (a relay, or a client of another protocol on this node). It still cannot
   * speak paxos: the protocol handler checks membership on every stream and frame.
   */
  allowPeer(peer: NodeId): void {
    this.#gate.allowInfrastructure(peer);
  }

  /** Replaces the client policy (see `clients`); open connections stay open. */
  setClients(clients: ClientPolicy): void {
    this.#gate.setClients(clients);
  }

  /** Whether `peer` is in the member set (as opposed to a relay or a client). */
  isMember(peer: string): boolean {
    return this.#gate.isMember(peer);
  }

  /** Replaces the member set (reconfiguration): links to new members open, removed members are cut off. */
  setMembers(members: NodeId[]): void {
    const removed = this.#gate.setMembers(members);
    if (!this.#gate.isMember(this.peerId)) removed.push(...this.#links.keys());
    for (const peer of new Set(removed)) {
      this.#links.get(peer)?.stop();
      this.#links.delete(peer);
      this.#inbound?.closePeer(peer, "no longer a cluster member");
      void this.#node?.hangUp(peerIdFromString(peer)).catch(() => {});
    }
    if (this.#node) { for (const m of members) this.#addLink(m); }
  }

  /** This node's announced multiaddrs, each ending in /p2p/<peerId>. */
  getMultiaddrs(): string[] {
    return this.#node?.getMultiaddrs().map((a) => a.toString()) ?? [];
  }

  /** Whether an outbound session to `peer` is open. */
  isConnected(peer: NodeId): boolean {
    return this.#links.get(peer)?.connected ?? false;
  }

  metrics(): NetMetrics {
    return { ...this.#metrics, refusedPeers: this.#gate.refusedCount };
  }

  #addLink(peer: string): void {
    // A node outside the member set (a dedicated relay, a node waiting to be added) opens no sessions.
    if (!this.#gate.isMember(this.peerId)) return;
    if (peer === this.peerId || this.#links.has(peer) || !this.#node) return;
    const link = new PeerLink({
      node: this.#node,
      peer: peerIdFromString(peer),
      metrics: this.#metrics,
      log: this.#log,
      onSession: (p) => this.onSession(p),
      canDial: () => this.#addressed.has(peer),
      ...(this.#o.queue ? { queue: this.#o.queue } : {}),
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      ...(this.#o.dialTimeoutMs ? { dialTimeoutMs: this.#o.dialTimeoutMs } : {}),
    });
    this.#links.set(peer, link);
    link.start();
  }
}
