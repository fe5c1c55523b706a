/** Volatile state of a leader for one ballot. Keyed by pid with maps: pids are arbitrary strings. */
import { type Ballot, compareBallots } from "./ballot.ts";
import type { AcceptDecide, Decide } from "./messages.ts";
import type { LogSync, NodeId, SequenceNumber } from "./types.ts";

/** What a promise told the leader about the promiser's log. */
export interface PromiseMeta {
  pid: NodeId;
  nAccepted: Ballot;
  acceptedIdx: number;
  decidedIdx: number;
}

/** Higher accepted round wins; equal rounds: the longer log wins; exact ties keep the earlier one. */
export function promiseMetaGt(a: PromiseMeta, b: PromiseMeta): boolean {
  const c = compareBallots(a.nAccepted, b.nAccepted);
  return c > 0 || (c === 0 && a.acceptedIdx > b.acceptedIdx);
}

export class LeaderState<T> {
  /** Absent: not promised (gets Prepares); "higher": refused us with a higher promise. */
  readonly promises = new Map<NodeId, PromiseMeta | "higher">();
  /** Log syncs that came with promises, needed until the prepare phase ends. */
  readonly syncs = new Map<NodeId, LogSync<T>>();
  maxMeta: PromiseMeta;
  /** Per server (leader included): its log equals ours up to this index in this round. */
  readonly acceptedIndexes = new Map<NodeId, number>();
  readonly seqs = new Map<NodeId, SequenceNumber>();
  /** The newest unsent accept-phase message per follower, extended in place until the outbox drains. */
  readonly pending = new Map<NodeId, AcceptDecide<T> | Decide>();
  /** Our own log is durable up to here in this round (leaderAcceptsWhenDurable; see markDurable). */
  durableIdx = 0;
  /** Per follower, what the last resend period saw (see probeStalledFollowers). */
  readonly probes = new Map<NodeId, { acc: number; decided: number }>();

  readonly n: Ballot;

  constructor(n: Ballot, own: PromiseMeta) {
    this.n = n;
    this.promises.set(own.pid, own);
    this.maxMeta = own;
  }

  meta(pid: NodeId): PromiseMeta | undefined {
    const p = this.promises.get(pid);
    return typeof p === "object" ? p : undefined;
  }

  promisedCount(): number {
    let c = 0;
    for (const p of this.promises.values()) if (p !== "higher") c++;
    return c;
  }

  /** Next sequence number on the follower's current session. */
  nextSeq(pid: NodeId): SequenceNumber {
    const s = this.seqs.get(pid) ?? { session: 0, counter: 0 };
    const next = { session: s.session, counter: s.counter + 1 };
    this.seqs.set(pid, next);
    return next;
  }

  /** The largest index accepted by at least `quorum` servers. */
  quorumAcceptedIdx(quorum: number): number {
    const vals = [...this.acceptedIndexes.values()];
    if (vals.length < quorum) return 0;
    vals.sort((a, b) => b - a);
    return vals[quorum - 1];
  }
}
