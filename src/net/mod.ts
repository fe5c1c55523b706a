/**
 * The network layer: libp2p transport for Omni-Paxos messages (see docs/network.md).
 */
export { parsePeerAddr, PaxosTransport, type PaxosTransportOptions } from "./transport.ts";
export { CodecError, decodeMessage, encodeMessage } from "./codec.ts";
export { type Identity, IdentityError, KEY_FILE, loadOrCreateIdentity } from "./identity.ts";
export { createLibp2pNode, type Libp2pNodeOptions } from "./libp2p_node.ts";
export { DEFAULT_MAX_FRAME_BYTES, PAXOS_PROTOCOL } from "./protocol.ts";
export { Backoff, type BackoffOptions } from "./backoff.ts";
export { PeerQueue, type PeerQueueLimits } from "./peer_queue.ts";
export { type ClientPolicy, MemberGate } from "./gater.ts";
export type { NetMetrics } from "./metrics.ts";
export { type NetLogger, type NetLogLevel, silentLogger, stderrLogger } from "./log.ts";
