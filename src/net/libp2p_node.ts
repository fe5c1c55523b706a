/**
 * Builds the libp2p node the paxos transport runs on: TCP + Noise, yamux (preferred) and mplex, identify,
 * ping, circuit relay v2 (client always, server with `relay: true`), DCUtR and AutoNAT.
 */
import "./shims.ts";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { autoNAT } from "@libp2p/autonat";
import { circuitRelayServer, circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { dcutr } from "@libp2p/dcutr";
import { identify } from "@libp2p/identify";
import type { ConnectionGater, Libp2p, PrivateKey } from "@libp2p/interface";
import { mplex } from "@libp2p/mplex";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";
import { tuneConnections } from "./connection_tuning.ts";

export interface Libp2pNodeOptions {
  privateKey: PrivateKey;
  /** TCP multiaddrs to listen on; may be empty for a node behind NAT that only uses `relayVia`. */
  listen: string[];
  /** Multiaddrs announced to peers instead of the listen addresses (e.g. a public IP). */
  announce?: string[];
  connectionGater: ConnectionGater;
  /** Serve as a circuit-relay-v2 relay for cluster members. */
  relay?: boolean;
  /** Multiaddr (ending in /p2p/<relayId>) of a relay to reserve a slot on and be reachable through. */
  relayVia?: string;
  /** Load DCUtR and AutoNAT (default true). They do nothing useful on loopback or private networks. */
  natServices?: boolean;
}

/** A relay for consensus traffic: without this, relayed links die after 128 KiB or 2 minutes (G6). */
const RELAY_RESERVATIONS = { applyDefaultLimit: false, maxReservations: 128 };

export async function createLibp2pNode(opts: Libp2pNodeOptions): Promise<Libp2p> {
  const listen = [...opts.listen];
  // Listening on `<relay>/p2p-circuit` reserves a slot before createLibp2p resolves and announces the
  // /p2p-circuit address.
  if (opts.relayVia) listen.push(`${opts.relayVia}/p2p-circuit`);
  const nat = opts.natServices ?? true;
  const node = await createLibp2p({
    // The host registers its protocol handlers before start(), so no early inbound stream is refused.
    start: false,
    privateKey: opts.privateKey,
    addresses: { listen, ...(opts.announce ? { announce: opts.announce } : {}) },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(), mplex()],
    connectionGater: opts.connectionGater,
    // Several members may share one host (tests, NAT): the default of 5 inbound connections/s per host
    // would refuse legitimate reconnect bursts.
    connectionManager: { inboundConnectionThreshold: 100 },
    // G5: a ping stuck behind a burst of consensus traffic must not kill a healthy link; a generous
    // timeout still detects dead peers.
    connectionMonitor: { pingTimeout: { minTimeout: 20_000, maxTimeout: 60_000 } },
    services: {
      identify: identify(),
      ping: ping(),
      ...(opts.relay ? { relay: circuitRelayServer({ reservations: RELAY_RESERVATIONS }) } : {}),
      ...(nat ? { dcutr: dcutr(), autonat: autoNAT() } : {}),
    },
  });
  tuneConnections(node);
  return node;
}
