/**
 * Leader confirmation for linearizable reads without a log write (the "read index" idea).
 *
 * A read asked at the leader records the leader's accepted index at that moment: the leader's log holds
 * every entry that can have been decided anywhere (it adopted the best log of a read quorum, and a higher
 * leader cannot decide without a write quorum, which intersects any read quorum). The leader then asks its
 * followers whether they still promise its ballot; once a read quorum (itself included) says yes, no higher
 * leader had decided anything when the read started, and the read may be served from local state as soon
 * as the leader has decided and applied up to the recorded index. One confirmation round serves every read
 * queued before it started; a round without enough answers is restarted after `resendTicks`.
 */
import type { NodeId } from "./types.ts";

/** The answer for one read ticket: the index to wait for (decided and applied), or the leader stepped down. */
export type ReadConfirmation = { ticket: number; readIdx: number } | { ticket: number; notLeader: true };

interface Ticket {
  ticket: number;
  idx: number;
}

export class ReadConfirmer {
  #round = 0;
  #inFlight: { round: number; acks: Set<NodeId>; tickets: Ticket[]; age: number } | undefined;
  #queued: Ticket[] = [];
  #results: ReadConfirmation[] = [];

  /** Queue a ticket; returns the round to broadcast if a new one must start. */
  add(t: Ticket, self: NodeId): number | undefined {
    this.#queued.push(t);
    return this.#inFlight ? undefined : this.#start(self);
  }

  #start(self: NodeId): number {
    this.#inFlight = { round: ++this.#round, acks: new Set([self]), tickets: this.#queued, age: 0 };
    this.#queued = [];
    return this.#round;
  }

  /** Count an ack; returns a new round to broadcast when this one completed and more reads wait. */
  ack(round: number, from: NodeId, quorum: number, self: NodeId): number | undefined {
    const f = this.#inFlight;
    if (!f || f.round !== round) return undefined;
    f.acks.add(from);
    return this.complete(quorum, self);
  }

  /** Release the in-flight round's tickets if it has a quorum (also used with a quorum of one). */
  complete(quorum: number, self: NodeId): number | undefined {
    const f = this.#inFlight;
    if (!f || f.acks.size < quorum) return undefined;
    for (const t of f.tickets) this.#results.push({ ticket: t.ticket, readIdx: t.idx });
    this.#inFlight = undefined;
    return this.#queued.length > 0 ? this.#start(self) : undefined;
  }

  /** A tick: returns a round to (re)broadcast when the one in flight has waited too long. */
  tick(resendTicks: number, self: NodeId): number | undefined {
    const f = this.#inFlight;
    if (!f || ++f.age < resendTicks) return undefined;
    this.#queued = [...f.tickets, ...this.#queued];
    return this.#start(self);
  }

  /** Leadership ended: every waiting read fails (the client retries at the new leader). */
  failAll(): void {
    for (const t of [...(this.#inFlight?.tickets ?? []), ...this.#queued]) {
      this.#results.push({ ticket: t.ticket, notLeader: true });
    }
    this.#inFlight = undefined;
    this.#queued = [];
  }

  take(): ReadConfirmation[] {
    const out = this.#results;
    this.#results = [];
    return out;
  }
}
