/** Read consistency levels, weakest last. Writes always go through the log. */

/**
 * - strong: the read goes through the log like a write (sees everything, costs a consensus round);
 * - linearizable: the leader confirms it still leads with a quorum round, waits until it has applied that
 *   point, then reads locally (no log write);
 * - weak: the leader's local state, without confirming leadership (stale only across a leader change);
 * - none: this node's local state, possibly stale.
 */
export type Consistency = "strong" | "linearizable" | "weak" | "none";

export const CONSISTENCY_LEVELS: readonly Consistency[] = ["strong", "linearizable", "weak", "none"];

export function parseConsistency(s: string | undefined, fallback: Consistency = "weak"): Consistency {
  if (s === undefined || s === "") return fallback;
  const level = s.toLowerCase() as Consistency;
  if (!CONSISTENCY_LEVELS.includes(level)) {
    throw new TypeError(`unknown consistency level "${s}" (expected ${CONSISTENCY_LEVELS.join(", ")})`);
  }
  return level;
}
