/** Identifiers and small value types shared by every part of the core. */
import type { Ballot } from "./ballot.ts";

/** A server's identity: a libp2p peer ID string in production, any non-empty string in tests. */
export type NodeId = string;

/** Orders accept-phase messages on one leader→follower session; compared lexicographically. */
export interface SequenceNumber {
  /** Bumped by the leader for every AcceptSync it sends to this follower. */
  session: number;
  /** 1 for the AcceptSync, then +1 for each AcceptDecide / Decide / AcceptStopSign. */
  counter: number;
}

/**
 * The last entry of a configuration. Once decided, the configuration accepts nothing more and the servers
 * in `nodes` start a new instance for `configId` (see docs/protocol.md, "Reconfiguration").
 */
export interface StopSign {
  /** The configuration that follows this one. */
  configId: number;
  /** Members of the next configuration. */
  nodes: NodeId[];
  /** Opaque bytes for the application (e.g. the new members' addresses). */
  metadata?: Uint8Array;
}

/** Application state covering the decided log [0, idx). Opaque to the core. */
export interface SnapshotData {
  idx: number;
  data: Uint8Array;
}

/**
 * What a server must do to its log to match the sender's: cut it at `syncIdx`, install `snapshot` first if
 * present (it covers everything below `snapshot.idx`), append `suffix`, then set (or clear) the stop sign.
 */
export interface LogSync<T> {
  snapshot?: SnapshotData;
  syncIdx: number;
  suffix: T[];
  stopSign?: StopSign;
}

/** A point in the leader's log, from `OmniPaxos.durabilityMark()`, to hand back to `markDurable()`. */
export interface DurabilityMark {
  readonly n: Ballot;
  readonly idx: number;
}
