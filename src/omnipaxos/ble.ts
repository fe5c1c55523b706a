/**
 * Ballot Leader Election with the quorum-connected rule (Omni-Paxos paper, §BLE).
 *
 * Every election timeout is one heartbeat round. A server that heard a quorum (itself included) in the
 * round is quorum-connected (QC). Only QC servers elect, and they elect the highest ballot among QC
 * servers. If the leader it follows is no longer among them, a QC server raises its own ballot above
 * everything it knows and runs at once; among servers that run together the highest ballot wins.
 * Replies carry the sender's own ballot only: adopting ballots second-hand would recreate the chained
 * livelock, where two servers that cannot hear each other keep outbidding each other through a middleman.
 */
import { type Ballot, compareBallots, copyBallot, NO_BALLOT } from "./ballot.ts";
import type { BleMessage, HeartbeatReply, HeartbeatRequest } from "./messages.ts";
import type { NodeId } from "./types.ts";

export interface BleOptions {
  pid: NodeId;
  peers: NodeId[];
  configId: number;
  /** Replies (self included) needed to be quorum-connected: the prepare quorum. */
  quorum: number;
  priority: number;
  /** Recovering from storage: start with round n = 0 and treat the stored promise as the known leader. */
  recoveredPromise?: Ballot;
}

interface Reply {
  ballot: Ballot;
  quorumConnected: boolean;
}

export class BallotLeaderElection {
  readonly #o: BleOptions;
  ballot: Ballot;
  leader: Ballot;
  /** Optimistic at start so a fresh cluster agrees in its first round instead of everyone standing at once. */
  quorumConnected = true;
  round = 0;
  readonly #replies = new Map<NodeId, Reply>();
  #outbox: BleMessage[] = [];

  constructor(o: BleOptions) {
    this.#o = o;
    const recovered = o.recoveredPromise;
    this.ballot = { n: recovered ? 0 : 1, priority: o.priority, pid: o.pid };
    this.leader = recovered ? copyBallot(recovered) : NO_BALLOT;
    this.#startRound();
  }

  #startRound(): void {
    this.round++;
    this.#replies.clear();
    for (const to of this.#o.peers) {
      this.#outbox.push({
        type: "HeartbeatRequest",
        from: this.#o.pid,
        to,
        configId: this.#o.configId,
        round: this.round,
      });
    }
  }

  handle(m: BleMessage): void {
    if (m.type === "HeartbeatRequest") this.#handleRequest(m);
    else this.#handleReply(m);
  }

  #handleRequest(m: HeartbeatRequest): void {
    this.#outbox.push({
      type: "HeartbeatReply",
      from: this.#o.pid,
      to: m.from,
      configId: this.#o.configId,
      round: m.round,
      ballot: copyBallot(this.ballot),
      quorumConnected: this.quorumConnected,
    });
  }

  #handleReply(m: HeartbeatReply): void {
    // Late replies (an earlier round) say nothing about connectivity now.
    if (m.round !== this.round || m.ballot.pid !== m.from) return;
    this.#replies.set(m.from, { ballot: m.ballot, quorumConnected: m.quorumConnected });
  }

  /**
   * End of a heartbeat round. `spPromise` is Sequence Paxos's promise: a leader we promised but can no
   * longer hear must be replaced too; `freshPromise` says we promised a Prepare during this round.
   * Returns the new leader's ballot when it changed.
   */
  timeout(spPromise: Ballot, freshPromise = false): Ballot | undefined {
    let elected: Ballot | undefined;
    if (this.#replies.size + 1 >= this.#o.quorum) {
      this.quorumConnected = true;
      let top = this.ballot;
      for (const r of this.#replies.values()) {
        if (r.quorumConnected && compareBallots(r.ballot, top) > 0) top = r.ballot;
      }
      // Sequence Paxos may have promised a newer leader than the last one elected here (its Prepare
      // arrived before its heartbeat): that is the leader we know.
      if (compareBallots(spPromise, this.leader) > 0) this.leader = copyBallot(spPromise);
      const known = this.leader;
      // A leader whose Prepare we promised during this round was quorum-connected when it ran, whatever
      // an older heartbeat reply said (it may predate its election): it is not lost.
      if (!freshPromise && this.#leaderLost(known)) {
        // Our leader is gone or not quorum-connected: stand, above every ballot we know of. We are now the
        // highest quorum-connected ballot we know, so we run at once instead of waiting a round; servers
        // standing together bump to the same n, and Paxos lets the highest of them win.
        this.ballot = { ...this.ballot, n: Math.max(known.n, top.n, this.ballot.n) + 1 };
        this.leader = copyBallot(this.ballot);
        elected = this.leader;
      } else if (compareBallots(top, known) > 0 && (known.pid === "" || top.priority > known.priority)) {
        // No leader yet, or a server the operator prefers (higher priority) is quorum-connected. A merely
        // higher pid does not unseat a live leader: that would restart leadership every time a member
        // with a larger id comes up late.
        this.leader = copyBallot(top);
        elected = this.leader;
      }
    } else {
      this.quorumConnected = false;
    }
    this.#startRound();
    return elected;
  }

  /**
   * Whether the leader we know of can no longer lead. Judged by its pid, not its ballot: a reply may carry
   * a ballot older than the promise Sequence Paxos already made to the same server, and treating that as
   * "leader missing" would make servers outbid a live leader every round.
   */
  #leaderLost(known: Ballot): boolean {
    if (known.pid === "") return false; // no leader yet: the highest quorum-connected ballot gets elected
    if (known.pid === this.#o.pid) return compareBallots(this.ballot, known) < 0; // e.g. recovered below it
    return this.#replies.get(known.pid)?.quorumConnected !== true;
  }

  /** Heard this round, for status and the connectivity view. */
  heardFrom(): NodeId[] {
    return [...this.#replies.keys()];
  }

  takeOutgoing(): BleMessage[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }
}
