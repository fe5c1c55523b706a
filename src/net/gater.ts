/**
 * Who may connect: cluster members, plus infrastructure peers (relays) and clients (as the client policy
 * allows) that may not speak the paxos protocol (paxos_protocol.ts checks membership again per stream and
 * per frame). The sets can change at runtime (reconfiguration, new relay addresses, new clients).
 */
import type { ConnectionGater, PeerId } from "@libp2p/interface";
import type { NetLogger } from "./log.ts";

/**
 * Which non-members may connect as clients (of /chiselstore/client/1.0.0 and /chiselstore/status/1.0.0):
 * - "members": none (the default): only members and the relays they use;
 * - "any": every peer that completes the Noise handshake;
 * - a list of peer ID strings: those peers only.
 */
export type ClientPolicy = "members" | "any" | readonly string[];

export class MemberGate {
  #members = new Set<string>();
  readonly #infrastructure = new Set<string>();
  #anyClient = false;
  readonly #clients = new Set<string>();
  /** Refusals are logged once per peer, so a misconfigured or hostile peer cannot flood the log. */
  readonly #refused = new Set<string>();
  readonly #log: NetLogger;
  refusedCount = 0;

  constructor(members: Iterable<string>, log: NetLogger, clients: ClientPolicy = "members") {
    this.#members = new Set(members);
    this.#log = log;
    this.setClients(clients);
  }

  /** Replaces the client policy. Connections already open stay open. */
  setClients(clients: ClientPolicy): void {
    if (clients !== "members" && clients !== "any" && !Array.isArray(clients)) {
      throw new TypeError(`clients must be "members", "any" or a list of peer IDs, not ${String(clients)}`);
    }
    this.#anyClient = clients === "any";
    this.#clients.clear();
    if (Array.isArray(clients)) { for (const p of clients) this.#clients.add(String(p)); }
    for (const p of this.#clients) this.#refused.delete(p);
  }

  get members(): ReadonlySet<string> {
    return this.#members;
  }

  /** Replaces the member set; returns the peers that stopped being members. */
  setMembers(members: Iterable<string>): string[] {
    const next = new Set(members);
    const removed = [...this.#members].filter((p) => !next.has(p));
    this.#members = next;
    for (const p of next) this.#refused.delete(p);
    return removed;
  }

  isMember(peer: string): boolean {
    return this.#members.has(peer);
  }

  /** Lets a non-member (a relay) connect; it still cannot open the paxos protocol. */
  allowInfrastructure(peer: string): void {
    this.#infrastructure.add(peer);
  }

  mayConnect(peer: string): boolean {
    return this.#members.has(peer) || this.#infrastructure.has(peer) || this.#anyClient ||
      this.#clients.has(peer);
  }

  /** Counts a refusal and logs it the first time this peer is refused. */
  refuse(peer: string, why: string): void {
    this.refusedCount++;
    if (this.#refused.has(peer)) return;
    this.#refused.add(peer);
    this.#log("warn", `refused peer ${peer}: ${why} (further refusals of this peer are not logged)`);
  }

  #deny(peer: PeerId, why: string, membersOnly = false): boolean {
    const id = peer.toString();
    if (membersOnly ? this.isMember(id) : this.mayConnect(id)) return false;
    this.refuse(id, why);
    return true;
  }

  /** The libp2p connection gater backed by this member set. */
  connectionGater(): ConnectionGater {
    return {
      denyDialPeer: (p) => this.#deny(p, "dial to a non-member"),
      denyInboundEncryptedConnection: (p) => this.#deny(p, "inbound connection from a non-member"),
      denyOutboundEncryptedConnection: (p) => this.#deny(p, "outbound connection to a non-member"),
      denyInboundRelayReservation: (p) => this.#deny(p, "relay reservation by a non-member", true),
      denyInboundRelayedConnection: (_relay, remote) =>
        this.#deny(remote, "relayed connection from a non-member"),
      denyOutboundRelayedConnection: (src, dst) =>
        this.#deny(src, "relaying for a non-member") || this.#deny(dst, "relaying to a non-member"),
    };
  }
}
