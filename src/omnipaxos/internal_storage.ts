/**
 * A write-through cache of the persistent Sequence Paxos state, plus the log-sync arithmetic that reads and
 * rewrites it. After every write the cache is reloaded from Storage, so it can never disagree with what
 * is stored, even when a write fails half-way through a handler.
 */
import { type Ballot, NO_BALLOT } from "./ballot.ts";
import type { Storage, StorageOp } from "./storage.ts";
import type { LogSync, SnapshotData, StopSign } from "./types.ts";

export interface AppliedSync<T> {
  ops: StorageOp<T>[];
  /** The accepted index (stop sign included) the log will have once `ops` are written. */
  acceptedIdx: number;
}

export class InternalStorage<T> {
  promise: Ballot = NO_BALLOT;
  acceptedRound: Ballot = NO_BALLOT;
  decidedIdx = 0;
  compactedIdx = 0;
  logLen = 0;
  stopSign: StopSign | undefined;

  readonly storage: Storage<T>;

  constructor(storage: Storage<T>) {
    this.storage = storage;
    this.reload();
  }

  reload(): void {
    const s = this.storage;
    this.promise = s.getPromise() ?? NO_BALLOT;
    this.acceptedRound = s.getAcceptedRound() ?? NO_BALLOT;
    this.decidedIdx = s.getDecidedIdx();
    this.compactedIdx = s.getCompactedIdx();
    this.logLen = s.getLogLen();
    this.stopSign = s.getStopSign();
  }

  write(ops: readonly StorageOp<T>[]): void {
    if (ops.length === 0) return;
    try {
      this.storage.write(ops);
    } finally {
      this.reload();
    }
  }

  /** One past the last stored entry. */
  get storedEnd(): number {
    return this.compactedIdx + this.logLen;
  }

  /** Log length as if never compacted, the stop sign's slot included. */
  get acceptedIdx(): number {
    return this.storedEnd + (this.stopSign ? 1 : 0);
  }

  isStopSignDecided(): boolean {
    return this.stopSign !== undefined && this.decidedIdx >= this.acceptedIdx;
  }

  /** Stored entries [from, to), clamped to what is stored. */
  entries(from: number, to: number = this.storedEnd): T[] {
    const lo = Math.max(from, this.compactedIdx);
    const hi = Math.min(to, this.storedEnd);
    return lo < hi ? this.storage.getEntries(lo, hi) : [];
  }

  snapshot(): SnapshotData | undefined {
    return this.storage.getSnapshot();
  }

  /**
   * The sync that turns a log equal to ours below `from` into ours. When `from` is already compacted we
   * ship the snapshot; with no snapshot, we ship from the compacted index only if the receiver holds that
   * far (trims are bounded by what every server accepted, so those slots already agree). Otherwise the
   * receiver cannot be synced from here and undefined is returned.
   */
  createLogSync(from: number, receiverAcceptedIdx: number): LogSync<T> | undefined {
    const ss = this.stopSign ? { stopSign: this.stopSign } : {};
    if (from >= this.compactedIdx) return { syncIdx: from, suffix: this.entries(from), ...ss };
    const snap = this.snapshot();
    if (snap && snap.idx === this.compactedIdx) {
      return { snapshot: snap, syncIdx: this.compactedIdx, suffix: this.entries(this.compactedIdx), ...ss };
    }
    if (receiverAcceptedIdx >= this.compactedIdx) {
      return { syncIdx: this.compactedIdx, suffix: this.entries(this.compactedIdx), ...ss };
    }
    return undefined;
  }

  /**
   * Storage operations that apply `sync` to our log, or undefined when it cannot apply: it would leave a
   * gap (we lack entries below its syncIdx) or cut our decided prefix (a stale sync).
   */
  applyLogSync(sync: LogSync<T>): AppliedSync<T> | undefined {
    const ops: StorageOp<T>[] = [];
    let compacted = this.compactedIdx;
    let end = this.storedEnd;
    if (sync.snapshot && sync.snapshot.idx > compacted) {
      ops.push({ op: "trim", idx: sync.snapshot.idx }, { op: "setSnapshot", snapshot: sync.snapshot });
      compacted = sync.snapshot.idx;
      end = Math.max(end, compacted);
    }
    let from = sync.syncIdx;
    let suffix = sync.suffix;
    if (from < compacted) {
      const skip = compacted - from;
      if (skip > suffix.length) return undefined;
      suffix = suffix.slice(skip);
      from = compacted;
    }
    if (from > end) {
      // A syncIdx that counts our stop sign's slot carries nothing after it.
      if (!(from === end + 1 && this.stopSign && suffix.length === 0)) return undefined;
      from = end;
    }
    const acceptedIdx = from + suffix.length + (sync.stopSign ? 1 : 0);
    if (acceptedIdx < this.decidedIdx) return undefined;
    ops.push({ op: "appendOnPrefix", from, entries: suffix });
    ops.push(sync.stopSign ? { op: "setStopSign", ss: sync.stopSign } : { op: "setStopSign" });
    return { ops, acceptedIdx };
  }
}
