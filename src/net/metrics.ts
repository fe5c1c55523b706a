/** Counters of the paxos transport; plain numbers so hosts can export them as they like. */
export interface NetMetrics {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Outbound frames dropped because the peer's queue was full (the protocol resends). */
  droppedQueueFull: number;
  /** Outbound frames dropped because there was no session with the peer (it resyncs on reconnect). */
  droppedNoSession: number;
  /** Inbound streams closed because of a malformed or oversized frame. */
  rejectedFrames: number;
  /** Streams and connections refused because the peer is not a member. */
  refusedPeers: number;
  /** Outbound sessions opened (each one is reported through onSession). */
  sessions: number;
  /** Failed dial attempts (retried with backoff). */
  dialFailures: number;
  /** Messages too large for one frame, sent as fragments (snapshots). */
  fragmentedMessages: number;
}

export function newMetrics(): NetMetrics {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    droppedQueueFull: 0,
    droppedNoSession: 0,
    rejectedFrames: 0,
    refusedPeers: 0,
    sessions: 0,
    dialFailures: 0,
    fragmentedMessages: 0,
  };
}
