/**
 * Ballots: the rounds of Sequence Paxos, also the unit Ballot Leader Election votes with.
 *
 * Totally ordered by (n, priority, pid). Two servers never share a ballot because the pid is part of it,
 * so "at most one leader per ballot" holds by construction.
 */
import type { NodeId } from "./types.ts";

/** A round number owned by one server. Plain data: it survives structuredClone and the wire codec. */
export interface Ballot {
  /** Round counter; bumped to take over leadership. */
  n: number;
  /** Breaks ties between equal rounds before the pid does: a higher priority wins the election. */
  priority: number;
  /** The server that owns this ballot. */
  pid: NodeId;
}

/** The "no ballot" value: below every real ballot (real ballots have a non-empty pid). */
export const NO_BALLOT: Readonly<Ballot> = Object.freeze({ n: 0, priority: 0, pid: "" });

/** Negative if a < b, zero if equal, positive if a > b. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.n !== b.n) return a.n < b.n ? -1 : 1;
  if (a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
  if (a.pid === b.pid) return 0;
  return a.pid < b.pid ? -1 : 1;
}

export function ballotEq(a: Ballot, b: Ballot): boolean {
  return a.n === b.n && a.priority === b.priority && a.pid === b.pid;
}

export function ballotGt(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) > 0;
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}

export function isNoBallot(b: Ballot): boolean {
  return b.pid === "" && b.n === 0;
}

/** A copy, so stored and sent ballots never alias mutable state. */
export function copyBallot(b: Ballot): Ballot {
  return { n: b.n, priority: b.priority, pid: b.pid };
}
