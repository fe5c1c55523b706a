/**
 * Safety properties of Sequence Consensus, checked after every simulation step:
 * - uniform agreement: every server's decided log is a prefix of one chosen log;
 * - validity: only proposed entries are decided;
 * - integrity: a server's decided log only grows (decided index never moves backwards);
 * - monotonic ballots: a server's promise never decreases (across crashes too);
 * - one leader per ballot: a server leads only with its own ballots.
 */
import { type Ballot, compareBallots, type OmniPaxos } from "../../mod.ts";

export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

export class SafetyChecker<T> {
  /** The chosen log: the first value seen decided at each index. */
  readonly chosen = new Map<number, T | string>();
  readonly #decidedIdx = new Map<string, number>();
  readonly #promise = new Map<string, Ballot>();
  readonly #leaders = new Map<string, string>();
  readonly proposed = new Set<T>();
  readonly #key: (v: T) => unknown;
  /** Set when entries may legitimately be decided twice (the network duplicates forwards). */
  allowDuplicates = false;
  readonly #seen = new Map<unknown, number>();

  constructor(key: (v: T) => unknown = (v) => v) {
    this.#key = key;
  }

  /** `pid` lost its disk: it starts over, so its own history no longer binds it (the chosen log still does). */
  forget(pid: string): void {
    this.#decidedIdx.delete(pid);
    this.#promise.delete(pid);
  }

  /**
   * `pid` restarted on storage that lost its unsynced writes: its decided index and promise start again
   * from what was durable (a promise it never sent may be forgotten; one it sent was synced first).
   */
  crashedTo(pid: string, decidedIdx: number, promise: Ballot | undefined): void {
    this.#decidedIdx.set(pid, Math.min(this.#decidedIdx.get(pid) ?? 0, decidedIdx));
    if (promise) this.#promise.set(pid, promise);
    else this.#promise.delete(pid);
  }

  propose(v: T): void {
    this.proposed.add(v);
  }

  check(pid: string, node: OmniPaxos<T>): void {
    const prevIdx = this.#decidedIdx.get(pid) ?? 0;
    const idx = node.getDecidedIdx();
    if (idx < prevIdx) throw new InvariantViolation(`${pid}: decided index went back ${prevIdx} -> ${idx}`);
    if (idx > prevIdx) {
      for (const e of node.readDecidedSuffix(prevIdx)) {
        if (e.kind === "trimmed" || e.kind === "snapshotted") continue;
        const v = e.kind === "stopSign" ? `SS:${JSON.stringify(e.ss)}` : e.entry;
        const at = this.chosen.get(e.idx);
        if (at === undefined) {
          if (e.kind !== "stopSign" && !this.proposed.has(v as T)) {
            throw new InvariantViolation(`${pid}: decided ${String(v)} at ${e.idx} was never proposed`);
          }
          if (e.kind !== "stopSign" && !this.allowDuplicates) {
            const k = this.#key(v as T);
            const other = this.#seen.get(k);
            if (other !== undefined && other !== e.idx) {
              throw new InvariantViolation(`${String(v)} decided twice, at ${other} and ${e.idx}`);
            }
            this.#seen.set(k, e.idx);
          }
          this.chosen.set(e.idx, v);
        } else if (at !== v && JSON.stringify(at) !== JSON.stringify(v)) {
          throw new InvariantViolation(
            `${pid}: agreement violated at ${e.idx}: ${JSON.stringify(v)} vs chosen ${JSON.stringify(at)}`,
          );
        }
      }
      this.#decidedIdx.set(pid, idx);
    }
    const st = node.status();
    const prevPromise = this.#promise.get(pid);
    if (prevPromise && compareBallots(st.promise, prevPromise) < 0) {
      throw new InvariantViolation(
        `${pid}: promise went back ${JSON.stringify(prevPromise)} -> ${JSON.stringify(st.promise)}`,
      );
    }
    this.#promise.set(pid, st.promise);
    if (st.role === "leader") {
      if (st.promise.pid !== pid) {
        throw new InvariantViolation(`${pid} leads with ${JSON.stringify(st.promise)}`);
      }
      const k = JSON.stringify(st.promise);
      const who = this.#leaders.get(k);
      if (who && who !== pid) throw new InvariantViolation(`two leaders for ballot ${k}: ${who}, ${pid}`);
      this.#leaders.set(k, pid);
    }
    if (st.decidedIdx > st.acceptedIdx) {
      throw new InvariantViolation(`${pid}: decided ${st.decidedIdx} > accepted ${st.acceptedIdx}`);
    }
    if (st.compactedIdx > st.decidedIdx) throw new InvariantViolation(`${pid}: compacted beyond decided`);
    if (compareBallots(st.acceptedRound, st.promise) > 0) {
      throw new InvariantViolation(`${pid}: accepted round above promise`);
    }
  }
}

/** Re-read a server's whole decided log against the chosen log (catches rewrites below the decided index). */
export function checkWholeLog<T>(checker: SafetyChecker<T>, pid: string, node: OmniPaxos<T>): void {
  for (const e of node.readDecidedSuffix(0)) {
    if (e.kind !== "decided") continue;
    const at = checker.chosen.get(e.idx);
    if (at !== undefined && at !== e.entry && JSON.stringify(at) !== JSON.stringify(e.entry)) {
      throw new InvariantViolation(`${pid}: decided entry ${e.idx} changed to ${JSON.stringify(e.entry)}`);
    }
  }
}
